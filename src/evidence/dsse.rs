//! in-toto Statement v1 payloads in DSSE envelopes: the standard wrapping for attestations, so that cosign,
//! in-toto and any other reader can open shipit's evidence.
//!
//! The envelopes are unsigned for now: `signatures` is empty. They bind evidence to a digest and travel with
//! it, but anyone with push access to the repository could write one; signing them is a later step, and a
//! verifier must not treat an unsigned envelope as proof of who wrote it.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Subject {
    pub name: String,
    /// `{"sha256": "<hex>"}`
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: serde_json::Value,
}

impl Statement {
    /// A statement about `repository@sha256:<hex>`.
    pub fn about(repository: &str, digest: &str, predicate_type: &str, predicate: serde_json::Value) -> Statement {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        Statement {
            type_: STATEMENT_TYPE.into(),
            subject: vec![Subject {
                name: repository.to_string(),
                digest: BTreeMap::from([("sha256".to_string(), hex.to_string())]),
            }],
            predicate_type: predicate_type.to_string(),
            predicate,
        }
    }

    /// Whether the statement names `digest` as one of its subjects.
    pub fn is_about(&self, digest: &str) -> bool {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.subject.iter().any(|s| s.digest.get("sha256").is_some_and(|d| d.eq_ignore_ascii_case(hex)))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Signature {
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    /// base64 of the serialized statement
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Empty: shipit does not sign its evidence yet (see the module comment).
    pub signatures: Vec<Signature>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("not a DSSE envelope: {0}")]
    NotEnvelope(serde_json::Error),
    #[error("DSSE payload type is `{0}`, not {PAYLOAD_TYPE}")]
    PayloadType(String),
    #[error("DSSE payload is not base64: {0}")]
    Base64(base64::DecodeError),
    #[error("DSSE payload is not an in-toto Statement v1: {0}")]
    NotStatement(serde_json::Error),
    #[error("statement type is `{0}`, not {STATEMENT_TYPE}")]
    StatementType(String),
}

impl Envelope {
    pub fn wrap(statement: &Statement) -> Envelope {
        let payload = serde_json::to_vec(statement).expect("a statement serializes");
        Envelope {
            payload: base64::engine::general_purpose::STANDARD.encode(payload),
            payload_type: PAYLOAD_TYPE.into(),
            signatures: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope serializes")
    }

    pub fn open(bytes: &[u8]) -> Result<Statement, EnvelopeError> {
        let env: Envelope = serde_json::from_slice(bytes).map_err(EnvelopeError::NotEnvelope)?;
        if env.payload_type != PAYLOAD_TYPE {
            return Err(EnvelopeError::PayloadType(env.payload_type));
        }
        let payload =
            base64::engine::general_purpose::STANDARD.decode(env.payload.trim()).map_err(EnvelopeError::Base64)?;
        let st: Statement = serde_json::from_slice(&payload).map_err(EnvelopeError::NotStatement)?;
        if st.type_ != STATEMENT_TYPE {
            return Err(EnvelopeError::StatementType(st.type_));
        }
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let st = Statement::about("127.0.0.1:5000/api", &d, "https://example/p", serde_json::json!({"a": 1}));
        let env = Envelope::wrap(&st);
        assert!(env.signatures.is_empty());
        let back = Envelope::open(&env.to_bytes()).unwrap();
        assert_eq!(back, st);
        assert!(back.is_about(&d));
        assert!(!back.is_about(&format!("sha256:{}", "cd".repeat(32))));
        assert!(matches!(Envelope::open(b"{}"), Err(EnvelopeError::NotEnvelope(_))));
        let wrong = serde_json::json!({"payload": env.payload, "payloadType": "text/plain", "signatures": []});
        assert!(matches!(Envelope::open(wrong.to_string().as_bytes()), Err(EnvelopeError::PayloadType(_))));
    }
}
