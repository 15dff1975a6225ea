//! Keys and signatures in cosign's formats (docs/signing.md): ECDSA P-256 with SHA-256 (what `cosign
//! generate-key-pair` makes), the private key as PKCS#8 encrypted with scrypt + NaCl secretbox in cosign's JSON
//! envelope (PEM `ENCRYPTED SIGSTORE PRIVATE KEY`; cosign 1.x's `ENCRYPTED COSIGN PRIVATE KEY` is read too), the
//! public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo). The ECDSA itself is aws-lc-rs, the crypto provider
//! shipit already links; nothing here is hand-written crypto.
//!
//! Two things are signed with the key: the image digest, as cosign's "simple signing" payload (so `cosign verify
//! --key cosign.pub` accepts it), and every DSSE envelope of the evidence (the signature is over DSSE's PAE).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair, UnparsedPublicKey,
};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub const PRIVATE_PEM: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
const PRIVATE_PEM_V1: &str = "ENCRYPTED COSIGN PRIVATE KEY";
pub const PUBLIC_PEM: &str = "PUBLIC KEY";
/// cosign's simple-signing layer and the annotation that carries its signature.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const SIGNED_TYPE: &str = "cosign container image signature";

const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// scrypt cost `cosign generate-key-pair` uses (N = 2^15, r = 8, p = 1).
const SCRYPT_LOG_N: u8 = 15;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0} is not a PEM file with a `{1}` block")]
    NotPem(String, &'static str),
    #[error("the private key is not in cosign's encrypted format: {0}")]
    Format(String),
    #[error("wrong password for the private key (or the file is damaged)")]
    Password,
    #[error("the private key is not an ECDSA P-256 key: {0}")]
    NotP256(String),
    #[error("the public key is not an ECDSA P-256 SubjectPublicKeyInfo")]
    PublicKey,
    #[error("cannot sign: {0}")]
    Sign(String),
}

#[derive(Serialize, Deserialize)]
struct Encrypted {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// A signing key, decrypted. Never printed (no Debug of the key material).
pub struct SigningKey {
    pair: EcdsaKeyPair,
    public_der: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.keyid())
    }
}

/// A verification key (cosign.pub).
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub der: Vec<u8>,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(body).ok()
}

fn kdf(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<[u8; 32], KeyError> {
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|e| KeyError::Format(format!("scrypt: {e}")))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut key).map_err(|e| KeyError::Format(format!("scrypt: {e}")))?;
    Ok(key)
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).expect("the system RNG works");
    b
}

impl SigningKey {
    /// A new P-256 key pair.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
            .map_err(|_| KeyError::Sign("key generation failed".into()))?;
        SigningKey::from_pkcs8(doc.as_ref())
    }

    fn from_pkcs8(der: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(|e| KeyError::NotP256(e.to_string()))?;
        let public_der = pair.public_key().as_der().map_err(|_| KeyError::PublicKey)?.as_ref().to_vec();
        Ok(SigningKey { pair, public_der })
    }

    /// cosign's `cosign.key`: the PKCS#8 key sealed under `password`.
    pub fn to_encrypted_pem(&self, password: &str) -> Result<String, KeyError> {
        let pkcs8 = self.pair.to_pkcs8v1().map_err(|_| KeyError::Sign("cannot export the key".into()))?;
        let salt: [u8; 32] = random();
        let nonce: [u8; 24] = random();
        let key = kdf(password.as_bytes(), &salt, SCRYPT_LOG_N, 8, 1)?;
        use crypto_secretbox::aead::{Aead, KeyInit};
        let sealed = crypto_secretbox::XSalsa20Poly1305::new(&key.into())
            .encrypt(&nonce.into(), pkcs8.as_ref())
            .map_err(|_| KeyError::Sign("encryption failed".into()))?;
        let env = Encrypted {
            kdf: Kdf {
                name: "scrypt".into(),
                params: ScryptParams { n: 1 << SCRYPT_LOG_N, r: 8, p: 1 },
                salt: B64.encode(salt),
            },
            cipher: Cipher { name: "nacl/secretbox".into(), nonce: B64.encode(nonce) },
            ciphertext: B64.encode(sealed),
        };
        Ok(pem(PRIVATE_PEM, &serde_json::to_vec(&env).expect("serializes")))
    }

    /// Read a `cosign.key` (shipit's or `cosign generate-key-pair`'s).
    pub fn from_encrypted_pem(text: &str, password: &str, what: &str) -> Result<SigningKey, KeyError> {
        let json = unpem(text, PRIVATE_PEM)
            .or_else(|| unpem(text, PRIVATE_PEM_V1))
            .ok_or_else(|| KeyError::NotPem(what.to_string(), PRIVATE_PEM))?;
        let env: Encrypted = serde_json::from_slice(&json).map_err(|e| KeyError::Format(e.to_string()))?;
        if env.kdf.name != "scrypt" || env.cipher.name != "nacl/secretbox" {
            return Err(KeyError::Format(format!("kdf `{}`, cipher `{}`", env.kdf.name, env.cipher.name)));
        }
        let n = env.kdf.params.n;
        if !n.is_power_of_two() || !(2..=1 << 22).contains(&n) {
            return Err(KeyError::Format(format!("scrypt N = {n}")));
        }
        let salt = B64.decode(&env.kdf.salt).map_err(|e| KeyError::Format(format!("salt: {e}")))?;
        let nonce = B64.decode(&env.cipher.nonce).map_err(|e| KeyError::Format(format!("nonce: {e}")))?;
        let sealed = B64.decode(&env.ciphertext).map_err(|e| KeyError::Format(format!("ciphertext: {e}")))?;
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| KeyError::Format("the nonce is not 24 bytes".into()))?;
        let key = kdf(password.as_bytes(), &salt, n.trailing_zeros() as u8, env.kdf.params.r, env.kdf.params.p)?;
        use crypto_secretbox::aead::{Aead, KeyInit};
        let pkcs8 = crypto_secretbox::XSalsa20Poly1305::new(&key.into())
            .decrypt(&nonce.into(), sealed.as_ref())
            .map_err(|_| KeyError::Password)?;
        SigningKey::from_pkcs8(&pkcs8)
    }

    pub fn public(&self) -> PublicKey {
        PublicKey { der: self.public_der.clone() }
    }

    pub fn keyid(&self) -> String {
        self.public().keyid()
    }

    /// ASN.1 DER ECDSA signature over SHA-256(`message`).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let sig =
            self.pair.sign(&SystemRandom::new(), message).map_err(|_| KeyError::Sign("ECDSA signing failed".into()))?;
        Ok(sig.as_ref().to_vec())
    }
}

impl PublicKey {
    pub fn from_pem(text: &str, what: &str) -> Result<PublicKey, KeyError> {
        let der = unpem(text, PUBLIC_PEM).ok_or_else(|| KeyError::NotPem(what.to_string(), PUBLIC_PEM))?;
        // The SubjectPublicKeyInfo of a P-256 key: this fixed header, then the 65-byte uncompressed point.
        if der.len() != 91 || !der.starts_with(P256_SPKI_PREFIX) {
            return Err(KeyError::PublicKey);
        }
        Ok(PublicKey { der })
    }

    pub fn to_pem(&self) -> String {
        pem(PUBLIC_PEM, &self.der)
    }

    /// The DSSE `keyid` shipit writes: hex SHA-256 of the SubjectPublicKeyInfo.
    pub fn keyid(&self) -> String {
        super::store::sha256(&self.der).trim_start_matches("sha256:").to_string()
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.der).verify(message, signature).is_ok()
    }
}

/// DSSE's pre-authentication encoding: what a DSSE signature signs.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// cosign's simple-signing payload for `repository@digest`.
pub fn simple_signing_payload(repository: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNED_TYPE,
        },
        "optional": null,
    }))
    .expect("serializes")
}

/// The digest a simple-signing payload names, if it is one.
pub fn signed_digest(payload: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    if v.pointer("/critical/type")?.as_str()? != SIGNED_TYPE {
        return None;
    }
    v.pointer("/critical/image/docker-manifest-digest")?.as_str().map(str::to_string)
}

/// `sha256-<hex>.sig`: where cosign keeps the signatures of `digest`.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", super::store::referrers_tag(digest))
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn unb64(s: &str) -> Option<Vec<u8>> {
    B64.decode(s.trim()).ok()
}

/// The key password: `SHIPIT_SIGNING_PASSWORD`, else `COSIGN_PASSWORD` (an empty one is a valid password, as in
/// cosign).
pub fn password() -> Option<String> {
    use crate::env_vars::EnvVars;
    std::env::var(EnvVars::SHIPIT_SIGNING_PASSWORD).ok().or_else(|| std::env::var(EnvVars::COSIGN_PASSWORD).ok())
}

/// `[sign] key`, decrypted; `None` when ship.toml signs nothing.
pub fn signer(loaded: &crate::config::Loaded) -> Result<Option<(SigningKey, String)>, crate::error::CliError> {
    use crate::error::CliError;
    let Some(key) = loaded.config.sign.key.as_ref() else { return Ok(None) };
    let path = loaded.root.join(key.as_str());
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::usage(format!("cannot read the signing key {shown} ([sign] key): {e}"))
            .hint("`shipit keys generate` writes cosign.key and cosign.pub; or point `key` at an existing cosign key")
    })?;
    let Some(pw) = password() else {
        return Err(CliError::usage(format!("{shown} is encrypted and no password is set"))
            .hint("set SHIPIT_SIGNING_PASSWORD (or COSIGN_PASSWORD) to the key's password"));
    };
    let k = SigningKey::from_encrypted_pem(&text, &pw, &shown).map_err(|e| {
        CliError::usage(format!("cannot use the signing key {shown}: {e}"))
            .hint("check SHIPIT_SIGNING_PASSWORD / COSIGN_PASSWORD; the key must be cosign's ECDSA P-256 format")
    })?;
    Ok(Some((k, key.as_str().to_string())))
}

/// `[environments.X] public_key`, read; `None` when the environment does not require signatures.
pub fn verifier(
    loaded: &crate::config::Loaded,
    env: &crate::config::Environment,
) -> Result<Option<(PublicKey, String)>, crate::error::CliError> {
    use crate::error::CliError;
    if !env.require_signature {
        return Ok(None);
    }
    let Some(key) = env.public_key.as_ref() else {
        return Err(CliError::usage("require_signature = true needs `public_key` (the cosign.pub to verify with)"));
    };
    let path = loaded.root.join(key.as_str());
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::usage(format!("cannot read the public key {shown} (public_key): {e}")))?;
    let k = PublicKey::from_pem(&text, &shown).map_err(|e| CliError::usage(format!("{shown}: {e}")))?;
    Ok(Some((k, key.as_str().to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_key_round_trip_and_wrong_password() {
        let key = SigningKey::generate().unwrap();
        let pem = key.to_encrypted_pem("correct horse").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(!pem.contains("correct horse"));
        let back = SigningKey::from_encrypted_pem(&pem, "correct horse", "cosign.key").unwrap();
        assert_eq!(back.public().der, key.public().der);
        assert!(matches!(SigningKey::from_encrypted_pem(&pem, "wrong", "cosign.key"), Err(KeyError::Password)));
        assert!(matches!(SigningKey::from_encrypted_pem("nope", "x", "k"), Err(KeyError::NotPem(..))));
        // cosign 1.x's label is read too.
        let v1 = pem.replace(PRIVATE_PEM, PRIVATE_PEM_V1);
        assert!(SigningKey::from_encrypted_pem(&v1, "correct horse", "cosign.key").is_ok());
        assert!(format!("{key:?}").starts_with("SigningKey("));
    }

    #[test]
    fn signatures_verify_only_with_the_right_key_and_message() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let public = PublicKey::from_pem(&key.public().to_pem(), "cosign.pub").unwrap();
        assert_eq!(public.keyid().len(), 64);
        let msg = simple_signing_payload("127.0.0.1:5000/api", &format!("sha256:{}", "ab".repeat(32)));
        let sig = key.sign(&msg).unwrap();
        assert!(public.verify(&msg, &sig));
        assert!(!other.public().verify(&msg, &sig));
        let mut tampered = msg.clone();
        tampered[10] ^= 1;
        assert!(!public.verify(&tampered, &sig));
        assert_eq!(signed_digest(&msg).unwrap(), format!("sha256:{}", "ab".repeat(32)));
        assert!(PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "x").is_err());
    }

    #[test]
    fn pae_is_dsse_v1() {
        assert_eq!(pae("application/vnd.in-toto+json", b"{}"), b"DSSEv1 28 application/vnd.in-toto+json 2 {}".to_vec());
        assert_eq!(signature_tag("sha256:abc"), "sha256-abc.sig");
    }
}
