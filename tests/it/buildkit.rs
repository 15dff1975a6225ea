//! BuildKit builds through the test environment's dockerd (20.10): the Dockerfile features that need it,
//! secrets that never reach the image or the output, cache mounts, inline cache through the open registry,
//! multi-stage targets, platforms, errors that name the Dockerfile line, and the fallback to classic.

use std::collections::HashMap;
use std::path::Path;

use futures_util::StreamExt;

use crate::build_push::{Project, git, oci_toml, remove_images, run};
use crate::support::env::{TestEnv, unique_name};

/// A project whose context has the test environment's static busybox (executable) next to `files`.
fn busybox_project(env: &TestEnv, name: &str, toml: &str, files: &[(&str, &[u8])]) -> Project {
    let busybox = std::fs::read(env.busybox.as_ref().unwrap()).unwrap();
    let mut all: Vec<(&str, &[u8])> = vec![("busybox", &busybox)];
    all.extend_from_slice(files);
    let project = Project::new(name, toml, &all);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(project.dir.join("busybox"), std::fs::Permissions::from_mode(0o755)).unwrap();
        git(&project.dir, &["commit", "-qam", "busybox is executable"]);
    }
    project
}

struct Entry {
    mode: u32,
    data: Vec<u8>,
}

/// Every file of an image's filesystem (path → mode and contents), from a container created from it.
async fn image_fs(docker: &bollard::Docker, image: &str) -> HashMap<String, Entry> {
    let body = bollard::models::ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec!["/nonexistent".to_string()]),
        ..Default::default()
    };
    let created = docker.create_container(None, body).await.expect("create container");
    let mut bytes = Vec::new();
    let mut stream = docker.export_container(&created.id);
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.expect("export container"));
    }
    let opts = bollard::query_parameters::RemoveContainerOptions { force: true, ..Default::default() };
    let _ = docker.remove_container(&created.id, Some(opts)).await;
    let mut out = HashMap::new();
    let mut archive = tar::Archive::new(&bytes[..]);
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().trim_end_matches('/').to_string();
        let mode = e.header().mode().unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        out.insert(path, Entry { mode, data });
    }
    out
}

/// `GET /images/{name}/get`: the image as `docker save` writes it (every layer, the config, the history).
async fn saved_image(docker: &bollard::Docker, image: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut stream = docker.export_image(image);
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.expect("export image"));
    }
    bytes
}

/// Every file in a tar, with nested layer tars opened too.
fn tar_contents(bytes: &[u8], out: &mut Vec<Vec<u8>>) {
    let mut archive = tar::Archive::new(bytes);
    let Ok(entries) = archive.entries() else { return };
    for e in entries {
        let Ok(mut e) = e else { continue };
        let mut data = Vec::new();
        if std::io::Read::read_to_end(&mut e, &mut data).is_err() {
            continue;
        }
        if e.path().map(|p| p.to_string_lossy().ends_with(".tar")).unwrap_or(false) {
            tar_contents(&data, out);
        }
        out.push(data);
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The engine here runs without a bridge network (`dockerd --bridge=none`), so RUN steps get none.
fn toml(name: &str, extra: &str) -> String {
    format!("{}\n[build]\nnetwork = \"none\"\n{extra}\n", oci_toml(name, &format!("127.0.0.1:5999/{name}")))
}

/// `shipit build` prints the first `repository:tag` on stdout.
fn reference(r: &crate::build_push::Run) -> String {
    let line = r.stdout.trim();
    assert!(line.contains(':') && !line.contains('\n'), "stdout is one reference: {line:?}");
    line.to_string()
}

#[tokio::test]
async fn buildkit_copy_chmod_and_a_multi_stage_target() {
    let env = crate::require_env!("docker", "busybox");
    let name = unique_name("bk-chmod");
    let dockerfile = "FROM scratch AS base\nCOPY busybox /bin/busybox\nCOPY --chmod=751 tool.sh /tool.sh\n\
                      RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox stat -c %a /tool.sh > /mode.txt\"]\n\
                      FROM base AS final\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo final > /final.txt\"]\n";
    let project = busybox_project(
        env,
        &name,
        &toml(&name, "target = \"base\""),
        &[("Dockerfile", dockerfile.as_bytes()), ("tool.sh", b"#!/bin/sh\necho hi\n")],
    );
    let r = run(project.shipit(env).arg("build"));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.contains("builder: BuildKit (the engine offers it"), "auto says which builder and why:\n{r}");
    assert!(r.stderr.contains("[base 2/3] COPY --chmod=751 tool.sh /tool.sh  "), "one line per step:\n{r}");
    assert!(r.stderr.contains("builder: buildkit;"), "{r}");
    let image = reference(&r);
    let docker = env.docker().await;
    let id = docker.inspect_image(&image).await.unwrap().id;
    let fs = image_fs(&docker, &image).await;
    assert_eq!(fs["tool.sh"].mode & 0o7777, 0o751, "COPY --chmod gives the mode");
    assert_eq!(String::from_utf8_lossy(&fs["mode.txt"].data).trim(), "751");
    assert!(!fs.contains_key("final.txt"), "target = \"base\" stops before the final stage");

    // The same commit again: every step cached, the same image.
    let again = run(project.shipit(env).args(["build", "--output", "json"]));
    assert_eq!(again.code, 0, "{again}");
    let again: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(again["image"]["builder"], "buildkit");
    assert_eq!(again["image"]["id"].as_str(), id.as_deref(), "an unchanged commit rebuilds to the same image");
    assert_eq!(again["image"]["steps"], again["image"]["cached_steps"], "every step cached: {again}");
    remove_images(&docker, &[image]).await;
}

/// `COPY --link` is Dockerfile syntax 1.4; the built-in frontend of the engine here (20.10) has 1.2 and no
/// newer frontend can be pulled, so the test checks that the failure says exactly that.
#[tokio::test]
async fn buildkit_copy_link_on_an_engine_whose_frontend_predates_it() {
    let env = crate::require_env!("docker", "busybox");
    let name = unique_name("bk-link");
    let dockerfile = "FROM scratch\nCOPY --link data.txt /data/data.txt\n";
    let project = busybox_project(
        env,
        &name,
        &toml(&name, ""),
        &[("Dockerfile", dockerfile.as_bytes()), ("data.txt", b"linked")],
    );
    let r = run(project.shipit(env).arg("build"));
    let docker = env.docker().await;
    let version = docker.version().await.unwrap().version.unwrap_or_default();
    if !version.starts_with("20.") {
        // A newer engine knows the flag: then it must simply work.
        assert_eq!(r.code, 0, "{r}");
        let fs = image_fs(&docker, &reference(&r)).await;
        assert_eq!(fs["data/data.txt"].data, b"linked");
        remove_images(&docker, &[reference(&r)]).await;
        return;
    }
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("dockerfile parse error line 2: Unknown flag: link"), "{r}");
    assert!(r.stderr.contains("hint: the engine's built-in Dockerfile frontend predates this syntax"), "{r}");
    assert!(r.stderr.contains("# syntax=docker/dockerfile:1"), "{r}");
}

#[tokio::test]
async fn buildkit_error_names_the_instruction_and_its_line() {
    let env = crate::require_env!("docker", "busybox");
    let name = unique_name("bk-fail");
    let dockerfile = "FROM scratch\n# the tools\nCOPY busybox /bin/busybox\n\
                      RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo compiling widget; echo widget.c:12: error: boom >&2; exit 3\"]\n";
    let project = busybox_project(env, &name, &toml(&name, ""), &[("Dockerfile", dockerfile.as_bytes())]);
    let r = run(project.shipit(env).arg("build"));
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("error: build failed at Dockerfile:4 `RUN [\"/bin/busybox\""), "{r}");
    assert!(r.stderr.contains("exit code: 3"), "{r}");
    assert!(r.stderr.contains("widget.c:12: error: boom"), "the step's last lines are shown:\n{r}");
    assert!(r.stderr.contains("hint: run with -v"), "{r}");
    assert!(!r.stderr.contains('\u{1b}'), "{r}");

    // -v shows the whole log, numbered per step.
    let v = run(project.shipit(env).args(["-v", "build"]));
    assert_eq!(v.code, 1, "{v}");
    assert!(v.stderr.contains("compiling widget"), "{v}");
    assert!(v.stderr.contains("#1 [internal] load remote build context"), "{v}");
}

#[tokio::test]
async fn classic_builder_still_works_and_says_so() {
    let env = crate::require_env!("docker", "busybox");
    let name = unique_name("bk-classic");
    // The classic builder caches through intermediate images, which other tests' image removals prune: a
    // first layer of its own keeps this test's cache chain to itself.
    let dockerfile = "FROM scratch\nCOPY marker /marker\nCOPY busybox /bin/busybox\n\
                      RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo hi > /hi\"]\n";
    let project = busybox_project(
        env,
        &name,
        &toml(&name, "builder = \"classic\""),
        &[("Dockerfile", dockerfile.as_bytes()), ("marker", name.as_bytes())],
    );
    let r = run(project.shipit(env).arg("build"));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.contains("builder: classic (build.builder = \"classic\")"), "{r}");
    assert!(r.stderr.contains("Step 4/7 : RUN"), "{r}");
    assert!(r.stderr.contains("builder: classic;"), "{r}");
    let image = reference(&r);

    // A Dockerfile that needs BuildKit says so through the classic builder.
    std::fs::write(project.dir.join("Dockerfile"), "FROM scratch\nCOPY --chmod=755 busybox /bin/busybox\n").unwrap();
    git(&project.dir, &["commit", "-qam", "chmod"]);
    let r = run(project.shipit(env).arg("build"));
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("requires BuildKit"), "{r}");
    assert!(r.stderr.contains("set build.builder = \"auto\""), "{r}");
    let docker = env.docker().await;
    remove_images(&docker, &[image]).await;
}

#[tokio::test]
async fn build_secrets_reach_the_step_and_nothing_else() {
    let env = crate::require_env!("docker", "busybox");
    let name = unique_name("bk-secret");
    let token = format!("npm-token-{}", unique_name("v"));
    let cert = format!("-----BEGIN CERT {}-----", unique_name("c"));
    // A step unique to this run: BuildKit's cache does not depend on secret values, so an earlier run's
    // identical step would be reused with the earlier values.
    let dockerfile = format!(
        "FROM scratch\nCOPY busybox /bin/busybox\n\
        RUN --mount=type=secret,id=npm --mount=type=secret,id=cert [\"/bin/busybox\", \"sh\", \"-c\", \
        \"/bin/busybox wc -c < /run/secrets/npm > /npm-len; /bin/busybox md5sum /run/secrets/cert | /bin/busybox cut -c1-32 > /cert-md5; echo used the token {name}\"]\n"
    );
    let extra = "[build.secrets]\nnpm = { env = \"SHIPIT_TEST_NPM_TOKEN\" }\ncert = { file = \"certs/ca.pem\" }\n";
    let project = busybox_project(
        env,
        &name,
        &toml(&name, extra),
        &[("Dockerfile", dockerfile.as_bytes()), ("certs/ca.pem", cert.as_bytes()), (".dockerignore", b"certs\n")],
    );

    // A missing variable fails before anything is built.
    let missing = run(project.shipit(env).arg("build").env_remove("SHIPIT_TEST_NPM_TOKEN"));
    assert_eq!(missing.code, 2, "{missing}");
    assert!(missing.stderr.contains("SHIPIT_TEST_NPM_TOKEN, which is not set"), "{missing}");
    assert!(missing.stderr.contains("hint:"), "{missing}");
    assert!(!missing.stderr.contains("[1/"), "nothing is built:\n{missing}");

    let r = run(project.shipit(env).args(["-v", "build"]).env("SHIPIT_TEST_NPM_TOKEN", &token));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.contains("used the token"), "-v shows the step's log:\n{r}");
    let json = run(project.shipit(env).args(["build", "--output", "json"]).env("SHIPIT_TEST_NPM_TOKEN", &token));
    assert_eq!(json.code, 0, "{json}");
    for output in [&r.stdout, &r.stderr, &json.stdout, &json.stderr] {
        assert!(!output.contains(&token) && !output.contains(&cert), "a secret was printed:\n{r}\n{json}");
    }
    let image = reference(&r);
    let docker = env.docker().await;
    let fs = image_fs(&docker, &image).await;
    assert_eq!(String::from_utf8_lossy(&fs["npm-len"].data).trim(), token.len().to_string(), "the step read it");
    let md5 = {
        let out = std::process::Command::new("md5sum").arg(project.dir.join("certs/ca.pem")).output().unwrap();
        String::from_utf8_lossy(&out.stdout)[..32].to_string()
    };
    assert_eq!(String::from_utf8_lossy(&fs["cert-md5"].data).trim(), md5);
    assert!(!fs.keys().any(|k| k.starts_with("run/secrets/")), "{:?}", fs.keys().collect::<Vec<_>>());

    // Every layer, the config and the history of the saved image: no trace of either value.
    let saved = saved_image(&docker, &image).await;
    let mut files = Vec::new();
    tar_contents(&saved, &mut files);
    assert!(files.len() > 2, "the saved image has layers");
    for f in files.iter().chain(std::iter::once(&saved)) {
        assert!(!contains(f, &token), "the npm token is in the image");
        assert!(!contains(f, &cert), "the cert is in the image");
    }
    let inspect = serde_json::to_string(&docker.inspect_image(&image).await.unwrap()).unwrap();
    assert!(!inspect.contains(&token), "the token is in the image's labels or config");
    let history = serde_json::to_string(&docker.image_history(&image).await.unwrap()).unwrap();
    assert!(!history.contains(&token), "the token is in the image history");
    assert!(!r.stderr.contains("inside the build context"), "certs/ is in .dockerignore:\n{r}");

    // Without the .dockerignore entry the secret file would be sent with the context: said up front.
    std::fs::write(project.dir.join(".dockerignore"), "").unwrap();
    git(&project.dir, &["commit", "-qam", "no ignore"]);
    let warned = run(project.shipit(env).arg("build").env("SHIPIT_TEST_NPM_TOKEN", &token));
    assert_eq!(warned.code, 0, "{warned}");
    assert!(warned.stderr.contains("warning: secret `cert` (certs/ca.pem) is inside the build context"), "{warned}");
    remove_images(&docker, &[reference(&warned)]).await;
    remove_images(&docker, &[image]).await;
}

#[tokio::test]
async fn a_cache_mount_survives_between_builds() {
    let env = crate::require_env!("docker", "busybox");
    let name = unique_name("bk-cache");
    let marker = unique_name("m");
    let script = format!(
        "if [ -f /cache/{marker} ]; then echo warm > /result; else echo cold > /result; echo x > /cache/{marker}; fi"
    );
    let dockerfile = format!(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY src.txt /src.txt\n\
         RUN --mount=type=cache,target=/cache,id={marker} [\"/bin/busybox\", \"sh\", \"-c\", \"{script}\"]\n"
    );
    let project = busybox_project(
        env,
        &name,
        &toml(&name, ""),
        &[("Dockerfile", dockerfile.as_bytes()), ("src.txt", marker.as_bytes())],
    );
    let docker = env.docker().await;
    let first = run(project.shipit(env).arg("build"));
    assert_eq!(first.code, 0, "{first}");
    let image = reference(&first);
    assert_eq!(image_fs(&docker, &image).await["result"].data, b"cold\n");

    // A source change reruns the step; the cache mount still holds what the first build left there.
    std::fs::write(project.dir.join("src.txt"), "two").unwrap();
    git(&project.dir, &["commit", "-qam", "change"]);
    let second = run(project.shipit(env).arg("build"));
    assert_eq!(second.code, 0, "{second}");
    assert!(second.stderr.contains("1/3] COPY busybox /bin/busybox  CACHED"), "{second}");
    let image2 = reference(&second);
    assert_eq!(image_fs(&docker, &image2).await["result"].data, b"warm\n", "the cached file is there");
    remove_images(&docker, &[image, image2]).await;
}

#[tokio::test]
async fn inline_cache_goes_to_the_registry_and_comes_back_from_it() {
    let env = crate::require_env!("docker", "busybox", "registry_open");
    let name = unique_name("bk-inline");
    let repo = format!("{}/{name}", env.registry_open);
    let extra = format!(
        "network = \"none\"\ncache_to = [\"type=inline\"]\ncache_from = [\"type=registry,ref={repo}:cache-seed\"]\n"
    );
    let dockerfile =
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo built > /built\"]\n";
    let toml = format!("{}\n[build]\n{extra}", oci_toml(&name, &repo));
    let project = busybox_project(env, &name, &toml, &[("Dockerfile", dockerfile.as_bytes())]);
    let r = run(project.shipit(env).args(["push"]));
    assert_eq!(r.code, 0, "{r}");
    let sha = project.sha();

    // The pushed image's config carries BuildKit's inline cache metadata.
    let client = crate::support::env::http_client();
    let manifest: serde_json::Value = client
        .get(format!("http://{}/v2/{name}/manifests/{sha}", env.registry_open))
        .header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let config = client
        .get(format!("http://{}/v2/{name}/blobs/{config_digest}", env.registry_open))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(config.contains("moby.buildkit.cache.v0"), "no inline cache in the image config: {config}");

    // Another checkout builds from that tag's cache.
    let toml2 = format!(
        "{}\n[build]\nnetwork = \"none\"\ncache_from = [\"{repo}:{sha}\"]\n",
        oci_toml(&name, &format!("127.0.0.1:5999/{name}-2"))
    );
    let other = busybox_project(env, &format!("{name}-2"), &toml2, &[("Dockerfile", dockerfile.as_bytes())]);
    let r2 = run(other.shipit(env).args(["build"]));
    assert_eq!(r2.code, 0, "{r2}");
    assert!(r2.stderr.contains(&format!("importing cache manifest from {repo}:{sha}")), "{r2}");

    // A registry cache export is something the engine's BuildKit cannot do: said before anything runs.
    std::fs::write(
        other.dir.join("ship.toml"),
        format!("{}\n[build]\ncache_to = [\"type=registry,ref={repo}:buildcache,mode=max\"]\n", oci_toml(&name, &repo)),
    )
    .unwrap();
    git(&other.dir, &["commit", "-qam", "registry cache"]);
    let r3 = run(other.shipit(env).args(["build"]));
    assert_eq!(r3.code, 2, "{r3}");
    assert!(r3.stderr.contains("cannot export a registry cache"), "{r3}");
    assert!(r3.stderr.contains("type=inline"), "{r3}");
    let docker = env.docker().await;
    remove_images(&docker, &[format!("{repo}:{sha}"), format!("{repo}:{}", &sha[..12])]).await;
}

#[tokio::test]
async fn platform_passes_through() {
    let env = crate::require_env!("docker");
    let name = unique_name("bk-arm");
    let project = Project::new(
        &name,
        &toml(&name, "platform = \"linux/arm64\""),
        &[("Dockerfile", b"FROM scratch\nCOPY a.txt /a.txt\n"), ("a.txt", b"a")],
    );
    let r = run(project.shipit(env).arg("build"));
    assert_eq!(r.code, 0, "{r}");
    let image = reference(&r);
    let docker = env.docker().await;
    let inspect = docker.inspect_image(&image).await.unwrap();
    assert_eq!(inspect.architecture.as_deref(), Some("arm64"));
    assert_eq!(inspect.os.as_deref(), Some("linux"));
    remove_images(&docker, &[image]).await;

    // A platform the engine cannot build at all: the error says so and names the key.
    std::fs::write(project.dir.join("ship.toml"), toml(&name, "platform = \"windows/amd64\"")).unwrap();
    git(&project.dir, &["commit", "-qam", "windows"]);
    let r = run(project.shipit(env).arg("build"));
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("operating system is not supported"), "{r}");
    assert!(
        r.stderr.contains("hint: the engine could not build for platform \"windows/amd64\" (build.platform)"),
        "{r}"
    );
}

/// A TCP front for the engine's socket that answers `POST /session` as an engine without BuildKit does
/// (404, no such route) and passes every other request through untouched.
async fn engine_without_buildkit(socket: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let socket = socket.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = vec![0u8; 16 * 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head).lines().next().unwrap_or("").to_string();
                if line.starts_with("POST ") && line.contains("/session ") {
                    let body = r#"{"message":"page not found"}"#;
                    let resp = format!(
                        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = client.write_all(resp.as_bytes()).await;
                    return;
                }
                let Ok(mut engine) = tokio::net::UnixStream::connect(&socket).await else { return };
                if engine.write_all(&head).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                }
            });
        }
    });
    format!("tcp://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_classic_when_buildkit_is_refused() {
    let env = crate::require_env!("docker", "busybox");
    let name = unique_name("bk-fallback");
    let host = engine_without_buildkit(env.docker_socket().to_string()).await;
    let dockerfile = "FROM scratch\nCOPY marker /marker\nCOPY busybox /bin/busybox\n";
    let files: [(&str, &[u8]); 2] = [("Dockerfile", dockerfile.as_bytes()), ("marker", name.as_bytes())];
    let project = busybox_project(env, &name, &toml(&name, ""), &files);
    let mut cmd = project.shipit(env);
    cmd.arg("build").env("DOCKER_HOST", &host);
    let r = tokio::task::spawn_blocking(move || run(&mut cmd)).await.unwrap();
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.contains("builder: classic (the engine refused BuildKit: page not found)"), "{r}");
    assert!(r.stderr.contains("builder: classic;"), "{r}");
    let image = reference(&r);

    // Asked for explicitly, BuildKit's absence is an error; so is a secret that only BuildKit can pass.
    std::fs::write(project.dir.join("ship.toml"), toml(&name, "builder = \"buildkit\"")).unwrap();
    git(&project.dir, &["commit", "-qam", "buildkit"]);
    let mut cmd = project.shipit(env);
    cmd.arg("build").env("DOCKER_HOST", &host);
    let r = tokio::task::spawn_blocking(move || run(&mut cmd)).await.unwrap();
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("refused BuildKit (404): page not found"), "{r}");

    std::fs::write(project.dir.join("ship.toml"), toml(&name, "[build.secrets]\nnpm = { env = \"HOME\" }")).unwrap();
    git(&project.dir, &["commit", "-qam", "secret"]);
    let mut cmd = project.shipit(env);
    cmd.arg("build").env("DOCKER_HOST", &host);
    let r = tokio::task::spawn_blocking(move || run(&mut cmd)).await.unwrap();
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("uses secrets but the engine refused BuildKit"), "{r}");
    let docker = env.docker().await;
    remove_images(&docker, &[image]).await;
}

/// Kills the ssh-agent a test started, by its pid.
struct Agent(u32);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").arg(self.0.to_string()).status();
    }
}

#[tokio::test]
async fn ssh_agent_is_forwarded_to_ssh_mounts() {
    let env = crate::require_env!("docker", "busybox");
    let (Ok(agent_bin), Ok(add_bin), Ok(keygen)) = (which("ssh-agent"), which("ssh-add"), which("ssh-keygen")) else {
        panic!("the test environment needs openssh-client (ssh-agent, ssh-add, ssh-keygen)");
    };
    let name = unique_name("bk-ssh");
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("id_ed25519");
    let ok = std::process::Command::new(&keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", &name, "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    let sock = tmp.path().join("agent.sock");
    let out = std::process::Command::new(&agent_bin).arg("-a").arg(&sock).arg("-s").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let pid: u32 = text.split("SSH_AGENT_PID=").nth(1).and_then(|r| r.split(';').next()).unwrap().parse().unwrap();
    let _agent = Agent(pid);
    let added = std::process::Command::new(&add_bin).arg(&key).env("SSH_AUTH_SOCK", &sock).output().unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));

    // ssh-add itself, with the libraries it links, runs inside the step and lists the forwarded key.
    let mut files: Vec<(String, Vec<u8>)> = vec![("ssh-add".into(), std::fs::read(&add_bin).unwrap())];
    let ldd = std::process::Command::new("ldd").arg(&add_bin).output().unwrap();
    for lib in String::from_utf8_lossy(&ldd.stdout).split_whitespace().filter(|w| w.starts_with('/')) {
        files.push((format!("root{lib}"), std::fs::read(lib).unwrap()));
    }
    let dockerfile = format!(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY root/ /\nCOPY ssh-add /usr/bin/ssh-add\n\
         RUN --mount=type=ssh [\"/bin/busybox\", \"sh\", \"-c\", \"/usr/bin/ssh-add -l > /keys.txt; echo {name}\"]\n"
    );
    let mut all: Vec<(&str, &[u8])> = vec![("Dockerfile", dockerfile.as_bytes())];
    all.extend(files.iter().map(|(p, d)| (p.as_str(), d.as_slice())));
    let project = busybox_project(env, &name, &toml(&name, "ssh = true"), &all);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for (p, _) in &files {
            std::fs::set_permissions(project.dir.join(p), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        git(&project.dir, &["commit", "-qam", "executables"]);
    }

    let missing = run(project.shipit(env).arg("build").env_remove("SSH_AUTH_SOCK"));
    assert_eq!(missing.code, 2, "{missing}");
    assert!(missing.stderr.contains("SSH_AUTH_SOCK is not set"), "{missing}");

    let r = run(project.shipit(env).arg("build").env("SSH_AUTH_SOCK", &sock));
    assert_eq!(r.code, 0, "{r}");
    let image = reference(&r);
    let docker = env.docker().await;
    let keys = String::from_utf8_lossy(&image_fs(&docker, &image).await["keys.txt"].data).to_string();
    let fingerprint = std::process::Command::new(&keygen).arg("-lf").arg(key.with_extension("pub")).output().unwrap();
    let fingerprint = String::from_utf8_lossy(&fingerprint.stdout).split_whitespace().nth(1).unwrap().to_string();
    assert!(keys.contains(&fingerprint) && keys.contains(&name), "the agent's key, seen from the step: {keys:?}");
    remove_images(&docker, &[image]).await;
}

fn which(bin: &str) -> Result<std::path::PathBuf, ()> {
    ["/usr/bin", "/bin", "/usr/local/bin"].iter().map(|d| Path::new(d).join(bin)).find(|p| p.exists()).ok_or(())
}

#[test]
fn buildkit_keys_are_validated_with_suggestions() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("ship.toml"),
        "[app]\nname = \"x\"\n[build]\nbuilder = \"classic\"\nssh = true\ncache_to = [\"type=local,dest=x\"]\n\
         [build.secrets]\nnpm = { env = \"A\", file = \"b\" }\n",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("shipit")
        .unwrap()
        .args(["config", "validate"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("secret `npm` needs exactly one of `env` or `file`"), "{err}");
    assert!(err.contains("cache type \"local\" is not supported"), "{err}");
    assert!(
        err.contains("`build.builder = \"classic\"` cannot use secrets, ssh, cache_to: they need BuildKit"),
        "{err}"
    );

    std::fs::write(tmp.path().join("ship.toml"), "[app]\nname = \"x\"\n[build]\nbuidler = \"buildkit\"\n").unwrap();
    let out = assert_cmd::Command::cargo_bin("shipit")
        .unwrap()
        .args(["config", "validate"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean `builder`?"), "{err}");

    let schema = assert_cmd::Command::cargo_bin("shipit").unwrap().args(["config", "schema"]).output().unwrap();
    let schema = String::from_utf8_lossy(&schema.stdout);
    for key in ["\"builder\"", "\"secrets\"", "\"ssh\"", "\"cache_from\"", "\"cache_to\"", "\"network\""] {
        assert!(schema.contains(key), "{key} missing from the schema");
    }
}

#[tokio::test]
async fn cache_from_a_registry_that_needs_the_push_credentials() {
    let env = crate::require_env!("docker", "busybox", "registry_auth");
    let name = unique_name("bk-authcache");
    let ghcr = |repo: &str, extra: &str| {
        format!(
            "[app]\nname = \"{name}\"\n\n[build]\nnetwork = \"none\"\n{extra}\n\n[registries.ghcr]\ntype = \"ghcr\"\n\
             repository = \"ghcr.io/acme/{repo}\"\npush_host = \"{}\"\nusername = \"{}\"\n",
            env.registry_auth, env.ghcr_user
        )
    };
    let dockerfile = format!(
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo {name} > /built\"]\n"
    );
    let seed = busybox_project(
        env,
        &name,
        &ghcr(&name, "cache_to = [\"type=inline\"]"),
        &[("Dockerfile", dockerfile.as_bytes())],
    );
    let r = run(seed.shipit(env).arg("push").env("GITHUB_TOKEN", &env.ghcr_password));
    assert_eq!(r.code, 0, "{r}");
    let sha = seed.sha();
    let cache = format!("{}/acme/{name}:{sha}", env.registry_auth);
    let docker = env.docker().await;
    remove_images(
        &docker,
        &[
            format!("{}/acme/{name}:{sha}", env.registry_auth),
            format!("{}/acme/{name}:{}", env.registry_auth, &sha[..12]),
        ],
    )
    .await;

    let other_name = format!("{name}-b");
    let other = busybox_project(
        env,
        &other_name,
        &ghcr(&other_name, &format!("cache_from = [\"{cache}\"]")),
        &[("Dockerfile", dockerfile.as_bytes())],
    );
    let r = run(other.shipit(env).args(["-v", "push"]).env("GITHUB_TOKEN", &env.ghcr_password));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.contains(&format!("importing cache manifest from {cache}")), "{r}");
    assert!(!r.stderr.contains("ERROR"), "the cache import used the registry's credentials:\n{r}");
    assert!(!r.stderr.contains(&env.ghcr_password), "{r}");
    let sha2 = other.sha();
    remove_images(
        &docker,
        &[
            format!("{}/acme/{other_name}:{sha2}", env.registry_auth),
            format!("{}/acme/{other_name}:{}", env.registry_auth, &sha2[..12]),
        ],
    )
    .await;
}
