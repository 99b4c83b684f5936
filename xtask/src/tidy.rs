//! Tidy: the project's own lints, run by `cargo xtask tidy` and as `#[test]`s (in the style of
//! rust-analyzer's `tidy.rs`): each reads the source tree and fails with what to fix.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Every check; the first failure is returned with what to fix.
pub fn check_all(root: &Path) -> Result<(), String> {
    core_dependencies(root)?;
    core_dependency_tree(root)?;
    module_docs(root)?;
    no_unfinished_code(root)?;
    rules_table(root)?;
    no_random_uuid_features(root)?;
    eprintln!("tidy: ok");
    Ok(())
}

/// The dependencies `account-core` may have: the pure list of the brief, plus chrono-tz and idna
/// (pure data and computation; why: `docs/decisions/0001-dependencies.md`).
const CORE_ALLOWED: &[&str] =
    &["thiserror", "serde", "chrono", "chrono-tz", "idna", "uuid", "async-trait", "mockall"];

fn section<'a>(manifest: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("[{name}]");
    manifest
        .lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect()
}

/// `account-core` depends only on the allowed crates, with mockall optional.
pub fn core_dependencies(root: &Path) -> Result<(), String> {
    let path = root.join("crates/account-core/Cargo.toml");
    let manifest = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    for line in section(&manifest, "dependencies") {
        let name = line.split(['=', ' ', '.']).next().unwrap_or("").trim();
        if !CORE_ALLOWED.contains(&name) {
            return Err(format!(
                "account-core depends on `{name}`; the domain may only use {CORE_ALLOWED:?}. \
                 Put I/O in an adapter crate instead."
            ));
        }
        if name == "mockall" && !line.contains("optional = true") {
            return Err(
                "account-core: mockall must be optional (behind the `mocks` feature)".into()
            );
        }
    }
    Ok(())
}

/// Crates that mean I/O or a runtime; none may reach `account-core`'s normal dependency tree.
const FORBIDDEN_IN_CORE_TREE: &[&str] = &[
    "tokio",
    "sea-orm",
    "sqlx",
    "poem",
    "hyper",
    "mio",
    "socket2",
    "getrandom",
    "iana-time-zone",
    "reqwest",
];

/// `cargo tree` of `account-core` (normal edges, all features) holds nothing that does I/O.
pub fn core_dependency_tree(root: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "tree",
            "-p",
            "account-core",
            "-e",
            "normal",
            "--all-features",
            "--prefix",
            "none",
            "--offline",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo tree failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let names: BTreeSet<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    let bad: Vec<&&str> = FORBIDDEN_IN_CORE_TREE.iter().filter(|f| names.contains(**f)).collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("account-core's dependency tree reaches {bad:?}: the domain must do no I/O"))
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != ".git" && name != "node_modules" {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn workspace_sources(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    files
}

/// Every Rust module starts with a `//!` line saying what it is for.
pub fn module_docs(root: &Path) -> Result<(), String> {
    let missing: Vec<String> = workspace_sources(root)
        .into_iter()
        .filter(|p| fs::read_to_string(p).is_ok_and(|s| !s.trim_start().starts_with("//!")))
        .map(|p| p.strip_prefix(root).unwrap_or(&p).display().to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "these modules do not start with a `//!` line saying what they are for: {missing:?}"
        ))
    }
}

/// No ignored tests, `todo!`, `unimplemented!` or `dbg!` anywhere.
pub fn no_unfinished_code(root: &Path) -> Result<(), String> {
    let needles = [
        concat!("#[", "ignore"),
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
        concat!("dbg", "!("),
    ];
    for path in workspace_sources(root) {
        let text = fs::read_to_string(&path).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if let Some(n) = needles.iter().find(|n| line.contains(**n)) {
                return Err(format!(
                    "{}:{}: `{n}` is not allowed: finish it or remove it",
                    path.display(),
                    i + 1
                ));
            }
        }
    }
    Ok(())
}

/// `docs/rules.md` maps every rule 1 to 22 and rule 24 to at least one test, and every test it
/// names exists.
pub fn rules_table(root: &Path) -> Result<(), String> {
    let path = root.join("docs/rules.md");
    let table = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut sources = String::new();
    for p in workspace_sources(root) {
        sources.push_str(&fs::read_to_string(p).unwrap_or_default());
    }
    for rule in (1..=22).chain([24]) {
        let prefix = format!("| {rule} |");
        let row = table.lines().find(|l| l.starts_with(&prefix)).ok_or_else(|| {
            format!("docs/rules.md has no row for rule {rule} (a line starting with `{prefix}`)")
        })?;
        let tests: Vec<&str> = row
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|t| t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        if tests.is_empty() {
            return Err(format!(
                "docs/rules.md: rule {rule} names no test (put test names in backticks)"
            ));
        }
        for test in tests {
            if !sources.contains(&format!("fn {test}(")) {
                return Err(format!(
                    "docs/rules.md: rule {rule} names `{test}`, which is not a test in the workspace"
                ));
            }
        }
    }
    Ok(())
}

/// uuid's `v4`/`v7` features stay off in our manifests, so ids can only come from the ports.
pub fn no_random_uuid_features(root: &Path) -> Result<(), String> {
    let mut manifests = vec![root.join("Cargo.toml")];
    for dir in ["crates", "xtask", "tests"] {
        if let Ok(entries) = fs::read_dir(root.join(dir)) {
            manifests.extend(
                entries.flatten().map(|e| e.path().join("Cargo.toml")).filter(|p| p.exists()),
            );
        }
        if root.join(dir).join("Cargo.toml").exists() {
            manifests.push(root.join(dir).join("Cargo.toml"));
        }
    }
    for m in manifests {
        let text = fs::read_to_string(&m).unwrap_or_default();
        for line in text.lines().filter(|l| l.trim_start().starts_with("uuid")) {
            if line.contains("\"v4\"") || line.contains("\"v7\"") {
                return Err(format!(
                    "{}: uuid's v4/v7 features are off on purpose: take ids from the Random port",
                    m.display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_core_depends_only_on_the_pure_list() {
        core_dependencies(&workspace_root()).unwrap();
    }

    #[test]
    fn account_core_tree_does_no_io() {
        core_dependency_tree(&workspace_root()).unwrap();
    }

    #[test]
    fn every_module_says_what_it_is_for() {
        module_docs(&workspace_root()).unwrap();
    }

    #[test]
    fn nothing_is_ignored_or_unfinished() {
        no_unfinished_code(&workspace_root()).unwrap();
    }

    #[test]
    fn every_rule_has_a_row_naming_existing_tests() {
        rules_table(&workspace_root()).unwrap();
    }

    #[test]
    fn uuid_random_constructors_stay_out() {
        no_random_uuid_features(&workspace_root()).unwrap();
    }

    #[test]
    fn the_rules_check_fails_on_a_missing_row() {
        let dir = std::env::temp_dir().join(format!("tidy-{}", std::process::id()));
        fs::create_dir_all(dir.join("docs")).unwrap();
        fs::write(dir.join("docs/rules.md"), "| 1 | `nope` |\n").unwrap();
        let err = rules_table(&dir).unwrap_err();
        assert!(err.contains("rule 1 names `nope`"), "{err}");
        fs::write(dir.join("docs/rules.md"), "").unwrap();
        assert!(rules_table(&dir).unwrap_err().contains("no row for rule 1"));
        fs::remove_dir_all(dir).unwrap();
    }
}
