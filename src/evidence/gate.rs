//! The rollout engine's first step and its last: before any change, read the digest's evidence from the
//! registry and refuse one without a passing scan under today's policy; after the outcome is known, attach
//! the approval and the deploy record to the digest.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::store::{Found, Store, SubjectImage};
use super::{ApprovalMethod, DeployRecord, Forced, kind};
use crate::config::{Environment, Loaded};
use crate::error::CliError;
use crate::pipeline::build::RegistryTarget;
use crate::pipeline::push::{self, Session};
use crate::release::{ImageRef, short_digest};
use crate::report::Reporter;
use crate::scan::gate::Policy;
use crate::ui::Ui;

/// What the engine checks for one environment, built by the command before it calls the engine.
pub struct Gate {
    /// The environment's registry, connected; `Err` when it could not be (said again only if needed).
    pub session: Result<Session, CliError>,
    pub require_scan: bool,
    pub policy: Policy,
    /// `--force --reason "…"`: deploy even without the evidence, recording why.
    pub force_reason: Option<String>,
    /// `--force` alone, to say in the refusal that it needs a reason.
    pub force: bool,
    /// `require_signature = true`: the public key (and its name in ship.toml) signatures must verify with.
    pub verify_key: Option<(super::sign::PublicKey, String)>,
    /// `[sign] key`, when its password is set here: the approval and deploy records are signed with it.
    pub signer: Option<super::sign::SigningKey>,
}

/// What the check found, kept for the record written after the rollout.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Checked {
    pub subject: Option<String>,
    pub scan: Option<String>,
    pub forced: Option<Forced>,
    /// The scan judged under today's policy (for the approval screen).
    #[serde(skip)]
    pub judged: Option<super::scan::Judged>,
    /// Approvals already attached to the digest, newest first (another environment's, an earlier one).
    #[serde(skip)]
    pub approvals: Vec<super::Approval>,
    #[serde(skip)]
    subject_image: Option<SubjectImage>,
}

impl Gate {
    /// The gate for `env`: its registry (connected with `push`'s credentials) and today's `[scan]` policy.
    pub async fn for_env(
        loaded: &Loaded,
        env: &Environment,
        force: bool,
        reason: Option<&str>,
        reporter: &dyn Reporter,
    ) -> Result<Gate, CliError> {
        let policy = crate::pipeline::scan::policy(loaded, chrono::Local::now().date_naive())?;
        // Without a required scan nothing is read, and nothing is recorded either: such environments often
        // deploy images from elsewhere, and a registry that cannot be reached must not slow them down.
        let session = match loaded.registry_for(env) {
            _ if !env.require_scan => Err(CliError::usage("evidence not read: require_scan = false")),
            Some((name, reg)) => push::connect_target(RegistryTarget::new(name, reg), reporter).await,
            None => Err(CliError::usage("the environment has no registry in ship.toml")),
        };
        let force_reason = match (force, reason.map(str::trim)) {
            (true, Some(r)) if !r.is_empty() => Some(r.to_string()),
            (_, Some("")) => {
                return Err(CliError::usage("--reason needs a non-empty text")
                    .hint("say why, e.g. --reason \"INC-1234: rollback to the last build before the outage\""));
            }
            _ => None,
        };
        let verify_key = super::sign::verifier(loaded, env)?;
        // A deploy machine may lack the signing password: the records are then attached unsigned (said once).
        let signer = match super::sign::signer(loaded) {
            Ok(s) => s.map(|(k, _)| k),
            Err(e) => {
                reporter.line(&format!("approval and deploy records will be unsigned: {}", e.message));
                None
            }
        };
        Ok(Gate { session, require_scan: env.require_scan, policy, force_reason, force, verify_key, signer })
    }

    fn store<'a>(&'a self, reporter: &'a dyn Reporter) -> Option<Store<'a>> {
        let s = self.session.as_ref().ok()?;
        Some(Store { client: &s.client, path: s.target.path.clone(), reporter, signer: self.signer.as_ref() })
    }

    /// Whether `image` lives in the environment's registry (where its evidence is).
    fn ours(&self, image: &ImageRef) -> bool {
        self.session.as_ref().is_ok_and(|s| s.target.repository == image.repository)
    }

    /// The engine's first step: refuse (exit 3) a digest without a passing scan under today's policy.
    pub async fn check(&self, ui: &Ui, env_name: &str, image: Option<&ImageRef>) -> Result<Checked, CliError> {
        let stage = ui.stage("evidence");
        let result = self.judge(&stage, env_name, image).await;
        match result {
            Ok((checked, line)) => {
                stage.ok(line);
                Ok(checked)
            }
            Err(Refusal::Error(e)) => {
                stage.fail("cannot read the release's evidence");
                Err(e)
            }
            Err(Refusal::Missing { what, hints, subject }) => {
                if let Some(reason) = &self.force_reason {
                    stage.warn(format!("{what}; deploying anyway (--force --reason: {reason}), and recording that"));
                    ui.warn(format!("{env_name}: {what}; forced with --reason \"{reason}\""));
                    return Ok(Checked {
                        subject: subject.as_ref().map(|s| s.descriptor.digest.clone()),
                        forced: Some(Forced { reason: reason.clone(), missing: what }),
                        scan: None,
                        judged: None,
                        approvals: Vec::new(),
                        subject_image: subject,
                    });
                }
                stage.fail(&what);
                let mut err = CliError::gate(format!("{env_name}: refusing to deploy: {what}"));
                for h in hints {
                    err = err.hint(h);
                }
                err = err.hint(if self.force {
                    "--force alone does not override the scan gate: add --reason \"…\" (recorded with the release)"
                        .to_string()
                } else {
                    format!(
                        "to deploy it anyway: --force --reason \"…\" (recorded), or `require_scan = false` on [environments.{env_name}]"
                    )
                });
                Err(err)
            }
        }
    }

    async fn judge(
        &self,
        stage: &dyn Reporter,
        env_name: &str,
        image: Option<&ImageRef>,
    ) -> Result<(Checked, String), Refusal> {
        if !self.require_scan {
            return Ok((Checked::default(), format!("not checked: require_scan = false on [environments.{env_name}]")));
        }
        let Some(image) = image else {
            return Err(Refusal::missing("the image is not pinned by digest, so it has no evidence", None));
        };
        if !self.ours(image) {
            if let Err(e) = &self.session {
                return Err(Refusal::Error(
                    e.clone().context(format!("{env_name}: reading the evidence of {}", image.short_digest())),
                ));
            }
            return Err(Refusal::missing(
                format!("{} is not in {env_name}'s registry, where shipit keeps release evidence", image.repository),
                None,
            ));
        }
        let store = self.store(stage).expect("ours() holds a session");
        let subject = match store.subject(&image.digest).await {
            Ok(s) => s,
            Err(super::store::StoreError::NoImage(what)) => {
                return Err(Refusal::Error(
                    CliError::failure(format!("the registry has no image {what}"))
                        .hint("push it first (`shipit push`), or check the digest"),
                ));
            }
            Err(e) => return Err(Refusal::Error(store_error(e, image))),
        };
        let found = read_all(&store, &image.digest).await.map_err(|e| Refusal::Error(store_error(e, image)))?;
        let mut checked = Checked {
            subject: Some(image.digest.clone()),
            subject_image: Some(subject.clone()),
            approvals: approvals_in(&found),
            ..Default::default()
        };
        let mut scans: Vec<&Found> =
            found.iter().filter(|f| f.statement.predicate_type == super::SCAN_PREDICATE).collect();
        let mut signature_line = String::new();
        if let Some((key, name)) = &self.verify_key {
            let sigs =
                store.image_signatures(&image.digest).await.map_err(|e| Refusal::Error(store_error(e, image)))?;
            let why = match super::store::check_signatures(&sigs, &image.digest, key) {
                super::store::SignatureCheck::Verified => None,
                super::store::SignatureCheck::Unsigned => Some(format!("{} is not signed", image.short_digest())),
                super::store::SignatureCheck::OtherDigest(d) => Some(format!(
                    "the signature stored for {} is for another digest ({})",
                    image.short_digest(),
                    short_digest(&d)
                )),
                super::store::SignatureCheck::WrongKey => Some(format!(
                    "the signature of {} does not verify with {name} (signed with another key, or tampered)",
                    image.short_digest()
                )),
            };
            if let Some(why) = why {
                let mut r = Refusal::missing(why, Some(subject));
                if let Refusal::Missing { hints, .. } = &mut r {
                    hints.push(format!(
                        "[environments.{env_name}] require_signature = true: push it with `[sign] key` set (the key whose public half is {name})"
                    ));
                }
                return Err(r);
            }
            let before = scans.len();
            scans.retain(|f| super::dsse::Envelope::signed_by(&f.envelope, key));
            if scans.is_empty() && before > 0 {
                let mut r = Refusal::missing(
                    format!(
                        "the scan attestation of {} is not signed with {name} (unsigned, another key, or tampered)",
                        image.short_digest()
                    ),
                    Some(subject),
                );
                if let Refusal::Missing { hints, .. } = &mut r {
                    hints.push("`shipit push` with `[sign] key` set attaches a signed scan".into());
                }
                return Err(r);
            }
            signature_line = format!("; signature and scan attestation verified with {name}");
        }
        let mut failures = Vec::new();
        for f in &scans {
            match super::scan::judge(&f.statement, &subject, &self.policy) {
                Ok(j) if j.verdict.passed => {
                    let mut line = format!(
                        "scan passed under today's policy ({}; trivy {}, scanned {})",
                        j.verdict.headline(),
                        j.trivy_version.as_deref().unwrap_or("?"),
                        j.finished.as_deref().unwrap_or("?")
                    );
                    if j.policy_changed {
                        line.push_str("; it was scanned under a different policy than today's");
                    }
                    line.push_str(&signature_line);
                    checked.scan = Some("passed".into());
                    checked.judged = Some(j);
                    return Ok((checked, line));
                }
                Ok(j) => {
                    let mut why = format!("{} blocking finding(s) under today's policy", j.verdict.blocking.len());
                    if j.stored_passed == Some(true) {
                        why.push_str(" (it passed when it was scanned");
                        if !j.verdict.exceptions_expired.is_empty() {
                            let ids: Vec<String> = j
                                .verdict
                                .exceptions_expired
                                .iter()
                                .map(|e| format!("{} expired {}", e.id, e.expires))
                                .collect();
                            why.push_str(&format!("; exception {}", ids.join(", ")));
                        }
                        why.push(')');
                    }
                    failures.push((why, j.verdict.blocking_table()));
                }
                Err(e) => failures.push((e, String::new())),
            }
        }
        let trusted =
            |f: &Found| self.verify_key.as_ref().is_none_or(|(k, _)| super::dsse::Envelope::signed_by(&f.envelope, k));
        if let Some(skip) =
            found.iter().find(|f| f.statement.predicate_type == super::SCAN_SKIPPED_PREDICATE && trusted(f))
            && failures.is_empty()
        {
            let reason = skip.statement.predicate["reason"].as_str().unwrap_or("(no reason)").to_string();
            stage.line(&format!("THE SCAN OF {} WAS SKIPPED: {reason}", image.short_digest()));
            checked.scan = Some(format!("skipped: {reason}"));
            return Ok((checked, format!("scan skipped, with its recorded reason: {reason}")));
        }
        let _ = env_name;
        if let Some((why, table)) = failures.into_iter().next() {
            let mut r =
                Refusal::missing(format!("the scan of {} does not pass: {why}", image.short_digest()), Some(subject));
            if let Refusal::Missing { hints, .. } = &mut r {
                if !table.is_empty() {
                    hints.insert(0, format!("blocking:\n{}", table.trim_end()));
                }
                hints.push("fix the findings and ship a new build, or renew the exception in ship.toml with a fresh reason and expiry".into());
            }
            return Err(r);
        }
        let mut r =
            Refusal::missing(format!("{} has no scan in the registry", short_digest(&image.digest)), Some(subject));
        if let Refusal::Missing { hints, .. } = &mut r {
            hints.push(
                "`shipit scan` then `shipit push` attaches the scan to the digest (or `shipit ship` does both)".into(),
            );
        }
        Err(r)
    }

    /// After the outcome: attach the approval and the deploy record. Failing to is a warning, never a failed
    /// deploy (the rollout already happened).
    pub async fn record(&self, ui: &Ui, checked: &Checked, record: DeployRecord) {
        let approval = super::take_approval(&record.environment);
        let (Some(subject), Some(store)) = (&checked.subject_image, self.store(&crate::report::Silent)) else {
            return;
        };
        let repository = &self.session.as_ref().expect("store() holds a session").target.repository;
        let digest = subject.descriptor.digest.clone();
        let mut items = Vec::new();
        if let Some(a) = approval {
            let at = a.at;
            items.push((kind::APPROVAL, super::APPROVAL_PREDICATE, serde_json::to_value(a).expect("serializes"), at));
        }
        let at = record.finished;
        items.push((kind::DEPLOY, super::DEPLOY_PREDICATE, serde_json::to_value(&record).expect("serializes"), at));
        for (kind, predicate_type, predicate, at) in items {
            let st = super::dsse::Statement::about(repository, &digest, predicate_type, predicate);
            if let Err(e) = store.attach(subject, kind, &st, at).await {
                ui.warn(format!(
                    "could not attach the {kind} record to {} in the registry: {}",
                    short_digest(&digest),
                    store_error(e, &ImageRef { repository: repository.clone(), digest: digest.clone() }).message
                ));
            }
        }
    }
}

/// What the approval screen wants to know about an image besides the one being deployed (the one running).
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The registry's evidence of the image was read (false: not in the environment's registry, or unreadable).
    pub read: bool,
    /// Its stored scan, judged under today's policy.
    pub judged: Option<super::scan::Judged>,
    /// The image's OCI labels `org.opencontainers.image.revision` and `.created`.
    pub revision: Option<String>,
    pub created: Option<String>,
    pub approvals: Vec<super::Approval>,
    pub deploys: Vec<DeployRecord>,
    /// A skipped scan (with its reason) is attached.
    pub skipped: bool,
}

impl Gate {
    /// Read what the registry knows about `image` (another release than the one checked), best effort:
    /// an image elsewhere, or a registry that does not answer, gives nothing rather than an error.
    pub async fn known(&self, image: &ImageRef) -> Known {
        let mut known = Known::default();
        if !self.ours(image) {
            return known;
        }
        let Some(store) = self.store(&crate::report::Silent) else { return known };
        let Ok(subject) = store.subject(&image.digest).await else { return known };
        if let Some(d) = &subject.config_digest
            && let Ok(Some(blob)) = store.client.get_blob(&store.path, d, store.reporter).await
            && let Ok(config) = serde_json::from_slice::<serde_json::Value>(&blob)
        {
            let label =
                |k: &str| config.pointer(&format!("/config/Labels/{}", k.replace('/', "~1"))).and_then(|v| v.as_str());
            known.revision = label("org.opencontainers.image.revision").map(str::to_string);
            known.created = label("org.opencontainers.image.created").map(str::to_string);
        }
        let Ok(found) = read_all(&store, &image.digest).await else { return known };
        known.read = true;
        known.skipped = found.iter().any(|f| f.statement.predicate_type == super::SCAN_SKIPPED_PREDICATE);
        known.approvals = approvals_in(&found);
        known.deploys = found
            .iter()
            .filter(|f| f.statement.predicate_type == super::DEPLOY_PREDICATE)
            .filter_map(|f| serde_json::from_value(f.statement.predicate.clone()).ok())
            .collect();
        known.judged = found
            .iter()
            .filter(|f| f.statement.predicate_type == super::SCAN_PREDICATE)
            .find_map(|f| super::scan::judge(&f.statement, &subject, &self.policy).ok());
        known
    }
}

fn approvals_in(found: &[Found]) -> Vec<super::Approval> {
    found
        .iter()
        .filter(|f| f.statement.predicate_type == super::APPROVAL_PREDICATE)
        .filter_map(|f| serde_json::from_value(f.statement.predicate.clone()).ok())
        .collect()
}

enum Refusal {
    Error(CliError),
    Missing { what: String, hints: Vec<String>, subject: Option<SubjectImage> },
}

impl Refusal {
    fn missing(what: impl Into<String>, subject: Option<SubjectImage>) -> Refusal {
        Refusal::Missing { what: what.into(), hints: Vec::new(), subject }
    }
}

/// Every piece of evidence attached to `digest`, newest first. Unreadable items are skipped with a line
/// (they cannot prove anything; one damaged artifact must not hide the others).
pub async fn read_all(store: &Store<'_>, digest: &str) -> Result<Vec<Found>, super::store::StoreError> {
    let list = store.list(digest).await?;
    let mut found = Vec::new();
    for d in &list {
        match store.read(digest, d).await {
            Ok(f) => found.push(f),
            Err(super::store::StoreError::Damaged { digest: d, detail }) => {
                store.reporter.line(&format!("ignoring evidence {}: {detail}", short_digest(&d)))
            }
            Err(e) => return Err(e),
        }
    }
    found.sort_by(|a, b| {
        let at = |f: &Found| f.descriptor.annotation(super::store::CREATED_ANNOTATION).unwrap_or("").to_string();
        at(b).cmp(&at(a))
    });
    Ok(found)
}

fn store_error(e: super::store::StoreError, image: &ImageRef) -> CliError {
    match e {
        super::store::StoreError::Registry(r) => {
            CliError::from(r).context(format!("reading the evidence of {}", image.short_digest()))
        }
        other => CliError::failure(other.to_string()),
    }
}

/// The `how` of an approval given by `approve`: `--yes` and the prompt look the same to it.
pub fn approval_method(ui: &Ui) -> ApprovalMethod {
    if ui.assume_yes { ApprovalMethod::Yes } else { ApprovalMethod::Prompt }
}

/// A deploy record for the engine.
#[allow(clippy::too_many_arguments)]
pub fn deploy_record(
    environment: &str,
    target: String,
    change: &str,
    revision: Option<String>,
    started: DateTime<Utc>,
    result: String,
    reason: Option<String>,
    forced: Option<Forced>,
) -> DeployRecord {
    DeployRecord {
        environment: environment.to_string(),
        target,
        change: change.to_string(),
        revision,
        started,
        finished: Utc::now(),
        result,
        reason,
        by: crate::deploy::meta::deployer(),
        forced,
    }
}
