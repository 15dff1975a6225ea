//! Evidence as OCI artifacts that refer to the image: one image manifest per piece of evidence, with an
//! empty config, one DSSE layer and `subject` = the image's manifest. Found again through the OCI 1.1
//! referrers API where the registry has it, else through the referrers tag schema: an image index tagged
//! `sha256-<hex>` in the same repository that lists them (OCI distribution spec 1.1, "Referrers Tag Schema").
//!
//! Every read and write is a handful of small requests to the image's own registry, with the credentials
//! `push` uses, so a deploy from any machine sees what the build machine attached.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::dsse::{Envelope, Statement};
use crate::providers::registry::{Client, RegistryError};
use crate::report::Reporter;

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const DSSE: &str = "application/vnd.dsse.envelope.v1+json";
/// The artifactType of every evidence manifest shipit writes.
pub const ARTIFACT_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
pub const PREDICATE_ANNOTATION: &str = "in-toto.io/predicate-type";
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";
pub const KIND_ANNOTATION: &str = "dev.shipit.evidence";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(rename = "artifactType", default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
}

impl Descriptor {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImageManifest {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(rename = "artifactType", default, skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct Index {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl ImageManifest {
    pub(crate) fn dsse_layer(&self) -> Option<&Descriptor> {
        self.layers.iter().find(|l| l.media_type == DSSE)
    }

    pub(crate) fn subject_digest(&self) -> Option<&str> {
        self.subject.as_ref().map(|s| s.digest.as_str())
    }
}

pub(crate) fn parse_manifest(bytes: &[u8]) -> Result<ImageManifest, String> {
    serde_json::from_slice(bytes).map_err(|e| crate::providers::limits::not_json(bytes, &e))
}

/// An image index: the referrers API's answer or the referrers tag.
pub(crate) fn parse_index(bytes: &[u8]) -> Result<Index, String> {
    serde_json::from_slice(bytes).map_err(|e| crate::providers::limits::not_json(bytes, &e))
}

/// The config blob's digest of an image manifest (`None` for an index or anything unreadable).
pub(crate) fn config_digest(manifest: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(manifest)
        .ok()
        .and_then(|v| v.pointer("/config/digest").and_then(|d| d.as_str()).map(str::to_string))
}

pub fn sha256(bytes: &[u8]) -> String {
    let d = sha2::Sha256::digest(bytes);
    format!("sha256:{}", d.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// `sha256-<hex>`: the referrers tag for `digest`.
pub fn referrers_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

/// The image an artifact refers to, as the registry stores it.
#[derive(Debug, Clone)]
pub struct SubjectImage {
    pub descriptor: Descriptor,
    /// The config blob's digest (what `docker inspect` calls the image id), for a single-platform image.
    pub config_digest: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("the registry has no image {0}")]
    NoImage(String),
    #[error("evidence {digest} is unreadable: {detail}")]
    Damaged { digest: String, detail: String },
}

pub struct Store<'a> {
    pub client: &'a Client,
    /// The repository path on the registry host (`acme/api`).
    pub path: String,
    pub reporter: &'a dyn Reporter,
    /// `[sign] key`, decrypted: every attached envelope is signed with it.
    pub signer: Option<&'a super::sign::SigningKey>,
}

/// One piece of evidence found for an image: where it is, and what it says.
#[derive(Debug, Clone)]
pub struct Found {
    pub descriptor: Descriptor,
    pub statement: Statement,
    /// The DSSE envelope as stored (to check its signatures).
    pub envelope: Bytes,
}

/// One cosign signature of an image: the simple-signing payload and its signature (`sha256-<hex>.sig`).
#[derive(Debug, Clone)]
pub struct ImageSignature {
    pub payload: Bytes,
    pub signature: Option<String>,
}

impl Store<'_> {
    /// The image manifest `digest` refers to (to use as `subject`, and to bind a scan report to it).
    pub async fn subject(&self, digest: &str) -> Result<SubjectImage, StoreError> {
        let m = self
            .client
            .get_manifest(&self.path, digest, self.reporter)
            .await?
            .ok_or_else(|| StoreError::NoImage(format!("{}@{digest}", self.path)))?;
        let config_digest = config_digest(&m.body);
        let media_type = m.media_type.split(';').next().unwrap_or(&m.media_type).trim().to_string();
        Ok(SubjectImage {
            descriptor: Descriptor {
                media_type,
                digest: m.digest.clone(),
                size: m.body.len() as u64,
                artifact_type: None,
                annotations: Default::default(),
            },
            config_digest,
        })
    }

    /// Attach `statement` to `subject`; returns the artifact manifest's digest.
    pub async fn attach(
        &self,
        subject: &SubjectImage,
        kind: &str,
        statement: &Statement,
        created: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, StoreError> {
        let empty = Bytes::from_static(b"{}");
        let empty_digest = sha256(&empty);
        self.client.put_blob(&self.path, &empty_digest, empty.clone(), self.reporter).await?;
        let envelope = Envelope::wrap_signed(statement, self.signer)
            .map_err(|e| StoreError::Damaged { digest: subject.descriptor.digest.clone(), detail: e.to_string() })?;
        let layer = Bytes::from(envelope.to_bytes());
        let layer_digest = sha256(&layer);
        self.client.put_blob(&self.path, &layer_digest, layer.clone(), self.reporter).await?;
        let annotations = std::collections::BTreeMap::from([
            (PREDICATE_ANNOTATION.to_string(), statement.predicate_type.clone()),
            (CREATED_ANNOTATION.to_string(), created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            (KIND_ANNOTATION.to_string(), kind.to_string()),
        ]);
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(MANIFEST.into()),
            artifact_type: Some(ARTIFACT_TYPE.into()),
            config: Descriptor {
                media_type: EMPTY.into(),
                digest: empty_digest,
                size: empty.len() as u64,
                artifact_type: None,
                annotations: Default::default(),
            },
            layers: vec![Descriptor {
                media_type: DSSE.into(),
                digest: layer_digest,
                size: layer.len() as u64,
                artifact_type: None,
                annotations: std::collections::BTreeMap::from([(
                    PREDICATE_ANNOTATION.to_string(),
                    statement.predicate_type.clone(),
                )]),
            }],
            subject: Some(subject.descriptor.clone()),
            annotations: annotations.clone(),
        };
        let body = Bytes::from(serde_json::to_vec(&manifest).expect("a manifest serializes"));
        let digest = sha256(&body);
        let (stored, registry_indexed) =
            self.client.put_manifest_bytes(&self.path, &digest, MANIFEST, body.clone(), self.reporter).await?;
        if !registry_indexed {
            // No `OCI-Subject` in the answer: the registry did not index the subject; keep the tag index.
            let entry = Descriptor {
                media_type: MANIFEST.into(),
                digest: stored.clone(),
                size: body.len() as u64,
                artifact_type: Some(ARTIFACT_TYPE.into()),
                annotations,
            };
            self.add_to_tag_index(&subject.descriptor.digest, entry).await?;
        }
        Ok(stored)
    }

    /// Read-modify-write of the `sha256-<hex>` index. Two writers at once could lose an entry; the write is
    /// read back and repeated when ours is missing.
    async fn add_to_tag_index(&self, subject: &str, entry: Descriptor) -> Result<(), StoreError> {
        let tag = referrers_tag(subject);
        for _ in 0..3 {
            let mut index = self.tag_index(subject).await?.unwrap_or_default();
            if index.manifests.iter().any(|d| d.digest == entry.digest) {
                return Ok(());
            }
            index.schema_version = 2;
            index.media_type = Some(INDEX.into());
            index.manifests.push(entry.clone());
            let body = Bytes::from(serde_json::to_vec(&index).expect("an index serializes"));
            self.client.put_manifest_bytes(&self.path, &tag, INDEX, body, self.reporter).await?;
            if self.tag_index(subject).await?.is_some_and(|i| i.manifests.iter().any(|d| d.digest == entry.digest)) {
                return Ok(());
            }
        }
        Err(StoreError::Damaged {
            digest: entry.digest,
            detail: format!("another writer kept replacing the referrers index {tag}"),
        })
    }

    async fn tag_index(&self, subject: &str) -> Result<Option<Index>, StoreError> {
        let tag = referrers_tag(subject);
        let Some(m) = self.client.get_manifest(&self.path, &tag, self.reporter).await? else { return Ok(None) };
        parse_index(&m.body)
            .map(Some)
            .map_err(|e| StoreError::Damaged { digest: m.digest, detail: format!("referrers index {tag}: {e}") })
    }

    /// The evidence manifests that refer to `subject`: the referrers API, else the tag index.
    pub async fn list(&self, subject: &str) -> Result<Vec<Descriptor>, StoreError> {
        let index = match self.client.referrers(&self.path, subject, self.reporter).await? {
            Some(body) => {
                let api: Index = parse_index(&body).map_err(|e| StoreError::Damaged {
                    digest: subject.to_string(),
                    detail: format!("referrers answer: {e}"),
                })?;
                // A registry with the API lists what it indexed; entries written by the tag schema before it had
                // the API are still in the tag.
                let mut all = api.manifests;
                if let Some(tagged) = self.tag_index(subject).await? {
                    for d in tagged.manifests {
                        if !all.iter().any(|a| a.digest == d.digest) {
                            all.push(d);
                        }
                    }
                }
                all
            }
            None => self.tag_index(subject).await?.map(|i| i.manifests).unwrap_or_default(),
        };
        Ok(index.into_iter().filter(|d| d.artifact_type.as_deref() == Some(ARTIFACT_TYPE)).collect())
    }

    /// Fetch an evidence manifest and its DSSE layer, and check that the statement is about `subject`.
    pub async fn read(&self, subject: &str, d: &Descriptor) -> Result<Found, StoreError> {
        let damaged = |detail: String| StoreError::Damaged { digest: d.digest.clone(), detail };
        let m = self
            .client
            .get_manifest(&self.path, &d.digest, self.reporter)
            .await?
            .ok_or_else(|| damaged("listed but not in the registry".into()))?;
        if sha256(&m.body) != d.digest {
            return Err(damaged("manifest bytes do not match their digest".into()));
        }
        let manifest = parse_manifest(&m.body).map_err(damaged)?;
        if manifest.subject_digest() != Some(subject) {
            return Err(damaged(format!("its subject is not {subject}")));
        }
        let layer = manifest.dsse_layer().ok_or_else(|| damaged("no DSSE layer".into()))?;
        let blob = self
            .client
            .get_blob(&self.path, &layer.digest, self.reporter)
            .await?
            .ok_or_else(|| damaged(format!("layer {} is missing", layer.digest)))?;
        if sha256(&blob) != layer.digest {
            return Err(damaged("layer bytes do not match their digest".into()));
        }
        let statement = Envelope::open(&blob).map_err(|e| damaged(e.to_string()))?;
        if !statement.is_about(subject) {
            return Err(damaged(format!("the statement is not about {subject}")));
        }
        let mut descriptor = d.clone();
        descriptor.annotations.extend(manifest.annotations);
        Ok(Found { descriptor, statement, envelope: blob })
    }
}

impl Store<'_> {
    /// Sign `subject` the way `cosign sign --key` does: a simple-signing payload naming `repository@digest`, as a
    /// layer of the image manifest tagged `sha256-<hex>.sig`, its signature in the layer's
    /// `dev.cosignproject.cosign/signature` annotation. Signatures already there are kept (cosign appends too).
    pub async fn sign_image(
        &self,
        subject: &SubjectImage,
        repository: &str,
        key: &super::sign::SigningKey,
    ) -> Result<(), StoreError> {
        use super::sign;
        let digest = &subject.descriptor.digest;
        let tag = sign::signature_tag(digest);
        let payload = Bytes::from(sign::simple_signing_payload(repository, digest));
        let signature =
            key.sign(&payload).map_err(|e| StoreError::Damaged { digest: digest.clone(), detail: e.to_string() })?;
        let payload_digest = sha256(&payload);
        self.client.put_blob(&self.path, &payload_digest, payload.clone(), self.reporter).await?;
        let mut layers: Vec<Descriptor> = match self.client.get_manifest(&self.path, &tag, self.reporter).await? {
            Some(m) => serde_json::from_slice::<ImageManifest>(&m.body).map(|m| m.layers).unwrap_or_default(),
            None => Vec::new(),
        };
        // Re-signing the same digest with the same key writes the same payload: replace that layer's signature.
        layers.retain(|l| {
            l.digest != payload_digest
                || l.annotation(sign::SIGNATURE_ANNOTATION)
                    .and_then(sign::unb64)
                    .is_none_or(|s| !key.public().verify(&payload, &s))
        });
        layers.push(Descriptor {
            media_type: sign::SIMPLE_SIGNING.into(),
            digest: payload_digest,
            size: payload.len() as u64,
            artifact_type: None,
            annotations: std::collections::BTreeMap::from([(
                sign::SIGNATURE_ANNOTATION.to_string(),
                sign::b64(&signature),
            )]),
        });
        // The config cosign writes: an image config whose rootfs lists the layers.
        let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
        let config = Bytes::from(
            serde_json::to_vec(&serde_json::json!({
                "architecture": "", "created": "0001-01-01T00:00:00Z", "history": [{"created": "0001-01-01T00:00:00Z"}],
                "os": "", "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}
            }))
            .expect("serializes"),
        );
        let config_digest = sha256(&config);
        self.client.put_blob(&self.path, &config_digest, config.clone(), self.reporter).await?;
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(MANIFEST.into()),
            artifact_type: None,
            config: Descriptor {
                media_type: "application/vnd.oci.image.config.v1+json".into(),
                digest: config_digest,
                size: config.len() as u64,
                artifact_type: None,
                annotations: Default::default(),
            },
            layers,
            subject: None,
            annotations: Default::default(),
        };
        let body = Bytes::from(serde_json::to_vec(&manifest).expect("a manifest serializes"));
        self.client.put_manifest_bytes(&self.path, &tag, MANIFEST, body, self.reporter).await?;
        Ok(())
    }

    /// The cosign signatures stored for `digest` (`sha256-<hex>.sig`), payloads read and checked against their
    /// digests; empty when the image is unsigned.
    pub async fn image_signatures(&self, digest: &str) -> Result<Vec<ImageSignature>, StoreError> {
        let tag = super::sign::signature_tag(digest);
        let Some(m) = self.client.get_manifest(&self.path, &tag, self.reporter).await? else { return Ok(Vec::new()) };
        let manifest: ImageManifest = serde_json::from_slice(&m.body)
            .map_err(|e| StoreError::Damaged { digest: m.digest.clone(), detail: format!("{tag}: {e}") })?;
        let mut out = Vec::new();
        for l in manifest.layers.iter().filter(|l| l.media_type == super::sign::SIMPLE_SIGNING) {
            let Some(payload) = self.client.get_blob(&self.path, &l.digest, self.reporter).await? else { continue };
            if sha256(&payload) != l.digest {
                continue;
            }
            out.push(ImageSignature {
                payload,
                signature: l.annotation(super::sign::SIGNATURE_ANNOTATION).map(str::to_string),
            });
        }
        Ok(out)
    }
}

/// How the signatures of an image stand against `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    Verified,
    Unsigned,
    /// Signatures exist, but none names this digest.
    OtherDigest(String),
    /// A payload names this digest, but no signature verifies with the key.
    WrongKey,
}

pub fn check_signatures(sigs: &[ImageSignature], digest: &str, key: &super::sign::PublicKey) -> SignatureCheck {
    use super::sign;
    if sigs.is_empty() {
        return SignatureCheck::Unsigned;
    }
    let mut other = None;
    let mut ours = false;
    for s in sigs {
        match sign::signed_digest(&s.payload) {
            Some(d) if d == digest => {
                ours = true;
                if s.signature.as_deref().and_then(sign::unb64).is_some_and(|sig| key.verify(&s.payload, &sig)) {
                    return SignatureCheck::Verified;
                }
            }
            Some(d) => other = Some(d),
            None => {}
        }
    }
    match (ours, other) {
        (false, Some(d)) => SignatureCheck::OtherDigest(d),
        (false, None) => SignatureCheck::Unsigned,
        (true, _) => SignatureCheck::WrongKey,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_tags() {
        assert_eq!(sha256(b"{}"), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        assert_eq!(referrers_tag("sha256:abc"), "sha256-abc");
    }

    #[test]
    fn signature_checks() {
        use crate::evidence::sign::{SigningKey, simple_signing_payload};
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let d1 = format!("sha256:{}", "ab".repeat(32));
        let d2 = format!("sha256:{}", "cd".repeat(32));
        let signed = |k: &SigningKey, d: &str| {
            let payload = Bytes::from(simple_signing_payload("127.0.0.1:5000/api", d));
            let sig = crate::evidence::sign::b64(&k.sign(&payload).unwrap());
            ImageSignature { payload, signature: Some(sig) }
        };
        let pk = key.public();
        assert_eq!(check_signatures(&[], &d1, &pk), SignatureCheck::Unsigned);
        assert_eq!(check_signatures(&[signed(&key, &d1)], &d1, &pk), SignatureCheck::Verified);
        assert_eq!(check_signatures(&[signed(&other, &d1)], &d1, &pk), SignatureCheck::WrongKey);
        assert_eq!(check_signatures(&[signed(&key, &d2)], &d1, &pk), SignatureCheck::OtherDigest(d2.clone()));
        assert_eq!(check_signatures(&[signed(&other, &d1), signed(&key, &d1)], &d1, &pk), SignatureCheck::Verified);
    }
}
