//! GitHub Actions workflow commands (`::group::`, `::error title=…::`, …), written only when
//! `GITHUB_ACTIONS=true`. Values are escaped as the runner expects, so a message with a newline or a `::`
//! stays one annotation.

/// `::name key=value,…::message`
pub fn command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let props: Vec<String> = properties.iter().map(|(k, v)| format!("{k}={}", escape_property(v))).collect();
    let props = if props.is_empty() { String::new() } else { format!(" {}", props.join(",")) };
    format!("::{name}{props}::{}", escape_data(message))
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::command;

    #[test]
    fn escapes_as_the_runner_expects() {
        assert_eq!(command("group", &[], "deploy"), "::group::deploy");
        assert_eq!(
            command("error", &[("title", "shipit: deploy failed")], "50% done\nhint: retry"),
            "::error title=shipit%3A deploy failed::50%25 done%0Ahint: retry"
        );
        assert_eq!(command("notice", &[("title", "a,b")], "x"), "::notice title=a%2Cb::x");
    }
}
