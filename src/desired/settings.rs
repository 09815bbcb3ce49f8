//! The parts of settings files the manifest wants: each variable of `environment:`
//! at `/env/NAME` of its file, and `settings:` taken apart into the keys and array
//! elements mpm will own.

use super::DesiredResource;
use crate::Error;
use crate::address::Address;
use crate::config::Settings;
use crate::manifest::Loaded;
use crate::manifest::settings::{Scope, VariableValue};
use crate::part::{Part, Pointer, canonical_string, element_id};
use crate::secret::Key;
use crate::settings_file::{LOCAL, SHARED, env_pointer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What `environment:` and `settings:` want, resolved.
#[derive(Debug, Default)]
pub struct Parts {
    pub resources: BTreeMap<Address, DesiredResource>,
    /// The canonical bytes of each value, secrets included: held in memory only,
    /// for apply to write.
    pub bytes: BTreeMap<Address, Arc<str>>,
    /// Where in the manifest each part was declared (`["environment", "A"]`), for
    /// checks made once the target is known.
    pub declared: BTreeMap<Address, Vec<String>>,
}

/// The file a variable of `scope` goes to.
pub fn file_of(scope: Scope) -> &'static str {
    match scope {
        Scope::Shared => SHARED,
        Scope::Local => LOCAL,
    }
}

/// Resolves the manifest's environment and settings. `lookup` reads mpm's own
/// environment (for `from_env`); `key` makes a secret's keyed hash.
pub fn from_manifest(
    loaded: &Loaded,
    key: &Key,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Parts, Error> {
    let manifest = &loaded.manifest;
    let mut parts = Parts::default();
    let mut errors = Vec::new();
    let source = loaded.display.clone();
    for (name, variable) in &manifest.environment.variables {
        let scope = variable
            .scope
            .or(manifest.environment.scope)
            .unwrap_or(Scope::Shared);
        let text = match &variable.value {
            VariableValue::Literal(text) => text.clone(),
            VariableValue::FromEnv(var) => match lookup(var) {
                Some(text) => text,
                None => {
                    errors.push(
                        loaded
                            .error_at(
                                &["environment", name, "from_env"],
                                format!("`environment.{name}` reads `${var}`, which is not set in mpm's environment"),
                                Some(format!("set it (`export {var}=...`) where mpm runs; nothing was written")),
                            )
                            .into(),
                    );
                    continue;
                }
            },
        };
        let address = Address::part_of(file_of(scope), &Part::Key(env_pointer(name)));
        let json: Arc<str> = canonical_string(&Value::String(text)).into();
        let secret = match (&variable.value, variable.secret) {
            (VariableValue::FromEnv(var), true) => Some((var.clone(), key)),
            _ => None,
        };
        parts.resources.insert(
            address.clone(),
            DesiredResource::value(json.clone(), secret, source.clone()),
        );
        parts.bytes.insert(address.clone(), json);
        parts
            .declared
            .insert(address, vec!["environment".into(), name.clone()]);
    }
    let mut taken = Vec::new();
    for (key_name, value) in &manifest.settings.0 {
        decompose(&mut vec![key_name.clone()], value, &mut taken);
    }
    for (part, value, at) in taken {
        let mut declared = vec!["settings".to_string()];
        declared.extend(at.iter().cloned());
        if !parts.insert(part.clone(), &value, source.clone(), declared) {
            let mut path = vec!["settings"];
            path.extend(at.iter().map(String::as_str));
            errors.push(
                loaded
                    .error_at(
                        &path,
                        format!(
                            "`settings.{}` holds the same element twice",
                            part.pointer().dotted()
                        ),
                        Some("keep one of them".into()),
                    )
                    .into(),
            );
        }
    }
    Error::collect(errors)?;
    Ok(parts)
}

impl Parts {
    /// Wants `value` at `part` of settings.json, declared at `declared` in the
    /// manifest; `false` (and nothing changed) when a part there is wanted already.
    fn insert(&mut self, part: Part, value: &Value, source: String, declared: Vec<String>) -> bool {
        let address = Address::part_of(SHARED, &part);
        if self.resources.contains_key(&address) {
            return false;
        }
        let json: Arc<str> = canonical_string(value).into();
        // written as the manifest orders it (digested in canonical form)
        let written: Arc<str> = serde_json::to_string(value).unwrap_or_default().into();
        let mut resource = DesiredResource::value(json.clone(), None, source);
        resource.part_mut().text =
            (written != json).then(|| crate::hash::Digest::of(written.as_bytes()));
        self.resources.insert(address.clone(), resource);
        self.bytes.insert(address.clone(), written);
        self.declared.insert(address, declared);
        true
    }

    /// With `budget.enforce`, the `UserPromptSubmit` hook that stops prompts past
    /// the day's budget (`crate::budget`), an element of settings.json mpm owns.
    pub fn add_budget_hook(&mut self, loaded: &Loaded, settings: &Settings) -> Result<(), Error> {
        if !settings.budget_enforce.value {
            return Ok(());
        }
        let Some(daily) = crate::budget::Daily::of(settings) else {
            return Err(settings
                .budget_enforce
                .origin
                .error(
                    &[],
                    "`budget.enforce` is on, but there is no `budget.daily_usd` to enforce".into(),
                    Some("set `daily_usd` in `budget:` (or `MPM_BUDGET_DAILY_USD`), or turn `enforce` off".into()),
                )
                .into());
        };
        let entry = crate::budget::hook_entry(&daily, &loaded.manifest.budget.prices);
        let array = Pointer::new(["hooks".to_string(), "UserPromptSubmit".to_string()]);
        let part = Part::Element {
            id: element_id(&array, &entry),
            array,
        };
        let declared = vec!["budget".to_string(), "enforce".to_string()];
        // a `settings:` element running the very same command is the same hook
        self.insert(part, &entry, loaded.display.clone(), declared);
        Ok(())
    }
}

/// Takes a settings value apart: an object into its keys, an array into its
/// elements (each owned alone), anything else (and an empty object) is one key.
/// Each part comes with its place in the manifest.
fn decompose(at: &mut Vec<String>, value: &Value, out: &mut Vec<(Part, Value, Vec<String>)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                at.push(k.clone());
                decompose(at, v, out);
                at.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let array = Pointer::new(at.iter().cloned());
            for (i, item) in items.iter().enumerate() {
                let id = element_id(&array, item);
                let mut place = at.clone();
                place.push(i.to_string());
                out.push((
                    Part::Element {
                        array: array.clone(),
                        id,
                    },
                    item.clone(),
                    place,
                ));
            }
        }
        other => out.push((
            Part::Key(Pointer::new(at.iter().cloned())),
            other.clone(),
            at.clone(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_come_apart_into_keys_and_elements() {
        let value = json!({
            "model": "opus",
            "permissions": {"allow": ["Read", "Bash(ls)"], "defaultMode": "plan"},
            "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "./done"}]}]},
            "statusLine": {}
        });
        let mut out = Vec::new();
        for (k, v) in value.as_object().unwrap() {
            decompose(&mut vec![k.clone()], v, &mut out);
        }
        let parts: Vec<String> = out.iter().map(|(p, _, _)| p.encoded()).collect();
        assert_eq!(
            parts,
            [
                "/model",
                r#"/permissions/allow#"Read""#,
                r#"/permissions/allow#"Bash(ls)""#,
                "/permissions/defaultMode",
                r#"/hooks/Stop#{"commands":["./done"],"matcher":null}"#,
                "/statusLine",
            ]
        );
        assert_eq!(out[2].2, ["permissions", "allow", "1"]);
    }
}
