use crate::error::CliError;
use crate::settings::Settings;

pub fn run(shell: clap_complete::Shell, settings: &Settings) -> Result<(), CliError> {
    settings.ui.print_data(render(shell));
    Ok(())
}

/// The completion script for `shell`; also used by the test that keeps completions/ current.
pub fn render(shell: clap_complete::Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::command(), "shipit", &mut buf);
    String::from_utf8(buf).expect("completion scripts are UTF-8")
}
