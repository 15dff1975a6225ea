//! in-toto Statement v1 payloads in DSSE envelopes: the standard wrapping for attestations, so that cosign,
//! in-toto and any other reader can open shipit's evidence.
//!
//! With `[sign] key` the envelopes are signed (ECDSA P-256 over DSSE's PAE, `keyid` = hex SHA-256 of the public
//! key; see `sign`); without it `signatures` is empty, and an unsigned envelope proves nothing about who wrote it
//! (anyone with push access could). `require_signature` environments only trust signed ones.

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
    /// Empty without `[sign] key` (see the module comment).
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

    /// `wrap`, signed with `key` when there is one.
    pub fn wrap_signed(
        statement: &Statement,
        key: Option<&super::sign::SigningKey>,
    ) -> Result<Envelope, super::sign::KeyError> {
        let mut env = Envelope::wrap(statement);
        if let Some(key) = key {
            let payload = serde_json::to_vec(statement).expect("a statement serializes");
            let sig = key.sign(&super::sign::pae(PAYLOAD_TYPE, &payload))?;
            env.signatures.push(Signature { keyid: key.keyid(), sig: super::sign::b64(&sig) });
        }
        Ok(env)
    }

    /// Whether one of the envelope's signatures verifies with `key` over its payload as stored.
    pub fn signed_by(bytes: &[u8], key: &super::sign::PublicKey) -> bool {
        let Ok(env) = serde_json::from_slice::<Envelope>(bytes) else { return false };
        let Some(payload) = super::sign::unb64(&env.payload) else { return false };
        let pae = super::sign::pae(&env.payload_type, &payload);
        env.signatures.iter().any(|s| super::sign::unb64(&s.sig).is_some_and(|sig| key.verify(&pae, &sig)))
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

    #[test]
    fn signed_envelopes_verify_and_tampering_is_seen() {
        let key = crate::evidence::sign::SigningKey::generate().unwrap();
        let other = crate::evidence::sign::SigningKey::generate().unwrap();
        let d = format!("sha256:{}", "ab".repeat(32));
        let st = Statement::about("127.0.0.1:5000/api", &d, "https://example/p", serde_json::json!({"a": 1}));
        let env = Envelope::wrap_signed(&st, Some(&key)).unwrap();
        assert_eq!(env.signatures.len(), 1);
        assert_eq!(env.signatures[0].keyid, key.keyid());
        assert!(Envelope::signed_by(&env.to_bytes(), &key.public()));
        assert!(!Envelope::signed_by(&env.to_bytes(), &other.public()));
        assert!(!Envelope::signed_by(&Envelope::wrap(&st).to_bytes(), &key.public()));
        let mut tampered = env.clone();
        let changed = Statement::about("127.0.0.1:5000/api", &d, "https://example/p", serde_json::json!({"a": 2}));
        tampered.payload = Envelope::wrap(&changed).payload;
        assert!(!Envelope::signed_by(&tampered.to_bytes(), &key.public()));
    }
}
