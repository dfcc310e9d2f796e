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

/// Files whose queries are still to move behind `db/` (issue 17): the list only shrinks.
const NOT_YET_MOVED: [&str; 8] = [
    "media/uploads.rs",
    "sync/apply/attempts.rs",
    "sync/apply/cases.rs",
    "sync/apply/documents.rs",
    "sync/apply/mod.rs",
    "sync/apply/reviews.rs",
    "sync/pull.rs",
    "sync/push.rs",
];

#[test]
fn only_db_builds_queries() {
    let (root, files) = server_sources();
    let mut wrong = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(root.join("db"))) {
        let relative = file.strip_prefix(&root).expect("under src");
        let code = code(file);
        if NOT_YET_MOVED.iter().any(|n| relative == Path::new(n)) {
            let moved = names_after(&code, "sea_orm::")
                .iter()
                .all(|n| HANDLES.contains(&n.as_str()))
                && !QUERY_WORDS.iter().any(|w| code.contains(w));
            assert!(
                !moved,
                "{} moved: take it off NOT_YET_MOVED",
                relative.display()
            );
            continue;
        }
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

/// The longest production file and function a reader is asked to hold (issue 17).
const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

/// Files and functions over the limits, each with why (`path` for a file, `path::fn` for a
/// function, paths from the workspace root): the list only shrinks.
const TOO_LONG: &[(&str, &str)] = &[
    (
        "server/src/db/chain.rs::contents",
        "db/ is being edited by the query move: split after it (issue 17)",
    ),
    (
        "server/src/db/chain.rs::append",
        "db/ is being edited by the query move: split after it (issue 17)",
    ),
    (
        "server/src/media/receive.rs::receive_leased",
        "being split (issue 17)",
    ),
    ("server/src/media/uploads.rs", "being split (issue 17)"),
    (
        "server/src/sync/pull.rs::records_for",
        "queries moving to db/ (issue 17)",
    ),
    (
        "server/src/sync/push.rs::push",
        "queries moving to db/ (issue 17)",
    ),
];

/// The production sources of the workspace's crates: not the `tests` crate, not migrations,
/// not test modules kept in files of their own.
fn production_sources() -> (PathBuf, Vec<PathBuf>) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned();
    let mut files = Vec::new();
    for krate in ["server", "sync-protocol", "mobile-shared"] {
        sources(&workspace.join(krate).join("src"), &mut files);
    }
    let migrations = workspace.join("server/src/db/migration");
    files.retain(|f| {
        !f.starts_with(&migrations)
            && !f.ends_with("tests.rs")
            && !f.components().any(|c| c.as_os_str() == "tests")
    });
    files.sort();
    (workspace, files)
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The lines of `text` without its `#[cfg(test)] mod … { … }` blocks at the top level.
fn without_test_modules(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let opens_test_module = lines[at] == "#[cfg(test)]"
            && lines.get(at + 1).is_some_and(|next| {
                next.trim_start_matches("pub ").starts_with("mod ") && next.ends_with('{')
            });
        if opens_test_module {
            at += 2;
            while at < lines.len() && lines[at] != "}" {
                at += 1;
            }
            at += 1;
        } else {
            kept.push(lines[at]);
            at += 1;
        }
    }
    kept
}

/// Each function of `lines` with its length in lines: from the line that opens it (`fn`, after
/// `pub`, `async`, `const`, `unsafe`) to the `}` at its indentation. Declarations without a body
/// and one-line functions are left out.
fn functions(lines: &[&str]) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let mut head = line.trim_start();
        while let Some(rest) = [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "async ",
            "const ",
            "unsafe ",
        ]
        .iter()
        .find_map(|word| head.strip_prefix(word))
        {
            head = rest;
        }
        let Some(rest) = head.strip_prefix("fn ") else {
            continue;
        };
        if line.ends_with(';') || (line.contains('{') && line.ends_with('}')) {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let depth = indent(line);
        for (offset, next) in lines[start + 1..].iter().enumerate() {
            let trimmed = next.trim();
            if trimmed.is_empty() || indent(next) > depth {
                continue;
            }
            if indent(next) == depth && trimmed.starts_with('}') {
                found.push((name.clone(), offset + 2));
            }
            let continues = indent(next) == depth
                && !trimmed.ends_with(';')
                && [")", "->", "where", "{"]
                    .iter()
                    .any(|w| trimmed.starts_with(w));
            if !continues {
                break;
            }
        }
    }
    found
}

#[test]
fn files_and_functions_a_reader_can_hold() {
    let (workspace, files) = production_sources();
    let mut over = Vec::new();
    let mut excused = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&workspace).expect("in the workspace");
        let relative = relative.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(file).expect("read a source file");
        let lines = without_test_modules(&text);
        let mut long = Vec::new();
        if lines.len() > MAX_FILE_LINES {
            long.push((relative.clone(), lines.len()));
        }
        for (name, length) in functions(&lines) {
            if length > MAX_FN_LINES {
                long.push((format!("{relative}::{name}"), length));
            }
        }
        for (what, length) in long {
            if TOO_LONG.iter().any(|(excepted, _)| *excepted == what) {
                excused.push(what);
            } else {
                over.push(format!("{what}: {length} lines"));
            }
        }
    }
    let stale: Vec<_> = TOO_LONG
        .iter()
        .filter(|(what, _)| !excused.iter().any(|e| e == what))
        .map(|(what, _)| *what)
        .collect();
    assert!(
        stale.is_empty(),
        "within the limits now: take them off TOO_LONG:\n{}",
        stale.join("\n")
    );
    assert!(
        over.is_empty(),
        "over {MAX_FILE_LINES} lines a file or {MAX_FN_LINES} a function:\n{}",
        over.join("\n")
    );
}

#[test]
fn the_size_check_measures_functions_and_skips_tests() {
    let text = "\
pub async fn long(
    a: u8,
) -> u8 {
    let b = a;
    b
}
fn short() {}
trait T {
    fn declared(&self);
    fn body(&self) {
        if true {
        }
    }
}
#[cfg(test)]
mod tests {
    fn hidden() {
    }
}
";
    let lines = without_test_modules(text);
    assert_eq!(lines.len(), 14);
    assert_eq!(
        functions(&lines),
        [("long".to_owned(), 6), ("body".to_owned(), 4)]
    );
}
