//! The OCI distribution HTTP API, spoken directly (reqwest) for the two questions the engine cannot answer
//! before a build: "does this registry accept these credentials?" and "what digest does it hold for this
//! tag?". Pushing itself goes through the engine (`providers::docker::push`).
//!
//! Auth follows the distribution spec's challenge: `GET /v2/` answers 401 with `WWW-Authenticate: Basic …`
//! (htpasswd registries, ECR) or `Bearer realm=…,service=…` (ghcr.io, Docker Hub), in which case a token is
//! fetched from the realm with the credentials and used as `Authorization: Bearer`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

use crate::error::CliError;
use crate::providers::credentials::RegistryAuth;
use crate::providers::limits::{
    self, MAX_ERROR_BODY_BYTES, MAX_EVIDENCE_BLOB_BYTES, MAX_MANIFEST_BYTES, MAX_TOKEN_REPLY_BYTES, ReadError,
};
use crate::report::Reporter;

/// Every manifest media type a tag can point at. Without the list/index types a registry answers 404 (or
/// converts to schema 1) for multi-platform images, and the digest would not be the one deploys pull.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach registry {host}: {detail}")]
    Unreachable { host: String, detail: String },
    #[error("registry {host} answered {status} to {what} ({attempts} attempts)")]
    Unavailable { host: String, what: String, status: StatusCode, attempts: u32 },
    #[error("registry {host} requires credentials and none were found")]
    NeedsCredentials { host: String, hint: String },
    #[error("registry {host} rejected the credentials of user `{user}` (from {source_desc})")]
    Rejected { host: String, user: String, source_desc: String, hint: String },
    #[error("registry {host} answered {status} to {what}: {detail}")]
    Unexpected { host: String, what: String, status: StatusCode, detail: String },
    /// More than a cap (docs/security.md) for one answer: reading stopped there.
    #[error("registry {host} sent more than {} for {what}; shipit stops reading there", limits::size(*limit))]
    TooLarge { host: String, what: String, limit: usize },
    /// The bytes do not hash to the digest they were asked for (or that the registry said they have).
    #[error("registry {host} answered {what} with content whose digest is {actual}, not {expected}")]
    DigestMismatch { host: String, what: String, expected: String, actual: String },
    /// A 200 that is not the distribution API: an HTML page (a login portal, a proxy), or no registry at all.
    #[error("registry {host} answered {what} with {detail}, not the OCI distribution API")]
    NotRegistry { host: String, what: String, detail: String },
}

impl From<RegistryError> for CliError {
    fn from(e: RegistryError) -> Self {
        let msg = e.to_string();
        match e {
            RegistryError::Unreachable { .. } => CliError::failure(msg)
                .hint("check that the registry host (or `push_host`) in ship.toml is right and that it is up"),
            RegistryError::Unavailable { .. } => {
                CliError::failure(msg).hint("the registry is having trouble; try again in a minute")
            }
            RegistryError::NeedsCredentials { hint, .. } | RegistryError::Rejected { hint, .. } => {
                CliError::failure(msg).hint(hint)
            }
            RegistryError::Unexpected { .. } => CliError::failure(msg),
            RegistryError::TooLarge { .. } | RegistryError::DigestMismatch { .. } => CliError::failure(msg)
                .hint("the registry (or a proxy in front of it) is misbehaving; nothing was changed, try again or report it"),
            RegistryError::NotRegistry { .. } => CliError::failure(msg).hint(
                "check the registry host (or `push_host`) in ship.toml: it must be the registry's API host, reachable without a web login",
            ),
        }
    }
}

/// Backoff for transient failures (5xx, 429, refused or reset connections).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { attempts: 4, first_delay: Duration::from_millis(250) }
    }
}

impl Retry {
    pub fn delay(&self, attempt: u32) -> Duration {
        self.first_delay * 2u32.saturating_pow(attempt.saturating_sub(1))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scheme {
    /// Not yet asked, or the registry let us in without credentials.
    Anonymous,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

pub struct Client {
    http: reqwest::Client,
    host: String,
    base: String,
    auth: Option<RegistryAuth>,
    /// What to say when the registry wants credentials we do not have (which env var, which login).
    credentials_hint: String,
    scheme: Mutex<Scheme>,
    tokens: Mutex<HashMap<String, String>>,
    pub retry: Retry,
}

/// What the preflight check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The registry answered `/v2/` without credentials.
    Open,
    /// The registry demanded credentials and accepted ours.
    Authenticated { user: String, source: String },
}

impl Client {
    /// `host` is `HOST[:PORT]` as pushed to. Plain HTTP only when asked (`insecure`) or for loopback hosts,
    /// which the Docker engine also treats as insecure registries.
    pub fn new(host: &str, insecure: bool, auth: Option<RegistryAuth>, credentials_hint: String) -> Client {
        let plain = insecure || is_loopback(host);
        // reqwest is built without a crypto provider of its own; main() installs one, but a library caller
        // (tests, `ship`) must not depend on that.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("shipit/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client with static settings builds");
        Client {
            http,
            host: host.to_string(),
            base: format!("{}://{host}", if plain { "http" } else { "https" }),
            auth,
            credentials_hint,
            scheme: Mutex::new(Scheme::Anonymous),
            tokens: Mutex::new(HashMap::new()),
            retry: Retry::default(),
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Does the registry answer, and does it accept our credentials? `repository` is the path (`acme/api`)
    /// used as the token scope, so a bearer registry also says whether we may push there.
    pub async fn check(&self, repository: &str, reporter: &dyn Reporter) -> Result<Access, RegistryError> {
        let url = format!("{}/v2/", self.base);
        let resp = self.send(reporter, "GET /v2/", || self.http.get(&url)).await?;
        if resp.status().is_success() {
            self.refuse_html("GET /v2/", &resp)?;
            return Ok(Access::Open);
        }
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Err(self.unexpected("GET /v2/", resp).await);
        }
        let scheme = self.learn_scheme(resp.headers())?;
        let auth = self.auth.as_ref().ok_or_else(|| self.needs_credentials())?;
        let scope = format!("repository:{repository}:pull,push");
        let header = self.authorization(&scheme, &scope, reporter).await?;
        let resp = self.send(reporter, "GET /v2/", || self.http.get(&url).header("Authorization", &header)).await?;
        if resp.status().is_success() {
            self.refuse_html("GET /v2/", &resp)?;
            return Ok(Access::Authenticated { user: auth.username.clone(), source: auth.source.clone() });
        }
        if matches!(resp.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(self.rejected());
        }
        Err(self.unexpected("GET /v2/", resp).await)
    }

    /// The digest the registry holds for `repository:reference` (`Docker-Content-Digest` of a manifest HEAD),
    /// or `None` when there is no such tag (or repository).
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
        reporter: &dyn Reporter,
    ) -> Result<Option<String>, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let what = format!("HEAD /v2/{repository}/manifests/{reference}");
        let scope = format!("repository:{repository}:pull");
        let resp = self
            .authorized(reporter, &what, &scope, |auth| {
                with_auth(self.http.request(Method::HEAD, &url).header(ACCEPT, MANIFEST_ACCEPT), auth)
            })
            .await?;
        match resp.status() {
            s if s.is_success() => self.digest_header(&what, &resp).map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.unexpected(&what, resp).await),
        }
    }

    /// The manifest of `repository:reference` as stored (bytes, media type, digest), or `None` when absent.
    pub async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
        reporter: &dyn Reporter,
    ) -> Result<Option<Manifest>, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let what = format!("GET /v2/{repository}/manifests/{reference}");
        let scope = format!("repository:{repository}:pull");
        let resp = self
            .authorized(reporter, &what, &scope, |auth| {
                with_auth(self.http.get(&url).header(ACCEPT, MANIFEST_ACCEPT), auth)
            })
            .await?;
        match resp.status() {
            s if s.is_success() => {
                self.refuse_html(&what, &resp)?;
                let digest = self.digest_header(&what, &resp)?;
                let media_type = resp
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/vnd.docker.distribution.manifest.v2+json")
                    .to_string();
                let body = self.read_capped(&what, resp, MAX_MANIFEST_BYTES).await?;
                // Asked by digest, the bytes must hash to it; asked by tag, to the digest the registry named.
                let expected = if reference.starts_with("sha256:") { reference } else { digest.as_str() };
                self.verify_digest(&what, expected, &body)?;
                Ok(Some(Manifest { digest, media_type, body }))
            }
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.unexpected(&what, resp).await),
        }
    }

    /// Put `manifest` under `tag` (the same bytes, so the same digest): another tag for an image the registry
    /// already holds, without a second push through the engine. Returns the digest the registry reports.
    pub async fn put_manifest(
        &self,
        repository: &str,
        tag: &str,
        manifest: &Manifest,
        reporter: &dyn Reporter,
    ) -> Result<String, RegistryError> {
        let url = format!("{}/v2/{repository}/manifests/{tag}", self.base);
        let what = format!("PUT /v2/{repository}/manifests/{tag}");
        let scope = format!("repository:{repository}:pull,push");
        let resp = self
            .authorized(reporter, &what, &scope, |auth| {
                let req = self
                    .http
                    .put(&url)
                    .header(reqwest::header::CONTENT_TYPE, &manifest.media_type)
                    .body(manifest.body.clone());
                with_auth(req, auth)
            })
            .await?;
        if resp.status().is_success() {
            return self.digest_header(&what, &resp);
        }
        Err(self.unexpected(&what, resp).await)
    }

    /// Put a manifest given as bytes under `reference` (a tag, or its own digest). Returns the digest the
    /// registry reports, and whether it said it processed a `subject` (the `OCI-Subject` header of OCI 1.1).
    pub async fn put_manifest_bytes(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        body: bytes::Bytes,
        reporter: &dyn Reporter,
    ) -> Result<(String, bool), RegistryError> {
        let manifest = Manifest { digest: String::new(), media_type: media_type.to_string(), body };
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let what = format!("PUT /v2/{repository}/manifests/{reference}");
        let scope = format!("repository:{repository}:pull,push");
        let resp = self
            .authorized(reporter, &what, &scope, |auth| {
                let req = self
                    .http
                    .put(&url)
                    .header(reqwest::header::CONTENT_TYPE, &manifest.media_type)
                    .body(manifest.body.clone());
                with_auth(req, auth)
            })
            .await?;
        if resp.status().is_success() {
            let subject = resp.headers().contains_key("OCI-Subject");
            return Ok((self.digest_header(&what, &resp)?, subject));
        }
        Err(self.unexpected(&what, resp).await)
    }

    /// Upload a blob unless the registry has it already (HEAD first: evidence blobs are small, but the empty
    /// config is shared by every artifact). Two requests: POST opens the upload, PUT `?digest=` closes it.
    pub async fn put_blob(
        &self,
        repository: &str,
        digest: &str,
        body: bytes::Bytes,
        reporter: &dyn Reporter,
    ) -> Result<(), RegistryError> {
        let scope = format!("repository:{repository}:pull,push");
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let what = format!("HEAD /v2/{repository}/blobs/{digest}");
        let resp = self.authorized(reporter, &what, &scope, |auth| with_auth(self.http.head(&url), auth)).await?;
        if resp.status().is_success() {
            return Ok(());
        }
        let url = format!("{}/v2/{repository}/blobs/uploads/", self.base);
        let what = format!("POST /v2/{repository}/blobs/uploads/");
        let resp = self.authorized(reporter, &what, &scope, |auth| with_auth(self.http.post(&url), auth)).await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.unexpected(&what, resp).await);
        }
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| RegistryError::Unexpected {
                host: self.host.clone(),
                what: what.clone(),
                status: resp.status(),
                detail: "no Location header for the upload".into(),
            })?;
        let mut upload = if location.starts_with("http://") || location.starts_with("https://") {
            location
        } else {
            format!("{}{location}", self.base)
        };
        upload.push(if upload.contains('?') { '&' } else { '?' });
        upload.push_str(&format!("digest={digest}"));
        let what = format!("PUT /v2/{repository}/blobs/uploads/… ({digest})");
        let resp = self
            .authorized(reporter, &what, &scope, |auth| {
                let req = self
                    .http
                    .put(&upload)
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(body.clone());
                with_auth(req, auth)
            })
            .await?;
        if resp.status().is_success() {
            return Ok(());
        }
        Err(self.unexpected(&what, resp).await)
    }

    /// A blob's bytes, or `None` when the registry does not have it.
    pub async fn get_blob(
        &self,
        repository: &str,
        digest: &str,
        reporter: &dyn Reporter,
    ) -> Result<Option<bytes::Bytes>, RegistryError> {
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let what = format!("GET /v2/{repository}/blobs/{digest}");
        let scope = format!("repository:{repository}:pull");
        let resp = self.authorized(reporter, &what, &scope, |auth| with_auth(self.http.get(&url), auth)).await?;
        match resp.status() {
            s if s.is_success() => {
                let body = self.read_capped(&what, resp, MAX_EVIDENCE_BLOB_BYTES).await?;
                self.verify_digest(&what, digest, &body)?;
                Ok(Some(body))
            }
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.unexpected(&what, resp).await),
        }
    }

    /// The OCI 1.1 referrers API: the image index listing the manifests whose `subject` is `digest`, or
    /// `None` when the registry does not have the API (404; distribution 2.8 here, for one).
    pub async fn referrers(
        &self,
        repository: &str,
        digest: &str,
        reporter: &dyn Reporter,
    ) -> Result<Option<bytes::Bytes>, RegistryError> {
        let url = format!("{}/v2/{repository}/referrers/{digest}", self.base);
        let what = format!("GET /v2/{repository}/referrers/{digest}");
        let scope = format!("repository:{repository}:pull");
        let resp = self
            .authorized(reporter, &what, &scope, |auth| {
                with_auth(self.http.get(&url).header(ACCEPT, "application/vnd.oci.image.index.v1+json"), auth)
            })
            .await?;
        let is_index = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/vnd.oci.image.index.v1+json"));
        match resp.status() {
            s if s.is_success() && is_index => self.read_capped(&what, resp, MAX_MANIFEST_BYTES).await.map(Some),
            s if s.is_success() || s == StatusCode::NOT_FOUND || s == StatusCode::METHOD_NOT_ALLOWED => Ok(None),
            _ => Err(self.unexpected(&what, resp).await),
        }
    }

    /// Send with the Authorization the registry wants, learning it from a 401 challenge on first contact
    /// (or when a token expired) and trying once more. A 401/403 after that is a rejection.
    async fn authorized(
        &self,
        reporter: &dyn Reporter,
        what: &str,
        scope: &str,
        make: impl Fn(Option<&str>) -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut refreshed = false;
        loop {
            let scheme = self.scheme.lock().unwrap().clone();
            let header = match scheme {
                Scheme::Anonymous => None,
                ref s => Some(self.authorization(s, scope, reporter).await?),
            };
            let resp = self.send(reporter, what, || make(header.as_deref())).await?;
            match resp.status() {
                StatusCode::UNAUTHORIZED if !refreshed => {
                    self.learn_scheme(resp.headers())?;
                    if self.auth.is_none() {
                        return Err(self.needs_credentials());
                    }
                    self.tokens.lock().unwrap().clear();
                    refreshed = true;
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if self.auth.is_some() => {
                    return Err(self.rejected());
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(self.needs_credentials()),
                _ => return Ok(resp),
            }
        }
    }

    /// The body, at most `limit` bytes of it.
    async fn read_capped(&self, what: &str, resp: Response, limit: usize) -> Result<bytes::Bytes, RegistryError> {
        let status = resp.status();
        limits::read_capped(resp, limit).await.map_err(|e| match e {
            ReadError::TooLarge { limit } => {
                RegistryError::TooLarge { host: self.host.clone(), what: what.to_string(), limit }
            }
            ReadError::Transport(e) => RegistryError::Unexpected {
                host: self.host.clone(),
                what: what.to_string(),
                status,
                detail: format!("the answer broke off before its end ({})", describe_reqwest(&e)),
            },
        })
    }

    fn verify_digest(&self, what: &str, expected: &str, body: &[u8]) -> Result<(), RegistryError> {
        let actual = {
            use sha2::Digest as _;
            let d = sha2::Sha256::digest(body);
            format!("sha256:{}", d.iter().map(|b| format!("{b:02x}")).collect::<String>())
        };
        if !expected.starts_with("sha256:") || actual == expected {
            return Ok(());
        }
        Err(RegistryError::DigestMismatch {
            host: self.host.clone(),
            what: what.to_string(),
            expected: expected.to_string(),
            actual,
        })
    }

    /// A 200 with an HTML page is a web login or a proxy's page, never the API.
    fn refuse_html(&self, what: &str, resp: &Response) -> Result<(), RegistryError> {
        let content_type = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        match content_type {
            Some(t) if t.trim().to_ascii_lowercase().starts_with("text/html") => Err(RegistryError::NotRegistry {
                host: self.host.clone(),
                what: what.to_string(),
                detail: "an HTML page (a login page or a proxy?)".into(),
            }),
            _ => Ok(()),
        }
    }

    fn digest_header(&self, what: &str, resp: &Response) -> Result<String, RegistryError> {
        match resp.headers().get("Docker-Content-Digest").and_then(|v| v.to_str().ok()) {
            Some(d) if d.starts_with("sha256:") => Ok(d.to_string()),
            _ => Err(RegistryError::Unexpected {
                host: self.host.clone(),
                what: what.to_string(),
                status: resp.status(),
                detail: "no Docker-Content-Digest header in the answer".into(),
            }),
        }
    }

    fn learn_scheme(&self, headers: &HeaderMap) -> Result<Scheme, RegistryError> {
        let challenge = headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let scheme = parse_challenge(challenge).unwrap_or(Scheme::Basic);
        *self.scheme.lock().unwrap() = scheme.clone();
        Ok(scheme)
    }

    /// The Authorization header value for `scheme`, fetching (and caching) a bearer token for `scope`.
    async fn authorization(
        &self,
        scheme: &Scheme,
        scope: &str,
        reporter: &dyn Reporter,
    ) -> Result<String, RegistryError> {
        let auth = self.auth.as_ref().ok_or_else(|| self.needs_credentials())?;
        match scheme {
            Scheme::Anonymous | Scheme::Basic => {
                use base64::Engine as _;
                let raw = format!("{}:{}", auth.username, auth.password.expose());
                Ok(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw)))
            }
            Scheme::Bearer { realm, service } => {
                {
                    // A pull,push token (from the preflight) also serves pulls.
                    let tokens = self.tokens.lock().unwrap();
                    if let Some(t) = tokens.get(scope).or_else(|| tokens.get(&format!("{scope},push"))) {
                        return Ok(format!("Bearer {t}"));
                    }
                }
                let token = self.fetch_token(realm, service.as_deref(), scope, auth, reporter).await?;
                self.tokens.lock().unwrap().insert(scope.to_string(), token.clone());
                Ok(format!("Bearer {token}"))
            }
        }
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        auth: &RegistryAuth,
        reporter: &dyn Reporter,
    ) -> Result<String, RegistryError> {
        let mut query: Vec<(&str, &str)> = vec![("scope", scope)];
        if let Some(s) = service {
            query.push(("service", s));
        }
        let resp = match &auth.identity_token {
            // An OAuth2 refresh token from a credential helper: exchanged with a POST, as docker does.
            Some(refresh) => {
                let mut form = query.clone();
                form.extend([
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose()),
                    ("client_id", "shipit"),
                ]);
                self.send(reporter, "the token endpoint", || self.http.post(realm).form(&form)).await?
            }
            None => {
                self.send(reporter, "the token endpoint", || {
                    self.http.get(realm).query(&query).basic_auth(&auth.username, Some(auth.password.expose()))
                })
                .await?
            }
        };
        if matches!(resp.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(self.rejected());
        }
        if !resp.status().is_success() {
            return Err(self.unexpected("the token endpoint", resp).await);
        }
        let status = resp.status();
        let body = self.read_capped("the token endpoint", resp, MAX_TOKEN_REPLY_BYTES).await?;
        token_from_reply(&body).map_err(|detail| RegistryError::Unexpected {
            host: self.host.clone(),
            what: "the token endpoint".into(),
            status,
            detail,
        })
    }

    /// Send with retries on transient failures. `make` builds a fresh request per attempt.
    async fn send(
        &self,
        reporter: &dyn Reporter,
        what: &str,
        make: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut attempt = 1;
        loop {
            let why = match make().send().await {
                Ok(resp) if is_transient_status(resp.status()) => {
                    if attempt >= self.retry.attempts {
                        return Err(RegistryError::Unavailable {
                            host: self.host.clone(),
                            what: what.to_string(),
                            status: resp.status(),
                            attempts: attempt,
                        });
                    }
                    format!("answered {}", resp.status())
                }
                Ok(resp) => return Ok(resp),
                Err(e) if e.is_redirect() => {
                    return Err(RegistryError::Unreachable {
                        host: self.host.clone(),
                        detail: format!("{what} was redirected in a loop (more than 10 redirects)"),
                    });
                }
                Err(e) => {
                    let detail = describe_reqwest(&e);
                    if attempt >= self.retry.attempts {
                        return Err(RegistryError::Unreachable { host: self.host.clone(), detail });
                    }
                    detail
                }
            };
            let delay = self.retry.delay(attempt);
            attempt += 1;
            reporter.status(&format!(
                "registry {} {why} to {what}; retrying in {:.1}s (attempt {attempt}/{})",
                self.host,
                delay.as_secs_f64(),
                self.retry.attempts
            ));
            reporter.detail(&format!("registry {}: {what}: {why}", self.host));
            tokio::time::sleep(delay).await;
        }
    }

    fn needs_credentials(&self) -> RegistryError {
        RegistryError::NeedsCredentials { host: self.host.clone(), hint: self.credentials_hint.clone() }
    }

    fn rejected(&self) -> RegistryError {
        let (user, source) = self.auth.as_ref().map(|a| (a.username.clone(), a.source.clone())).unwrap_or_default();
        RegistryError::Rejected {
            host: self.host.clone(),
            user,
            source_desc: source.clone(),
            hint: format!("check the password or token in {source}; {}", self.credentials_hint),
        }
    }

    async fn unexpected(&self, what: &str, resp: Response) -> RegistryError {
        let status = resp.status();
        let body = limits::read_prefix(resp, MAX_ERROR_BODY_BYTES).await;
        RegistryError::Unexpected {
            host: self.host.clone(),
            what: what.to_string(),
            status,
            detail: registry_error_message(&body),
        }
    }
}

/// A manifest exactly as the registry stores it.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    pub body: bytes::Bytes,
}

fn with_auth(req: RequestBuilder, auth: Option<&str>) -> RequestBuilder {
    match auth {
        Some(h) => req.header("Authorization", h),
        None => req,
    }
}

fn is_transient_status(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS
}

/// reqwest's Display hides the cause ("error sending request"); the chain has "Connection refused".
fn describe_reqwest(e: &reqwest::Error) -> String {
    let chain = crate::error::chain(e);
    // The URL is ours (no credentials in it) but noisy; keep the cause.
    chain.split(": ").filter(|p| !p.starts_with("error sending request")).collect::<Vec<_>>().join(": ")
}

/// The `message` of a distribution error body (`{"errors":[{"code":…,"message":…}]}`), else the raw text.
pub fn registry_error_message(body: &str) -> String {
    if limits::looks_like_html(body.as_bytes()) {
        return "an HTML page (a login page or a proxy in front of the registry?)".into();
    }
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let msgs: Vec<String> = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(|e| e.as_array())
        .map(|errs| {
            errs.iter()
                .filter_map(|e| {
                    let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                    let msg = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                    (!code.is_empty() || !msg.is_empty()).then(|| format!("{code}: {msg}"))
                })
                .collect()
        })
        .unwrap_or_default();
    if msgs.is_empty() { body.trim().chars().take(300).collect() } else { msgs.join("; ") }
}

/// The token in a token endpoint's reply (`token`, or OAuth2's `access_token`).
pub(crate) fn token_from_reply(body: &[u8]) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct TokenReply {
        token: Option<String>,
        access_token: Option<String>,
    }
    let reply: TokenReply =
        serde_json::from_slice(body).map_err(|e| format!("unreadable token reply: {}", limits::not_json(body, &e)))?;
    reply.token.or(reply.access_token).filter(|t| !t.is_empty()).ok_or_else(|| "the reply holds no token".into())
}

pub(crate) fn parse_challenge(header: &str) -> Option<Scheme> {
    let header = header.trim();
    let (kind, params) = header.split_once(' ').unwrap_or((header, ""));
    if kind.eq_ignore_ascii_case("basic") {
        return Some(Scheme::Basic);
    }
    if !kind.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(params);
    let realm = params.get("realm")?.clone();
    Some(Scheme::Bearer { realm, service: params.get("service").cloned() })
}

/// `realm="https://x/token",service="x",scope="repository:a/b:pull,push"` — commas may sit inside quotes.
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_ascii_lowercase();
        rest = &rest[eq + 1..];
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            value = r[..end].to_string();
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        out.insert(key, value);
    }
    out
}

/// `127.0.0.1:5000`, `localhost`, `[::1]:5000`.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(parse_challenge("Basic realm=\"shipit-test-registry\""), Some(Scheme::Basic));
        assert_eq!(
            parse_challenge(
                "Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\",scope=\"repository:acme/api:pull,push\""
            ),
            Some(Scheme::Bearer { realm: "https://ghcr.io/token".into(), service: Some("ghcr.io".into()) })
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        let p = parse_params("a=1, b=\"x,y\",c=\"\"");
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "x,y");
        assert_eq!(p["c"], "");
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("ghcr.io"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }

    #[test]
    fn error_bodies() {
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;
        assert_eq!(registry_error_message(body), "UNAUTHORIZED: authentication required");
        assert_eq!(registry_error_message("plain text\n"), "plain text");
    }

    use crate::providers::credentials::Secret;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn auth(user: &str, pw: &str) -> RegistryAuth {
        RegistryAuth {
            username: user.into(),
            password: Secret::new(pw),
            identity_token: None,
            source: "TEST_TOKEN".into(),
        }
    }

    fn client(server: &MockServer, auth: Option<RegistryAuth>) -> Client {
        let host = server.uri().trim_start_matches("http://").to_string();
        let mut c = Client::new(&host, true, auth, "set TEST_TOKEN".into());
        c.retry = Retry { attempts: 3, first_delay: Duration::from_millis(10) };
        c
    }

    /// ghcr.io's flow: 401 with a Bearer challenge, a token from the realm for the repository scope (basic
    /// auth with the user's token), then requests with `Authorization: Bearer`.
    async fn bearer_registry(good_password: &'static str) -> MockServer {
        let server = MockServer::start().await;
        let realm = format!("{}/token", server.uri());
        let challenge = format!("Bearer realm=\"{realm}\",service=\"ghcr.test\"");
        Mock::given(method("GET"))
            .and(path("/v2/"))
            .and(header("Authorization", "Bearer T0KEN"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/"))
            .respond_with(ResponseTemplate::new(401).insert_header("WWW-Authenticate", challenge.as_str()))
            .mount(&server)
            .await;
        use base64::Engine as _;
        let basic =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("octo:{good_password}")));
        Mock::given(method("GET"))
            .and(path("/token"))
            .and(query_param("service", "ghcr.test"))
            .and(query_param("scope", "repository:acme/api:pull,push"))
            .and(header("Authorization", basic.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "T0KEN"})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(401).set_body_string(r#"{"errors":[{"code":"DENIED"}]}"#))
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(path("/v2/acme/api/manifests/v1"))
            .and(header("Authorization", "Bearer T0KEN"))
            .respond_with(ResponseTemplate::new(200).insert_header("Docker-Content-Digest", "sha256:abc"))
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(path("/v2/acme/api/manifests/missing"))
            .and(header("Authorization", "Bearer T0KEN"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn bearer_token_flow_like_ghcr() {
        let server = bearer_registry("right").await;
        let c = client(&server, Some(auth("octo", "right")));
        let access = c.check("acme/api", &crate::report::Silent).await.unwrap();
        assert_eq!(access, Access::Authenticated { user: "octo".into(), source: "TEST_TOKEN".into() });
        // The push,pull token is reused for the manifest lookup.
        assert_eq!(
            c.manifest_digest("acme/api", "v1", &crate::report::Silent).await.unwrap().as_deref(),
            Some("sha256:abc")
        );
        assert_eq!(c.manifest_digest("acme/api", "missing", &crate::report::Silent).await.unwrap(), None);
    }

    #[tokio::test]
    async fn bearer_token_refused_is_a_rejection_naming_the_source() {
        let server = bearer_registry("right").await;
        let c = client(&server, Some(auth("octo", "wrong")));
        let err = c.check("acme/api", &crate::report::Silent).await.unwrap_err();
        assert!(matches!(err, RegistryError::Rejected { .. }), "{err}");
        assert!(err.to_string().contains("(from TEST_TOKEN)"), "{err}");
        let cli: CliError = err.into();
        assert!(cli.hints[0].contains("TEST_TOKEN"), "{:?}", cli.hints);
    }

    #[tokio::test]
    async fn no_credentials_for_a_registry_that_wants_them() {
        let server = bearer_registry("right").await;
        let err = client(&server, None).check("acme/api", &crate::report::Silent).await.unwrap_err();
        assert!(matches!(err, RegistryError::NeedsCredentials { .. }), "{err}");
    }

    #[tokio::test]
    async fn server_errors_are_retried_then_reported() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v2/"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("GET")).and(path("/v2/")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
        let rec = crate::report::Recorder::default();
        assert_eq!(client(&server, None).check("a", &rec).await.unwrap(), Access::Open);
        let retries = rec.lines().iter().filter(|l| l.starts_with("status:") && l.contains("retrying")).count();
        assert_eq!(retries, 2, "{:?}", rec.lines());

        let always = MockServer::start().await;
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(502)).mount(&always).await;
        let err = client(&always, None).check("a", &crate::report::Silent).await.unwrap_err();
        assert!(matches!(err, RegistryError::Unavailable { attempts: 3, .. }), "{err}");
    }

    #[test]
    fn backoff_doubles() {
        let r = Retry { attempts: 4, first_delay: Duration::from_millis(100) };
        assert_eq!(r.delay(1), Duration::from_millis(100));
        assert_eq!(r.delay(3), Duration::from_millis(400));
    }
}
