//! The house plan of `docs/architecture.md`, checked on the source: `db/` is the one door to SQL
//! and imports nothing above it.

use std::collections::{HashMap, HashSet};
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

/// The module a source file under `root` is (`media::uploads::create`; the crate root is "").
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file
        .strip_prefix(root)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

/// The modules of `known` that the code of module `me` names by a `crate::` or `super::` path
/// (each path taken to the longest module it names), but for `me` and the modules it is in.
fn imports(me: &str, code: &str, known: &HashSet<String>) -> HashSet<String> {
    let parent = me.rsplit_once("::").map_or("", |(p, _)| p);
    let mut out = HashSet::new();
    for (prefix, base) in [("crate::", ""), ("super::", parent)] {
        for (at, _) in code.match_indices(prefix) {
            let rest = &code[at + prefix.len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut paths = vec![path.clone()];
            if let Some(group) = rest[path.len()..].strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                paths.extend(
                    group
                        .split(',')
                        .map(|name| format!("{path}{}", name.trim())),
                );
            }
            for path in paths {
                let mut parts: Vec<&str> = base.split("::").filter(|p| !p.is_empty()).collect();
                parts.extend(path.split("::").filter(|p| !p.is_empty()));
                while !parts.is_empty() && !known.contains(&parts.join("::")) {
                    parts.pop();
                }
                let target = parts.join("::");
                if !target.is_empty() && target != me && !me.starts_with(&format!("{target}::")) {
                    out.insert(target);
                }
            }
        }
    }
    out
}

/// A loop in `edges`, as the modules along it, if there is one.
fn a_loop(edges: &HashMap<String, HashSet<String>>) -> Option<Vec<String>> {
    fn visit(
        at: &str,
        edges: &HashMap<String, HashSet<String>>,
        path: &mut Vec<String>,
        done: &mut HashSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == at) {
            let mut found = path[start..].to_vec();
            found.push(at.to_owned());
            return Some(found);
        }
        if !done.insert(at.to_owned()) {
            return None;
        }
        path.push(at.to_owned());
        let mut next: Vec<&String> = edges.get(at).into_iter().flatten().collect();
        next.sort();
        for target in next {
            if let Some(found) = visit(target, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = HashSet::new();
    let mut starts: Vec<&String> = edges.keys().collect();
    starts.sort();
    starts
        .into_iter()
        .find_map(|m| visit(m, edges, &mut Vec::new(), &mut done))
}

/// The import graph of the library under `crate_dir/src` (binaries left out), without tests.
fn import_graph(crate_dir: &str) -> HashMap<String, HashSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.retain(|f| !f.starts_with(root.join("bin")) && !f.ends_with("main.rs"));
    let modules: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            let code = code(f);
            let code = code
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_owned();
            (module_of(&root, f), code)
        })
        .collect();
    let known: HashSet<String> = modules.iter().map(|(m, _)| m.clone()).collect();
    modules
        .iter()
        .map(|(m, code)| (m.clone(), imports(m, code, &known)))
        .collect()
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for crate_dir in ["server", "mobile-shared", "sync-protocol"] {
        let graph = import_graph(crate_dir);
        assert!(graph.len() > 5, "{crate_dir}: the graph was read");
        if let Some(found) = a_loop(&graph) {
            panic!(
                "{crate_dir}: modules import each other: {}",
                found.join(" → ")
            );
        }
    }
}

#[test]
fn the_loop_check_sees_a_loop() {
    let known: HashSet<String> = ["a", "b", "b::c"].map(String::from).into();
    assert_eq!(
        imports("b::c", "use crate::a::X; use super::{d, e};", &known),
        ["a".to_owned()].into()
    );
    let mut edges = HashMap::new();
    edges.insert("a".to_owned(), imports("a", "use crate::b::c::Y;", &known));
    edges.insert("b::c".to_owned(), imports("b::c", "crate::a::f()", &known));
    assert_eq!(
        a_loop(&edges),
        Some(vec!["a".into(), "b::c".into(), "a".into()])
    );
    edges.insert("b::c".to_owned(), HashSet::new());
    assert_eq!(a_loop(&edges), None);
}

/// The longest production file and function a reader is asked to hold (issue 17).
const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

/// Files and functions over the limits, each with why (`path` for a file, `path::fn` for a
/// function, paths from the workspace root): the list only shrinks.
const TOO_LONG: &[(&str, &str)] = &[];

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
