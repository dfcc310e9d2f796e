//! The house plan of `docs/architecture.md`, checked on the source: `db/` is the one door to SQL
//! and imports nothing above it.

use std::path::{Path, PathBuf};

/// What `db/` may import from the rest of the crate: the foundation below it.
const BELOW_DB: [&str; 5] = ["db", "digest", "keys", "personal_data", "secret"];

/// The names of `sea_orm` a module outside `db/` may use: the error, and the connection or
/// transaction it hands to a `db` function. Everything else builds queries.
const HANDLES: [&str; 5] = [
    "DbErr",
    "DatabaseConnection",
    "DatabaseTransaction",
    "TransactionTrait",
    "ConnectionTrait",
];

/// Words that only query-building code writes.
const QUERY_WORDS: [&str; 8] = [
    "sea_query",
    "Entity::",
    "Column::",
    "ActiveModel",
    "Statement::",
    ".query_one(",
    ".query_all(",
    "execute_unprepared(",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read the source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of `path` without line comments and doc comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read a source file");
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers a piece of code names right after `prefix` (`prefix::a`, or every name of
/// `prefix::{a, b::c}` up to its closing brace), without the `as _` renames.
fn names_after(code: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        let group = if let Some(inner) = rest.strip_prefix('{') {
            &inner[..inner.find('}').unwrap_or(inner.len())]
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        };
        for part in group.split(',') {
            let first = part.trim().split("::").next().unwrap_or_default();
            let first = first.split_whitespace().next().unwrap_or_default();
            if !first.is_empty() {
                names.push(first.to_owned());
            }
        }
    }
    names
}

fn server_sources() -> (PathBuf, Vec<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    (root, files)
}

#[test]
fn db_imports_nothing_above_it() {
    let (root, files) = server_sources();
    let mut wrong = Vec::new();
    for file in files.iter().filter(|f| f.starts_with(root.join("db"))) {
        for name in names_after(&code(file), "crate::") {
            if !BELOW_DB.contains(&name.as_str()) {
                wrong.push(format!("{} imports crate::{name}", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "db/ reaches above itself:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_db_builds_queries() {
    let (root, files) = server_sources();
    let mut wrong = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(root.join("db"))) {
        let code = code(file);
        for name in names_after(&code, "sea_orm::") {
            if !HANDLES.contains(&name.as_str()) {
                wrong.push(format!("{} uses sea_orm::{name}", file.display()));
            }
        }
        for word in QUERY_WORDS.iter().filter(|w| code.contains(**w)) {
            wrong.push(format!("{} writes `{word}`", file.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "queries outside db/ ({} places):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    let names = names_after(
        "use sea_orm::{DbErr, QuerySelect as _, sea_query::Expr};\nlet x = sea_orm::Set(1);",
        "sea_orm::",
    );
    assert_eq!(names, ["DbErr", "QuerySelect", "sea_query", "Set"]);
    assert_eq!(names_after("crate::auth::Scope", "crate::"), ["auth"]);
}

/// Folders whose code takes a sub-state of its own (by `FromRef`), never the whole
/// `crate::state` (which imports them: the one direction).
const OWN_STATE: [&str; 1] = ["media"];

#[test]
fn media_takes_its_own_state() {
    let (root, files) = server_sources();
    let mut wrong = Vec::new();
    for folder in OWN_STATE {
        for file in files.iter().filter(|f| f.starts_with(root.join(folder))) {
            if names_after(&code(file), "crate::")
                .iter()
                .any(|n| n == "state")
            {
                wrong.push(format!("{} imports crate::state", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the whole state imported where a sub-state is taken:\n{}",
        wrong.join("\n")
    );
}
