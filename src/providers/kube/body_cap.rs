//! A cap on the size of every answer from the API server (docs/security.md). kube-rs reads a whole answer into
//! memory before parsing it, so an endpoint that never stops sending would otherwise take all of it; watch
//! answers are capped too, far above what a long poll of a Deployment's pods carries.

use std::task::{Context, Poll};

use futures_util::TryFutureExt as _;
use futures_util::future::MapOk;
use http_body_util::Limited;

use crate::providers::limits::MAX_KUBE_ANSWER_BYTES;

/// Part of the error kube-rs reports when the cap is hit (http-body-util's `LengthLimitError`).
pub(crate) const TOO_LARGE: &str = "length limit exceeded";

pub(crate) struct BodyCap;

impl<S> tower::Layer<S> for BodyCap {
    type Service = Capped<S>;
    fn layer(&self, inner: S) -> Capped<S> {
        Capped(inner)
    }
}

pub(crate) struct Capped<S>(S);

type Cap<B> = fn(http::Response<B>) -> http::Response<Limited<B>>;

impl<S, Req, B> tower::Service<Req> for Capped<S>
where
    S: tower::Service<Req, Response = http::Response<B>>,
{
    type Response = http::Response<Limited<B>>;
    type Error = S::Error;
    type Future = MapOk<S::Future, Cap<B>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let cap: Cap<B> = |resp| resp.map(|body| Limited::new(body, MAX_KUBE_ANSWER_BYTES));
        self.0.call(req).map_ok(cap)
    }
}

/// A client for `config` whose answers are capped.
pub(crate) fn client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(config)?.with_layer(&BodyCap).build())
}
