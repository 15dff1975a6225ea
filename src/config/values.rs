//! Value types used in ship.toml. Each one validates itself while deserializing, so that a bad value is
//! reported by the TOML parser with the exact span of the value (file:line:col) instead of a vague error later.

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// A string with `${VAR}` / `${VAR:-default}` interpolated from the environment at load time.
/// `$${VAR}` is a literal `${VAR}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(transparent)]
pub struct IString(pub String);

impl IString {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for IString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for IString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        interpolate(&raw, &|name| std::env::var(name).ok()).map(IString).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for IString {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "InterpolatedString".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A string; `${VAR}` and `${VAR:-default}` are replaced from the environment."
        })
    }
}

/// Expand `${VAR}` and `${VAR:-default}`. Unset variables without a default are an error naming the variable;
/// an empty default (`${VAR:-}`) is allowed and explicit.
pub fn interpolate(raw: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            // `$${…}` escapes interpolation.
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body_start.find('}') else {
            return Err(format!("unterminated `${{` in \"{raw}\" (write `$${{` for a literal `${{`)"));
        };
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "`${{{body}}}` is not a valid variable reference (expected `${{NAME}}` or `${{NAME:-default}}`)"
            ));
        }
        if default.is_some_and(|d| d.contains("${")) {
            return Err(format!(
                "`${{{body}}}`: a default cannot contain another `${{…}}` (nested references are not supported)"
            ));
        }
        match (lookup(name), default) {
            (Some(v), _) if !v.is_empty() || default.is_none() => out.push_str(&v),
            (_, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "environment variable `{name}` is not set (referenced as `${{{name}}}`; set it, or give a default with `${{{name}:-value}}`)"
                ));
            }
            (Some(v), None) => out.push_str(&v),
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A human duration such as `90s`, `10m` or `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationStr(pub Duration);

impl DurationStr {
    pub fn get(self) -> Duration {
        self.0
    }
}

impl fmt::Display for DurationStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for DurationStr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DurationStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = IString::deserialize(d)?;
        parse_duration(&raw).map(DurationStr).map_err(serde::de::Error::custom)
    }
}

/// The longest wait ship.toml or a flag may ask for. Every deadline is `Instant::now() + duration`, and a year
/// of "timeout" is a typo, not a plan; a day bounds every CI job there is.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(raw.trim()).map_err(|e| {
        format!("invalid duration \"{raw}\": {e} (expected a number with a unit, like \"90s\", \"10m\" or \"1h30m\")")
    })?;
    if d.is_zero() {
        return Err(format!("duration \"{raw}\" must be greater than zero"));
    }
    if d > MAX_DURATION {
        return Err(format!(
            "duration \"{raw}\" is longer than the maximum of 24h (a deadline that far away is almost certainly a typo)"
        ));
    }
    Ok(d)
}

impl JsonSchema for DurationStr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration with units, e.g. \"90s\", \"10m\", \"1h30m\".",
            "pattern": "^\\s*([0-9]+\\s*[a-zA-Z]+\\s*)+$",
            "examples": ["30s", "10m", "1h30m"]
        })
    }
}

/// Trivy's severities, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Unknown];

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" => Severity::Low,
            "unknown" => Severity::Unknown,
            _ => return None,
        })
    }
    pub fn as_upper(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_upper())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Severity::parse(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown severity \"{raw}\", expected one of \"critical\", \"high\", \"medium\", \"low\", \"unknown\""
            ))
        })
    }
}

/// A calendar date `YYYY-MM-DD` (exception expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Date(pub chrono::NaiveDate);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // TOML has a native date type (`expires = 2027-01-31`); accept it and the quoted form.
        let v = toml::Value::deserialize(d)?;
        let text = match &v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(dt) if dt.date.is_some() && dt.time.is_none() => dt.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected a date like 2027-01-31, found {}",
                    other.type_str()
                )));
            }
        };
        chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(Date)
            .map_err(|_| serde::de::Error::custom(format!("invalid date \"{text}\", expected YYYY-MM-DD")))
    }
}

impl JsonSchema for Date {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date", "description": "A date, YYYY-MM-DD." })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/dev".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn interpolation() {
        assert_eq!(interpolate("${HOME}/x", &env).unwrap(), "/home/dev/x");
        assert_eq!(interpolate("a${MISSING:-b}c", &env).unwrap(), "abc");
        assert_eq!(interpolate("${EMPTY:-fallback}", &env).unwrap(), "fallback");
        assert_eq!(interpolate("${EMPTY}", &env).unwrap(), "");
        assert_eq!(interpolate("${MISSING:-}", &env).unwrap(), "");
        assert_eq!(interpolate("$${HOME}", &env).unwrap(), "${HOME}");
        assert_eq!(interpolate("cost: $5", &env).unwrap(), "cost: $5");
        assert_eq!(interpolate("no vars", &env).unwrap(), "no vars");
        let err = interpolate("${NOPE}", &env).unwrap_err();
        assert!(err.contains("`NOPE` is not set"), "{err}");
        assert!(interpolate("${OPEN", &env).unwrap_err().contains("unterminated"));
        assert!(interpolate("${bad name}", &env).unwrap_err().contains("not a valid variable"));
        assert!(interpolate("${MISSING:-${HOME}}", &env).unwrap_err().contains("nested"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("24h").unwrap(), MAX_DURATION);
        assert!(parse_duration("24h1s").unwrap_err().contains("maximum of 24h"));
        assert!(parse_duration("300000000000y").is_err());
        assert!(parse_duration("0s").unwrap_err().contains("greater than zero"));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn severity_order() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Unknown);
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
    }
}
