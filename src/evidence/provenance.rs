//! SLSA provenance v1 for the pushed digest: who built it (shipit and its version), from what (repository,
//! commit, ref), how (Dockerfile, target, platform, builder, the *names* of the build args, never their values),
//! and in CI the run. Attached with the other evidence by `push` and `ship`.

use super::dsse::Statement;
use crate::config::Loaded;
use crate::release::Release;

pub const BUILD_TYPE: &str = "https://shipit.dev/build/docker/v1";

/// `https://user:token@host/x` → `https://host/x`: a remote URL may carry credentials.
pub fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) =
                rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, String::new()));
            let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

pub fn statement(loaded: &Loaded, release: &Release) -> Statement {
    let build = &loaded.config.build;
    let source = crate::providers::git::remote_url(&loaded.root, "origin").map(|u| without_credentials(&u));
    let git_ref = release.commit.branch.as_ref().map(|b| format!("refs/heads/{b}"));
    let (ci_actor, ci_run) = super::ci_identity();
    let version = env!("CARGO_PKG_VERSION");
    let uri = source.as_ref().map(|s| match &git_ref {
        Some(r) => format!("git+{s}@{r}"),
        None => format!("git+{s}"),
    });
    let predicate = serde_json::json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "source": {"uri": source, "ref": git_ref, "digest": {"gitCommit": release.commit.sha}},
                "dockerfile": build.dockerfile.as_str(),
                "context": build.context.as_str(),
                "target": build.target.as_ref().map(|t| t.as_str()),
                "platform": build.platform.as_ref().map(|p| p.as_str()),
                "buildArgs": build.args.keys().collect::<Vec<_>>(),
                "dirty": release.commit.dirty,
            },
            "internalParameters": {"builder": format!("{:?}", build.builder).to_lowercase()},
            "resolvedDependencies": [{"uri": uri, "digest": {"gitCommit": release.commit.sha}}],
        },
        "runDetails": {
            "builder": {"id": format!("https://shipit.dev/shipit@v{version}"), "version": {"shipit": version}},
            "metadata": {"invocationId": ci_run, "startedOn": release.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)},
            "byproducts": ci_actor.map(|a| vec![serde_json::json!({"name": "ci-actor", "content": a})]).unwrap_or_default(),
        },
    });
    Statement::about(&release.image.repository, &release.image.digest, super::PROVENANCE_PREDICATE, predicate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed_from_the_source() {
        assert_eq!(without_credentials("https://x:ghp_abc@github.com/acme/api.git"), "https://github.com/acme/api.git");
        assert_eq!(without_credentials("https://github.com/acme/api"), "https://github.com/acme/api");
        assert_eq!(without_credentials("git@github.com:acme/api.git"), "git@github.com:acme/api.git");
        assert_eq!(without_credentials("file:///tmp/remote.git"), "file:///tmp/remote.git");
    }
}
