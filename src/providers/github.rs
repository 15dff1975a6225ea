//! GitHub (octocrab).

/// Where a GitHub token comes from, in the order the gh CLI and Actions users expect.
pub fn token() -> Option<(String, &'static str)> {
    for var in ["GITHUB_TOKEN", "GH_TOKEN"] {
        if let Ok(t) = std::env::var(var)
            && !t.trim().is_empty()
        {
            return Some((t.trim().to_string(), var));
        }
    }
    let out = std::process::Command::new("gh").args(["auth", "token"]).output().ok()?;
    let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !t.is_empty()).then_some((t, "gh auth token"))
}
