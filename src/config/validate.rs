//! Semantic checks the type system cannot express: repository formats, target-specific keys, references
//! between tables. All problems are collected, so one run of `shipit config validate` shows every one.

use std::ops::Range;
use std::path::Path;

use super::diagnostic::{Diagnostic, did_you_mean};
use super::schema::{
    Builder, Config, Environment, GitOpsFormat, GitOpsMode, RegistryKind, TargetKind, UnknownSeverity,
};
use super::values::{IString, Severity};

pub fn validate(path: &Path, source: &str, config: &Config) -> Result<(), Vec<Diagnostic>> {
    let mut v = Validator { path, source, problems: Vec::new() };
    v.app(config);
    v.build(config);
    v.build_kit(config);
    v.check(config);
    v.scan(config);
    v.registries(config);
    v.environments(config);
    v.notify(config);
    v.sign(config);
    if v.problems.is_empty() { Ok(()) } else { Err(v.problems) }
}

struct Validator<'a> {
    path: &'a Path,
    source: &'a str,
    problems: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn report(&mut self, span: Option<Range<usize>>, message: String, hint: Option<String>) {
        let mut d = Diagnostic::new(self.path, self.source, span, message);
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        self.problems.push(d);
    }

    /// Span of the first `key = …` line inside `[table]`, for values that carry no span of their own.
    fn key_span(&self, table: &str, key: &str) -> Option<Range<usize>> {
        let header = format!("[{table}]");
        let mut offset = 0;
        let mut in_table = table.is_empty();
        for line in self.source.split_inclusive('\n') {
            let t = line.trim_start();
            if t.starts_with('[') {
                in_table = t.trim_end().starts_with(&header);
            } else if in_table && t.starts_with(key) && t[key.len()..].trim_start().starts_with('=') {
                let start = offset + (line.len() - t.len());
                return Some(start..start + key.len());
            }
            offset += line.len();
        }
        None
    }

    fn sign(&mut self, c: &Config) {
        if c.sign.keyless {
            self.report(
                self.key_span("sign", "keyless"),
                "[sign] keyless = true is not supported yet: shipit signs with a cosign key only".into(),
                Some("use `key = \"cosign.key\"` (`shipit keys generate` makes one) and remove `keyless`".into()),
            );
        }
        for (name, env) in &c.environments {
            let e = env.get_ref();
            if e.require_signature && e.public_key.is_none() {
                self.report(
                    Some(env.span()),
                    format!("[environments.{name}] require_signature = true needs `public_key` (the cosign.pub to verify with)"),
                    Some("add `public_key = \"cosign.pub\"`".into()),
                );
            }
            if e.require_signature && !e.require_scan {
                self.report(
                    Some(env.span()),
                    format!("[environments.{name}] require_signature = true needs require_scan = true (the signatures are read with the evidence)"),
                    None,
                );
            }
        }
    }

    fn notify(&mut self, c: &Config) {
        for (i, n) in c.notify.iter().enumerate() {
            // The entry's own `[[notify]]` header (the i-th), so the caret points at the entry at fault.
            let span = self.source.match_indices("[[notify]]").nth(i).map(|(s, h)| s..s + h.len());
            match (&n.webhook, &n.slack) {
                (Some(_), Some(_)) | (None, None) => self.report(
                    span.clone(),
                    format!("[[notify]] entry {} needs exactly one of `webhook` and `slack`", i + 1),
                    Some("write one entry per destination".into()),
                ),
                (Some(url), None) | (None, Some(url)) => {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        self.report(
                            span.clone(),
                            format!("[[notify]] entry {}: the URL must start with https:// (or http://)", i + 1),
                            Some("for a secret URL, write `\"${SLACK_WEBHOOK}\"` and set the variable".into()),
                        );
                    }
                }
            }
            for e in n.environments.iter().flatten() {
                if !c.environments.contains_key(e.as_str()) {
                    self.report(span.clone(), format!("[[notify]] names an unknown environment `{e}`"), None);
                }
            }
        }
    }

    fn app(&mut self, c: &Config) {
        let name = c.app.name.as_str();
        if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
            self.report(
                self.key_span("app", "name"),
                format!("invalid app name \"{name}\""),
                Some("use letters, digits, `-`, `_` and `.` only".into()),
            );
        }
    }

    fn build(&mut self, c: &Config) {
        let b = &c.build;
        if b.tags.is_empty() {
            self.report(
                self.key_span("build", "tags"),
                "`build.tags` is empty; at least one tag is needed to push".into(),
                Some("the default is [\"{sha}\", \"{short_sha}\"]".into()),
            );
        }
        for tag in &b.tags {
            if let Err(msg) = check_tag_template(tag, b.allow_latest) {
                self.report(self.key_span("build", "tags"), msg, None);
            }
        }
        if let Some(p) = &b.platform {
            let parts: Vec<&str> = p.split('/').collect();
            if !(2..=3).contains(&parts.len()) || parts.iter().any(|s| s.is_empty()) {
                self.report(
                    self.key_span("build", "platform"),
                    format!("invalid platform \"{p}\""),
                    Some("expected OS/ARCH[/VARIANT], e.g. \"linux/amd64\" or \"linux/arm64/v8\"".into()),
                );
            }
        }
    }

    /// Secrets, SSH and caches: well-formed, and not asked of the classic builder, which has none of them.
    fn build_kit(&mut self, c: &Config) {
        let b = &c.build;
        for (id, secret) in &b.secrets {
            let span = self.key_span("build.secrets", id);
            if id.is_empty() || !id.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
                self.report(
                    span.clone(),
                    format!("invalid secret id `{id}`"),
                    Some("use letters, digits, `-`, `_` and `.` (the id in `RUN --mount=type=secret,id=…`)".into()),
                );
            }
            match (&secret.env, &secret.file) {
                (Some(_), Some(_)) | (None, None) => self.report(
                    span.clone(),
                    format!("secret `{id}` needs exactly one of `env` or `file`"),
                    Some(format!("e.g. {id} = {{ env = \"NPM_TOKEN\" }} or {id} = {{ file = \"certs/ca.pem\" }}")),
                ),
                (Some(v), None) if v.is_empty() || v.contains('=') => {
                    self.report(span, format!("secret `{id}`: invalid variable name \"{v}\""), None)
                }
                (None, Some(f)) if f.is_empty() => self.report(span, format!("secret `{id}`: empty file path"), None),
                _ => {}
            }
        }
        for spec in &b.cache_from {
            if let Err(e) = crate::build_cache::parse_import(spec) {
                self.report(
                    self.key_span("build", "cache_from"),
                    format!("cache_from \"{}\": {e}", spec.as_str()),
                    None,
                );
            }
        }
        for spec in &b.cache_to {
            if let Err(e) = crate::build_cache::parse_export(spec) {
                self.report(
                    self.key_span("build", "cache_to"),
                    format!("cache_to \"{}\": {e}", spec.as_str()),
                    Some("e.g. cache_to = [\"type=inline\"]".into()),
                );
            }
        }
        if b.builder == Builder::Classic {
            let used: Vec<&str> = [
                (!b.secrets.is_empty(), "secrets"),
                (b.ssh, "ssh"),
                (!b.cache_from.is_empty(), "cache_from"),
                (!b.cache_to.is_empty(), "cache_to"),
            ]
            .into_iter()
            .filter_map(|(on, k)| on.then_some(k))
            .collect();
            if !used.is_empty() {
                self.report(
                    self.key_span("build", "builder"),
                    format!("`build.builder = \"classic\"` cannot use {}: they need BuildKit", used.join(", ")),
                    Some("set builder = \"buildkit\" (or \"auto\"), or remove them".into()),
                );
            }
        }
    }

    fn check(&mut self, c: &Config) {
        let globs =
            c.check.branches.iter().chain(c.environments.values().flat_map(|e| e.get_ref().branches.iter().flatten()));
        for g in globs {
            if let Err(e) = globset::Glob::new(g) {
                self.report(self.key_span("check", "branches"), format!("invalid branch pattern \"{g}\": {e}"), None);
            }
        }
        if let Some(gh) = &c.check.github {
            if let Some(repo) = &gh.repository {
                let ok = repo.split('/').count() == 2 && repo.split('/').all(|p| !p.is_empty());
                if !ok {
                    self.report(
                        self.key_span("check.github", "repository"),
                        format!("invalid GitHub repository \"{repo}\""),
                        Some("expected OWNER/NAME, e.g. \"acme/api\"".into()),
                    );
                }
            }
            if let Some(api) = &gh.api_url
                && !api.starts_with("http://")
                && !api.starts_with("https://")
            {
                self.report(
                    self.key_span("check.github", "api_url"),
                    format!("invalid URL \"{api}\""),
                    Some("expected https://…".into()),
                );
            }
        }
        if let Some(sq) = &c.check.sonarqube {
            if !sq.url.starts_with("http://") && !sq.url.starts_with("https://") {
                self.report(
                    self.key_span("check.sonarqube", "url"),
                    format!("invalid URL \"{}\"", sq.url),
                    Some("expected https://…".into()),
                );
            }
            let set = |v: &Option<IString>| v.as_ref().is_some_and(|s| !s.trim().is_empty());
            if set(&sq.branch) && set(&sq.pull_request) {
                self.report(
                    self.key_span("check.sonarqube", "pull_request"),
                    "`branch` and `pull_request` cannot both be set: SonarQube analyses a commit as one or the other"
                        .into(),
                    Some("keep `pull_request` for pull-request builds (e.g. `pull_request = \"${PR_NUMBER:-}\"`, empty elsewhere), or `branch`".into()),
                );
            }
        }
    }

    fn scan(&mut self, c: &Config) {
        if c.scan.fail_on == Severity::Unknown && c.scan.unknown == Some(UnknownSeverity::Allow) {
            self.report(
                self.key_span("scan", "unknown"),
                "`unknown = \"allow\"` contradicts `fail_on = \"unknown\"`, which blocks every finding".into(),
                Some(
                    "set `fail_on = \"low\"` to block rated findings and allow UNKNOWN ones, or remove `unknown`"
                        .into(),
                ),
            );
        }
        for e in &c.scan.exceptions {
            if e.id.trim().is_empty() || e.reason.trim().is_empty() {
                self.report(
                    self.key_span("[scan.exceptions]", "id"),
                    "every scan exception needs a non-empty `id` and `reason`".into(),
                    Some("the reason is shown in every verdict that uses the exception".into()),
                );
            }
        }
    }

    fn registries(&mut self, c: &Config) {
        for (name, reg) in &c.registries {
            if !valid_name(name) {
                self.report(
                    Some(reg.span()),
                    format!("invalid registry name `{name}`"),
                    Some("use lowercase letters, digits, `-` and `_`".into()),
                );
            }
            let r = reg.get_ref();
            if let Err((msg, hint)) = check_repository(r.kind, r.repository.get_ref()) {
                self.report(Some(r.repository.span()), msg, Some(hint));
            }
            if r.insecure {
                let host =
                    r.push_host.as_deref().unwrap_or_else(|| r.repository.get_ref().split('/').next().unwrap_or(""));
                if !is_loopback(host) {
                    self.report(
                        Some(reg.span()),
                        format!("`insecure = true` in registry `{name}`, but {host} is not on this machine"),
                        Some(
                            "plain HTTP would send the registry credentials in the clear; use TLS, or a registry on 127.0.0.1/localhost"
                                .into(),
                        ),
                    );
                }
            }
            let ecr_only = [
                ("create_repository", r.create_repository),
                ("region", r.region.is_some()),
                ("endpoint_url", r.endpoint_url.is_some()),
            ];
            for (key, set) in ecr_only {
                if set && r.kind != RegistryKind::Ecr {
                    self.report(
                        Some(reg.span()),
                        format!("`{key}` in registry `{name}` only applies to type = \"ecr\""),
                        None,
                    );
                }
            }
        }
    }

    fn environments(&mut self, c: &Config) {
        let registry_names: Vec<&str> = c.registries.keys().map(String::as_str).collect();
        // Two docker environments on one engine with the same container would replace each other's container
        // and share one history.
        let mut containers: Vec<(String, &str, &str)> = Vec::new();
        for (name, env) in &c.environments {
            let e = env.get_ref();
            if let (TargetKind::Docker, Some(container)) = (e.target, e.container_name.as_deref()) {
                let host = e.host.as_deref().unwrap_or("DOCKER_HOST").to_string();
                if let Some((_, _, other)) = containers.iter().find(|(h, c, _)| *h == host && *c == container) {
                    self.report(
                        Some(env.span()),
                        format!(
                            "environments `{other}` and `{name}` both use container `{container}` on the same engine"
                        ),
                        Some("give each environment its own `container_name`".into()),
                    );
                }
                containers.push((host, container, name));
            }
        }
        for (name, env) in &c.environments {
            let span = env.span();
            let e = env.get_ref();
            if !valid_name(name) {
                self.report(
                    Some(span.clone()),
                    format!("invalid environment name `{name}`"),
                    Some("use lowercase letters, digits, `-` and `_`, starting with a letter or digit".into()),
                );
            }
            let (required, allowed) = Environment::target_keys(e.target);
            let present = present_target_keys(e);
            for key in required {
                if !present.contains(key) {
                    self.report(
                        Some(span.clone()),
                        format!("environment `{name}` (target = \"{}\") is missing `{key}`", e.target.as_str()),
                        Some(format!("required for target \"{}\": {}", e.target.as_str(), required.join(", "))),
                    );
                }
            }
            for key in &present {
                if !allowed.contains(key) {
                    let owner = [TargetKind::Ecs, TargetKind::Kubernetes, TargetKind::Docker, TargetKind::GitOps]
                        .into_iter()
                        .filter(|t| Environment::target_keys(*t).1.contains(key))
                        .map(|t| format!("\"{}\"", t.as_str()))
                        .collect::<Vec<_>>()
                        .join(" or ");
                    self.report(
                        Some(span.clone()),
                        format!("`{key}` does not apply to environment `{name}` (target = \"{}\")", e.target.as_str()),
                        Some(format!("`{key}` is for target = {owner}")),
                    );
                }
            }
            if e.target == TargetKind::GitOps {
                self.gitops(name, e, span.clone());
            }
            if let Some(containers) = &e.containers
                && containers.is_empty()
            {
                self.report(Some(span.clone()), format!("environment `{name}`: `containers` is empty"), None);
            }
            if let Some(v) = &e.verify {
                if v.http.is_none() && v.command.is_none() {
                    self.report(
                        Some(span.clone()),
                        format!("environment `{name}`: `verify` has neither `http` nor `command`"),
                        Some("e.g. verify = { http = \"https://staging.example.com/healthz\" }".into()),
                    );
                }
                if let Some(url) = &v.http
                    && !(url.starts_with("http://") || url.starts_with("https://"))
                {
                    self.report(
                        Some(span.clone()),
                        format!("environment `{name}`: verify.http \"{url}\" is not an http:// or https:// URL"),
                        None,
                    );
                }
                if v.command.as_ref().is_some_and(|c| c.is_empty() || c[0].trim().is_empty()) {
                    self.report(
                        Some(span.clone()),
                        format!("environment `{name}`: verify.command is empty"),
                        Some("give the program and its arguments: command = [\"./smoke.sh\", \"--quick\"]".into()),
                    );
                }
                if !(100..=599).contains(&v.expect) {
                    self.report(
                        Some(span.clone()),
                        format!("environment `{name}`: verify.expect = {} is not an HTTP status", v.expect),
                        None,
                    );
                }
                if v.interval.get() > v.for_.get() {
                    self.report(
                        Some(span.clone()),
                        format!(
                            "environment `{name}`: verify.interval ({}) is longer than verify.for ({})",
                            v.interval, v.for_
                        ),
                        Some("probe at least once within `for`".into()),
                    );
                }
            }
            for p in &e.ports {
                let ok = p.split(':').count() >= 2 && p.split(':').all(|s| !s.is_empty());
                if !ok {
                    self.report(
                        Some(span.clone()),
                        format!("environment `{name}`: invalid port mapping \"{p}\""),
                        Some("expected HOST:CONTAINER, e.g. \"8080:8080\"".into()),
                    );
                }
            }
            match &e.registry {
                Some(r) if !c.registries.contains_key(r.get_ref().as_str()) => {
                    let hint = did_you_mean(r.get_ref(), registry_names.iter().copied()).unwrap_or_else(|| {
                        if registry_names.is_empty() {
                            "define it in a [registries.<name>] table".to_string()
                        } else {
                            format!("registries defined: {}", registry_names.join(", "))
                        }
                    });
                    self.report(
                        Some(r.span()),
                        format!("environment `{name}` uses registry `{}`, which is not defined", r.get_ref()),
                        Some(hint),
                    );
                }
                Some(_) => {}
                None if registry_names.len() == 1 => {}
                None if registry_names.is_empty() => self.report(
                    Some(span.clone()),
                    format!("environment `{name}` needs a registry to deploy from, and none is defined"),
                    Some("add a [registries.<name>] table (type = \"ecr\", \"ghcr\" or \"oci\")".into()),
                ),
                None => self.report(
                    Some(span.clone()),
                    format!("environment `{name}` must say which registry it uses (`registry = \"…\"`)"),
                    Some(format!("registries defined: {}", registry_names.join(", "))),
                ),
            }
        }
    }
}

impl Validator<'_> {
    /// The keys of a gitops environment that depend on each other, and what is not built yet.
    fn gitops(&mut self, name: &str, e: &Environment, span: Range<usize>) {
        let mut problem = |message: String, hint: String| self.report(Some(span.clone()), message, Some(hint));
        // In pull-request mode `argocd`/`flux` are waited for after the merge, with `--wait`.
        if let Some(a) = &e.argocd {
            if !(a.url.starts_with("http://") || a.url.starts_with("https://")) {
                problem(
                    format!("environment `{name}`: argocd.url \"{}\" is not an http:// or https:// URL", a.url),
                    "e.g. url = \"https://argocd.acme.dev\"".into(),
                );
            }
            if a.application.trim().is_empty() {
                problem(
                    format!("environment `{name}`: argocd.application is empty"),
                    "the name of the Application that deploys `path`".into(),
                );
            }
        }
        if let Some(f) = &e.flux {
            if e.argocd.is_some() {
                problem(
                    format!("environment `{name}`: `argocd` and `flux` cannot both be set"),
                    "keep the one that reconciles `path`".into(),
                );
            }
            if f.kustomization.trim().is_empty() {
                problem(
                    format!("environment `{name}`: flux.kustomization is empty"),
                    "the name of the Kustomization that applies `path`".into(),
                );
            }
        }
        let on_github = e.repository.as_deref().is_some_and(crate::config::targets::gitops_github_slug);
        for (key, set) in [
            ("labels", !e.labels.is_empty()),
            ("reviewers", !e.reviewers.is_empty()),
            ("auto_merge", e.auto_merge.is_some()),
        ] {
            if !set {
                continue;
            }
            if e.mode == Some(GitOpsMode::Push) {
                problem(
                    format!("environment `{name}`: `{key}` only applies to `mode = \"pull-request\"`"),
                    format!("remove `{key}`, or remove `mode = \"push\"`"),
                );
            } else if !on_github {
                problem(
                    format!("environment `{name}`: `{key}` needs a GitHub repository (`repository = \"OWNER/NAME\"`)"),
                    "for another git remote shipit pushes the branch and prints where to open the merge request; labels and reviewers are set there".into(),
                );
            }
        }
        if let Some(repo) = e.repository.as_deref() {
            let ok = crate::config::targets::gitops_repository_ok(repo);
            if !ok {
                problem(
                    format!("environment `{name}`: `repository = \"{repo}\"` is neither OWNER/NAME nor a git URL nor an absolute path"),
                    "e.g. \"acme/deploy\" (GitHub), \"git@gitlab.com:acme/deploy.git\", \"https://git.acme.dev/deploy.git\" or \"/srv/git/deploy.git\"".into(),
                );
            }
        }
        if let Some(path) = e.path.as_deref()
            && (path.is_empty() || path.split('/').any(|p| p == ".."))
        {
            problem(
                format!("environment `{name}`: `path = \"{path}\"` must name a file inside the config repository"),
                "give it relative to the repository's root, e.g. \"apps/api/production/kustomization.yaml\"".into(),
            );
        }
        let format = e.format;
        let only = |key: &str, set: bool, wanted: GitOpsFormat, label: &str| -> Option<(String, String)> {
            (set && format.is_some() && format != Some(wanted)).then(|| {
                (
                    format!("environment `{name}`: `{key}` only applies to `format = \"{label}\"`"),
                    format!("remove `{key}`, or set `format = \"{label}\"`"),
                )
            })
        };
        let checks = [
            only("image_name", e.image_name.is_some(), GitOpsFormat::Kustomize, "kustomize"),
            only("value_path", e.value_path.is_some(), GitOpsFormat::Helm, "helm"),
            only("value", e.value.is_some(), GitOpsFormat::Helm, "helm"),
            only("container", e.container.is_some(), GitOpsFormat::Manifest, "manifest"),
        ];
        for (message, hint) in checks.into_iter().flatten() {
            problem(message, hint);
        }
        if format == Some(GitOpsFormat::Helm) {
            match e.value_path.as_deref() {
                None => problem(
                    format!("environment `{name}` (format = \"helm\") is missing `value_path`"),
                    "name the value to change, e.g. `value_path = \"image.digest\"`".into(),
                ),
                Some(p) if p.split('.').any(str::is_empty) => problem(
                    format!("environment `{name}`: `value_path = \"{p}\"` has an empty part"),
                    "keys separated by dots, e.g. \"image.digest\"".into(),
                ),
                Some(_) => {}
            }
        }
    }
}

fn present_target_keys(e: &Environment) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut add = |k: &'static str, set: bool| {
        if set {
            keys.push(k);
        }
    };
    add("cluster", e.cluster.is_some());
    add("service", e.service.is_some());
    add("container", e.container.is_some());
    add("region", e.region.is_some());
    add("endpoint_url", e.endpoint_url.is_some());
    add("image_definitions", e.image_definitions.is_some());
    add("context", e.context.is_some());
    add("namespace", e.namespace.is_some());
    add("deployment", e.deployment.is_some());
    add("containers", e.containers.is_some());
    add("kubeconfig", e.kubeconfig.is_some());
    add("host", e.host.is_some());
    add("container_name", e.container_name.is_some());
    add("ports", !e.ports.is_empty());
    add("env", !e.env.is_empty());
    add("network", e.network.is_some());
    add("stop_timeout", e.stop_timeout.is_some());
    add("repository", e.repository.is_some());
    add("branch", e.branch.is_some());
    add("path", e.path.is_some());
    add("format", e.format.is_some());
    add("mode", e.mode.is_some());
    add("image_name", e.image_name.is_some());
    add("value_path", e.value_path.is_some());
    add("value", e.value.is_some());
    add("labels", !e.labels.is_empty());
    add("reviewers", !e.reviewers.is_empty());
    add("auto_merge", e.auto_merge.is_some());
    add("argocd", e.argocd.is_some());
    add("flux", e.flux.is_some());
    keys
}

/// `127.x.x.x`, `localhost` or `[::1]`, with or without a port.
fn is_loopback(host: &str) -> bool {
    let bare = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    bare == "localhost" || bare == "::1" || bare.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

const PLACEHOLDERS: [&str; 4] = ["sha", "short_sha", "branch", "version"];

fn check_tag_template(template: &str, allow_latest: bool) -> Result<(), String> {
    if template == "latest" && !allow_latest {
        return Err(
            "tag \"latest\" is refused: a mutable tag cannot identify a release (set `allow_latest = true` to push it anyway)"
                .into(),
        );
    }
    let mut rest = template;
    let mut literal = String::new();
    while let Some(open) = rest.find('{') {
        literal.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("tag template \"{template}\" has an unclosed `{{`"));
        };
        let name = &rest[open + 1..open + close];
        if !PLACEHOLDERS.contains(&name) {
            let hint = did_you_mean(name, PLACEHOLDERS).map(|h| format!(" ({h})")).unwrap_or_default();
            return Err(format!(
                "tag template \"{template}\" uses unknown placeholder `{{{name}}}`{hint}; known: {{sha}}, {{short_sha}}, {{branch}}, {{version}}"
            ));
        }
        literal.push('x');
        rest = &rest[open + close + 1..];
    }
    literal.push_str(rest);
    if literal.is_empty()
        || literal.len() > 128
        || literal.starts_with(['.', '-'])
        || !literal.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(format!(
            "tag template \"{template}\" would not make a valid tag (letters, digits, `_`, `.`, `-`; at most 128 characters)"
        ));
    }
    Ok(())
}

/// Check a repository reference (no tag, no digest) against what each registry kind accepts.
pub fn check_repository(kind: RegistryKind, repo: &str) -> Result<(), (String, String)> {
    let bad = |why: &str, hint: &str| Err((format!("invalid repository \"{repo}\": {why}"), hint.to_string()));
    if repo.contains('@') {
        return bad("a repository has no digest", "remove the `@sha256:…` part");
    }
    let Some((host, path)) = repo.split_once('/') else {
        return bad("it has no registry host", "expected HOST/PATH, e.g. \"ghcr.io/acme/api\"");
    };
    if path.contains(':') {
        return bad("a repository has no tag", "tags come from `build.tags`; remove the `:tag` part");
    }
    let path_ok = path.split('/').all(|c| {
        !c.is_empty()
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
            && !c.starts_with(['.', '_', '-'])
    });
    if !path_ok {
        return bad(
            "path components must be lowercase letters, digits, `.`, `_` or `-`",
            "Docker repository names are lowercase",
        );
    }
    match kind {
        RegistryKind::Ecr => {
            let parts: Vec<&str> = host.split('.').collect();
            let ok = parts.len() >= 6
                && parts[0].len() == 12
                && parts[0].chars().all(|c| c.is_ascii_digit())
                && parts[1] == "dkr"
                && parts[2] == "ecr"
                && !parts[3].is_empty()
                && parts[4] == "amazonaws"
                && (parts[5..] == ["com"] || parts[5..] == ["com", "cn"]);
            if !ok {
                return bad(
                    "not an ECR repository",
                    "expected ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME, e.g. \"123456789012.dkr.ecr.us-east-1.amazonaws.com/api\"",
                );
            }
        }
        RegistryKind::Ghcr => {
            if host != "ghcr.io" || path.split('/').count() < 2 {
                return bad("not a GHCR repository", "expected ghcr.io/OWNER/NAME, e.g. \"ghcr.io/acme/api\"");
            }
        }
        RegistryKind::Oci => {
            let looks_like_host = host.contains('.') || host.contains(':') || host == "localhost";
            if !looks_like_host {
                return bad(
                    "the first component must be a registry host",
                    "expected HOST[:PORT]/PATH, e.g. \"registry.acme.dev/team/api\" or \"127.0.0.1:5000/api\"",
                );
            }
        }
    }
    Ok(())
}

/// The AWS region of an ECR repository host (`…dkr.ecr.REGION.amazonaws.com`).
pub fn ecr_region(repo: &str) -> Option<&str> {
    repo.split('/').next()?.split('.').nth(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories() {
        use RegistryKind::*;
        assert!(check_repository(Ecr, "123456789012.dkr.ecr.us-east-1.amazonaws.com/api").is_ok());
        assert!(check_repository(Ecr, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/api").is_ok());
        assert!(check_repository(Ecr, "12345.dkr.ecr.us-east-1.amazonaws.com/api").is_err());
        assert!(check_repository(Ecr, "ghcr.io/acme/api").is_err());
        assert!(check_repository(Ghcr, "ghcr.io/acme/api").is_ok());
        assert!(check_repository(Ghcr, "ghcr.io/api").is_err());
        assert!(check_repository(Ghcr, "ghcr.io/Acme/api").is_err());
        assert!(check_repository(Ghcr, "ghcr.io/acme/api:latest").is_err());
        assert!(check_repository(Oci, "127.0.0.1:5000/api").is_ok());
        assert!(check_repository(Oci, "localhost/api").is_ok());
        assert!(check_repository(Oci, "acme/api").is_err());
        assert!(check_repository(Oci, "registry.acme.dev/api@sha256:abc").is_err());
        assert_eq!(ecr_region("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api"), Some("eu-west-1"));
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("registry.acme.dev"));
        assert!(!is_loopback("10.0.0.5:5000"));
    }

    #[test]
    fn tag_templates() {
        assert!(check_tag_template("{sha}", false).is_ok());
        assert!(check_tag_template("v{version}-{short_sha}", false).is_ok());
        assert!(check_tag_template("latest", false).is_err());
        assert!(check_tag_template("latest", true).is_ok());
        assert!(check_tag_template("{shaa}", false).unwrap_err().contains("did you mean `sha`"));
        assert!(check_tag_template("a b", false).is_err());
        assert!(check_tag_template("{sha", false).is_err());
    }
}
