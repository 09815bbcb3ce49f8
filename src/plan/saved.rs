//! A saved plan (`mpm plan --out FILE`): the plan, the exact bytes it will write, and
//! what it was made from, so that `mpm apply FILE` applies exactly it, or refuses,
//! naming every input or path that changed since.

use super::{Plan, PlanOptions};
use crate::desired::Input;
use crate::hash::Digest;
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
            .and_then(|r| r.secret.as_deref());
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
