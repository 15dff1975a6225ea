//! The plan of a `shipit ship`: what each stage will do, worked out before anything runs. Pure: it takes what
//! was learnt about the world (HEAD, whether the registry already has the image, what each environment runs)
//! and says what the runner will do, so `shipit plan` and `--dry-run` print exactly what `ship` executes.

use serde::Serialize;

use crate::config::{Approval, Config, Environment};
use crate::deploy::meta::short_commit;
use crate::pipeline::approve::describe_live;
use crate::release::{Commit, ImageRef, short_digest};
use crate::rollout::{LiveState, LockRecord};

/// What was learnt about one environment before planning.
pub struct EnvFacts<'a> {
    pub name: &'a str,
    pub env: &'a Environment,
    /// `ecs staging/api (us-east-1)`.
    pub target: String,
    /// What runs there now; `Err` when it could not be read (the plan says so).
    pub live: Result<Option<LiveState>, String>,
    pub approved_by_env: bool,
    /// The environment's deploy lock, when another run holds it now.
    pub lock: Option<LockRecord>,
}

/// One more registry to push the same image to.
pub struct AlsoPush {
    pub registry: String,
    /// The first `repository:tag` pushed there.
    pub reference: String,
    /// It already has this commit.
    pub existing: Option<ImageRef>,
    pub probe: Result<(), String>,
}

pub struct Facts<'a> {
    pub config: &'a Config,
    pub commit: &'a Commit,
    pub registry: &'a str,
    /// `repository:tag` references the build would produce.
    pub references: Vec<String>,
    /// The registry already has this commit: build and push are skipped.
    pub existing: Option<ImageRef>,
    /// `Err` when the registry could not be asked (the plan says so).
    pub registry_probe: Result<(), String>,
    /// Other registries the environments deploy from: the image is pushed there too.
    pub also_push: Vec<AlsoPush>,
    pub skip_scan: Option<&'a str>,
    pub assume_yes: bool,
    /// `--force`: deploy even where the digest already runs.
    pub force: bool,
    /// `--wait-lock`: how long a held lock is waited for.
    pub wait_lock: Option<std::time::Duration>,
    pub environments: Vec<EnvFacts<'a>>,
}

/// Whether deploying `digest` to an environment that runs `live` has nothing to do. The plan and the runner
/// both ask this, so `plan`/`--dry-run` and `ship` cannot disagree.
pub fn deploy_is_noop(live: Option<&LiveState>, digest: &str, force: bool) -> bool {
    !force && live.is_some_and(|l| l.digest.as_deref() == Some(digest))
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    pub stage: &'static str,
    /// What the stage will do.
    pub action: String,
    /// Set when the stage will not run, with why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Things worth knowing before running (an unreachable registry, an environment already up to date).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Step {
    fn run(stage: &'static str, action: impl Into<String>) -> Step {
        Step { stage, action: action.into(), skipped: None, notes: Vec::new() }
    }
    fn skip(stage: &'static str, action: impl Into<String>, why: impl Into<String>) -> Step {
        Step { stage, action: action.into(), skipped: Some(why.into()), notes: Vec::new() }
    }
    fn note(mut self, note: impl Into<String>) -> Step {
        self.notes.push(note.into());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub commit: String,
    pub branch: Option<String>,
    pub registry: String,
    pub steps: Vec<Step>,
}

pub fn make(f: &Facts) -> Plan {
    let c = f.config;
    let mut steps = Vec::new();

    let mut checks = Vec::new();
    if c.check.require_clean {
        checks.push("clean tree".to_string());
    }
    if c.check.require_pushed {
        checks.push("pushed".to_string());
    }
    if c.check.require_tag {
        checks.push("tagged".to_string());
    }
    // Each environment's own `branches`, else [check].branches; ship checks every distinct rule.
    let rules: Vec<(&str, Vec<String>)> = f
        .environments
        .iter()
        .map(|e| {
            let list = e.env.branches.as_ref().unwrap_or(&c.check.branches);
            (e.name, list.iter().map(|b| b.to_string()).collect())
        })
        .collect();
    if rules.iter().all(|(_, r)| r == &rules[0].1) {
        if let Some((_, r)) = rules.first().filter(|(_, r)| !r.is_empty()) {
            checks.push(format!("branch in [{}]", r.join(", ")));
        }
    } else {
        let per_env: Vec<String> = rules
            .iter()
            .map(|(env, r)| if r.is_empty() { format!("{env}: any") } else { format!("{env}: [{}]", r.join(", ")) })
            .collect();
        checks.push(format!("branch allowed for {}", per_env.join(", ")));
    }
    if let Some(gh) = &c.check.github {
        let which = if gh.required.is_empty() { "all".to_string() } else { gh.required.len().to_string() };
        checks.push(format!("GitHub checks ({which})"));
        if gh.require_approval {
            checks.push("PR approved".into());
        }
    }
    if c.check.sonarqube.is_some() {
        checks.push("SonarQube quality gate".into());
    }
    steps.push(Step::run(
        "check",
        format!(
            "{} on {}: {}",
            f.commit.short_sha,
            f.commit.branch.as_deref().unwrap_or("detached HEAD"),
            if checks.is_empty() { "nothing configured".to_string() } else { checks.join(", ") }
        ),
    ));

    let build_action = format!(
        "{} from {}{}",
        f.references.join(", "),
        c.build.dockerfile,
        c.build.target.as_ref().map(|t| format!(" (target {t})")).unwrap_or_default()
    );
    let mut build = match &f.existing {
        Some(img) => {
            Step::skip("build", build_action, format!("the registry already has it as {}", img.short_digest()))
        }
        None => Step::run("build", build_action),
    };
    if let Err(e) = &f.registry_probe {
        build = build.note(format!("registry not checked: {e}"));
    }
    steps.push(build);

    let gate = format!(
        "trivy, fail on {}+{}{}",
        c.scan.fail_on,
        if c.scan.ignore_unfixed { ", unfixed ignored" } else { "" },
        match c.scan.exceptions.len() {
            0 => String::new(),
            n => format!(", {n} exception(s)"),
        }
    );
    steps.push(match (f.skip_scan, c.scan.enabled) {
        (Some(reason), _) => Step::skip("scan", gate, format!("--skip-scan: {reason}")),
        (None, false) => Step::skip("scan", gate, "scan.enabled = false"),
        (None, true) => Step::run("scan", gate),
    });

    let push_action = format!("{} ({})", f.references.first().map(String::as_str).unwrap_or("-"), f.registry);
    steps.push(match &f.existing {
        Some(img) => Step::skip("push", push_action, format!("already pushed as {}", img.pinned())),
        None => Step::run("push", push_action),
    });

    for a in &f.also_push {
        let action = format!("{} ({})", a.reference, a.registry);
        let mut step = match &a.existing {
            Some(img) => Step::skip("push", action, format!("already pushed as {}", img.pinned())),
            None => Step::run("push", action),
        };
        if let Err(e) = &a.probe {
            step = step.note(format!("registry not checked: {e}"));
        }
        steps.push(step);
    }

    let new_digest = f.existing.as_ref().map(|i| short_digest(&i.digest)).unwrap_or_else(|| "the pushed digest".into());
    for e in &f.environments {
        let approval = match (e.env.approval, e.approved_by_env, f.assume_yes) {
            (Approval::None, _, _) => "no approval needed (approval = \"none\")".to_string(),
            (Approval::Manual, true, _) => "approved by SHIPIT_APPROVE".to_string(),
            (Approval::Manual, false, true) => "approved by --yes".to_string(),
            (Approval::Manual, false, false) => "ask on the terminal (exit 4 without one)".to_string(),
        };
        let running = match &e.live {
            Ok(live) => describe_live(live.as_ref()),
            Err(err) => format!("unknown ({err})"),
        };
        steps.push(Step::run(
            "approve",
            format!("{}: {approval}; running: {running} → new: {new_digest} ({})", e.name, short_commit(&f.commit.sha)),
        ));
        let verify = match &e.env.verify {
            Some(v) => {
                let mut what = Vec::new();
                if let Some(url) = &v.http {
                    what.push(format!("GET {url} → {} for {}", v.expect, v.for_));
                }
                if let Some(cmd) = &v.command {
                    what.push(format!("`{}`", cmd.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" ")));
                }
                format!(", then verify: {}", what.join(" and "))
            }
            None => String::new(),
        };
        let deploy_action = format!(
            "{} → {}; timeout {}{}{}{}",
            e.target,
            new_digest,
            e.env.timeout,
            verify,
            if e.env.auto_rollback { ", auto-rollback on failure" } else { "" },
            if f.force { " (--force)" } else { "" }
        );
        let same = match (&e.live, &f.existing) {
            (Ok(live), Some(img)) => deploy_is_noop(live.as_ref(), &img.digest, f.force),
            _ => false,
        };
        let mut step = if same {
            Step::skip("deploy", deploy_action, format!("{} already runs this digest", e.name))
        } else {
            Step::run("deploy", deploy_action)
        };
        if let Some(holder) = &e.lock
            && !same
        {
            step = step.note(match (holder.expired(), f.wait_lock) {
                (true, _) => {
                    format!("{} has an expired deploy lock ({}); it will be taken over", e.name, holder.describe())
                }
                (false, Some(w)) => format!(
                    "{} is locked by another deploy ({}); ship will wait up to {} for it",
                    e.name,
                    holder.describe(),
                    humantime::format_duration(w)
                ),
                (false, None) => format!(
                    "{} is locked by another deploy ({}); ship would stop here with exit code 6 (--wait-lock waits)",
                    e.name,
                    holder.describe()
                ),
            });
        }
        steps.push(step);
    }
    Plan { commit: f.commit.sha.clone(), branch: f.commit.branch.clone(), registry: f.registry.to_string(), steps }
}

impl Plan {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.steps.iter().enumerate() {
            let marker = if s.skipped.is_some() { "skip" } else { "run " };
            out.push_str(&format!("{:>2}. {marker} {:<8} {}\n", i + 1, s.stage, s.action));
            if let Some(why) = &s.skipped {
                out.push_str(&format!("              ({why})\n"));
            }
            for n in &s.notes {
                out.push_str(&format!("              note: {n}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "[app]\nname = \"api\"\n[registries.r]\ntype = \"oci\"\nrepository = \"127.0.0.1:5000/api\"\n\
             [environments.prod]\ntarget = \"docker\"\ncontainer_name = \"api\"\nauto_rollback = true\n{extra}"
        );
        crate::config::parse_bytes(std::path::Path::new("ship.toml"), text.as_bytes()).unwrap()
    }

    fn commit() -> Commit {
        Commit {
            sha: "3f2c1ab0c9d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5".into(),
            short_sha: "3f2c1ab0c9d1".into(),
            branch: Some("main".into()),
            author: None,
            message: None,
            tag: None,
            dirty: false,
        }
    }

    fn live(digest: &str) -> LiveState {
        LiveState {
            revision: Some("4".into()),
            image: format!("127.0.0.1:5000/api@{digest}"),
            digest: Some(digest.into()),
            commit: Some("a81f0e2aaaa".into()),
            rollout: "RUNNING".into(),
            desired: 1,
            running: 1,
            pending: 0,
            details: vec![],
        }
    }

    fn facts<'a>(
        c: &'a Config,
        commit: &'a Commit,
        existing: Option<ImageRef>,
        live_now: Option<LiveState>,
        yes: bool,
    ) -> Facts<'a> {
        let (name, env) = c.environments.iter().next().unwrap();
        Facts {
            config: c,
            commit,
            registry: "r",
            references: vec!["127.0.0.1:5000/api:3f2c1ab0c9d1".into()],
            existing,
            registry_probe: Ok(()),
            also_push: Vec::new(),
            skip_scan: None,
            assume_yes: yes,
            force: false,
            wait_lock: None,
            environments: vec![EnvFacts {
                name,
                env: env.get_ref(),
                target: "docker container api".into(),
                live: Ok(live_now),
                approved_by_env: false,
                lock: None,
            }],
        }
    }

    #[test]
    fn fresh_commit_runs_every_stage() {
        let c = config("");
        let commit = commit();
        let plan = make(&facts(&c, &commit, None, None, false));
        let stages: Vec<(&str, bool)> = plan.steps.iter().map(|s| (s.stage, s.skipped.is_none())).collect();
        assert_eq!(
            stages,
            [("check", true), ("build", true), ("scan", true), ("push", true), ("approve", true), ("deploy", true)]
        );
        assert!(plan.steps[4].action.contains("ask on the terminal"), "{:?}", plan.steps[4]);
        assert!(plan.steps[4].action.contains("running: nothing"));
        assert!(plan.steps[5].action.contains("auto-rollback"));
    }

    #[test]
    fn existing_image_skips_build_and_push_and_same_digest_skips_deploy() {
        let c = config("approval = \"none\"");
        let commit = commit();
        let d = format!("sha256:{}", "b".repeat(64));
        let img = ImageRef { repository: "127.0.0.1:5000/api".into(), digest: d.clone() };
        let plan = make(&facts(&c, &commit, Some(img), Some(live(&d)), true));
        let skipped: Vec<&str> = plan.steps.iter().filter(|s| s.skipped.is_some()).map(|s| s.stage).collect();
        assert_eq!(skipped, ["build", "push", "deploy"]);
        assert!(plan.steps[4].action.contains("no approval needed"));
        assert!(plan.render().contains("skip build"));
    }

    #[test]
    fn force_deploys_the_digest_that_already_runs() {
        let c = config("approval = \"none\"");
        let commit = commit();
        let d = format!("sha256:{}", "b".repeat(64));
        let img = ImageRef { repository: "127.0.0.1:5000/api".into(), digest: d.clone() };
        let mut f = facts(&c, &commit, Some(img), Some(live(&d)), true);
        f.force = true;
        let plan = make(&f);
        let deploy = plan.steps.iter().find(|s| s.stage == "deploy").unwrap();
        assert!(deploy.skipped.is_none(), "{deploy:?}");
        assert!(deploy.action.contains("(--force)"));
        let l = live(&d);
        assert!(deploy_is_noop(Some(&l), &d, false));
        assert!(!deploy_is_noop(Some(&l), &d, true));
        assert!(!deploy_is_noop(None, &d, false));
    }

    #[test]
    fn a_held_lock_is_announced_before_anything_is_built() {
        let c = config("");
        let commit = commit();
        let mut f = facts(&c, &commit, None, None, true);
        let now = chrono::Utc::now();
        f.environments[0].lock = Some(LockRecord {
            holder: "ann".into(),
            host: "ci-7".into(),
            command: "shipit ship prod".into(),
            what: "sha256:abc".into(),
            since: now,
            until: now + chrono::Duration::minutes(2),
            nonce: "n".into(),
        });
        let plan = make(&f);
        let deploy = plan.steps.iter().find(|s| s.stage == "deploy").unwrap();
        assert!(deploy.notes[0].contains("locked by another deploy (ann on ci-7"), "{:?}", deploy.notes);
        assert!(deploy.notes[0].contains("exit code 6"));
    }

    #[test]
    fn yes_and_scan_settings_are_described() {
        let c = config("[scan]\nfail_on = \"critical\"\nignore_unfixed = true\n");
        let commit = commit();
        let plan = make(&facts(&c, &commit, None, Some(live(&format!("sha256:{}", "a".repeat(64)))), true));
        assert_eq!(plan.steps[2].action, "trivy, fail on CRITICAL+, unfixed ignored");
        assert!(plan.steps[4].action.contains("approved by --yes"));
        assert!(plan.steps[4].action.contains("running: sha256:aaaaaaaaaaaa (a81f0e2)"));
    }
}
