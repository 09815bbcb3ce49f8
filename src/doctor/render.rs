//! The findings as text (one line each, what to do included, then a summary) and
//! as JSON, a versioned contract like the plan's (minor versions only add keys).

use super::{Finding, Severity};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FORMAT_VERSION: &str = "1.0";

/// `error[agent-no-name] .claude/agents/qa.md: <what>; hint: <what to do>`, one per
/// finding, then `No problems found in ...` or the counts.
pub fn text(findings: &[Finding], target: &str, cwd: &Path) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}[{}] {}",
            f.severity,
            f.code,
            crate::paths::display(&f.path, cwd)
        ));
        if let Some((line, column)) = f.at {
            out.push_str(&format!(":{line}:{column}"));
        }
        out.push_str(": ");
        out.push_str(&f.message);
        if let Some(hint) = &f.hint {
            out.push_str("; hint: ");
            out.push_str(hint);
        }
        out.push('\n');
    }
    let (errors, warnings) = counts(findings);
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    out.push_str(&match (errors, warnings) {
        (0, 0) => format!("No problems found in `{target}`.\n"),
        (e, 0) => format!("Found {} in `{target}`.\n", count(e, "error")),
        (0, w) => format!("Found {} in `{target}`.\n", count(w, "warning")),
        (e, w) => format!(
            "Found {} and {} in `{target}`.\n",
            count(e, "error"),
            count(w, "warning")
        ),
    });
    // a control character in a name or path from the disk is shown, not sent
    out.chars()
        .map(|c| match c {
            '\n' => c.to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// (errors, warnings)
pub fn counts(findings: &[Finding]) -> (usize, usize) {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    (errors, findings.len() - errors)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorJson {
    pub format_version: String,
    pub mpm_version: String,
    /// Absolute.
    pub target: String,
    pub findings: Vec<FindingJson>,
    pub summary: SummaryJson,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingJson {
    /// `error` or `warning`
    pub severity: String,
    pub code: String,
    /// Absolute.
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryJson {
    pub errors: usize,
    pub warnings: usize,
}

pub fn json(findings: &[Finding], target: &Path) -> String {
    let (errors, warnings) = counts(findings);
    let doc = DoctorJson {
        format_version: FORMAT_VERSION.into(),
        mpm_version: env!("CARGO_PKG_VERSION").into(),
        target: target.display().to_string(),
        findings: findings
            .iter()
            .map(|f| FindingJson {
                severity: f.severity.to_string(),
                code: f.code.into(),
                path: f.path.display().to_string(),
                line: f.at.map(|(l, _)| l),
                column: f.at.map(|(_, c)| c),
                message: f.message.clone(),
                hint: f.hint.clone(),
            })
            .collect(),
        summary: SummaryJson { errors, warnings },
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_finding_then_the_counts() {
        let findings = vec![
            Finding::new(
                Severity::Error,
                "settings-invalid-json",
                "/p/.claude/settings.json",
                "not valid JSON: expected `,` or `}`",
                Some("fix the JSON there".to_string()),
            )
            .at(4, 5),
            Finding::new(
                Severity::Warning,
                "target-missing",
                "/p/.claude",
                "gone",
                None,
            ),
        ];
        assert_eq!(
            text(&findings, ".claude", Path::new("/p")),
            "error[settings-invalid-json] .claude/settings.json:4:5: not valid JSON: expected `,` or `}`; hint: fix the JSON there\n\
             warning[target-missing] .claude: gone\n\
             Found 1 error and 1 warning in `.claude`.\n"
        );
        assert_eq!(
            text(&[], ".claude", Path::new("/p")),
            "No problems found in `.claude`.\n"
        );
        assert_eq!(
            text(&findings[1..], ".claude", Path::new("/p"))
                .lines()
                .last(),
            Some("Found 1 warning in `.claude`.")
        );
    }

    #[test]
    fn the_json_reads_back_into_its_own_types() {
        let findings =
            vec![Finding::new(Severity::Warning, "env-unknown", "/p/s.json", "m", None).at(2, 3)];
        let doc: DoctorJson = serde_json::from_str(&json(&findings, Path::new("/p"))).unwrap();
        assert_eq!(
            doc.summary,
            SummaryJson {
                errors: 0,
                warnings: 1
            }
        );
        assert_eq!(doc.findings[0].severity, "warning");
        assert_eq!(
            (doc.findings[0].line, doc.findings[0].column),
            (Some(2), Some(3))
        );
    }
}
