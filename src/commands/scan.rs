//! `shipit scan`: run Trivy on the image and apply the scan gate.

use crate::cli::ScanArgs;
use crate::config::Loaded;
use crate::error::CliError;
use crate::pipeline::scan;
use crate::providers::git;
use crate::scan::trivyignore;
use crate::settings::Settings;

pub async fn run(args: ScanArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config()?;
    if args.convert_trivyignore {
        return convert_trivyignore(settings, &loaded);
    }
    let (image, sha) = match &args.image {
        Some(img) => (img.clone(), sha_tag(img)),
        None => {
            let commit = git::head_commit(&loaded.root)?;
            let repo = default_repository(&loaded, args.registry.as_deref())?;
            (format!("{repo}:{}", commit.sha), Some(commit.sha))
        }
    };

    if args.skip_scan {
        let reason = args.reason.as_deref().unwrap_or_default();
        // The record belongs to the commit being released, even when the image was named explicitly.
        let sha = match sha {
            Some(s) => Some(s),
            None => git::head_commit(&loaded.root).ok().map(|c| c.sha),
        };
        let summary = scan::skip(&loaded, sha.as_deref(), reason)?;
        ui.warn(format!("THE SECURITY SCAN OF {image} WAS SKIPPED: {}", reason.trim()));
        ui.warn("this is recorded in the release record and shown at approval and in `shipit history`");
        if ui.json() {
            ui.print_json(&serde_json::json!({ "image": image, "skipped": true, "summary": summary }));
        }
        return Ok(());
    }
    if !loaded.config.scan.enabled {
        let summary = scan::skip(&loaded, sha.as_deref(), scan::DISABLED_REASON)?;
        ui.warn(format!("not scanning {image}: {}", scan::DISABLED_REASON));
        if ui.json() {
            ui.print_json(&serde_json::json!({ "image": image, "skipped": true, "summary": summary }));
        }
        return Ok(());
    }

    let stage = ui.stage("scan");
    let outcome = match scan::scan(&loaded, &image, sha.as_deref(), &stage).await {
        Ok(o) => o,
        Err(e) => {
            stage.fail(format!("could not scan {image}"));
            return Err(e);
        }
    };
    let v = &outcome.verdict;
    let err = (!v.passed).then(|| outcome.gate_error());
    if ui.json() {
        ui.print_json(&crate::ui::report_json(&outcome, err.as_ref()));
    }
    if let Some(err) = err {
        stage.fail(v.headline());
        Err(if ui.json() { err.json_printed() } else { err })
    } else {
        stage.ok(v.headline());
        let explain = v.explain();
        if !explain.is_empty() {
            ui.info(explain.trim_end());
        }
        if let Some(p) = &outcome.summary.report {
            ui.info(format!("report: {}", loaded.root.join(p).display()));
        }
        Ok(())
    }
}

/// Print the `.trivyignore` entries as exceptions for ship.toml (or for `scan.exceptions_file` when one is
/// configured), on stdout so it can be appended; what to do next goes to stderr.
fn convert_trivyignore(settings: &Settings, loaded: &Loaded) -> Result<(), CliError> {
    let ui = &settings.ui;
    let cwd = std::env::current_dir().ok();
    let files = trivyignore::find(cwd.as_deref(), &loaded.root);
    if files.is_empty() {
        let dir = cwd.as_deref().unwrap_or(&loaded.root);
        return Err(CliError::usage(format!(
            "no {} in {} or {}",
            trivyignore::FILE_NAME,
            dir.display(),
            loaded.root.display()
        ))
        .hint("nothing to convert: shipit's exceptions are [[scan.exceptions]] in ship.toml (docs/gates.md)"));
    }
    let (table, target) = match &loaded.config.scan.exceptions_file {
        Some(f) => ("exceptions", f.to_string()),
        None => ("scan.exceptions", loaded.path.display().to_string()),
    };
    let today = chrono::Local::now().date_naive();
    if ui.json() {
        let out: Vec<_> = files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "path": f.path,
                    "table": table,
                    "toml": trivyignore::to_toml(f, table, today),
                    "entries": f.entries.iter().map(|e| serde_json::json!({
                        "id": e.id, "expires": e.expires, "comment": e.comment, "line": e.line
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        ui.print_json(&serde_json::json!({ "ok": true, "files": out }));
    } else {
        let text: Vec<String> = files.iter().map(|f| trivyignore::to_toml(f, table, today)).collect();
        ui.print_data(text.join("\n"));
    }
    let count: usize = files.iter().map(|f| f.entries.len()).sum();
    let (entries, them) = if count == 1 { ("entry", "it") } else { ("entries", "them") };
    let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    ui.info(format!(
        "{count} {entries} as [[{table}]]: add {them} to {target}, check each reason (taken from the comments; an empty one must be written) and expiry date, then delete {}",
        paths.join(" and ")
    ));
    Ok(())
}

/// The repository whose `<repository>:<sha>` tag names HEAD's local image.
fn default_repository(loaded: &Loaded, registry: Option<&str>) -> Result<String, CliError> {
    let regs = &loaded.config.registries;
    let names = || regs.keys().cloned().collect::<Vec<_>>().join(", ");
    // The name `build` tagged the image with locally: with a `push_host`, that host, not the repository's.
    let local = |name: &str, r: &crate::config::Registry| {
        crate::pipeline::build::RegistryTarget::new(name, r).push_repository()
    };
    match registry {
        Some(name) => regs.get(name).map(|r| local(name, r.get_ref())).ok_or_else(|| {
            CliError::usage(format!("no registry named `{name}` in {}", loaded.path.display()))
                .hint(format!("registries: {}", names()))
        }),
        None => match regs.len() {
            0 => Ok(loaded.config.app.name.to_string()),
            1 => {
                let (name, r) = regs.iter().next().expect("one registry");
                Ok(local(name, r.get_ref()))
            }
            _ => Err(CliError::usage("ship.toml has several registries; which image should be scanned?")
                .hint(format!("pick one: `shipit scan --registry NAME` ({})", names()))
                .hint("or name the image: `shipit scan IMAGE`")),
        },
    }
}

/// The commit SHA in an image's tag (`repo:<40 hex>`), which keys the saved report.
fn sha_tag(image: &str) -> Option<String> {
    let name = image.split('@').next()?;
    let (_, tag) = name.rsplit_once(':')?;
    (tag.len() == 40 && !tag.contains('/') && tag.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| tag.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha_tags() {
        let sha = "3f2c1ab0c9d14e5f60718293a4b5c6d7e8f90123";
        assert_eq!(super::sha_tag(&format!("127.0.0.1:5000/api:{sha}")).as_deref(), Some(sha));
        assert_eq!(super::sha_tag("127.0.0.1:5000/api:v1"), None);
        assert_eq!(super::sha_tag("127.0.0.1:5000/api"), None);
    }
}
