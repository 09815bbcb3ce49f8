//! A saved plan (`mpm plan --out FILE`): the plan, the exact bytes it will write, and
//! what it was made from, so that `mpm apply FILE` applies exactly it, or refuses,
//! naming every input or path that changed since.

use super::{Action, Drift, PartRow, Plan, PlanOptions, Row, Seen, Takeover};
use crate::address::Address;
use crate::desired::Input;
use crate::hash::Digest;
use crate::state::Entry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// 2: rows may be parts of settings files, and a secret's bytes are not kept.
pub const SAVED_FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub format_version: u32,
    pub mpm_version: String,
    /// Absolute.
    pub target: PathBuf,
    pub state_dir: PathBuf,
    pub options: PlanOptions,
    /// The manifest the plan was made from (absolute path, digest).
    pub manifest: Option<SavedInput>,
    /// Every file the desired state was read from.
    pub inputs: Vec<SavedInput>,
    pub plan: Plan,
    /// The bytes of every file the plan writes, by digest (agent files are text).
    pub contents: BTreeMap<Digest, String>,
    /// The SHA-256 of everything above it but the versions: a plan edited by hand
    /// is refused.
    pub checksum: Digest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedInput {
    pub path: PathBuf,
    pub display: String,
    pub sha256: Digest,
}

impl SavedInput {
    /// `input`, named for messages as seen from `cwd`.
    pub fn new(input: &Input, cwd: &Path) -> Self {
        SavedInput {
            path: input.path.clone(),
            display: crate::paths::display(&input.path, cwd),
            sha256: input.digest,
        }
    }
}

/// A row as a saved plan writes it: a part's values in an object of their own,
/// how it is written beside the other fields (the layout of format 2).
#[derive(Serialize, Deserialize)]
pub(super) struct RowFields {
    address: Address,
    action: Action,
    before: Option<Seen>,
    after: Option<Seen>,
    agent: Option<String>,
    version_before: Option<String>,
    version_after: Option<String>,
    entry_after: Option<Entry>,
    protect: bool,
    takeover: Option<Takeover>,
    drift: Option<Drift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    values: Option<Values>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    sensitive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    position: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<Digest>,
}

/// A part's values: none of a secret's.
#[derive(Default, Serialize, Deserialize)]
struct Values {
    before: Option<String>,
    after: Option<String>,
    recorded: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before_text: Option<String>,
}

impl From<Row> for RowFields {
    fn from(row: Row) -> RowFields {
        let part = row.part.map(|p| *p);
        let (values, how) = match part {
            Some(p) => {
                let values = Values {
                    before: p.before,
                    after: p.after,
                    recorded: p.recorded,
                    before_text: p.before_text,
                };
                (Some(values), (p.secret, p.position, p.text))
            }
            None => (None, (None, None, None)),
        };
        RowFields {
            address: row.address,
            action: row.action,
            before: row.before,
            after: row.after,
            agent: row.agent,
            version_before: row.version_before,
            version_after: row.version_after,
            entry_after: row.entry_after,
            protect: row.protect,
            takeover: row.takeover,
            drift: row.drift,
            values,
            sensitive: row.sensitive,
            secret: how.0,
            position: how.1,
            text: how.2,
        }
    }
}

impl From<RowFields> for Row {
    fn from(f: RowFields) -> Row {
        let how = f.secret.is_some() || f.position.is_some() || f.text.is_some();
        let part = (f.values.is_some() || how).then(|| {
            let values = f.values.unwrap_or_default();
            Box::new(PartRow {
                before: values.before,
                after: values.after,
                recorded: values.recorded,
                before_text: values.before_text,
                secret: f.secret,
                position: f.position,
                text: f.text,
            })
        });
        Row {
            address: f.address,
            action: f.action,
            before: f.before,
            after: f.after,
            agent: f.agent,
            version_before: f.version_before,
            version_after: f.version_after,
            entry_after: f.entry_after,
            protect: f.protect,
            takeover: f.takeover,
            drift: f.drift,
            sensitive: f.sensitive,
            part,
        }
    }
}

/// A saved plan carries the bytes it writes.
impl crate::desired::Source for SavedPlan {
    fn bytes(
        &self,
        address: &crate::address::Address,
        digest: &Digest,
    ) -> Result<Vec<u8>, crate::Error> {
        // a secret is not in the plan: it is read again where the plan is applied
        let secret = self
            .plan
            .rows
            .iter()
            .find(|r| r.address == *address && r.sensitive)
            .and_then(Row::secret);
        if let Some(var) = secret {
            let value = std::env::var(var).map_err(|_| {
                crate::Error::usage(
                    format!("the saved plan writes the secret `{address}` from `${var}`, which is not set in mpm's environment"),
                    Some(format!("set `{var}` where the plan is applied; nothing was changed")),
                )
            })?;
            return Ok(crate::part::canonical(&serde_json::Value::String(value)));
        }
        self.contents
            .get(digest)
            .map(|text| text.clone().into_bytes())
            .ok_or_else(|| {
                crate::Error::usage(
                    format!("the saved plan lacks the bytes of `{address}`"),
                    Some("make the plan again with `mpm plan --out FILE`".to_string()),
                )
            })
    }
}

impl SavedPlan {
    fn body_digest(&self) -> Digest {
        let body = (
            &self.target,
            &self.state_dir,
            &self.options,
            &self.manifest,
            &self.inputs,
            &self.plan,
            &self.contents,
        );
        Digest::of(&serde_json::to_vec(&body).unwrap_or_default())
    }

    /// Sets the checksum; call last.
    pub fn sealed(mut self) -> SavedPlan {
        self.checksum = self.body_digest();
        self
    }

    /// Inputs that changed since the plan was made, named.
    pub fn changed_inputs(&self) -> Vec<String> {
        self.inputs
            .iter()
            .filter_map(|i| match fs_err::read(&i.path) {
                Ok(bytes) if Digest::of(&bytes) == i.sha256 => None,
                Ok(_) => Some(format!("`{}` changed", i.display)),
                Err(_) => Some(format!("`{}` is gone", i.display)),
            })
            .collect()
    }

    pub fn read(path: &Path, shown: &str) -> Result<SavedPlan, crate::Error> {
        // a plan is a regular file: not a device or a pipe that never ends
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(crate::Error::usage(
                    format!("`{shown}` is not a saved mpm plan: it is not a regular file"),
                    Some("make one with `mpm plan --out FILE`".to_string()),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(crate::Error::usage(
                    format!("saved plan `{shown}` not found"),
                    Some("make one with `mpm plan --out FILE`, or check the path".to_string()),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let text = fs_err::read_to_string(path)?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            crate::Error::usage(
                format!("`{shown}` is not a saved mpm plan: {e}"),
                Some("make one with `mpm plan --out FILE`".to_string()),
            )
        })?;
        match value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
        {
            Some(v) if v == u64::from(SAVED_FORMAT) => {}
            Some(v) => {
                return Err(crate::Error::usage(
                    format!(
                        "`{shown}` is a saved plan of format {v}; this mpm reads format {SAVED_FORMAT}"
                    ),
                    Some("make the plan again with this mpm".to_string()),
                ));
            }
            None => {
                return Err(crate::Error::usage(
                    format!("`{shown}` is not a saved mpm plan"),
                    Some("make one with `mpm plan --out FILE`".to_string()),
                ));
            }
        }
        let saved: SavedPlan = serde_json::from_value(value).map_err(|e| {
            crate::Error::usage(
                format!("`{shown}` is not a valid saved plan: {e}"),
                Some("make the plan again".to_string()),
            )
        })?;
        if saved.body_digest() != saved.checksum {
            return Err(crate::Error::usage(
                format!("`{shown}` was changed after `mpm plan --out` saved it"),
                Some(
                    "make the plan again; a saved plan is applied exactly as it was reviewed"
                        .to_string(),
                ),
            ));
        }
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(address: &str, part: Option<PartRow>) -> Row {
        Row {
            address: Address::parse(address).unwrap(),
            action: Action::Create,
            before: None,
            after: None,
            agent: None,
            version_before: None,
            version_after: None,
            entry_after: None,
            protect: false,
            takeover: None,
            drift: None,
            sensitive: part.as_ref().is_some_and(|p| p.secret.is_some()),
            part: part.map(Box::new),
        }
    }

    #[test]
    fn a_row_is_saved_in_the_layout_of_format_2() {
        let file = row("agents/qa.md", None);
        let json = serde_json::to_value(&file).unwrap();
        assert_eq!(json.get("values"), None);
        assert_eq!(serde_json::from_value::<Row>(json).unwrap(), file);

        let digest = Digest::of(b"{}");
        let part = row(
            "settings.json#/env/A",
            Some(PartRow {
                before: Some("\"1\"".into()),
                after: Some("\"2\"".into()),
                recorded: None,
                before_text: None,
                secret: Some("A_TOKEN".into()),
                position: Some(3),
                text: Some(digest),
            }),
        );
        let json = serde_json::to_value(&part).unwrap();
        assert_eq!(
            json["values"],
            serde_json::json!({"before": "\"1\"", "after": "\"2\"", "recorded": null})
        );
        assert_eq!(json["sensitive"], true);
        assert_eq!(json["secret"], "A_TOKEN");
        assert_eq!(json["position"], 3);
        assert_eq!(json["text"], digest.to_string());
        assert_eq!(serde_json::from_value::<Row>(json).unwrap(), part);
    }
}
