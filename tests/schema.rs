//! The checked-in JSON Schema of mpm.yaml is generated from the Rust types: it must
//! not go stale, and it must agree with the parser on real manifests.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn checked_in_schema_is_up_to_date() {
    let checked_in = std::fs::read_to_string(root().join("schema/mpm.schema.json")).unwrap();
    assert!(
        checked_in == mpm::manifest::json_schema(),
        "schema/mpm.schema.json is stale: run `cargo run -q -- schema > schema/mpm.schema.json`"
    );
}

#[test]
fn checked_in_registry_index_schema_is_up_to_date() {
    let checked_in =
        std::fs::read_to_string(root().join("schema/registry-index.schema.json")).unwrap();
    assert!(
        checked_in == mpm::registry::index::json_schema(),
        "schema/registry-index.schema.json is stale: run `cargo run -q -- schema --index > schema/registry-index.schema.json`"
    );
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&mpm::manifest::json_schema()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn manifests() -> Vec<std::path::PathBuf> {
    let mut all = vec![root().join("mpm.yaml")];
    for e in std::fs::read_dir(root().join("examples"))
        .unwrap()
        .flatten()
    {
        all.push(e.path().join("mpm.yaml"));
    }
    all
}

#[test]
fn every_shipped_manifest_validates_against_the_schema() {
    let v = validator();
    for path in manifests() {
        let doc: serde_json::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn the_schema_refuses_what_the_parser_refuses() {
    let v = validator();
    for bad in [
        "version: 2\n",
        "version: 1\nagents:\n  A B: {prompt: x, description: d}\n",
        "version: 1\nagents:\n  qa: {templat: x}\n",
        "version: 1\nagents:\n  qa: {template: x, model: gpt-4}\n",
        "version: 1\nagents:\n  qa: {template: x, color: magenta}\n",
        "version: 1\ntarget: elsewhere\n",
        "version: 1\nbudget: {daily_usd: 0}\n",
        "version: 1\nbudget: {warning_threshold: 1.5}\n",
        "version: 1\nbudget: {daly_usd: 1}\n",
        "version: 1\nbudget: {max_prompt_tokens: 0}\n",
        "version: 1\nbudget: {prices: {m: {input: 1}}}\n",
        "version: 1\nbudget: {prices: {m: {input: 1, output: 1, cache_write: 1, cache_read: -1}}}\n",
        "version: 1\nmpm: {lock_timout: 1s}\n",
        "version: 1\nmpm: {lock_timeout: soon}\n",
        "version: 1\nmpm: {color: never}\n",
        "version: 1\nmpm: {target: user}\n",
        "version: 1\nmpm: {cache: {enabled: 3}}\n",
        "version: 1\ncache: {max_entries: 0}\n",
        "version: 1\ncache: {max_size_mb: 1.5}\n",
        "version: 1\ncache: {ttl_hours: 0}\n",
        "version: 1\ncache: {ttl: 24}\n",
    ] {
        let doc: serde_json::Value = serde_yaml::from_str(bad).unwrap();
        assert!(!v.is_valid(&doc), "schema accepts {bad:?}");
        assert!(
            mpm::manifest::load::parse(bad, "mpm.yaml").is_err(),
            "parser accepts {bad:?}"
        );
    }
}

#[test]
fn mpm_schema_prints_it() {
    let out = std::process::Command::new(crate::harness::BIN)
        .arg("schema")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        mpm::manifest::json_schema()
    );
}
