//! Signing end to end through the binary (docs/signing.md): `shipit keys generate`, a signed push (cosign's
//! `sha256-<hex>.sig` and signed DSSE evidence) against the open registry, and the deploy gate of a
//! `require_signature` environment. Signatures are checked here with `openssl` (an independent ECDSA
//! implementation, reading cosign.pub as it is) and plain HTTP, so shipit's own code is not the only judge.

use base64::Engine as _;
use serde_json::Value;

use crate::evidence::{Project, ship_toml};
use crate::support::cli::{describe, text};
use crate::support::env::{TestEnv, http_client};

const PASSWORD: &str = "s3cret-horse-battery";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn configure(env: &TestEnv, p: &Project, sign: bool, public_key: Option<&str>) {
    let sign = if sign { "\n[sign]\nkey = \"cosign.key\"\n" } else { "" };
    let dev = match public_key {
        Some(k) => format!("require_signature = true\npublic_key = \"{k}\"\n"),
        None => String::new(),
    };
    p.repo.write("ship.toml", &ship_toml(env, &p.repository, &p.name, sign, &dev));
    p.repo.git(&["add", "-A"]);
    p.repo.git(&["commit", "-q", "-m", "signing config"]);
    p.repo.git(&["push", "-q"]);
}

fn run(p: &Project, args: &[&str]) -> std::process::Output {
    p.shipit().env("SHIPIT_SIGNING_PASSWORD", PASSWORD).args(args).output().unwrap()
}

fn generate(p: &Project, dir: &str) -> std::process::Output {
    run(p, &["keys", "generate", "--dir", dir])
}

/// `openssl dgst -sha256 -verify pub -signature sig msg`: true when OpenSSL accepts the signature.
fn openssl_verifies(public_pem: &std::path::Path, message: &[u8], signature_der: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("msg"), message).unwrap();
    std::fs::write(dir.path().join("sig"), signature_der).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public_pem)
        .arg("-signature")
        .arg(dir.path().join("sig"))
        .arg(dir.path().join("msg"))
        .output()
        .expect("openssl is installed (scripts/test-env)");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

async fn get(url: String, accept: &str) -> reqwest::Response {
    http_client().get(url).header("Accept", accept).send().await.unwrap()
}

/// The evidence manifests of `digest` (the referrers tag index; the open registry has no referrers API).
async fn evidence(env: &TestEnv, repository: &str, digest: &str) -> Vec<(String, Value, Value)> {
    let path = repository.split_once('/').unwrap().1;
    let base = env.registry_open_url();
    let index: Value = get(
        format!("{base}/v2/{path}/manifests/{}", digest.replace(':', "-")),
        "application/vnd.oci.image.index.v1+json",
    )
    .await
    .json()
    .await
    .unwrap();
    let mut out = Vec::new();
    for d in index["manifests"].as_array().unwrap() {
        let m: Value = get(
            format!("{base}/v2/{path}/manifests/{}", d["digest"].as_str().unwrap()),
            "application/vnd.oci.image.manifest.v1+json",
        )
        .await
        .json()
        .await
        .unwrap();
        let layer = m["layers"][0]["digest"].as_str().unwrap().to_string();
        let envelope: Value = get(format!("{base}/v2/{path}/blobs/{layer}"), "*/*").await.json().await.unwrap();
        out.push((d["digest"].as_str().unwrap().to_string(), m, envelope));
    }
    out
}

fn predicate_type(envelope: &Value) -> String {
    let payload = B64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    let st: Value = serde_json::from_slice(&payload).unwrap();
    st["predicateType"].as_str().unwrap().to_string()
}

fn dsse_verifies(public_pem: &std::path::Path, envelope: &Value) -> bool {
    let payload = B64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    let message = pae(envelope["payloadType"].as_str().unwrap(), &payload);
    envelope["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| openssl_verifies(public_pem, &message, &B64.decode(s["sig"].as_str().unwrap()).unwrap()))
}

#[tokio::test]
async fn keys_generate_writes_a_private_key_0600_and_never_prints_it_or_the_password() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, false, "");
    let out = generate(&p, ".");
    assert!(out.status.success(), "{}", describe(&out));
    let key = std::fs::read_to_string(p.repo.work().join("cosign.key")).unwrap();
    let public = std::fs::read_to_string(p.repo.work().join("cosign.pub")).unwrap();
    assert!(key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), "{key}");
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{public}");
    let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    let json: Value = serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
    assert_eq!(json["kdf"]["name"], "scrypt");
    assert_eq!(json["kdf"]["params"]["N"], 32768);
    assert_eq!(json["cipher"]["name"], "nacl/secretbox");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(p.repo.work().join("cosign.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let printed = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!printed.contains(PASSWORD) && !printed.contains(&json["ciphertext"].as_str().unwrap()[..20]), "{printed}");
    // openssl reads cosign.pub as it is: a P-256 SubjectPublicKeyInfo.
    let o = std::process::Command::new("openssl")
        .args(["pkey", "-pubin", "-noout", "-text", "-in"])
        .arg(p.repo.work().join("cosign.pub"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("prime256v1"), "{}", describe(&o));

    // No overwrite without --force; no password, no key.
    let out = generate(&p, ".");
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("already exists"), "{}", describe(&out));
    let out = p
        .shipit()
        .env_remove("SHIPIT_SIGNING_PASSWORD")
        .env_remove("COSIGN_PASSWORD")
        .args(["keys", "generate", "--dir", "other"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("SHIPIT_SIGNING_PASSWORD"), "{}", describe(&out));
}

#[tokio::test]
async fn a_signed_push_is_verified_by_openssl_and_by_the_deploy_gate() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    // The fixture's Debian packages, so the SBOM has packages to list.
    let p = Project::new(env, true, "");
    let out = generate(&p, ".");
    assert!(out.status.success(), "{}", describe(&out));
    configure(env, &p, true, Some("cosign.pub"));
    // A scan that passes (the fixture's CRITICAL accepted) and writes the SBOM.
    p.repo.write(
        "ship.toml",
        &std::fs::read_to_string(p.repo.work().join("ship.toml")).unwrap().replace(
            "fail_on = \"high\"\n",
            "fail_on = \"high\"\nsbom = true\n[[scan.exceptions]]\nid = \"CVE-2019-18224\"\nreason = \"test fixture\"\nexpires = \"2099-01-01\"\n",
        ),
    );
    p.repo.git(&["commit", "-qam", "sbom"]);
    p.repo.git(&["push", "-q"]);
    for step in [&["build"][..], &["scan"], &["push"]] {
        let out = run(&p, step);
        assert!(out.status.success(), "{step:?}: {}", describe(&out));
        assert!(!text(&out.stderr).contains(PASSWORD));
    }
    let out = run(&p, &["push"]);
    let digest = text(&out.stdout).trim().rsplit_once('@').unwrap().1.to_string();
    let public = p.repo.work().join("cosign.pub");

    // cosign's layout: the image manifest tagged sha256-<hex>.sig, a simple-signing layer whose annotation holds
    // the signature of the payload, and the payload names this digest.
    let path = p.repository.split_once('/').unwrap().1;
    let base = env.registry_open_url();
    let sig_manifest: Value = get(
        format!("{base}/v2/{path}/manifests/{}.sig", digest.replace(':', "-")),
        "application/vnd.oci.image.manifest.v1+json",
    )
    .await
    .json()
    .await
    .unwrap();
    let layers = sig_manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "pushing twice keeps one signature per key: {sig_manifest}");
    let layer = &layers[0];
    assert_eq!(layer["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    let payload = get(format!("{base}/v2/{path}/blobs/{}", layer["digest"].as_str().unwrap()), "*/*")
        .await
        .bytes()
        .await
        .unwrap();
    let simple: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(simple["critical"]["image"]["docker-manifest-digest"], digest.as_str());
    assert_eq!(simple["critical"]["identity"]["docker-reference"], p.repository.as_str());
    assert_eq!(simple["critical"]["type"], "cosign container image signature");
    let sig = B64.decode(layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap()).unwrap();
    assert!(openssl_verifies(&public, &payload, &sig), "openssl rejects the image signature");
    let mut tampered = payload.to_vec();
    tampered[5] ^= 1;
    assert!(!openssl_verifies(&public, &tampered, &sig), "the check can fail");

    // The scan attestation is a signed DSSE envelope (the PAE signed, keyid = sha256 of the key).
    let items = evidence(env, &p.repository, &digest).await;
    let scan = items.iter().find(|(_, _, e)| predicate_type(e).contains("vuln")).expect("a scan attestation");
    assert_eq!(scan.2["signatures"].as_array().unwrap().len(), 1, "{}", scan.2);
    assert_eq!(scan.2["signatures"][0]["keyid"].as_str().unwrap().len(), 64);
    assert!(dsse_verifies(&public, &scan.2), "openssl rejects the DSSE signature");

    let out = run(&p, &["deploy", "dev", "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("signature and scan attestation verified with cosign.pub"),
        "{}",
        describe(&out)
    );
    assert_eq!(p.live()["digest"], digest.as_str());

    // The approval and deploy records are signed with the same key.
    let items = evidence(env, &p.repository, &digest).await;
    for kind in ["approval", "deploy"] {
        let (_, _, e) = items.iter().find(|(_, _, e)| predicate_type(e).ends_with(&format!("/{kind}/v1"))).unwrap();
        assert!(dsse_verifies(&public, e), "{kind}: {e}");
    }

    // SLSA provenance names the commit and the build, signed too; build-arg values never appear.
    let (_, _, prov) =
        items.iter().find(|(_, _, e)| predicate_type(e) == "https://slsa.dev/provenance/v1").expect("provenance");
    assert!(dsse_verifies(&public, prov), "{prov}");
    let st: Value = serde_json::from_slice(&B64.decode(prov["payload"].as_str().unwrap()).unwrap()).unwrap();
    let def = &st["predicate"]["buildDefinition"];
    assert_eq!(def["externalParameters"]["source"]["digest"]["gitCommit"], p.repo.head().as_str(), "{st}");
    assert_eq!(def["externalParameters"]["dockerfile"], "Dockerfile", "{st}");
    assert!(
        st["predicate"]["runDetails"]["builder"]["id"].as_str().unwrap().starts_with("https://shipit.dev/shipit@v")
    );

    // The CycloneDX SBOM lists the image's packages, signed like the rest.
    let (_, _, sbom) =
        items.iter().find(|(_, _, e)| predicate_type(e) == "https://cyclonedx.org/bom").expect("an SBOM attestation");
    assert!(dsse_verifies(&public, sbom), "{sbom}");
    let st: Value = serde_json::from_slice(&B64.decode(sbom["payload"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(st["predicate"]["bomFormat"], "CycloneDX", "{st}");
    let names: Vec<&str> =
        st["predicate"]["components"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(names.contains(&"libidn2-0"), "{names:?}");

    // `shipit verify` shows the signature and the signed attestations.
    let out = run(&p, &["verify", "dev", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["signatures"]["cosign_signatures"], 1, "{v}");
    assert_eq!(v["signatures"]["verified"], "verified", "{v}");
    assert_eq!(v["signatures"]["verified_attestations"], 5, "provenance, sbom, scan, approval, deploy: {v}");
    let out = run(&p, &["verify", "dev"]);
    assert!(
        text(&out.stdout).contains("1 cosign signature(s) of this digest; with cosign.pub: verified"),
        "{}",
        describe(&out)
    );
}

#[tokio::test]
async fn unsigned_wrong_key_other_digest_and_tampered_attestation_are_refused_at_deploy() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, false, "");
    assert!(generate(&p, ".").status.success());
    assert!(generate(&p, "other").status.success());
    // Pushed unsigned (no [sign] key): refused.
    configure(env, &p, false, Some("cosign.pub"));
    for step in [&["build"][..], &["scan"], &["push"]] {
        let out = run(&p, step);
        assert!(out.status.success(), "{step:?}: {}", describe(&out));
    }
    let out = run(&p, &["deploy", "dev", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("is not signed"), "{}", describe(&out));
    assert!(p.live().is_null());

    // Signed with cosign.key, but the environment trusts other/cosign.pub: refused.
    // (Each configuration is a new commit, so a new image: built, scanned and pushed again.)
    configure(env, &p, true, Some("other/cosign.pub"));
    let wrong_key_digest = build_scan_push(&p);
    let out = run(&p, &["deploy", "dev", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("does not verify with other/cosign.pub"), "{}", describe(&out));
    assert!(p.live().is_null());

    // The right key, but the signed scan attestation replaced by one whose payload was edited (its signature kept):
    // the deploy is refused.
    configure(env, &p, true, Some("cosign.pub"));
    let digest = build_scan_push(&p);
    let path = p.repository.split_once('/').unwrap().1.to_string();
    let base = env.registry_open_url();
    let http = http_client();

    // A signature copied from another image (the previous push, signed with the same key) under this digest's
    // `.sig` tag: refused, it names the other digest.
    let sig_url = |d: &str| format!("{base}/v2/{path}/manifests/{}.sig", d.replace(':', "-"));
    let fetch = |d: String| {
        let url = sig_url(&d);
        async move { get(url, "application/vnd.oci.image.manifest.v1+json").await.bytes().await.unwrap() }
    };
    let own = fetch(digest.clone()).await;
    let copied = fetch(wrong_key_digest.clone()).await;
    let put_sig = |body: bytes::Bytes| {
        let req =
            http.put(sig_url(&digest)).header("Content-Type", "application/vnd.oci.image.manifest.v1+json").body(body);
        async move { assert!(req.send().await.unwrap().status().is_success()) }
    };
    put_sig(copied).await;
    let out = run(&p, &["deploy", "dev", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("is for another digest"), "{}", describe(&out));
    assert!(p.live().is_null());
    put_sig(own).await;
    let items = evidence(env, &p.repository, &digest).await;
    let (signed_digest, manifest, envelope) = items
        .iter()
        .find(|(_, _, e)| predicate_type(e).contains("vuln") && !e["signatures"].as_array().unwrap().is_empty())
        .unwrap()
        .clone();
    let mut statement: Value =
        serde_json::from_slice(&B64.decode(envelope["payload"].as_str().unwrap()).unwrap()).unwrap();
    statement["predicate"]["scanner"]["result"]["Results"] = serde_json::json!([]);
    let mut forged = envelope.clone();
    forged["payload"] = Value::String(B64.encode(serde_json::to_vec(&statement).unwrap()));
    let blob = serde_json::to_vec(&forged).unwrap();
    let blob_digest = sha256(&blob);
    let up = http.post(format!("{base}/v2/{path}/blobs/uploads/")).send().await.unwrap();
    let location = up.headers()["location"].to_str().unwrap().to_string();
    let sep = if location.contains('?') { '&' } else { '?' };
    let location = if location.starts_with("http") { location } else { format!("{base}{location}") };
    let put = http.put(format!("{location}{sep}digest={blob_digest}")).body(blob.clone()).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let mut m = manifest.clone();
    m["layers"][0]["digest"] = Value::String(blob_digest);
    m["layers"][0]["size"] = Value::from(blob.len());
    let body = serde_json::to_vec(&m).unwrap();
    let m_digest = sha256(&body);
    let put = http
        .put(format!("{base}/v2/{path}/manifests/{m_digest}"))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let tag = digest.replace(':', "-");
    let mut index: Value = get(format!("{base}/v2/{path}/manifests/{tag}"), "application/vnd.oci.image.index.v1+json")
        .await
        .json()
        .await
        .unwrap();
    for d in index["manifests"].as_array_mut().unwrap() {
        if d["digest"] == signed_digest.as_str() {
            d["digest"] = Value::String(m_digest.clone());
            d["size"] = Value::from(body.len());
        }
    }
    let put = http
        .put(format!("{base}/v2/{path}/manifests/{tag}"))
        .header("Content-Type", "application/vnd.oci.image.index.v1+json")
        .body(serde_json::to_vec(&index).unwrap())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    assert!(!dsse_verifies(&p.repo.work().join("cosign.pub"), &forged), "openssl sees the tampering too");
    let out = run(&p, &["deploy", "dev", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("scan attestation of"), "{}", describe(&out));
    assert!(text(&out.stderr).contains("not signed with cosign.pub"), "{}", describe(&out));
    assert!(p.live().is_null());
}

#[test]
fn keyless_and_a_missing_public_key_are_refused_by_validation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ship.toml"),
        "[app]\nname = \"web\"\n\n[sign]\nkeyless = true\n\n[registries.local]\ntype = \"oci\"\nrepository = \"127.0.0.1:5000/web\"\n\n\
[environments.dev]\ntarget = \"docker\"\nrequire_signature = true\n",
    )
    .unwrap();
    let out = crate::support::cli::shipit_in(dir.path()).args(["config", "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("keyless = true is not supported yet"), "{err}");
    assert!(err.contains("require_signature = true needs `public_key`"), "{err}");
}

fn build_scan_push(p: &Project) -> String {
    for step in [&["build"][..], &["scan"]] {
        let out = run(p, step);
        assert!(out.status.success(), "{step:?}: {}", describe(&out));
    }
    let out = run(p, &["push"]);
    assert!(out.status.success(), "{}", describe(&out));
    text(&out.stdout).trim().rsplit_once('@').unwrap().1.to_string()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(bytes);
    format!("sha256:{}", d.iter().map(|b| format!("{b:02x}")).collect::<String>())
}
