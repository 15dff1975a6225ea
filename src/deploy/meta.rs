//! Who is deploying, and how to show a revision to a person.

use chrono::{DateTime, Utc};

use crate::rollout::Revision;

/// The person or job behind a deploy, recorded on the target so `history` can show it.
/// SHIPIT_DEPLOYER wins; in GitHub Actions the actor and run; else git's user.name / $USER.
pub fn deployer() -> String {
    if let Ok(d) = std::env::var(crate::env_vars::EnvVars::SHIPIT_DEPLOYER)
        && !d.trim().is_empty()
    {
        return d.trim().to_string();
    }
    if let Ok(actor) = std::env::var(crate::env_vars::EnvVars::GITHUB_ACTOR) {
        let run =
            std::env::var(crate::env_vars::EnvVars::GITHUB_RUN_ID).map(|r| format!(" (run {r})")).unwrap_or_default();
        return format!("{actor}{run}");
    }
    if let Ok(cfg) = git2::Config::open_default()
        && let Ok(name) = cfg.get_string("user.name")
        && !name.trim().is_empty()
    {
        return name;
    }
    std::env::var(crate::env_vars::EnvVars::USER).unwrap_or_else(|_| "unknown".into())
}

/// "3 days ago", "5 minutes ago".
pub fn ago(t: DateTime<Utc>) -> String {
    let secs = (Utc::now() - t).num_seconds().max(0);
    let (n, unit) = match secs {
        0..=59 => (secs, "second"),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        86_400..=2_591_999 => (secs / 86_400, "day"),
        _ => (secs / 2_592_000, "month"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// The first 7 characters (a commit from a label or tag is outside data: never slice it by bytes).
pub fn short_commit(c: &str) -> &str {
    c.char_indices().nth(7).map_or(c, |(i, _)| &c[..i])
}

/// The revision a rollback suggests: the newest one older than what runs now, with a different image, whose
/// rollout did not fail. A failed release can sit between the live one and the last good one (an auto-rollback
/// on Kubernetes renumbers the restored ReplicaSet past the failed one), and suggesting it would roll back onto
/// the very release that just broke.
pub fn previous_good(history: &[Revision]) -> Option<usize> {
    let live = history.iter().position(|r| r.live)?;
    let live_image = &history[live].image;
    history.iter().enumerate().skip(live + 1).find(|(_, r)| &r.image != live_image && !r.failed).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(n: u32, image: &str, live: bool) -> Revision {
        Revision {
            revision: n.to_string(),
            image: image.into(),
            digest: None,
            commit: None,
            deployer: None,
            created: None,
            live,
            failed: false,
        }
    }

    fn failed(n: u32, image: &str) -> Revision {
        Revision { failed: true, ..rev(n, image, false) }
    }

    #[test]
    fn previous_good_skips_same_image() {
        let h = vec![rev(4, "b", false), rev(3, "a", true), rev(2, "a", false), rev(1, "z", false)];
        assert_eq!(previous_good(&h), Some(3));
        let h = vec![rev(2, "a", true)];
        assert_eq!(previous_good(&h), None);
    }

    #[test]
    fn previous_good_skips_failed_revisions() {
        // Kubernetes after an auto-rollback: B's ReplicaSet re-used as r4, C failed as r3, A before it.
        let h = vec![rev(4, "b", true), failed(3, "c"), rev(1, "a", false)];
        assert_eq!(previous_good(&h), Some(2));
        // Several failures in a row, and a failed one with the live image.
        let h = vec![
            rev(6, "d", true),
            failed(5, "e"),
            failed(4, "c"),
            failed(3, "a"),
            rev(2, "d", false),
            rev(1, "a", false),
        ];
        assert_eq!(previous_good(&h), Some(5));
        // Nothing good left: no suggestion rather than a failed one.
        let h = vec![rev(2, "b", true), failed(1, "a")];
        assert_eq!(previous_good(&h), None);
    }

    #[test]
    fn a_failed_live_revision_still_has_a_previous_good_one() {
        // A failed rollout without auto-rollback stays live; the suggestion is the release before it.
        let h = vec![Revision { failed: true, ..rev(3, "c", true) }, rev(2, "b", false), rev(1, "a", false)];
        assert_eq!(previous_good(&h), Some(1));
    }

    #[test]
    fn ages() {
        assert_eq!(ago(Utc::now() - chrono::Duration::days(3)), "3 days ago");
        assert_eq!(ago(Utc::now() - chrono::Duration::minutes(1)), "1 minute ago");
    }
}
