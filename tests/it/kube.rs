//! The Kubernetes target against the fake API server (tests/support/fake_kube.rs) over TCP: the provider
//! in-process first, then the shipit binary itself through a generated kubeconfig.

use std::time::Duration;

use serde_json::{Value, json};
use shipit::config::Environment;
use shipit::providers::kube::{KubeError, KubeTarget};
use shipit::release::ImageRef;
use shipit::report::Recorder;
use shipit::rollout::{DeployMeta, DeployOptions, Outcome};

use crate::support::cli::{Scratch, describe, text};
use crate::support::fake_kube::{Behaviour, FakeKube, Kind, REVISION};

const NS: &str = "shop";
const REPO: &str = "127.0.0.1:5000/api";

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn image(c: char) -> ImageRef {
    ImageRef { repository: REPO.into(), digest: digest(c) }
}

fn pinned(c: char) -> String {
    image(c).pinned()
}

fn meta(commit: &str) -> DeployMeta {
    DeployMeta {
        commit: commit.into(),
        deployer: "ana".into(),
        cause: format!("shipit deploy prod {commit}"),
        summary: None,
    }
}

fn opts(auto_rollback: bool) -> DeployOptions {
    DeployOptions { force: false, timeout: Duration::from_secs(30), auto_rollback, wait_merge: false }
}

/// An environment table as a user would write it in ship.toml.
fn environment(extra: &str) -> Environment {
    toml::from_str(&format!("target = \"kubernetes\"\ndeployment = \"api\"\n{extra}")).expect("environment table")
}

struct Cluster {
    fake: FakeKube,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// A fake cluster with Deployment shop/api (3 replicas of revision 1, image `a`) and a kubeconfig whose
    /// current context `test` has namespace `shop`.
    fn new() -> Cluster {
        crate::support::env::install_crypto_provider();
        let fake = FakeKube::start();
        fake.add_deployment(NS, "api", 3, &[("api", &pinned('a')), ("envoy", "envoyproxy/envoy:v1.30")], &[]);
        let dir = tempfile::tempdir().unwrap();
        fake.write_kubeconfig(dir.path(), "test", Some(NS));
        Cluster { fake, dir }
    }

    fn kubeconfig(&self) -> String {
        self.dir.path().join("kubeconfig").display().to_string()
    }

    async fn target(&self, extra: &str) -> KubeTarget {
        let env = environment(&format!("kubeconfig = \"{}\"\n{extra}", self.kubeconfig()));
        KubeTarget::connect("prod", &env.kube("prod").unwrap(), "api").await.expect("connect")
    }

    fn image_of(&self, container: &str) -> String {
        let dep = self.fake.deployment(NS, "api");
        dep["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(dep["spec"]["template"]["spec"]["initContainers"].as_array().into_iter().flatten())
            .find(|c| c["name"] == container)
            .map(|c| c["image"].as_str().unwrap().to_string())
            .unwrap()
    }
}

fn failed_reason(outcome: Outcome) -> String {
    match outcome {
        Outcome::Failed { reason, .. } => reason,
        other => panic!("expected a failed rollout, got {other:?}"),
    }
}

#[tokio::test]
async fn happy_rollout_pins_the_digest_annotates_and_reports_progress() {
    let c = Cluster::new();
    let target = c.target("").await;
    assert_eq!(target.describe(), "kubernetes shop/api (context test)");
    let rec = Recorder::default();

    let outcome = target.deploy(&image('b'), &meta("3f2c1ab"), &opts(false), &rec).await.unwrap();
    assert_eq!(outcome, Outcome::Completed { revision: "2".into() });

    // Only the app container changed, to repo@digest; the sidecar is untouched.
    assert_eq!(c.image_of("api"), pinned('b'));
    assert_eq!(c.image_of("envoy"), "envoyproxy/envoy:v1.30");
    let dep = c.fake.deployment(NS, "api");
    for ann in [&dep["metadata"]["annotations"], &dep["spec"]["template"]["metadata"]["annotations"]] {
        assert_eq!(ann["shipit.dev/commit"], "3f2c1ab");
        assert_eq!(ann["shipit.dev/digest"], digest('b'));
        assert_eq!(ann["shipit.dev/deployer"], "ana");
        assert_eq!(ann["kubernetes.io/change-cause"], "shipit deploy prod 3f2c1ab");
    }
    // The new ReplicaSet carries them too (that is what `history` reads).
    let rs = c
        .fake
        .list(Kind::ReplicaSet, NS)
        .into_iter()
        .find(|rs| rs["metadata"]["annotations"][REVISION] == "2")
        .expect("revision 2 ReplicaSet");
    assert_eq!(rs["spec"]["template"]["metadata"]["annotations"]["shipit.dev/commit"], "3f2c1ab");

    let patches = c.fake.patches();
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].content_type, "application/strategic-merge-patch+json");
    assert_eq!(patches[0].field_manager.as_deref(), Some("shipit"));
    assert!(patches[0].body["metadata"]["resourceVersion"].is_string(), "the patch is conditional");

    // Live progress: the replica counts moved through the rollout, one status line per change.
    let lines = rec.lines();
    let statuses: Vec<&String> = lines.iter().filter(|l| l.starts_with("status: revision 2:")).collect();
    assert!(
        statuses.iter().any(|l| l.contains("1/3 updated")) && statuses.iter().any(|l| l.contains("2/3 updated")),
        "progress lines: {lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("is revision 2")), "{lines:#?}");

    // Watched, not polled: one watch per resource kind, and no repeated GETs of the Deployment.
    let requests = c.fake.requests();
    for kind in ["deployments", "replicasets", "pods"] {
        assert!(requests.iter().any(|r| r.is_watch() && r.path.ends_with(kind)), "no watch of {kind}: {requests:#?}");
    }
    let gets = requests.iter().filter(|r| r.path.ends_with("/deployments/api") && r.method == "GET").count();
    assert!(gets <= 2, "{gets} GETs of the Deployment: polling? {requests:#?}");

    // live(): what runs now.
    let live = target.live().await.unwrap().unwrap();
    assert_eq!(live.revision.as_deref(), Some("2"));
    assert_eq!(live.digest.as_deref(), Some(digest('b').as_str()));
    assert_eq!(live.commit.as_deref(), Some("3f2c1ab"));
    assert_eq!(live.rollout, "COMPLETED");
    assert_eq!((live.desired, live.running, live.pending), (3, 3, 0));
    assert!(
        live.details.iter().any(|d| d.starts_with("Progressing=True (NewReplicaSetAvailable)")),
        "{:?}",
        live.details
    );
}

#[tokio::test]
async fn image_pull_backoff_fails_fast_with_pod_container_and_message() {
    let c = Cluster::new();
    let message =
        format!("rpc error: code = NotFound desc = failed to pull and unpack image \"{}\": not found", pinned('c'));
    c.fake.script(&"c".repeat(64), Behaviour::waiting("ImagePullBackOff", &message, 0));
    let target = c.target("").await;
    let rec = Recorder::default();
    // Only fail-fast can make this return a pod's reason instead of the timeout's.
    let mut o = opts(false);
    o.timeout = Duration::from_secs(20);

    let reason = failed_reason(target.deploy(&image('c'), &meta("c0ffee1"), &o, &rec).await.unwrap());
    assert!(reason.starts_with("pod api-"), "{reason}");
    assert!(reason.contains("container api: ImagePullBackOff: rpc error: code = NotFound"), "{reason}");
    assert!(!reason.contains("did not finish"), "{reason}");
    // Nothing was put back: the Deployment still points at the broken image.
    assert_eq!(c.image_of("api"), pinned('c'));
}

#[tokio::test]
async fn crash_loop_in_a_named_init_container_reports_restarts() {
    crate::support::env::install_crypto_provider();
    let fake = FakeKube::start();
    fake.add_deployment(NS, "api", 2, &[("api", &pinned('a'))], &[("migrate", &pinned('a'))]);
    let dir = tempfile::tempdir().unwrap();
    let kc = fake.write_kubeconfig(dir.path(), "test", Some(NS));
    fake.script(&"d".repeat(64), Behaviour::waiting("CrashLoopBackOff", "back-off 40s restarting failed container", 4));
    let env = environment(&format!("kubeconfig = \"{}\"\ncontainers = [\"api\", \"migrate\"]", kc.display()));
    let target = KubeTarget::connect("prod", &env.kube("prod").unwrap(), "ignored").await.unwrap();

    let reason =
        failed_reason(target.deploy(&image('d'), &meta("d1"), &opts(false), &Recorder::default()).await.unwrap());
    assert!(
        reason.contains("init container migrate: CrashLoopBackOff: back-off 40s restarting failed container (restarts: 4, last exit code 1 Error)"),
        "{reason}"
    );
    let dep = fake.deployment(NS, "api");
    assert_eq!(dep["spec"]["template"]["spec"]["initContainers"][0]["image"], pinned('d'));
    assert_eq!(dep["spec"]["template"]["spec"]["containers"][0]["image"], pinned('d'));
}

#[tokio::test]
async fn create_container_config_error_fails_fast() {
    let c = Cluster::new();
    c.fake.script(
        &"e".repeat(64),
        Behaviour::waiting("CreateContainerConfigError", "secret \"db-password\" not found", 0),
    );
    let target = c.target("").await;
    let reason =
        failed_reason(target.deploy(&image('e'), &meta("e1"), &opts(false), &Recorder::default()).await.unwrap());
    assert!(reason.contains("container api: CreateContainerConfigError: secret \"db-password\" not found"), "{reason}");
}

#[tokio::test]
async fn progress_deadline_exceeded_fails_with_the_controllers_message() {
    let c = Cluster::new();
    c.fake.script(&"f".repeat(64), Behaviour::ProgressDeadline { after: Duration::from_millis(300) });
    let target = c.target("").await;
    let reason =
        failed_reason(target.deploy(&image('f'), &meta("f1"), &opts(false), &Recorder::default()).await.unwrap());
    assert!(reason.starts_with("ProgressDeadlineExceeded: ReplicaSet \"api-"), "{reason}");
    assert!(reason.contains("has timed out progressing"), "{reason}");
    assert!(
        reason.contains("\npod api-") && reason.contains("container api: not ready, waiting (ContainerCreating)"),
        "names the pod that never became ready: {reason}"
    );
}

#[tokio::test]
async fn quota_rejection_of_pods_fails_with_replica_failure() {
    let c = Cluster::new();
    let message =
        "pods \"api-x\" is forbidden: exceeded quota: compute, requested: cpu=500m, used: cpu=2, limited: cpu=2";
    c.fake.script(&"9".repeat(64), Behaviour::ReplicaFailure { message: message.into() });
    let target = c.target("").await;
    let reason =
        failed_reason(target.deploy(&image('9'), &meta("q"), &opts(false), &Recorder::default()).await.unwrap());
    assert_eq!(reason, format!("FailedCreate: {message}"));
}

#[tokio::test]
async fn auto_rollback_puts_the_previous_template_back() {
    let c = Cluster::new();
    c.fake.script(&"c".repeat(64), Behaviour::waiting("ImagePullBackOff", "Back-off pulling image", 0));
    let target = c.target("").await;
    let rec = Recorder::default();

    let outcome = target.deploy(&image('c'), &meta("bad"), &opts(true), &rec).await.unwrap();
    match &outcome {
        Outcome::RolledBack { revision, restored, reason } => {
            assert_eq!(revision, "2");
            assert_eq!(restored, "1");
            assert!(reason.contains("ImagePullBackOff"), "{reason}");
        }
        other => panic!("expected RolledBack, got {other:?}"),
    }
    assert_eq!(c.image_of("api"), pinned('a'));
    let dep = c.fake.deployment(NS, "api");
    assert!(
        dep["spec"]["template"]["metadata"]["annotations"].get("shipit.dev/digest").is_none(),
        "the template is exactly the old one again: {}",
        dep["spec"]["template"]["metadata"]
    );
    // The controller re-used the original ReplicaSet (renumbered 3) and the failed one has no pods left.
    let history = target.history(10).await.unwrap();
    let revs: Vec<(&str, bool)> = history.iter().map(|r| (r.revision.as_str(), r.live)).collect();
    assert_eq!(revs, [("3", true), ("2", false)]);
    assert_eq!(history[0].digest.as_deref(), Some(digest('a').as_str()));
    assert_eq!(history[1].digest.as_deref(), Some(digest('c').as_str()));
    let live = target.live().await.unwrap().unwrap();
    assert_eq!(live.rollout, "COMPLETED");
    let lines = rec.lines();
    assert!(lines.iter().any(|l| l.contains("auto-rollback: restoring revision 1")), "{lines:#?}");

    // The failed ReplicaSet is marked on the cluster, with a merge patch of its annotations by shipit.
    let marks: Vec<(&str, bool)> = history.iter().map(|r| (r.revision.as_str(), r.failed)).collect();
    assert_eq!(marks, [("3", false), ("2", true)]);
    let rs_patches = c.fake.replicaset_patches();
    assert_eq!(rs_patches.len(), 1, "{rs_patches:#?}");
    assert_eq!(rs_patches[0].content_type, "application/merge-patch+json");
    assert_eq!(rs_patches[0].field_manager.as_deref(), Some("shipit"));
    assert_eq!(rs_patches[0].body, json!({"metadata": {"annotations": {"shipit.dev/outcome": "failed"}}}));
    let failed_rs = c.fake.get(Kind::ReplicaSet, NS, &rs_patches[0].name).unwrap();
    assert_eq!(failed_rs["metadata"]["annotations"][REVISION], "2");

    // Rolled out again and completing this time (the registry was fixed): the mark comes off.
    c.fake.script(&"c".repeat(64), Behaviour::succeed());
    let outcome = target.rollback(&history[1], &meta("again"), &opts(false), &Recorder::default()).await.unwrap();
    assert_eq!(outcome, Outcome::Completed { revision: "4".into() });
    let history = target.history(10).await.unwrap();
    let marks: Vec<(&str, bool, bool)> = history.iter().map(|r| (r.revision.as_str(), r.live, r.failed)).collect();
    assert_eq!(marks, [("4", true, false), ("3", false, false)]);
    let rs = c.fake.get(Kind::ReplicaSet, NS, &rs_patches[0].name).unwrap();
    assert!(rs["metadata"]["annotations"].get("shipit.dev/outcome").is_none(), "{}", rs["metadata"]);
    assert_eq!(c.fake.replicaset_patches().len(), 2, "one mark, one clear; nothing for unmarked sets");
}

#[tokio::test]
async fn a_failure_to_mark_the_failed_replicaset_is_only_a_warning() {
    let c = Cluster::new();
    c.fake.script(&"c".repeat(64), Behaviour::waiting("ImagePullBackOff", "Back-off pulling image", 0));
    c.fake.fail_next_replicaset_patch(
        403,
        "Forbidden",
        "replicasets.apps \"api-x\" is forbidden: User \"ci\" cannot patch resource \"replicasets\" in API group \"apps\" in the namespace \"shop\"",
    );
    let target = c.target("").await;
    let rec = Recorder::default();

    let outcome = target.deploy(&image('c'), &meta("bad"), &opts(true), &rec).await.unwrap();

    assert!(matches!(&outcome, Outcome::RolledBack { revision, .. } if revision == "2"), "{outcome:?}");
    let lines = rec.lines();
    assert!(
        lines.iter().any(|l| l.starts_with("line: warning: could not mark ReplicaSet api-")
            && l.contains("not allowed to patch replicasets in namespace shop")
            && l.contains("`shipit history` will not show this outcome")),
        "{lines:#?}"
    );
    assert!(target.history(10).await.unwrap().iter().all(|r| !r.failed));
}

#[tokio::test]
async fn history_and_rollback_over_several_revisions() {
    let c = Cluster::new();
    let target = c.target("").await;
    for (ch, commit) in [('b', "b1"), ('c', "c1"), ('d', "d1")] {
        let o = target.deploy(&image(ch), &meta(commit), &opts(false), &Recorder::default()).await.unwrap();
        assert!(matches!(o, Outcome::Completed { .. }), "{o:?}");
    }
    let history = target.history(10).await.unwrap();
    let summary: Vec<(String, Option<String>, bool)> =
        history.iter().map(|r| (r.revision.clone(), r.commit.clone(), r.live)).collect();
    assert_eq!(
        summary,
        [
            ("4".into(), Some("d1".into()), true),
            ("3".into(), Some("c1".into()), false),
            ("2".into(), Some("b1".into()), false),
            ("1".into(), None, false),
        ]
    );
    assert_eq!(history[1].digest.as_deref(), Some(digest('c').as_str()));
    assert_eq!(history[1].deployer.as_deref(), Some("ana"));
    assert!(history[1].created.is_some());
    assert_eq!(target.history(2).await.unwrap().len(), 2, "limit");

    // Roll back to revision 2 (commit b1): its images come back and it is watched like a deploy.
    let rec = Recorder::default();
    let rollback_meta = DeployMeta {
        commit: "b1".into(),
        deployer: "bo".into(),
        cause: "shipit rollback prod to revision 2".into(),
        summary: None,
    };
    let outcome = target.rollback(&history[2], &rollback_meta, &opts(false), &rec).await.unwrap();
    assert_eq!(outcome, Outcome::Completed { revision: "5".into() });
    assert_eq!(c.image_of("api"), pinned('b'));
    let dep = c.fake.deployment(NS, "api");
    assert_eq!(dep["metadata"]["annotations"]["kubernetes.io/change-cause"], "shipit rollback prod to revision 2");
    assert_eq!(dep["metadata"]["annotations"]["shipit.dev/deployer"], "bo");

    let after = target.history(10).await.unwrap();
    assert_eq!(after[0].revision, "5");
    assert!(after[0].live);
    assert_eq!(after[0].commit.as_deref(), Some("b1"), "the original release's commit, from its template");
    assert!(after.iter().all(|r| r.revision != "2"), "revision 2 was renumbered 5, as kubectl rollout undo does");

    // A revision that no longer exists is an error, not a silent no-op.
    let mut gone = history[2].clone();
    gone.revision = "2".into();
    let err = target.rollback(&gone, &rollback_meta, &opts(false), &rec).await.unwrap_err();
    assert!(matches!(err, KubeError::RevisionNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn a_rollout_in_progress_is_refused_unless_forced() {
    let c = Cluster::new();
    c.fake.script(&"5".repeat(64), Behaviour::Stall);
    let target = c.target("").await;
    let mut short = opts(false);
    short.timeout = Duration::from_millis(700);
    let reason = failed_reason(target.deploy(&image('5'), &meta("s"), &short, &Recorder::default()).await.unwrap());
    assert!(reason.starts_with("the rollout did not finish within 700ms"), "{reason}");

    // The stalled rollout is still going: another deploy must not pile on top of it.
    let err = target.deploy(&image('b'), &meta("b"), &opts(false), &Recorder::default()).await.unwrap_err();
    match &err {
        KubeError::RolloutInProgress { detail, .. } => assert_eq!(detail, "1 of 3 replicas updated"),
        other => panic!("expected RolloutInProgress, got {other:?}"),
    }
    let cli: shipit::error::CliError = err.into();
    assert!(cli.hints.iter().any(|h| h.contains("--force")), "{:?}", cli.hints);
    assert_eq!(c.image_of("api"), pinned('5'), "nothing was patched");

    let mut forced = opts(false);
    forced.force = true;
    let outcome = target.deploy(&image('b'), &meta("b"), &forced, &Recorder::default()).await.unwrap();
    assert_eq!(outcome, Outcome::Completed { revision: "3".into() });
}

#[tokio::test]
async fn a_409_conflict_is_retried_on_a_fresh_read() {
    let c = Cluster::new();
    c.fake.conflict_next_patch("api");
    let target = c.target("").await;
    let rec = Recorder::default();
    let outcome = target.deploy(&image('b'), &meta("b"), &opts(false), &rec).await.unwrap();
    assert_eq!(outcome, Outcome::Completed { revision: "2".into() });
    let statuses: Vec<u16> = c.fake.patches().iter().map(|p| p.status).collect();
    assert_eq!(statuses, [409, 200]);
    assert!(rec.lines().iter().any(|l| l.contains("409 conflict")), "{:#?}", rec.lines());
}

#[tokio::test]
async fn a_change_between_read_and_patch_is_a_real_conflict_and_is_rechecked() {
    // Another client changes the Deployment after shipit read it: the conditional patch gets a real 409 from
    // the resourceVersion precondition, and shipit's retry reads the new object.
    let c = Cluster::new();
    c.fake.edit(NS, "api", json!({"metadata": {"labels": {"team": "payments"}}}));
    let target = c.target("").await;
    let outcome = target.deploy(&image('b'), &meta("b"), &opts(false), &Recorder::default()).await.unwrap();
    assert!(matches!(outcome, Outcome::Completed { .. }));
    assert_eq!(c.fake.deployment(NS, "api")["metadata"]["labels"]["team"], "payments", "the other change is kept");
}

#[tokio::test]
async fn admission_and_quota_refusals_of_the_patch_carry_the_api_message() {
    let c = Cluster::new();
    let message =
        "admission webhook \"images.policy.acme.dev\" denied the request: registry 127.0.0.1:5000 is not allowed";
    c.fake.fail_next_patch(400, "BadRequest", message);
    let target = c.target("").await;
    let err = target.deploy(&image('b'), &meta("b"), &opts(false), &Recorder::default()).await.unwrap_err();
    assert!(matches!(&err, KubeError::Rejected { message: m, .. } if m == message), "{err:?}");
    assert!(err.to_string().contains(message));

    c.fake.fail_next_patch(403, "Forbidden", "deployments.apps \"api\" is forbidden: exceeded quota: compute");
    let err = target.deploy(&image('b'), &meta("b"), &opts(false), &Recorder::default()).await.unwrap_err();
    assert!(matches!(&err, KubeError::Rejected { .. }), "{err:?}");

    c.fake.fail_next_patch(
        403,
        "Forbidden",
        "deployments.apps \"api\" is forbidden: User \"ci\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"shop\"",
    );
    let err = target.deploy(&image('b'), &meta("b"), &opts(false), &Recorder::default()).await.unwrap_err();
    assert!(matches!(&err, KubeError::Forbidden { verb, .. } if verb == "patch"), "{err:?}");
    let cli: shipit::error::CliError = err.into();
    assert!(cli.hints.iter().any(|h| h.contains("kubectl auth can-i patch deployments -n shop")), "{:?}", cli.hints);
    assert_eq!(c.image_of("api"), pinned('a'), "nothing changed");
}

#[tokio::test]
async fn kubeconfig_context_and_namespace_resolve_like_kubectl() {
    let c = Cluster::new();
    // Namespace from the context; an explicit one wins.
    assert_eq!(c.target("").await.namespace(), NS);
    assert_eq!(c.target("namespace = \"other\"").await.namespace(), "other");
    // An unknown context names the ones that exist.
    let env = environment(&format!("kubeconfig = \"{}\"\ncontext = \"prod-eu\"", c.kubeconfig()));
    let err = KubeTarget::connect("prod", &env.kube("prod").unwrap(), "api").await.err().expect("unknown context");
    match &err {
        KubeError::ContextNotFound { available, .. } => assert_eq!(available, &["test", "elsewhere"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(shipit::error::CliError::from(err).exit_code(), 2);
    // A context that exists but whose cluster is down: the first call says which server and context.
    let down = c.target("context = \"elsewhere\"").await;
    let err = down.live().await.unwrap_err();
    assert!(
        matches!(&err, KubeError::Unreachable { server, context, .. } if server.contains("127.0.0.1:9") && context == "elsewhere"),
        "{err:?}"
    );
    // A container the Deployment does not have.
    let err = c
        .target("containers = [\"web\"]")
        .await
        .deploy(&image('b'), &meta("b"), &opts(false), &Recorder::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KubeError::ContainerNotFound { available, .. } if available == &["api", "envoy"]),
        "{err:?}"
    );
    // A Deployment that does not exist.
    let err = c.target("namespace = \"nowhere\"").await.history(5).await.unwrap_err();
    assert!(matches!(err, KubeError::DeploymentNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn deploying_what_already_runs_changes_nothing() {
    let c = Cluster::new();
    let target = c.target("").await;
    let rec = Recorder::default();
    let outcome = target.deploy(&image('a'), &meta("a"), &opts(false), &rec).await.unwrap();
    assert_eq!(outcome, Outcome::Completed { revision: "1".into() });
    assert!(c.fake.patches().is_empty());
    assert!(
        rec.lines().iter().any(|l| l.contains("already runs sha256:aaaaaaaaaaaa (revision 1)")),
        "{:#?}",
        rec.lines()
    );

    // --force deploys again: the new annotations make a new template, so a new revision with the same digest.
    let mut forced = opts(false);
    forced.force = true;
    let outcome = target.deploy(&image('a'), &meta("a"), &forced, &Recorder::default()).await.unwrap();
    assert_eq!(outcome, Outcome::Completed { revision: "2".into() });
    assert_eq!(c.fake.patches().len(), 1);
}

// ---------------------------------------------------------------- through the binary

struct App {
    cluster: Cluster,
    scratch: Scratch,
}

impl App {
    fn new(auto_rollback: bool) -> App {
        let cluster = Cluster::new();
        let scratch = Scratch::new();
        scratch.write(
            "ship.toml",
            format!(
                "[app]\nname = \"api\"\n\n[registries.local]\ntype = \"oci\"\nrepository = \"{REPO}\"\ninsecure = true\n\n\
                 [environments.prod]\ntarget = \"kubernetes\"\ndeployment = \"api\"\napproval = \"none\"\ntimeout = \"30s\"\nrequire_scan = false\nauto_rollback = {auto_rollback}\n"
            ),
        );
        App { cluster, scratch }
    }

    fn shipit(&self, args: &[&str]) -> std::process::Output {
        self.scratch.shipit().env("KUBECONFIG", self.cluster.kubeconfig()).args(args).output().unwrap()
    }

    fn deploy(&self, c: char) {
        let out = self.shipit(&["deploy", "prod", "--image", &pinned(c)]);
        assert!(out.status.success(), "{}", describe(&out));
    }
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", describe(out)))
}

#[test]
fn binary_deploy_status_history_and_rollback() {
    let app = App::new(false);
    let out = app.shipit(&["deploy", "prod", "--image", &pinned('b'), "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let report = json_of(&out);
    assert_eq!(report["result"], "completed");
    assert_eq!(report["revision"], "2");
    assert_eq!(report["target"], "kubernetes shop/api (context test)");
    app.deploy('c');

    let out = app.shipit(&["status", "prod"]);
    assert!(out.status.success(), "{}", describe(&out));
    let status = text(&out.stdout);
    assert!(status.contains(&pinned('c')), "{status}");
    assert!(status.contains("revision     3"), "{status}");
    assert!(status.contains("COMPLETED  (3 running, 0 pending, 3 desired)"), "{status}");
    assert!(status.contains("Available=True"), "{status}");

    let out = app.shipit(&["history", "prod", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let history = json_of(&out);
    let revisions = history["revisions"].as_array().unwrap();
    let ids: Vec<&str> = revisions.iter().map(|r| r["revision"].as_str().unwrap()).collect();
    assert_eq!(ids, ["3", "2", "1"]);
    assert_eq!(revisions[0]["live"], true);
    assert_eq!(revisions[0]["digest"], digest('c'));
    assert_eq!(revisions[1]["deployer"], "test-runner");
    assert_eq!(revisions[0]["commit"], "unknown", "--image deploys record no commit");

    let out = app.shipit(&["history", "prod"]);
    let table = text(&out.stdout);
    assert!(table.contains("● live") && table.contains("← previous"), "{table}");

    // --previous: revision 2 (digest b).
    let out = app.shipit(&["rollback", "prod", "--previous", "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(app.cluster.image_of("api"), pinned('b'));
    assert!(text(&out.stderr).contains("revision 4 is live"), "{}", describe(&out));

    // --to a digest prefix: back to the first release (digest a).
    let out = app.shipit(&["rollback", "prod", "--to", "aaaaaaaa", "--yes", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(json_of(&out)["result"], "completed");
    assert_eq!(app.cluster.image_of("api"), pinned('a'));

    // --to a revision number.
    let out = app.shipit(&["rollback", "prod", "--to", "3", "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(app.cluster.image_of("api"), pinned('c'));
}

#[test]
fn binary_failed_rollout_exits_1_or_5_with_the_reason() {
    let app = App::new(true);
    app.cluster.fake.script(&"c".repeat(64), Behaviour::waiting("ImagePullBackOff", "Back-off pulling image \"x\"", 0));
    let out = app.shipit(&["deploy", "prod", "--image", &pinned('c')]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("rolled back: revision 1 runs again"), "{err}");
    assert!(err.contains("container api: ImagePullBackOff: Back-off pulling image"), "{err}");
    assert_eq!(app.cluster.image_of("api"), pinned('a'));

    let app = App::new(false);
    app.cluster.fake.script(&"c".repeat(64), Behaviour::ProgressDeadline { after: Duration::from_millis(200) });
    let out = app.shipit(&["deploy", "prod", "--image", &pinned('c')]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("ProgressDeadlineExceeded"), "{}", describe(&out));

    // And the next deploy is not refused: a rollout past its deadline is over.
    app.deploy('b');
}

/// r1 = A, r2 = B, r3 = C fails and is rolled back automatically: the controller re-uses B's ReplicaSet as r4, so
/// the newest revision before the live one is the failed C. `--previous` must go to A.
#[test]
fn binary_rollback_previous_skips_a_release_that_failed() {
    let app = App::new(true);
    app.deploy('b');
    app.cluster.fake.script(&"c".repeat(64), Behaviour::waiting("CrashLoopBackOff", "back-off 10s restarting", 3));
    let out = app.shipit(&["deploy", "prod", "--image", &pinned('c')]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));

    let history = json_of(&app.shipit(&["history", "prod", "--output", "json"]));
    let revs: Vec<(&str, &str, bool, bool)> = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_str().unwrap(),
                r["digest"].as_str().unwrap(),
                r["live"].as_bool().unwrap(),
                r["failed"].as_bool().unwrap(),
            )
        })
        .collect();
    let (a, b, c) = (digest('a'), digest('b'), digest('c'));
    assert_eq!(revs, [("4", b.as_str(), true, false), ("3", c.as_str(), false, true), ("1", a.as_str(), false, false)]);
    let table = text(&app.shipit(&["history", "prod"]).stdout);
    let row_of = |d: &str| table.lines().find(|l| l.contains(&d[..19])).unwrap_or_default().to_string();
    assert!(row_of(&c).contains("✘ failed") && !row_of(&c).contains("← previous"), "{table}");
    assert!(row_of(&a).contains("← previous") && !row_of(&a).contains("failed"), "{table}");

    let out = app.shipit(&["rollback", "prod", "--previous", "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("to revision 1 (sha256:aaaaaaaaaaaa"), "{}", describe(&out));
    assert_eq!(app.cluster.image_of("api"), pinned('a'));

    // Picking the failed one on purpose is allowed, and the question says what happened to it last time.
    app.cluster.fake.script(&"c".repeat(64), Behaviour::succeed());
    let out = app.shipit(&["rollback", "prod", "--to", "3", "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("to revision 3 (sha256:cccccccccccc"), "{}", describe(&out));
    assert!(err.contains("), which failed when it was last rolled out? yes"), "{}", describe(&out));
    let history = json_of(&app.shipit(&["history", "prod", "--output", "json"]));
    let live = &history["revisions"][0];
    assert_eq!(
        (live["digest"].as_str(), live["live"].as_bool(), live["failed"].as_bool()),
        (Some(c.as_str()), Some(true), Some(false))
    );
}

#[test]
fn binary_errors_name_the_context_and_give_hints() {
    let app = App::new(false);
    let cfg = text(&std::fs::read(app.scratch.path().join("ship.toml")).unwrap());
    app.scratch.write("ship.toml", cfg.replace("deployment = \"api\"", "deployment = \"api\"\ncontext = \"nope\""));
    let out = app.shipit(&["status", "prod"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("kubeconfig has no context `nope`"), "{err}");
    assert!(err.contains("available contexts: test, elsewhere"), "{err}");
}

#[test]
fn rollback_picker_in_tmux() {
    crate::require_env!("tmux");
    let app = App::new(false);
    app.deploy('b');
    app.deploy('c');
    // A rollback is approved like any change (the deploys above ran with approval = "none").
    let cfg = text(&std::fs::read(app.scratch.path().join("ship.toml")).unwrap());
    app.scratch.write("ship.toml", cfg.replace("approval = \"none\"", "approval = \"manual\""));

    let session = crate::support::env::unique_name("kube-picker");
    let kubeconfig = app.cluster.kubeconfig();
    let tmux = crate::support::tmux::Tmux::start(
        &session,
        app.scratch.path(),
        &[env!("CARGO_BIN_EXE_shipit"), "rollback", "prod"],
        &[("KUBECONFIG", kubeconfig.as_str()), ("NO_COLOR", "1"), ("SHIPIT_DEPLOYER", "picker")],
    );
    let screen = tmux.wait_for("Roll back prod to which release?", Duration::from_secs(20));
    // Newest first; the live one marked; the previous one suggested (the cursor starts on it).
    assert!(screen.contains("● live") && screen.contains("← previous"), "{screen}");
    let order: Vec<usize> = ["sha256:cccccccccccc", "sha256:bbbbbbbbbbbb", "sha256:aaaaaaaaaaaa"]
        .iter()
        .map(|d| screen.find(d).unwrap_or_else(|| panic!("{d} missing:\n{screen}")))
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{screen}");

    // From the suggested revision 2 down to revision 1, pick it, confirm.
    tmux.keys(&["Down", "Enter"]);
    let screen = tmux.wait_for("[y/N/d]", Duration::from_secs(20));
    assert!(screen.contains("Roll back prod to revision 1"), "{screen}");
    assert!(screen.contains("rollback to prod · kubernetes"), "{screen}");
    // Long image lines wrap on the terminal: read them joined.
    let flat = screen.replace('\n', "");
    assert!(
        flat.contains(&format!("container api: {} → {}", pinned('c'), pinned('a'))),
        "the change names both images: {screen}"
    );
    tmux.keys(&["y"]);
    let screen = tmux.wait_for("revision 4 is live", Duration::from_secs(30));
    assert!(screen.contains("restore revision 1 (container api → sha256:aaaaaaaaaaaa)"), "{screen}");
    assert!(screen.contains("(it was revision 1; the controller re-used it)"), "{screen}");
    drop(tmux);

    assert_eq!(app.cluster.image_of("api"), pinned('a'));
    let dep = app.cluster.fake.deployment(NS, "api");
    assert_eq!(dep["metadata"]["annotations"]["shipit.dev/deployer"], "picker");
}

// ---------------------------------------------------------------- the rollout engine on Kubernetes

impl App {
    fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.scratch
            .shipit_std()
            .env("KUBECONFIG", self.cluster.kubeconfig())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn lease(&self) -> Option<Value> {
        self.cluster.fake.lease(NS, "shipit-lock-api")
    }

    fn patches(&self) -> usize {
        self.cluster
            .fake
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH" && r.path.ends_with("/deployments/api"))
            .count()
    }
}

/// A Lease as another machine's shipit run holds it.
fn planted_lease(holder: &str, until: chrono::DateTime<chrono::Utc>) -> Value {
    let record = json!({
        "holder": holder, "host": "runner-3", "command": "shipit ship prod", "what": "sha256:0123456789ab",
        "since": (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(), "until": until.to_rfc3339(),
        "nonce": "planted",
    });
    json!({
        "metadata": {"name": "shipit-lock-api", "annotations": {"shipit.dev/lock": record.to_string()}},
        "spec": {"holderIdentity": format!("{holder}@runner-3"), "leaseDurationSeconds": 120},
    })
}

#[test]
fn binary_deploys_under_a_lease_and_a_held_one_stops_the_next() {
    let app = App::new(false);
    app.deploy('b');
    assert!(app.lease().is_none(), "the Lease is deleted after the deploy");
    let creates =
        app.cluster.fake.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/leases")).count();
    assert_eq!(creates, 1, "one Lease per deploy");

    app.cluster.fake.put_lease(NS, planted_lease("bea", chrono::Utc::now() + chrono::Duration::minutes(10)));
    let patches = app.patches();
    let out = app.shipit(&["deploy", "prod", "--image", &pinned('c')]);
    assert_eq!(out.status.code(), Some(6), "{}", describe(&out));
    assert!(text(&out.stderr).contains("prod is locked by another deploy: bea on runner-3"), "{}", describe(&out));
    assert_eq!(app.patches(), patches, "nothing was patched");
    let status = json_of(&app.shipit(&["status", "prod", "--output", "json"]));
    assert_eq!(status["lock"]["holder"], "bea");

    let out = app.shipit(&["deploy", "prod", "--image", &pinned('c'), "--force-unlock"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("breaking the deploy lock of prod, held by bea"), "{}", describe(&out));
    assert_eq!(app.cluster.image_of("api"), pinned('c'));
    assert!(app.lease().is_none());
}

#[test]
fn binary_two_deploys_at_once_never_interleave() {
    let app = App::new(false);
    app.cluster.fake.script(&"b".repeat(64), Behaviour::Succeed { step: Duration::from_millis(400) });
    app.cluster.fake.script(&"c".repeat(64), Behaviour::Succeed { step: Duration::from_millis(400) });
    let first = app.spawn(&["deploy", "prod", "--image", &pinned('b')]);
    let second = app.spawn(&["deploy", "prod", "--image", &pinned('c')]);
    let (first, second) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    let mut codes = [first.status.code(), second.status.code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(6)], "{}\n{}", describe(&first), describe(&second));
    assert_eq!(app.patches(), 1, "exactly one change reached the Deployment");
    let won = if first.status.success() { 'b' } else { 'c' };
    assert_eq!(app.cluster.image_of("api"), pinned(won));
    assert!(app.lease().is_none());
}

/// The hint after a fail-fast failure says `shipit rollback prod`; that command must then work, although the
/// failed rollout is still "in progress" for the controller.
#[test]
fn binary_rollback_right_after_a_fail_fast_failure() {
    let app = App::new(false);
    app.cluster.fake.script(&"c".repeat(64), Behaviour::waiting("ImagePullBackOff", "Back-off pulling image", 0));
    let out = app.shipit(&["deploy", "prod", "--image", &pinned('c')]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("shipit rollback prod"), "{}", describe(&out));
    let out = app.shipit(&["rollback", "prod", "--previous", "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(app.cluster.image_of("api"), pinned('a'));
}

/// The automatic rollback fails too: exit 1 (never 5), both causes, and no claim that nothing changed.
#[test]
fn binary_auto_rollback_that_fails_keeps_both_causes() {
    let app = App::new(true);
    app.deploy('b');
    let cfg = text(&std::fs::read(app.scratch.path().join("ship.toml")).unwrap());
    app.scratch.write("ship.toml", cfg.replace("timeout = \"30s\"", "timeout = \"4s\""));
    app.cluster.fake.script(&"c".repeat(64), Behaviour::waiting("ImagePullBackOff", "Back-off pulling image \"c\"", 0));
    // The restored template's rollout never finishes either.
    app.cluster.fake.script(&"b".repeat(64), Behaviour::ProgressDeadline { after: Duration::from_millis(500) });
    let out = app.shipit(&["deploy", "prod", "--image", &pinned('c')]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("ImagePullBackOff"), "the first cause: {err}");
    assert!(err.contains("the automatic rollback to revision 2 failed too"), "the second cause: {err}");
    assert!(!err.contains("nothing was changed") && !err.contains("rolled back: revision"), "{err}");
}

/// A signal while Kubernetes rolls out: shipit stops waiting, says the rollout goes on, releases the Lease.
#[test]
fn binary_a_signal_during_the_watch_says_the_rollout_goes_on() {
    let app = App::new(false);
    app.cluster.fake.script(&"c".repeat(64), Behaviour::Succeed { step: Duration::from_secs(5) });
    for sig in ["INT", "TERM", "HUP"] {
        let before = app.patches();
        let child = app.spawn(&["deploy", "prod", "--image", &pinned('c'), "--force"]);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while app.patches() == before {
            assert!(std::time::Instant::now() < deadline, "never patched");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200));
        let ok = std::process::Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status();
        assert!(ok.unwrap().success());
        let started = std::time::Instant::now();
        let out = child.wait_with_output().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5), "stops promptly");
        assert_eq!(out.status.code(), Some(130), "SIG{sig}: {}", describe(&out));
        let err = text(&out.stderr);
        assert!(err.contains(&format!("interrupted by SIG{sig}")), "{err}");
        assert!(err.contains("goes on without shipit") && err.contains("rollout"), "{err}");
        assert!(app.lease().is_none(), "SIG{sig}: the Lease is released");
        assert_eq!(app.cluster.image_of("api"), pinned('c'));
    }
}

/// The Lease protocol itself, against the fake's optimistic concurrency: create is exclusive, a stale lock can
/// be taken over by exactly one of two runs, release only removes one's own.
#[tokio::test]
async fn lease_locks_are_exclusive_and_take_over_is_a_compare_and_swap() {
    let c = Cluster::new();
    let target = c.target("").await;
    let rec = |nonce: &str, until_min: i64| shipit::rollout::LockRecord {
        holder: "t".into(),
        host: "h".into(),
        command: "shipit deploy prod".into(),
        what: "x".into(),
        since: chrono::Utc::now(),
        until: chrono::Utc::now() + chrono::Duration::minutes(until_min),
        nonce: nonce.into(),
    };
    use shipit::rollout::LockAttempt;
    let stale = rec("stale", -1);
    assert_eq!(target.try_lock(&stale, None).await.unwrap(), LockAttempt::Acquired);
    let (one, two) = (rec("one", 2), rec("two", 2));
    assert_eq!(target.try_lock(&one, None).await.unwrap(), LockAttempt::Held(stale.clone()));
    // Both saw the stale lock; only the first replace wins, the second gets the winner back.
    assert_eq!(target.try_lock(&one, Some(&stale)).await.unwrap(), LockAttempt::Acquired);
    assert_eq!(target.try_lock(&two, Some(&stale)).await.unwrap(), LockAttempt::Held(one.clone()));
    target.unlock(&two).await.unwrap();
    assert_eq!(target.read_lock().await.unwrap(), Some(one.clone()), "not two's to release");
    target.unlock(&one).await.unwrap();
    assert_eq!(target.read_lock().await.unwrap(), None);
}
