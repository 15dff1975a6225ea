//! `shipit keys generate`: a cosign key pair for `[sign] key` (docs/signing.md).

use std::io::Write as _;

use crate::cli::KeysCommand;
use crate::error::CliError;
use crate::evidence::sign::SigningKey;
use crate::settings::Settings;

pub fn run(cmd: KeysCommand, settings: &Settings) -> Result<(), CliError> {
    let KeysCommand::Generate { dir, force } = cmd;
    let dir = dir.unwrap_or_else(|| std::path::PathBuf::from("."));
    let key_path = dir.join("cosign.key");
    let pub_path = dir.join("cosign.pub");
    let Some(password) = crate::evidence::sign::password() else {
        return Err(CliError::usage("no password for the new key")
            .hint("set SHIPIT_SIGNING_PASSWORD (or COSIGN_PASSWORD); it encrypts cosign.key and is never printed"));
    };
    for p in [&key_path, &pub_path] {
        if p.exists() && !force {
            return Err(CliError::usage(format!("{} already exists", p.display())).hint(
                "--force replaces it (releases signed with the old key then no longer verify with the new .pub)",
            ));
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| CliError::failure(format!("cannot create {}: {e}", dir.display())))?;
    let key = SigningKey::generate().map_err(|e| CliError::failure(e.to_string()))?;
    let encrypted = key.to_encrypted_pem(&password).map_err(|e| CliError::failure(e.to_string()))?;
    write_private(&key_path, encrypted.as_bytes())
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", key_path.display())))?;
    std::fs::write(&pub_path, key.public().to_pem())
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", pub_path.display())))?;
    let ui = &settings.ui;
    if ui.json() {
        ui.print_json(&serde_json::json!({
            "private_key": key_path.display().to_string(),
            "public_key": pub_path.display().to_string(),
            "keyid": key.keyid(),
        }));
    } else {
        ui.success(format!(
            "wrote {} (encrypted, mode 0600) and {}; keyid {}",
            key_path.display(),
            pub_path.display(),
            key.keyid()
        ));
        ui.print_data(pub_path.display().to_string());
    }
    Ok(())
}

/// Created 0600 from the start (never world-readable, even for an instant); replaced atomically with --force.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("key.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
