//! `build.cache_from` / `build.cache_to`: the buildx syntax (`type=registry,ref=…,mode=max`, `type=inline`),
//! parsed once so that ship.toml validation and the build agree on what each entry means.

/// Where a build may import cache from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheImport {
    /// An image or cache manifest in a registry: `type=registry,ref=R` or plain `R`.
    Registry { reference: String },
}

/// Where a build writes its cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheExport {
    /// Cache metadata inside the image config of the pushed image.
    Inline,
    /// A separate cache manifest in a registry; `max` also keeps the layers of intermediate stages.
    Registry { reference: String, max: bool },
}

fn fields(spec: &str) -> Result<Vec<(String, String)>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| match f.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_ascii_lowercase(), v.trim().to_string())),
            None => Err(format!("\"{f}\" is not KEY=VALUE")),
        })
        .collect()
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

const NOT_THROUGH_ENGINE: &str = "only `type=registry` (and `type=inline` for cache_to) work through the Docker \
                                  engine's BuildKit; local, gha and s3 caches need a buildx builder";

pub fn parse_import(spec: &str) -> Result<CacheImport, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("empty cache source".into());
    }
    if !spec.contains('=') {
        return Ok(CacheImport::Registry { reference: spec.to_string() });
    }
    let f = fields(spec)?;
    match get(&f, "type") {
        Some("registry") => match get(&f, "ref") {
            Some(r) if !r.is_empty() => {
                if let Some((k, _)) = f.iter().find(|(k, _)| k != "type" && k != "ref") {
                    return Err(format!("unknown cache_from option `{k}` (type=registry takes only `ref`)"));
                }
                Ok(CacheImport::Registry { reference: r.to_string() })
            }
            _ => Err("type=registry needs ref=REPOSITORY:TAG".into()),
        },
        Some(other) => Err(format!("cache type \"{other}\" is not supported: {NOT_THROUGH_ENGINE}")),
        None => Err("missing type= (e.g. type=registry,ref=REPOSITORY:TAG)".into()),
    }
}

pub fn parse_export(spec: &str) -> Result<CacheExport, String> {
    let f = fields(spec.trim())?;
    let unknown = |allowed: &[&str]| {
        f.iter().find(|(k, _)| k != "type" && !allowed.contains(&k.as_str())).map(|(k, _)| k.clone())
    };
    match get(&f, "type") {
        Some("inline") => match unknown(&[]) {
            Some(k) => Err(format!("unknown option `{k}` for type=inline (it takes none)")),
            None => Ok(CacheExport::Inline),
        },
        Some("registry") => {
            if let Some(k) = unknown(&["ref", "mode"]) {
                return Err(format!("unknown option `{k}` for type=registry (use `ref` and `mode`)"));
            }
            let reference = match get(&f, "ref") {
                Some(r) if !r.is_empty() => r.to_string(),
                _ => return Err("type=registry needs ref=REPOSITORY:TAG".into()),
            };
            let max = match get(&f, "mode") {
                None | Some("min") => false,
                Some("max") => true,
                Some(m) => return Err(format!("mode \"{m}\" is not `min` or `max`")),
            };
            Ok(CacheExport::Registry { reference, max })
        }
        Some(other) => Err(format!("cache type \"{other}\" is not supported: {NOT_THROUGH_ENGINE}")),
        None => Err("missing type= (type=inline, or type=registry,ref=REPOSITORY:TAG,mode=max)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports() {
        let r = |s: &str| CacheImport::Registry { reference: s.into() };
        assert_eq!(parse_import("ghcr.io/acme/api:cache"), Ok(r("ghcr.io/acme/api:cache")));
        assert_eq!(parse_import("type=registry,ref=ghcr.io/acme/api:cache"), Ok(r("ghcr.io/acme/api:cache")));
        assert!(parse_import("type=gha").unwrap_err().contains("not supported"));
        assert!(parse_import("type=registry").unwrap_err().contains("ref="));
        assert!(parse_import("type=registry,ref=x,mode=max").unwrap_err().contains("mode"));
    }

    #[test]
    fn exports() {
        assert_eq!(parse_export("type=inline"), Ok(CacheExport::Inline));
        assert_eq!(
            parse_export("type=registry,ref=127.0.0.1:5000/api:cache,mode=max"),
            Ok(CacheExport::Registry { reference: "127.0.0.1:5000/api:cache".into(), max: true })
        );
        assert!(parse_export("type=registry,ref=x,mode=huge").unwrap_err().contains("min"));
        assert!(parse_export("type=local,dest=/tmp/c").unwrap_err().contains("not supported"));
        assert!(parse_export("inline").unwrap_err().contains("KEY=VALUE"));
    }
}
