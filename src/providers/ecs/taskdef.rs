//! The task-definition round trip: describe the running revision, change one container's image, register the
//! result as a new revision. Everything else must survive the trip unchanged — a deploy tool that silently drops
//! a secret, a health check or a log driver is worse than none — so the register request is built from every
//! field ECS accepts, and a test checks that list against the SDK's own field list.

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::{ContainerDefinition, Tag, TaskDefinition};

use crate::rollout::DeployMeta;

/// Fields of a described `TaskDefinition` that `RegisterTaskDefinition` accepts, all copied by
/// `register_request` (a test holds both lists against the SDK's types).
#[cfg(test)]
pub(crate) const CARRIED_OVER: &[&str] = &[
    "family",
    "task_role_arn",
    "execution_role_arn",
    "network_mode",
    "container_definitions",
    "volumes",
    "placement_constraints",
    "requires_compatibilities",
    "cpu",
    "memory",
    "pid_mode",
    "ipc_mode",
    "proxy_configuration",
    "inference_accelerators",
    "ephemeral_storage",
    "runtime_platform",
    "enable_fault_injection",
];

/// Fields ECS sets itself; `RegisterTaskDefinition` has no input for them.
#[cfg(test)]
pub(crate) const SET_BY_ECS: &[&str] = &[
    "task_definition_arn",
    "revision",
    "status",
    "requires_attributes",
    "compatibilities",
    "registered_at",
    "deregistered_at",
    "delete_requested_at",
    "registered_by",
];

/// Tag keys shipit writes on every revision it registers; `history` reads them back.
pub const TAG_COMMIT: &str = "shipit:commit";
pub const TAG_DIGEST: &str = "shipit:digest";
pub const TAG_DEPLOYER: &str = "shipit:deployer";
/// Added by TagResource when a rollout of the revision fails, removed when a later rollout of it completes.
/// Not carried to new revisions (`deploy_tags` drops every `shipit:` tag).
pub const TAG_OUTCOME: &str = "shipit:outcome";
pub const OUTCOME_FAILED: &str = "failed";

/// The revision carries shipit's failed mark.
pub(crate) fn marked_failed(tags: &[Tag]) -> bool {
    tag(tags, TAG_OUTCOME) == Some(OUTCOME_FAILED)
}

/// Fill a register request from a described task definition, with `containers` (the edited container list)
/// and `tags`. Every field in `CARRIED_OVER` is set here.
#[allow(deprecated)] // inference accelerators are retired, but a revision that has them must keep them
pub(crate) fn register_request(
    request: RegisterTaskDefinitionFluentBuilder,
    td: &TaskDefinition,
    containers: Vec<ContainerDefinition>,
    tags: Vec<Tag>,
) -> RegisterTaskDefinitionFluentBuilder {
    request
        .set_family(td.family.clone())
        .set_task_role_arn(td.task_role_arn.clone())
        .set_execution_role_arn(td.execution_role_arn.clone())
        .set_network_mode(td.network_mode.clone())
        .set_container_definitions(Some(containers))
        .set_volumes(td.volumes.clone())
        .set_placement_constraints(td.placement_constraints.clone())
        .set_requires_compatibilities(td.requires_compatibilities.clone())
        .set_cpu(td.cpu.clone())
        .set_memory(td.memory.clone())
        .set_pid_mode(td.pid_mode.clone())
        .set_ipc_mode(td.ipc_mode.clone())
        .set_proxy_configuration(td.proxy_configuration.clone())
        .set_inference_accelerators(td.inference_accelerators.clone())
        .set_ephemeral_storage(td.ephemeral_storage.clone())
        .set_runtime_platform(td.runtime_platform.clone())
        .set_enable_fault_injection(td.enable_fault_injection)
        .set_tags((!tags.is_empty()).then_some(tags))
}

/// The container list with `container`'s image replaced; every other container and field untouched.
pub(crate) fn with_image(
    td: &TaskDefinition,
    container: &str,
    image: &str,
) -> Result<Vec<ContainerDefinition>, Vec<String>> {
    let mut containers = td.container_definitions.clone().unwrap_or_default();
    match containers.iter_mut().find(|c| c.name.as_deref() == Some(container)) {
        Some(c) => {
            c.image = Some(image.to_string());
            Ok(containers)
        }
        None => Err(container_names(td)),
    }
}

pub(crate) fn container_names(td: &TaskDefinition) -> Vec<String> {
    td.container_definitions().iter().filter_map(|c| c.name.clone()).collect()
}

pub(crate) fn container_image<'a>(td: &'a TaskDefinition, container: &str) -> Option<&'a str> {
    td.container_definitions().iter().find(|c| c.name.as_deref() == Some(container)).and_then(|c| c.image.as_deref())
}

/// The revision's own tags minus shipit's, plus shipit's for this deploy. Other tools' tags (cost centre,
/// owner) are kept: they belong to the family, not to one revision.
pub(crate) fn deploy_tags(existing: &[Tag], meta: &DeployMeta, digest: &str) -> Vec<Tag> {
    let mut tags: Vec<Tag> =
        existing.iter().filter(|t| !t.key().is_some_and(|k| k.starts_with("shipit:"))).cloned().collect();
    for (key, value) in
        [(TAG_COMMIT, meta.commit.as_str()), (TAG_DIGEST, digest), (TAG_DEPLOYER, meta.deployer.as_str())]
    {
        let value = tag_value(value);
        if !value.is_empty() {
            tags.push(Tag::builder().key(key).value(value).build());
        }
    }
    tags
}

/// ECS tag values allow letters, digits, spaces and `_ . : / = + - @`, up to 256 characters. A deployer like
/// `Jane Doe <jane@acme.dev>` would be refused, so everything else becomes a space.
pub(crate) fn tag_value(raw: &str) -> String {
    let cleaned: String =
        raw.chars().map(|c| if c.is_alphanumeric() || " _.:/=+-@".contains(c) { c } else { ' ' }).take(256).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

/// `(family, revision)` from `arn:aws:ecs:…:task-definition/api:7` or `api:7`.
pub(crate) fn family_revision(arn_or_name: &str) -> Option<(&str, i32)> {
    let name = arn_or_name.rsplit_once(":task-definition/").map_or(arn_or_name, |(_, n)| n);
    let (family, rev) = name.rsplit_once(':')?;
    Some((family, rev.parse().ok()?))
}

/// `api:7` — how task definitions are named in messages.
pub(crate) fn short_name(arn_or_name: &str) -> String {
    match family_revision(arn_or_name) {
        Some((family, rev)) => format!("{family}:{rev}"),
        None => arn_or_name.to_string(),
    }
}

/// Do two references (ARN or `family:revision`) name the same revision? ECS answers with ARNs, moto and users
/// sometimes with the short form.
pub(crate) fn same_revision(a: &str, b: &str) -> bool {
    match (family_revision(a), family_revision(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use aws_sdk_ecs::types::*;

    use super::*;

    /// Top-level field names from a derived Debug of a struct whose fields are all empty: `Name { a: None, b: 0 }`.
    fn debug_fields(debug: &str) -> BTreeSet<String> {
        let body = &debug[debug.find('{').unwrap() + 1..debug.rfind('}').unwrap()];
        let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
        for c in body.chars() {
            match c {
                '{' | '[' | '(' => depth += 1,
                '}' | ']' | ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        parts.push(current);
        parts
            .iter()
            .filter_map(|p| p.split(':').next())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    }

    #[test]
    fn every_task_definition_field_is_carried_over_or_set_by_ecs() {
        // When the SDK learns a new task-definition field, this fails until `register_request` copies it.
        let described = debug_fields(&format!("{:?}", TaskDefinition::builder().build()));
        let known: BTreeSet<String> = CARRIED_OVER.iter().chain(SET_BY_ECS).map(|s| s.to_string()).collect();
        assert_eq!(described, known, "TaskDefinition fields vs CARRIED_OVER ∪ SET_BY_ECS");

        let input =
            aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::builder().build().unwrap();
        let accepted = debug_fields(&format!("{input:?}"));
        let mut expected: BTreeSet<String> = CARRIED_OVER.iter().map(|s| s.to_string()).collect();
        expected.insert("tags".into());
        assert_eq!(accepted, expected, "RegisterTaskDefinitionInput fields vs CARRIED_OVER + tags");
    }

    fn client() -> aws_sdk_ecs::Client {
        let conf = aws_sdk_ecs::Config::builder()
            .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
            .region(aws_sdk_ecs::config::Region::new("us-east-1"))
            .build();
        aws_sdk_ecs::Client::from_conf(conf)
    }

    pub(crate) fn rich_task_definition() -> TaskDefinition {
        let kv = |n: &str, v: &str| KeyValuePair::builder().name(n).value(v).build();
        let app = ContainerDefinition::builder()
            .name("api")
            .image("registry.acme.dev/api:old")
            .cpu(256)
            .memory(512)
            .memory_reservation(256)
            .essential(true)
            .port_mappings(
                PortMapping::builder().container_port(8080).protocol(TransportProtocol::Tcp).name("http").build(),
            )
            .environment(kv("RUST_LOG", "info"))
            .secrets(
                Secret::builder().name("DB_URL").value_from("arn:aws:ssm:us-east-1:1:parameter/db").build().unwrap(),
            )
            .command("serve")
            .health_check(
                HealthCheck::builder()
                    .command("CMD-SHELL")
                    .command("curl -f localhost:8080/health")
                    .interval(10)
                    .retries(3)
                    .build()
                    .unwrap(),
            )
            .log_configuration(
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", "/ecs/api")
                    .build()
                    .unwrap(),
            )
            .ulimits(Ulimit::builder().name(UlimitName::Nofile).soft_limit(4096).hard_limit(8192).build().unwrap())
            .docker_labels("team", "payments")
            .depends_on(
                ContainerDependency::builder()
                    .container_name("envoy")
                    .condition(ContainerCondition::Healthy)
                    .build()
                    .unwrap(),
            )
            .linux_parameters(LinuxParameters::builder().init_process_enabled(true).build())
            .stop_timeout(30)
            .readonly_root_filesystem(true)
            .build();
        let sidecar = ContainerDefinition::builder().name("envoy").image("envoyproxy/envoy:v1.30").memory(128).build();
        TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/api:7")
            .family("api")
            .revision(7)
            .task_role_arn("arn:aws:iam::123456789012:role/api-task")
            .execution_role_arn("arn:aws:iam::123456789012:role/api-exec")
            .network_mode(NetworkMode::Awsvpc)
            .container_definitions(app)
            .container_definitions(sidecar)
            .volumes(
                Volume::builder()
                    .name("data")
                    .efs_volume_configuration(EfsVolumeConfiguration::builder().file_system_id("fs-1").build().unwrap())
                    .build(),
            )
            .placement_constraints(
                TaskDefinitionPlacementConstraint::builder()
                    .r#type(TaskDefinitionPlacementConstraintType::MemberOf)
                    .expression("attribute:ecs.availability-zone in [us-east-1a]")
                    .build(),
            )
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("512")
            .memory("1024")
            .pid_mode(PidMode::Task)
            .ipc_mode(IpcMode::None)
            .proxy_configuration(
                ProxyConfiguration::builder()
                    .container_name("envoy")
                    .properties(kv("AppPorts", "8080"))
                    .build()
                    .unwrap(),
            )
            .inference_accelerators(
                #[allow(deprecated)]
                InferenceAccelerator::builder().device_name("d1").device_type("eia2.medium").build().unwrap(),
            )
            .ephemeral_storage(EphemeralStorage::builder().size_in_gib(30).build())
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::Arm64)
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .enable_fault_injection(true)
            .status(TaskDefinitionStatus::Active)
            .compatibilities(Compatibility::Fargate)
            .registered_by("arn:aws:iam::123456789012:user/jane")
            .build()
    }

    #[test]
    #[allow(deprecated)]
    fn round_trip_changes_only_the_image() {
        let td = rich_task_definition();
        let pinned = format!("registry.acme.dev/api@sha256:{}", "b".repeat(64));
        let containers = with_image(&td, "api", &pinned).unwrap();
        let meta = DeployMeta {
            commit: "3f2c1ab".into(),
            deployer: "Jane <jane@acme.dev>".into(),
            cause: String::new(),
            summary: None,
        };
        let existing = [
            Tag::builder().key("team").value("payments").build(),
            Tag::builder().key("shipit:commit").value("old").build(),
        ];
        let tags = deploy_tags(&existing, &meta, "sha256:bb");
        let request = register_request(client().register_task_definition(), &td, containers, tags);
        let input = request.as_input().clone().build().unwrap();

        // Reassemble a task definition from the request and compare it with the original, image aside.
        let mut expected = td.clone();
        expected.container_definitions.as_mut().unwrap()[0].image = Some(pinned.clone());
        let got = TaskDefinition::builder()
            .set_family(input.family.clone())
            .set_task_role_arn(input.task_role_arn.clone())
            .set_execution_role_arn(input.execution_role_arn.clone())
            .set_network_mode(input.network_mode.clone())
            .set_container_definitions(input.container_definitions.clone())
            .set_volumes(input.volumes.clone())
            .set_placement_constraints(input.placement_constraints.clone())
            .set_requires_compatibilities(input.requires_compatibilities.clone())
            .set_cpu(input.cpu.clone())
            .set_memory(input.memory.clone())
            .set_pid_mode(input.pid_mode.clone())
            .set_ipc_mode(input.ipc_mode.clone())
            .set_proxy_configuration(input.proxy_configuration.clone())
            .set_inference_accelerators(input.inference_accelerators.clone())
            .set_ephemeral_storage(input.ephemeral_storage.clone())
            .set_runtime_platform(input.runtime_platform.clone())
            .set_enable_fault_injection(input.enable_fault_injection)
            // Not inputs: ECS sets these.
            .set_task_definition_arn(td.task_definition_arn.clone())
            .revision(td.revision)
            .set_status(td.status.clone())
            .set_compatibilities(td.compatibilities.clone())
            .set_registered_by(td.registered_by.clone())
            .build();
        assert_eq!(got, expected);
        assert_eq!(container_image(&got, "envoy"), Some("envoyproxy/envoy:v1.30"));

        let tags = input.tags.unwrap();
        assert_eq!(tag(&tags, "team"), Some("payments"));
        assert_eq!(tag(&tags, TAG_COMMIT), Some("3f2c1ab"));
        assert_eq!(tag(&tags, TAG_DIGEST), Some("sha256:bb"));
        assert_eq!(tag(&tags, TAG_DEPLOYER), Some("Jane jane@acme.dev"));
        assert_eq!(tags.len(), 4, "the old shipit:commit is replaced, not duplicated");
    }

    #[test]
    fn missing_container_lists_the_ones_there() {
        let td = rich_task_definition();
        assert_eq!(with_image(&td, "web", "x").unwrap_err(), vec!["api".to_string(), "envoy".to_string()]);
    }

    #[test]
    fn revision_names() {
        assert_eq!(family_revision("arn:aws:ecs:us-east-1:1:task-definition/api-web:12"), Some(("api-web", 12)));
        assert_eq!(family_revision("api:3"), Some(("api", 3)));
        assert_eq!(family_revision("api"), None);
        assert_eq!(short_name("arn:aws:ecs:us-east-1:1:task-definition/api:12"), "api:12");
        assert!(same_revision("arn:aws:ecs:us-east-1:1:task-definition/api:12", "api:12"));
        assert!(!same_revision("api:12", "api:1"));
        assert_eq!(tag_value("a  <b>\n"), "a b");
    }
}
