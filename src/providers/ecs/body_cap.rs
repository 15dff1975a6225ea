//! A cap on the size of every ECS answer (docs/security.md): the SDK reads a whole answer into memory before
//! parsing it, so an endpoint that never stops sending would otherwise take all of it.

use aws_sdk_ecs::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;

use crate::providers::limits::MAX_ECS_ANSWER_BYTES;

/// Part of the error the SDK reports when the cap is hit (http-body-util's `LengthLimitError`).
pub(crate) const TOO_LARGE: &str = "length limit exceeded";

#[derive(Debug)]
pub(crate) struct BodyCap;

impl Intercept for BodyCap {
    fn name(&self) -> &'static str {
        "shipit::BodyCap"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let body = context.response_mut().take_body();
        *context.response_mut().body_mut() =
            SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_ECS_ANSWER_BYTES));
        Ok(())
    }
}
