//! `mpm env`: the manifest's environment as a shell (or a CI job) evaluates it, so
//! that a process started outside Claude Code sees what its sessions see.

use crate::Error;
use crate::cli::{EnvArgs, EnvShell};
use crate::error::ExitStatus;
use crate::options::Options;
use crate::printer::Printer;
use serde::Serialize;

/// One variable to print.
#[derive(Debug, Serialize)]
struct Variable {
    name: String,
    /// `None`: a secret, left out.
    value: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sensitive: bool,
}

pub fn run(options: &Options, args: &EnvArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let loaded = options.load_manifest()?;
    let target = options.target(&loaded)?;
    let mut variables = Vec::new();
    // the client finds a project's `.claude` itself; any other target is where it
    // must be told to look
    let project = options.settings.target.value == crate::config::TargetSetting::Project;
    if !project {
        variables.push(Variable {
            name: "CLAUDE_CONFIG_DIR".into(),
            value: Some(target.root.display().to_string()),
            sensitive: false,
        });
    }
    // a secret left out need not be set
    let hidden: Vec<&str> = loaded
        .manifest
        .environment
        .variables
        .iter()
        .filter(|(_, v)| v.secret && !args.show_secrets)
        .filter_map(|(_, v)| match &v.value {
            crate::manifest::settings::VariableValue::FromEnv(var) => Some(var.as_str()),
            crate::manifest::settings::VariableValue::Literal(_) => None,
        })
        .collect();
    // keyed hashes are not needed here: any key will do
    let parts =
        crate::desired::settings::from_manifest(&loaded, &crate::secret::Key::default(), &|var| {
            match std::env::var(var) {
                Err(_) if hidden.contains(&var) => Some(String::new()),
                found => found.ok(),
            }
        })?;
    for (name, _) in &loaded.manifest.environment.variables {
        let Some((address, resource)) = parts.resources.iter().find(|(a, _)| {
            a.part()
                .is_some_and(|p| p.pointer().tokens() == ["env".to_string(), name.clone()])
        }) else {
            continue;
        };
        let sensitive = resource.secret().is_some();
        let value = parts
            .bytes
            .get(address)
            .and_then(|json| serde_json::from_str::<String>(json).ok())
            .filter(|_| !sensitive || args.show_secrets);
        variables.push(Variable {
            name: name.clone(),
            value,
            sensitive,
        });
    }
    if args.json {
        let json = serde_json::json!({ "format_version": "1.0", "variables": variables });
        printer.out(&(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"));
        return Ok(ExitStatus::Success);
    }
    let shell = args.shell.unwrap_or_else(|| {
        let fish = std::env::var_os("SHELL").is_some_and(|s| {
            std::path::Path::new(&s)
                .file_name()
                .is_some_and(|n| n == "fish")
        });
        if fish { EnvShell::Fish } else { EnvShell::Bash }
    });
    let mut out = String::new();
    for v in &variables {
        match &v.value {
            Some(value) => out.push_str(&line(shell, &v.name, value)),
            None => out.push_str(&format!(
                "# {} is a secret, left out (`mpm env --show-secrets` prints it)\n",
                v.name
            )),
        }
    }
    printer.out(&out);
    Ok(ExitStatus::Success)
}

/// One assignment, quoted so that the shell takes the value as written.
fn line(shell: EnvShell, name: &str, value: &str) -> String {
    match shell {
        EnvShell::Bash | EnvShell::Zsh => {
            format!("export {name}='{}'\n", value.replace('\'', r"'\''"))
        }
        EnvShell::Fish => format!(
            "set -gx {name} '{}'\n",
            value.replace('\\', r"\\").replace('\'', r"\'")
        ),
        EnvShell::Powershell => format!("$env:{name} = '{}'\n", value.replace('\'', "''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shell_gets_the_value_as_written() {
        let v = r"it's a \ value";
        assert_eq!(
            line(EnvShell::Bash, "A", v),
            "export A='it'\\''s a \\ value'\n"
        );
        assert_eq!(
            line(EnvShell::Fish, "A", v),
            "set -gx A 'it\\'s a \\\\ value'\n"
        );
        assert_eq!(
            line(EnvShell::Powershell, "A", v),
            "$env:A = 'it''s a \\ value'\n"
        );
    }
}
