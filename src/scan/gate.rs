//! The scan gate: which findings block a release. Pure, so every rule is unit-tested without Trivy.
//!
//! Order of the rules, per finding: below `fail_on` → allowed (for a finding without a severity rating,
//! UNKNOWN: `unknown = "allow"` → allowed); no fix and `ignore_unfixed` → allowed; a valid exception matches →
//! excepted; otherwise it blocks. An expired exception never applies: the finding it would
//! have covered blocks, and the verdict names the exception as expired so someone renews or removes it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::report::{Finding, FindingKind, Report};
use crate::config::{Exception, Severity, UnknownSeverity};

/// An exception and where it was declared (ship.toml or the exceptions file), for messages.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredException {
    pub exception: Exception,
    pub source: String,
}

impl RegisteredException {
    fn matches(&self, f: &Finding) -> bool {
        let e = &self.exception;
        if !e.id.trim().eq_ignore_ascii_case(&f.id) {
            return false;
        }
        match &e.package {
            None => true,
            Some(p) => {
                let p = p.trim();
                // A secret's "package" is `file:line`; let an exception name just the file.
                p == f.package || (f.kind == FindingKind::Secret && p == f.target)
            }
        }
    }

    fn expired(&self, today: NaiveDate) -> bool {
        self.exception.expires.0 < today
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub fail_on: Severity,
    pub ignore_unfixed: bool,
    /// `scan.unknown` as written; `None` is the default (UNKNOWN rated like LOW).
    pub unknown: Option<UnknownSeverity>,
    pub exceptions: Vec<RegisteredException>,
    /// The day expiry is judged against (the last day in `expires` still applies).
    pub today: NaiveDate,
}

impl Policy {
    pub fn unknown(&self) -> UnknownSeverity {
        UnknownSeverity::resolve(self.unknown, self.fail_on)
    }

    /// Why UNKNOWN findings block or not, for messages: `unknown = "allow"`, or the default and what made it.
    pub fn unknown_rule(&self) -> String {
        match self.unknown {
            Some(u) => format!("unknown = \"{}\"", u.as_str()),
            None => format!(
                "unknown not set: rated like LOW, which fail_on = \"{}\" {}",
                self.fail_on.as_upper().to_ascii_lowercase(),
                if self.unknown() == UnknownSeverity::Block { "blocks" } else { "allows" }
            ),
        }
    }

    /// Whether a finding of `severity` is let through by the threshold alone.
    fn below_threshold(&self, severity: Severity) -> bool {
        match severity {
            Severity::Unknown => self.unknown() == UnknownSeverity::Allow,
            s => s < self.fail_on,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Blocking {
    #[serde(flatten)]
    pub finding: Finding,
    /// An exception matched but has expired (its id and expiry), so it did not apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_exception: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExceptionUse {
    pub id: String,
    pub package: Option<String>,
    pub reason: String,
    pub expires: String,
    pub source: String,
    /// Findings it covered.
    pub findings: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub passed: bool,
    pub fail_on: Severity,
    pub ignore_unfixed: bool,
    /// What happened to findings without a severity rating (resolved: the default made explicit).
    pub unknown: UnknownSeverity,
    /// Why: `unknown = "allow"`, or the default and the `fail_on` that decided it.
    pub unknown_rule: String,
    /// Findings in the report.
    pub total: usize,
    /// Findings that stop the release, most severe first.
    pub blocking: Vec<Blocking>,
    /// Findings let through: below `fail_on`, or without a fix under `ignore_unfixed`.
    pub allowed: usize,
    /// Of `allowed`, how many only because they have no fix.
    pub unfixed_ignored: usize,
    /// `allowed` by severity.
    pub allowed_by_severity: BTreeMap<String, usize>,
    /// The UNKNOWN findings let through by the threshold, `CVE-… (package)`, so nobody misses that they have
    /// no rating.
    pub unknown_allowed: Vec<String>,
    /// Findings covered by a valid exception.
    pub excepted: usize,
    /// Counts by severity of every finding not covered by an exception.
    pub counts: BTreeMap<String, usize>,
    pub exceptions_used: Vec<ExceptionUse>,
    /// Every expired exception in the register (whether or not it matched anything).
    pub exceptions_expired: Vec<ExceptionUse>,
}

pub fn evaluate(report: &Report, policy: &Policy) -> Verdict {
    let mut blocking = Vec::new();
    let (mut allowed, mut unfixed_ignored, mut excepted) = (0, 0, 0);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut allowed_by_severity: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown_allowed = Vec::new();
    let mut used: Vec<usize> = vec![0; policy.exceptions.len()];
    let mut expired_hits: Vec<usize> = vec![0; policy.exceptions.len()];

    for f in &report.findings {
        let below = policy.below_threshold(f.severity);
        let unfixed = policy.ignore_unfixed && !f.has_fix();
        if below || unfixed {
            allowed += 1;
            if !below {
                unfixed_ignored += 1;
            } else if f.severity == Severity::Unknown {
                unknown_allowed.push(format!("{} ({})", f.id, f.package));
            }
            *counts.entry(f.severity.as_upper().to_string()).or_default() += 1;
            *allowed_by_severity.entry(f.severity.as_upper().to_string()).or_default() += 1;
            continue;
        }
        let mut expired_exception = None;
        let mut covered = false;
        for (i, e) in policy.exceptions.iter().enumerate() {
            if !e.matches(f) {
                continue;
            }
            if e.expired(policy.today) {
                expired_hits[i] += 1;
                expired_exception
                    .get_or_insert_with(|| format!("{} (expired {})", e.exception.id.trim(), e.exception.expires));
            } else {
                used[i] += 1;
                covered = true;
                break;
            }
        }
        if covered {
            excepted += 1;
            continue;
        }
        *counts.entry(f.severity.as_upper().to_string()).or_default() += 1;
        blocking.push(Blocking { finding: f.clone(), expired_exception });
    }

    blocking.sort_by(|a, b| {
        b.finding
            .severity
            .cmp(&a.finding.severity)
            .then_with(|| a.finding.id.cmp(&b.finding.id))
            .then_with(|| a.finding.package.cmp(&b.finding.package))
    });

    let describe = |e: &RegisteredException, findings: usize| ExceptionUse {
        id: e.exception.id.trim().to_string(),
        package: e.exception.package.as_ref().map(|p| p.trim().to_string()),
        reason: e.exception.reason.to_string(),
        expires: e.exception.expires.to_string(),
        source: e.source.clone(),
        findings,
    };
    let exceptions_used =
        policy.exceptions.iter().zip(&used).filter(|(_, n)| **n > 0).map(|(e, n)| describe(e, *n)).collect();
    let exceptions_expired = policy
        .exceptions
        .iter()
        .zip(&expired_hits)
        .filter(|(e, _)| e.expired(policy.today))
        .map(|(e, n)| describe(e, *n))
        .collect();

    Verdict {
        passed: blocking.is_empty(),
        fail_on: policy.fail_on,
        ignore_unfixed: policy.ignore_unfixed,
        unknown: policy.unknown(),
        unknown_rule: policy.unknown_rule(),
        total: report.findings.len(),
        blocking,
        allowed,
        unfixed_ignored,
        allowed_by_severity,
        unknown_allowed,
        excepted,
        counts,
        exceptions_used,
        exceptions_expired,
    }
}

impl Verdict {
    /// One line: "0 CRITICAL, 0 HIGH (2 MEDIUM, 3 UNKNOWN allowed, 1 excepted)", for the stage's final line.
    /// The blocking severities are named even at 0; UNKNOWN is among them when it blocks.
    pub fn headline(&self) -> String {
        let mut blocking_counts: BTreeMap<Severity, usize> = BTreeMap::new();
        for b in &self.blocking {
            *blocking_counts.entry(b.finding.severity).or_default() += 1;
        }
        let blocks = |s: Severity| match s {
            Severity::Unknown => self.unknown == UnknownSeverity::Block,
            s => s >= self.fail_on,
        };
        let at_or_above: Vec<String> = Severity::ALL
            .iter()
            .filter(|s| blocks(**s))
            .map(|s| format!("{} {s}", blocking_counts.get(s).copied().unwrap_or(0)))
            .collect();
        let mut extra = Vec::new();
        let allowed: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|s| self.allowed_by_severity.get(s.as_upper()).map(|n| format!("{n} {s}")))
            .collect();
        if !allowed.is_empty() {
            extra.push(format!("{} allowed", allowed.join(", ")));
        }
        if self.excepted > 0 {
            extra.push(format!("{} excepted", self.excepted));
        }
        let mut line = format!("trivy: {}", at_or_above.join(", "));
        if !extra.is_empty() {
            line.push_str(&format!(" ({})", extra.join(", ")));
        }
        line
    }

    /// How many blocking findings have no severity rating.
    pub fn unknown_blocking(&self) -> usize {
        self.blocking.iter().filter(|b| b.finding.severity == Severity::Unknown).count()
    }

    /// The blocking findings as a table: id, package, installed → fixed, severity, title.
    pub fn blocking_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .blocking
            .iter()
            .map(|b| {
                let f = &b.finding;
                let version = match f.kind {
                    FindingKind::Secret => "secret: remove it from the image".to_string(),
                    FindingKind::Vulnerability => format!(
                        "{} → {}",
                        f.installed.as_deref().unwrap_or("?"),
                        f.fixed.as_deref().unwrap_or("no fix yet")
                    ),
                };
                let mut title = f.title.clone().or_else(|| f.url.clone()).unwrap_or_default();
                if let Some(e) = &b.expired_exception {
                    title = format!("[exception {e}] {title}");
                }
                vec![f.id.clone(), f.package.clone(), version, f.severity.to_string(), truncate(&title, 70)]
            })
            .collect();
        let table = crate::ui::table::render(&["id", "package", "installed → fixed", "severity", "title"], &rows);
        table.lines().map(|l| format!("{}\n", l.trim_end())).collect()
    }

    /// Everything a person needs to act on the verdict: the table, what was let through and why, which
    /// exceptions were used or have expired.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        if !self.blocking.is_empty() {
            out.push_str(&self.blocking_table());
        }
        let rated = self.allowed - self.unknown_allowed.len();
        if rated > 0 {
            let below = rated - self.unfixed_ignored;
            let line = if self.unfixed_ignored > 0 {
                format!(
                    "{rated} finding(s) allowed ({below} below {}, {} without a fix under ignore_unfixed)",
                    self.fail_on, self.unfixed_ignored
                )
            } else {
                format!("{rated} finding(s) allowed (below {})", self.fail_on)
            };
            out.push_str(&line);
            out.push('\n');
        }
        if !self.unknown_allowed.is_empty() {
            out.push_str(&format!(
                "{} UNKNOWN finding(s) allowed — no severity rating ({}): {}\n",
                self.unknown_allowed.len(),
                self.unknown_rule,
                list(&self.unknown_allowed, 10)
            ));
        }
        for e in &self.exceptions_used {
            out.push_str(&format!(
                "exception {}{} used for {} finding(s) until {}: {} ({})\n",
                e.id,
                e.package.as_deref().map(|p| format!(" [{p}]")).unwrap_or_default(),
                e.findings,
                e.expires,
                e.reason,
                e.source
            ));
        }
        for e in &self.exceptions_expired {
            out.push_str(&format!(
                "exception {}{} EXPIRED on {} and no longer applies{} ({})\n",
                e.id,
                e.package.as_deref().map(|p| format!(" [{p}]")).unwrap_or_default(),
                e.expires,
                if e.findings > 0 {
                    format!(" — it would cover {} finding(s) here", e.findings)
                } else {
                    String::new()
                },
                e.source
            ));
        }
        out
    }
}

/// `a, b, c … and 4 more`.
fn list(items: &[String], max: usize) -> String {
    let mut out = items.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > max {
        out.push_str(&format!(" … and {} more", items.len() - max));
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Date, IString};

    fn finding(id: &str, pkg: &str, sev: Severity, fixed: Option<&str>) -> Finding {
        Finding {
            kind: FindingKind::Vulnerability,
            id: id.into(),
            package: pkg.into(),
            installed: Some("1.0".into()),
            fixed: fixed.map(Into::into),
            severity: sev,
            title: Some(format!("{id} title")),
            url: None,
            target: "img".into(),
        }
    }

    fn exception(id: &str, pkg: Option<&str>, expires: &str) -> RegisteredException {
        RegisteredException {
            exception: Exception {
                id: IString(id.into()),
                package: pkg.map(|p| IString(p.into())),
                reason: IString("accepted".into()),
                expires: Date(NaiveDate::parse_from_str(expires, "%Y-%m-%d").unwrap()),
            },
            source: "ship.toml".into(),
        }
    }

    fn policy(fail_on: Severity, ignore_unfixed: bool, exceptions: Vec<RegisteredException>) -> Policy {
        Policy {
            fail_on,
            ignore_unfixed,
            unknown: None,
            exceptions,
            today: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        }
    }

    fn report() -> Report {
        Report {
            findings: vec![
                finding("CVE-1", "libidn2-0", Severity::Critical, Some("2.0")),
                finding("CVE-2", "bash", Severity::Low, None),
                finding("CVE-3", "openssl", Severity::High, None),
                finding("CVE-4", "zlib", Severity::Medium, Some("1.3")),
            ],
            ..Report::default()
        }
    }

    #[test]
    fn threshold() {
        let v = evaluate(&report(), &policy(Severity::High, false, vec![]));
        assert!(!v.passed);
        assert_eq!(v.blocking.len(), 2);
        assert_eq!(v.blocking[0].finding.id, "CVE-1", "most severe first");
        assert_eq!(v.allowed, 2);
        let v = evaluate(&report(), &policy(Severity::Critical, false, vec![]));
        assert_eq!(v.blocking.len(), 1);
        let v = evaluate(&report(), &policy(Severity::Low, false, vec![]));
        assert_eq!(v.blocking.len(), 4);
        assert_eq!(v.counts.values().sum::<usize>(), 4);
    }

    #[test]
    fn ignore_unfixed_lets_unfixed_through() {
        let v = evaluate(&report(), &policy(Severity::Low, true, vec![]));
        assert_eq!(v.blocking.iter().map(|b| b.finding.id.as_str()).collect::<Vec<_>>(), ["CVE-1", "CVE-4"]);
        assert_eq!(v.unfixed_ignored, 2);
        assert!(v.explain().contains("without a fix under ignore_unfixed"));
    }

    #[test]
    fn valid_exception_applies_expired_does_not() {
        let valid = exception("cve-1", None, "2026-06-01");
        let v =
            evaluate(&report(), &policy(Severity::High, false, vec![valid, exception("CVE-3", None, "2026-05-31")]));
        assert_eq!(v.excepted, 1);
        assert_eq!(v.exceptions_used.len(), 1);
        assert_eq!(v.exceptions_used[0].id, "cve-1");
        assert_eq!(v.exceptions_expired.len(), 1);
        assert_eq!(v.exceptions_expired[0].findings, 1);
        assert_eq!(v.blocking.len(), 1);
        assert_eq!(v.blocking[0].finding.id, "CVE-3");
        assert_eq!(v.blocking[0].expired_exception.as_deref(), Some("CVE-3 (expired 2026-05-31)"));
        assert!(v.explain().contains("EXPIRED on 2026-05-31"));
        assert!(v.blocking_table().contains("[exception CVE-3 (expired 2026-05-31)]"));
    }

    #[test]
    fn package_scoped_exception() {
        let other_pkg = exception("CVE-1", Some("curl"), "2099-01-01");
        let v = evaluate(&report(), &policy(Severity::Critical, false, vec![other_pkg]));
        assert!(!v.passed);
        assert!(v.exceptions_used.is_empty());
        let same_pkg = exception("CVE-1", Some("libidn2-0"), "2099-01-01");
        let v = evaluate(&report(), &policy(Severity::Critical, false, vec![same_pkg]));
        assert!(v.passed);
        assert_eq!(v.excepted, 1);
        assert!(!v.counts.contains_key("CRITICAL"), "excepted findings are not counted");
    }

    #[test]
    fn secrets_block_and_can_be_excepted_by_file() {
        let mut r = report();
        r.findings = vec![Finding {
            kind: FindingKind::Secret,
            id: "aws-access-key-id".into(),
            package: "/app/config.env:1".into(),
            installed: None,
            fixed: None,
            severity: Severity::Critical,
            title: Some("AWS Access Key ID".into()),
            url: None,
            target: "/app/config.env".into(),
        }];
        let v = evaluate(&r, &policy(Severity::High, true, vec![]));
        assert!(!v.passed, "ignore_unfixed never lets a secret through");
        assert!(v.blocking_table().contains("secret: remove it"));
        let e = exception("aws-access-key-id", Some("/app/config.env"), "2099-01-01");
        assert!(evaluate(&r, &policy(Severity::High, true, vec![e])).passed);
    }

    #[test]
    fn headline_counts_blocking_at_or_above_threshold() {
        let v = evaluate(&report(), &policy(Severity::High, false, vec![]));
        assert_eq!(v.headline(), "trivy: 1 CRITICAL, 1 HIGH (1 MEDIUM, 1 LOW allowed)");
    }

    fn with_unknowns() -> Report {
        let mut r = report();
        r.findings.push(finding("CVE-5", "busybox", Severity::Unknown, Some("1.29.3-r10")));
        r.findings.push(finding("CVE-6", "busybox", Severity::Unknown, None));
        r
    }

    #[test]
    fn unknown_follows_low_by_default() {
        let v = evaluate(&with_unknowns(), &policy(Severity::High, false, vec![]));
        assert_eq!(v.unknown, UnknownSeverity::Allow);
        assert_eq!(v.headline(), "trivy: 1 CRITICAL, 1 HIGH (1 MEDIUM, 1 LOW, 2 UNKNOWN allowed)");
        assert_eq!(v.unknown_allowed, ["CVE-5 (busybox)", "CVE-6 (busybox)"]);
        let explain = v.explain();
        assert!(explain.contains("2 finding(s) allowed (below HIGH)"), "{explain}");
        assert!(
            explain.contains("2 UNKNOWN finding(s) allowed — no severity rating (unknown not set: rated like LOW, which fail_on = \"high\" allows): CVE-5 (busybox), CVE-6 (busybox)"),
            "{explain}"
        );

        let v = evaluate(&with_unknowns(), &policy(Severity::Low, false, vec![]));
        assert_eq!(v.unknown, UnknownSeverity::Block);
        assert_eq!(v.blocking.len(), 6);
        assert_eq!(v.unknown_blocking(), 2);
        assert_eq!(v.headline(), "trivy: 1 CRITICAL, 1 HIGH, 1 MEDIUM, 1 LOW, 2 UNKNOWN");
        assert_eq!(v.blocking.last().unwrap().finding.severity, Severity::Unknown, "least severe last");
    }

    #[test]
    fn unknown_allow_and_block_override_the_default() {
        let mut p = policy(Severity::Critical, false, vec![]);
        p.unknown = Some(UnknownSeverity::Block);
        let v = evaluate(&with_unknowns(), &p);
        assert_eq!(v.headline(), "trivy: 1 CRITICAL, 2 UNKNOWN (1 HIGH, 1 MEDIUM, 1 LOW allowed)");
        assert!(v.blocking_table().contains("CVE-6  busybox"), "{}", v.blocking_table());
        // ignore_unfixed and exceptions apply to UNKNOWN findings as to any other.
        p.ignore_unfixed = true;
        p.exceptions = vec![exception("CVE-5", Some("busybox"), "2099-01-01")];
        let v = evaluate(&with_unknowns(), &p);
        assert_eq!(v.unknown_blocking(), 0);
        assert_eq!(v.excepted, 1);

        let mut p = policy(Severity::Low, false, vec![]);
        p.unknown = Some(UnknownSeverity::Allow);
        let v = evaluate(&with_unknowns(), &p);
        assert_eq!(v.unknown_blocking(), 0);
        assert_eq!(v.allowed_by_severity.get("UNKNOWN"), Some(&2));
        assert!(v.explain().contains("(unknown = \"allow\")"), "{}", v.explain());
    }
}
