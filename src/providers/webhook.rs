//! Outgoing webhooks (a generic JSON receiver, Slack's incoming webhooks): one POST with a short timeout.
//! The URL is often the secret itself (Slack's are), so errors name only its scheme and host.

use std::time::Duration;

/// A notification is never worth holding a deploy for.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{target} answered {status}")]
    Status { target: String, status: u16 },
    #[error("cannot reach {target}: {detail}")]
    Transport { target: String, detail: String },
}

/// `https://hooks.slack.com/…` for a URL: enough to recognise it, nothing of the secret path or query.
pub fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            // Credentials in the authority (`user:pass@host`) are dropped as well.
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}/…")
        }
        None => "(a webhook URL)".to_string(),
    }
}

pub async fn post(url: &str, body: &serde_json::Value) -> Result<(), WebhookError> {
    let target = redacted(url);
    let transport = |e: reqwest::Error| {
        // reqwest puts the full URL in its errors; keep only what it says about the failure.
        let e = e.without_url();
        WebhookError::Transport { target: target.clone(), detail: crate::error::chain(&e) }
    };
    let client = reqwest::Client::builder()
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shipit/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(transport)?;
    let resp = client.post(url).json(body).send().await.map_err(transport)?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(WebhookError::Status { target, status: resp.status().as_u16() })
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn redaction_keeps_only_scheme_and_host() {
        assert_eq!(redacted("https://hooks.slack.com/services/T0/B0/secret"), "https://hooks.slack.com/…");
        assert_eq!(redacted("https://user:pw@example.com/x?token=1"), "https://example.com/…");
        assert_eq!(redacted("http://127.0.0.1:9/hook"), "http://127.0.0.1:9/…");
        assert_eq!(redacted("not a url"), "(a webhook URL)");
    }
}
