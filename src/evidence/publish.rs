//! After a push: attach what `shipit scan` found (or the recorded reason it was skipped) to the pushed
//! digest, so the evidence travels with the image. The scan of a local image is saved per commit; it is
//! attached only when Trivy's report names the pushed image (its image id is the manifest's config).

use chrono::{DateTime, Utc};

use super::dsse::Statement;
use super::store::Store;
use super::{ScanSkipped, kind};
use crate::config::Loaded;
use crate::error::CliError;
use crate::pipeline::push::Session;
use crate::release::{Release, short_digest};
use crate::report::Reporter;

/// What was attached, for the summary line.
pub enum Published {
    Scan {
        passed: bool,
    },
    Skipped {
        reason: String,
    },
    AlreadyThere,
    /// No scan to attach: the deploy gate will refuse the digest (unless `require_scan = false`).
    Nothing(String),
}

pub async fn after_push(
    loaded: &Loaded,
    session: &Session,
    release: &Release,
    reporter: &dyn Reporter,
) -> Result<Published, CliError> {
    let root = &loaded.root;
    let sha = &release.commit.sha;
    let signer = super::sign::signer(loaded)?;
    let store = Store {
        client: &session.client,
        path: session.target.path.clone(),
        reporter,
        signer: signer.as_ref().map(|(k, _)| k),
    };
    let fail = |e: super::store::StoreError| {
        CliError::failure(format!("cannot attach the scan to {}: {e}", short_digest(&release.image.digest)))
            .hint("the image is pushed; `shipit push` again attaches the scan once the registry accepts it")
    };
    let subject = store.subject(&release.image.digest).await.map_err(fail)?;
    if let Some((key, name)) = &signer {
        // cosign's signature of the digest, then (below) the evidence signed with the same key.
        store.sign_image(&subject, &release.image.repository, key).await.map_err(|e| {
            CliError::failure(format!("cannot sign {}: {e}", short_digest(&release.image.digest)))
                .hint("the image is pushed; `shipit push` again signs it once the registry accepts the signature")
        })?;
        reporter.line(&format!(
            "signed {} with {name} (keyid {}…); signature in {}",
            short_digest(&release.image.digest),
            &key.keyid()[..12],
            super::sign::signature_tag(&release.image.digest)
        ));
    }
    attach_provenance(loaded, &store, &subject, release, signer.as_ref().map(|(k, _)| k)).await.map_err(fail)?;
    attach_sbom(root, &store, &subject, release, signer.as_ref().map(|(k, _)| k)).await.map_err(fail)?;
    let summary = crate::pipeline::scan::saved_summary(root, sha);
    let (kind, statement, at) = match summary {
        Some(s) if s.skipped_reason.is_some() => {
            let reason = s.skipped_reason.clone().unwrap_or_default();
            let at = modified(&crate::pipeline::scan::summary_path(root, sha));
            let predicate = ScanSkipped { reason: reason.clone(), by: crate::deploy::meta::deployer(), at };
            let st = Statement::about(
                &release.image.repository,
                &release.image.digest,
                super::SCAN_SKIPPED_PREDICATE,
                serde_json::to_value(predicate).expect("serializes"),
            );
            (kind::SCAN_SKIPPED, st, at)
        }
        _ => {
            let path = crate::pipeline::scan::report_path(root, sha);
            let Ok(raw) = std::fs::read(&path) else {
                return Ok(Published::Nothing(format!(
                    "{} has no scan: deploys refuse it until `shipit scan` and `shipit push` attach one",
                    short_digest(&release.image.digest)
                )));
            };
            let parsed = crate::scan::report::parse(&raw)
                .map_err(|e| CliError::failure(format!("the saved scan report {} is unusable: {e}", path.display())))?;
            if let Err(why) = super::scan::bound_to(&parsed, &subject) {
                return Ok(Published::Nothing(format!(
                    "the saved scan of {} is not of the pushed image: {why}; run `shipit scan` again, then `shipit push`",
                    &sha[..sha.len().min(12)]
                )));
            }
            let policy = crate::pipeline::scan::policy(loaded, chrono::Local::now().date_naive())?;
            let verdict = crate::scan::gate::evaluate(&parsed, &policy);
            let scanner = super::scan::load_scanner(root, sha).unwrap_or_else(|| {
                let at = modified(&path);
                super::scan::Scanner {
                    trivy_version: None,
                    db_updated_at: None,
                    db_schema: None,
                    started: at,
                    finished: at,
                }
            });
            let st = super::scan::statement(
                &release.image.repository,
                &release.image.digest,
                &raw,
                &verdict,
                &policy,
                &scanner,
            )
            .map_err(|e| CliError::failure(format!("the saved scan report {} is not JSON: {e}", path.display())))?;
            (kind::SCAN, st, scanner.finished)
        }
    };
    // The same statement attached twice is the same artifact: look before writing.
    let existing = super::gate::read_all(&store, &release.image.digest).await.map_err(fail)?;
    let signed = |f: &super::store::Found| {
        signer.as_ref().is_none_or(|(k, _)| super::dsse::Envelope::signed_by(&f.envelope, &k.public()))
    };
    if existing.iter().any(|f| f.statement == statement && signed(f)) {
        return Ok(Published::AlreadyThere);
    }
    store.attach(&subject, kind, &statement, at).await.map_err(fail)?;
    Ok(match kind {
        kind::SCAN => Published::Scan {
            passed: statement.predicate.pointer("/invocation/parameters/shipit/verdict/passed")
                == Some(&serde_json::Value::Bool(true)),
        },
        _ => Published::Skipped { reason: statement.predicate["reason"].as_str().unwrap_or_default().to_string() },
    })
}

/// SLSA provenance of the digest, once per commit (and once more when a key signs what was unsigned).
async fn attach_provenance(
    loaded: &Loaded,
    store: &Store<'_>,
    subject: &super::store::SubjectImage,
    release: &Release,
    signer: Option<&super::sign::SigningKey>,
) -> Result<(), super::store::StoreError> {
    let existing = super::gate::read_all(store, &release.image.digest).await?;
    let there = existing.iter().any(|f| {
        f.statement.predicate_type == super::PROVENANCE_PREDICATE
            && f.statement.predicate.pointer("/buildDefinition/externalParameters/source/digest/gitCommit")
                == Some(&serde_json::Value::String(release.commit.sha.clone()))
            && signer.is_none_or(|k| super::dsse::Envelope::signed_by(&f.envelope, &k.public()))
    });
    if there {
        return Ok(());
    }
    let st = super::provenance::statement(loaded, release);
    store.attach(subject, kind::PROVENANCE, &st, release.created).await?;
    Ok(())
}

/// The commit's CycloneDX SBOM (`[scan] sbom = true`), when it is of the pushed image (trivy's
/// `aquasecurity:trivy:ImageID` property is the manifest's config digest).
async fn attach_sbom(
    root: &std::path::Path,
    store: &Store<'_>,
    subject: &super::store::SubjectImage,
    release: &Release,
    signer: Option<&super::sign::SigningKey>,
) -> Result<(), super::store::StoreError> {
    let path = crate::pipeline::scan::sbom_path(root, &release.commit.sha);
    let Some(bom) = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()) else {
        return Ok(());
    };
    let image_id = bom
        .pointer("/metadata/component/properties")
        .and_then(|p| p.as_array())
        .and_then(|p| p.iter().find(|p| p["name"] == "aquasecurity:trivy:ImageID"))
        .and_then(|p| p["value"].as_str());
    if image_id.is_none() || image_id != subject.config_digest.as_deref() {
        store.reporter.line(&format!("not attaching {}: it is not of the pushed image", path.display()));
        return Ok(());
    }
    let st = Statement::about(&release.image.repository, &release.image.digest, super::SBOM_PREDICATE, bom);
    let existing = super::gate::read_all(store, &release.image.digest).await?;
    if existing
        .iter()
        .any(|f| f.statement == st && signer.is_none_or(|k| super::dsse::Envelope::signed_by(&f.envelope, &k.public())))
    {
        return Ok(());
    }
    store.attach(subject, kind::SBOM, &st, modified(&path)).await?;
    Ok(())
}

fn modified(path: &std::path::Path) -> DateTime<Utc> {
    std::fs::metadata(path).and_then(|m| m.modified()).map(DateTime::<Utc>::from).unwrap_or_else(|_| Utc::now())
}

/// Print what `after_push` did, on the stage of the command that pushed.
pub fn describe(p: &Published) -> (bool, String) {
    match p {
        Published::Scan { passed: true } => (true, "scan attached to the digest (passed)".into()),
        Published::Scan { passed: false } => {
            (false, "scan attached to the digest: it FAILED; deploys will refuse this digest".into())
        }
        Published::Skipped { reason } => {
            (false, format!("skipped scan attached to the digest, with its reason: {reason}"))
        }
        Published::AlreadyThere => (true, "the digest already carries this scan".into()),
        Published::Nothing(why) => (false, why.clone()),
    }
}
