//! The pull request of a gitops change on GitHub (octocrab, raw responses): find the open shipit pull request
//! of the environment (head `shipit/<environment>`), update its title and body, or open one; then labels and
//! reviewers. The branch itself is pushed with git (repo.rs) like every other change, so the history and the
//! lock stay where `push` mode has them.
//!
//! GitHub's own words are kept: a 422 carries `errors[].message` ("A pull request already exists for …",
//! "No commits between main and shipit/production"), which is the only place that says why.

use std::time::Duration;

use http::StatusCode;
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::json;

use super::GitOpsError;

pub struct PullRequests {
    client: Octocrab,
    api: String,
    pub owner: String,
    pub repo: String,
    token_source: Option<&'static str>,
}

/// The pull request, as GitHub answered.
#[derive(Debug, Clone, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub html_url: String,
    /// The GraphQL id (auto-merge is GraphQL-only).
    #[serde(default)]
    pub node_id: String,
}

/// What the pull request says, and who should see it.
pub struct Proposal<'a> {
    pub head: &'a str,
    pub base: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub labels: &'a [String],
    pub reviewers: &'a [String],
}

impl PullRequests {
    pub fn new(slug: &str) -> Result<PullRequests, GitOpsError> {
        let endpoints = crate::providers::github::Endpoints::from_env(None);
        let api = endpoints.api.trim_end_matches('/').to_string();
        let (owner, repo) = slug.split_once('/').unwrap_or((slug, ""));
        let fail = |detail: String| GitOpsError::GitHub {
            status: 0,
            what: "connect".into(),
            message: detail,
            repo: slug.to_string(),
            token_source: None,
        };
        let mut builder = Octocrab::builder()
            .base_uri(api.as_str())
            .map_err(|e| fail(crate::error::chain(&e)))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)));
        let token = crate::providers::github::token();
        let token_source = token.as_ref().map(|(_, s)| *s);
        if let Some((t, _)) = token {
            builder = builder.personal_token(t);
        }
        let client = builder.build().map_err(|e| fail(crate::error::chain(&e)))?;
        Ok(PullRequests { client, api, owner: owner.to_string(), repo: repo.to_string(), token_source })
    }

    fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// Open a pull request for `p`, or update the one that is open for the same head (`true`: updated).
    pub async fn open_or_update(&self, p: &Proposal<'_>) -> Result<(Pull, bool), GitOpsError> {
        let base_path = format!("/repos/{}/{}", self.owner, self.repo);
        let list = format!("{base_path}/pulls?state=open&head={}:{}&base={}&per_page=10", self.owner, p.head, p.base);
        let open: Vec<Pull> = self.call("GET", &list, None, "open pull requests").await?;
        let (pull, updated) = match open.into_iter().next() {
            Some(existing) => {
                let path = format!("{base_path}/pulls/{}", existing.number);
                let body = json!({ "title": p.title, "body": p.body });
                let pull: Pull = self.call("PATCH", &path, Some(body), "update the pull request").await?;
                (pull, true)
            }
            None => {
                let body = json!({ "title": p.title, "head": p.head, "base": p.base, "body": p.body });
                let pull: Pull =
                    self.call("POST", &format!("{base_path}/pulls"), Some(body), "open a pull request").await?;
                (pull, false)
            }
        };
        if !p.labels.is_empty() {
            let path = format!("{base_path}/issues/{}/labels", pull.number);
            let _: serde_json::Value =
                self.call("POST", &path, Some(json!({ "labels": p.labels })), "label the pull request").await?;
        }
        if !p.reviewers.is_empty() {
            let path = format!("{base_path}/pulls/{}/requested_reviewers", pull.number);
            let _: serde_json::Value =
                self.call("POST", &path, Some(json!({ "reviewers": p.reviewers })), "request reviewers").await?;
        }
        Ok((pull, updated))
    }

    /// `enablePullRequestAutoMerge` through GitHub's GraphQL API (REST has no auto-merge). GraphQL answers 200
    /// with `errors` when it refuses ("Auto merge is not allowed for this repository", "Pull request is in
    /// clean status"): those are errors too.
    pub async fn enable_auto_merge(&self, pull: &Pull, method: &str) -> Result<(), GitOpsError> {
        // api.github.com/graphql; on Enterprise Server https://HOST/api/graphql beside /api/v3.
        let url = match self.api.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{}/graphql", self.api),
        };
        let query = "mutation($id: ID!, $method: PullRequestMergeMethod!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) { pullRequest { number } } }";
        let body = json!({ "query": query, "variables": { "id": pull.node_id, "method": method } });
        let answer: serde_json::Value = self.call("POST", &url, Some(body), "turn on auto-merge").await?;
        match answer.get("errors").and_then(|e| e.as_array()).filter(|e| !e.is_empty()) {
            None => Ok(()),
            Some(errors) => Err(GitOpsError::GitHub {
                status: 200,
                what: "turn on auto-merge".into(),
                message: errors.iter().filter_map(|e| e["message"].as_str()).collect::<Vec<_>>().join("; "),
                repo: self.slug(),
                token_source: self.token_source,
            }),
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        what: &str,
    ) -> Result<T, GitOpsError> {
        let transport = |e: octocrab::Error| GitOpsError::GitHub {
            status: 0,
            what: what.to_string(),
            message: format!("cannot reach {}: {}", self.api, crate::error::chain(&e)),
            repo: self.slug(),
            token_source: self.token_source,
        };
        let resp = match method {
            "GET" => self.client._get(path).await,
            "PATCH" => self.client._patch(path, body.as_ref()).await,
            _ => self.client._post(path, body.as_ref()).await,
        }
        .map_err(transport)?;
        let status = resp.status();
        let text = self.client.body_to_string(resp).await.map_err(transport)?;
        if !status.is_success() {
            return Err(GitOpsError::GitHub {
                status: status.as_u16(),
                what: what.to_string(),
                message: github_message(status, &text),
                repo: self.slug(),
                token_source: self.token_source,
            });
        }
        serde_json::from_str(&text).map_err(|e| GitOpsError::GitHub {
            status: status.as_u16(),
            what: what.to_string(),
            message: format!("unexpected answer: {e}"),
            repo: self.slug(),
            token_source: self.token_source,
        })
    }
}

/// `message`, plus each `errors[].message` (422 Validation Failed says why only there).
fn github_message(status: StatusCode, body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.chars().take(200).collect();
    };
    let mut out = v.get("message").and_then(|m| m.as_str()).unwrap_or(status.as_str()).to_string();
    let details: Vec<String> = v
        .get("errors")
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| {
            e.get("message").and_then(|m| m.as_str()).map(str::to_string).or_else(|| {
                let field = e.get("field").and_then(|f| f.as_str())?;
                let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("invalid");
                Some(format!("{field}: {code}"))
            })
        })
        .collect();
    if !details.is_empty() {
        out.push_str(": ");
        out.push_str(&details.join("; "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_say_why() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:shipit/production."}],"documentation_url":"https://docs.github.com/rest/pulls/pulls#create-a-pull-request","status":"422"}"#;
        assert_eq!(
            github_message(StatusCode::UNPROCESSABLE_ENTITY, body),
            "Validation Failed: A pull request already exists for acme:shipit/production."
        );
        let body =
            r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"head","code":"invalid"}]}"#;
        assert_eq!(github_message(StatusCode::UNPROCESSABLE_ENTITY, body), "Validation Failed: head: invalid");
        assert_eq!(github_message(StatusCode::BAD_GATEWAY, "<html>"), "<html>");
    }
}
