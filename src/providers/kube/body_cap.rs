//! Answers from the API server, bounded: a cap on the size of each (docs/security.md) — kube-rs reads a whole
//! answer into memory before parsing it, so an endpoint that never stops sending would otherwise take all of
//! it; watch answers are capped too, far above what a long poll of a Deployment's pods carries — and a
//! redirect is an error (the API server never sends one; kube-rs would read the empty 302 as a broken object).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::Limited;

use crate::providers::limits::MAX_KUBE_ANSWER_BYTES;

/// Part of the error kube-rs reports when the cap is hit (http-body-util's `LengthLimitError`).
pub(crate) const TOO_LARGE: &str = "length limit exceeded";
/// Starts the error of a redirect; what follows says where to.
pub(crate) const REDIRECTED: &str = "shipit: answered with a redirect:";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug)]
struct Redirected(String);

impl std::fmt::Display for Redirected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{REDIRECTED} {}", self.0)
    }
}

impl std::error::Error for Redirected {}

pub(crate) struct BodyCap;

impl<S> tower::Layer<S> for BodyCap {
    type Service = Capped<S>;
    fn layer(&self, inner: S) -> Capped<S> {
        Capped(inner)
    }
}

pub(crate) struct Capped<S>(S);

impl<S, Req, B> tower::Service<Req> for Capped<S>
where
    S: tower::Service<Req, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: 'static,
{
    type Response = http::Response<Limited<B>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let answer = self.0.call(req);
        Box::pin(async move {
            let resp = answer.await.map_err(Into::into)?;
            if resp.status().is_redirection() {
                let to = resp.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("nowhere");
                return Err(Box::new(Redirected(format!("HTTP {} to {to}", resp.status().as_u16()))) as BoxError);
            }
            Ok(resp.map(|body| Limited::new(body, MAX_KUBE_ANSWER_BYTES)))
        })
    }
}

/// A client for `config` whose answers are bounded.
pub(crate) fn client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(config)?.with_layer(&BodyCap).build())
}
