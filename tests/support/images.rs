//! Test images made on the spot (no image can be pulled here): `FROM scratch` plus a static busybox, so the
//! container really runs, and a marker file so every image has its own digest.

use bollard::Docker;
use bollard::query_parameters::{BuildImageOptions, PushImageOptions};
use futures_util::StreamExt;

use super::env::TestEnv;

/// Build `repository:tag` running `cmd` (busybox applets), push it to the open registry, and return
/// `repository@sha256:…` as read back from the engine after the push.
pub async fn busybox_image(env: &TestEnv, repository: &str, tag: &str, cmd: &[&str]) -> String {
    let docker = env.docker().await;
    let busybox = std::fs::read(env.busybox.as_ref().expect("busybox in the test env")).unwrap();
    let cmd_json = serde_json::to_string(cmd).unwrap();
    let dockerfile = format!(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY marker /marker\nENTRYPOINT [\"/bin/busybox\"]\nCMD {cmd_json}\n"
    );
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_cksum();
        tar.append_data(&mut h, name, data).unwrap();
    };
    add("Dockerfile", dockerfile.as_bytes(), 0o644);
    add("busybox", &busybox, 0o755);
    add("marker", format!("{repository}:{tag}").as_bytes(), 0o644);
    let body = tar.into_inner().unwrap();
    build(&docker, &format!("{repository}:{tag}"), body).await;
    push(&docker, repository, tag).await
}

pub async fn build(docker: &Docker, image: &str, context_tar: Vec<u8>) {
    let opts = BuildImageOptions { t: Some(image.to_string()), rm: true, ..Default::default() };
    let mut stream = docker.build_image(opts, None, Some(bollard::body_full(context_tar.into())));
    while let Some(item) = stream.next().await {
        let info = item.unwrap_or_else(|e| panic!("build {image}: {e}"));
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            panic!("build {image}: {err}");
        }
    }
}

/// Push and return the pinned reference (`repo@sha256:…`).
pub async fn push(docker: &Docker, repository: &str, tag: &str) -> String {
    let mut stream = docker.push_image(
        repository,
        Some(PushImageOptions { tag: Some(tag.to_string()), ..Default::default() }),
        None,
    );
    while let Some(item) = stream.next().await {
        let info = item.unwrap_or_else(|e| panic!("push {repository}:{tag}: {e}"));
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            panic!("push {repository}:{tag}: {err}");
        }
    }
    let inspect = docker.inspect_image(&format!("{repository}:{tag}")).await.unwrap();
    inspect
        .repo_digests
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.starts_with(&format!("{repository}@")))
        .unwrap_or_else(|| panic!("no repo digest for {repository}:{tag} after push"))
}

/// Removes every container shipit made for `container_name` (they carry the label `dev.shipit.container`) and its
/// deploy-lock volume, even when a test fails halfway.
pub struct RemoveContainers(pub String);

impl Drop for RemoveContainers {
    fn drop(&mut self) {
        let filter = format!("label=dev.shipit.container={}", self.0);
        let Ok(out) = std::process::Command::new("docker").args(["ps", "-aq", "--filter", &filter]).output() else {
            return;
        };
        let ids = String::from_utf8_lossy(&out.stdout).to_string();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let _ = std::process::Command::new("docker").arg("rm").arg("-f").args(ids).output();
        }
        let lock = format!("{}--shipit-lock", self.0);
        let _ = std::process::Command::new("docker").args(["volume", "rm", "-f", &lock]).output();
    }
}
