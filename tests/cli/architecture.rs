//! The shape of the crate: reads every `src/**/*.rs`, collects the module paths
//! each file names (`use crate::..`, `use super::..`, `crate::x::f()` in code),
//! and checks two rules:
//!
//! - layers: a top-level module only uses modules of lower layers, in the order
//!   of [`LAYERS`] (`util < text < env < store < artifacts < capture < report <
//!   share < cli`); a new top-level module must be placed in it;
//! - no cycles between sibling modules (`report::compare` and `report::select`,
//!   or `store` and `artifacts`).
//!
//! Test code (`#[cfg(test)]` modules inside a file) is left out: tests may build
//! their inputs with any part of the crate. Comments and string literals are
//! left out too. A failure names the offending edge and the file it is in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules from the lowest layer to the highest. A module may use
/// the modules before it, never those after it.
const LAYERS: &[&str] =
    &["util", "text", "env", "store", "artifacts", "capture", "report", "share", "cli"];

/// Edges that break a rule today and are on their way out, as
/// `(file, module it uses)`. Each needs a reason.
const ALLOWED: &[(&str, &str)] = &[];

/// A module path such as `["report", "compare"]`; the crate root is empty.
type Module = Vec<String>;

/// One use of a module by a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: Module,
    to: Module,
    file: String,
    line: usize,
}

#[test]
fn modules_have_no_upward_imports_and_no_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = rust_files(&root.join("src"));
    let modules: BTreeSet<Module> = files.iter().map(|(_, m)| m.clone()).collect();
    let mut edges = Vec::new();
    for (path, module) in &files {
        let text = fs_err::read_to_string(path).expect("source files are readable");
        let file = path.strip_prefix(root).unwrap_or(path).display().to_string();
        for (line, target) in module_uses(&strip(&text), module) {
            let Some(to) = longest_module(&modules, &target) else { continue };
            if to != *module && !module.is_empty() {
                edges.push(Edge { from: module.clone(), to, file: file.clone(), line });
            }
        }
    }
    assert!(
        edges.len() > 100,
        "the parser found only {} edges; is it still reading src/?",
        edges.len()
    );
    let allowed = |e: &Edge| ALLOWED.iter().any(|(f, m)| *f == e.file && *m == e.to.join("::"));
    let edges: Vec<Edge> = edges.into_iter().filter(|e| !allowed(e)).collect();

    let mut problems = upward_edges(&edges);
    problems.extend(sibling_cycles(&edges));
    assert!(problems.is_empty(), "module graph rules broken:\n{}", problems.join("\n"));
}

#[test]
fn the_checks_catch_an_upward_edge_and_a_cycle() {
    let module = |s: &str| -> Module { s.split("::").map(str::to_owned).collect() };
    let edge = |from: &str, to: &str| Edge {
        from: module(from),
        to: module(to),
        file: format!("src/{}.rs", from.replace("::", "/")),
        line: 1,
    };
    let up = upward_edges(&[edge("store::repo", "capture::run"), edge("cli::list", "store")]);
    assert_eq!(
        up,
        ["upward import: src/store/repo.rs:1 uses crate::capture::run (store is below capture)"]
    );
    let cycle = sibling_cycles(&[
        edge("report::compare", "report::select"),
        edge("report::select", "report::compare"),
        edge("report::site", "report::compare"),
    ]);
    assert_eq!(cycle.len(), 1, "{cycle:?}");
    assert!(
        cycle[0].contains("report::compare -> report::select (src/report/compare.rs:1)"),
        "{}",
        cycle[0]
    );
    assert!(
        cycle[0].contains("report::select -> report::compare (src/report/select.rs:1)"),
        "{}",
        cycle[0]
    );
    let uses = module_uses(
        &strip("use crate::{a::b, c::{d, e::f}};\n// crate::x::y\nfn g() { super::h::i(); \"crate::s\"; }\n#[cfg(test)]\nmod tests { use crate::t; }\n"),
        &module("m::n"),
    );
    let found: Vec<(usize, String)> = uses.into_iter().map(|(l, m)| (l, m.join("::"))).collect();
    assert_eq!(
        found,
        [(1, "a::b".into()), (1, "c::d".into()), (1, "c::e::f".into()), (3, "m::h::i".into())]
    );
}

/// Every `.rs` file under `src` with its module path (`lib.rs` and `main.rs` are the root).
fn rust_files(src: &Path) -> Vec<(PathBuf, Module)> {
    let mut out = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs_err::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("src/ is readable").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).expect("under src").with_extension("");
                let mut module: Module =
                    rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if matches!(module.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                    module.pop();
                }
                out.push((path, module));
            }
        }
    }
    out.sort();
    out
}

/// The longest prefix of `path` that is a module of the crate.
fn longest_module(modules: &BTreeSet<Module>, path: &[String]) -> Option<Module> {
    (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| modules.contains(m))
}

/// `text` with comments, string and character literals blanked out (newlines kept).
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !ident_char(i.checked_sub(1).map(|j| b[j]))
        {
            // A raw string: r"..", r#".."#, ..
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let end: String =
                std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let rest: String = b[j + 1..].iter().collect();
            let len = rest.find(&end).map_or(rest.chars().count(), |k| rest[..k].chars().count());
            let stop = (j + 1 + len + end.len()).min(b.len());
            out.extend(b[i..stop].iter().map(|&c| blank(c)));
            i = stop;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || b.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\u{..}'); lifetimes have no closing quote.
            let from = if next == Some('\\') { i + 3 } else { i + 2 };
            let stop = (from..b.len()).find(|&j| b[j] == '\'').map_or(b.len(), |j| j + 1);
            out.extend(b[i..stop].iter().map(|&c| blank(c)));
            i = stop;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// The module paths that the code of `module` names, with their line, absolute
/// from the crate root; `#[cfg(test)]` modules are skipped.
fn module_uses(code: &str, module: &Module) -> Vec<(usize, Module)> {
    let tokens = tokenize(code);
    let mut out = Vec::new();
    let mut i = 0;
    // Inline modules entered: (name, brace depth at which it closes).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    while i < tokens.len() {
        let (line, tok) = (tokens[i].0, tokens[i].1.as_str());
        let at = |k: usize| tokens.get(i + k).map_or("", |t| t.1.as_str());
        match tok {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            "#" if at(1) == "["
                && at(2) == "cfg"
                && at(3) == "("
                && at(4) == "test"
                && at(5) == ")" =>
            {
                // Skip the item the attribute is on when it is an inline module.
                let item = ["mod", "fn", "use", "struct", "enum", "impl", "{", ";"];
                let mut j = i + 7;
                while tokens.get(j).is_some_and(|t| !item.contains(&t.1.as_str())) {
                    j += 1;
                }
                if tokens.get(j).is_some_and(|t| t.1 == "mod")
                    && tokens.get(j + 2).is_some_and(|t| t.1 == "{")
                {
                    let mut d = 0;
                    let mut k = j + 2;
                    while k < tokens.len() {
                        match tokens[k].1.as_str() {
                            "{" => d += 1,
                            "}" => {
                                d -= 1;
                                if d == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        k += 1;
                    }
                    i = k + 1;
                    continue;
                }
            }
            "mod" if at(2) == "{" => {
                inline.push((at(1).to_owned(), depth));
            }
            "use" => {
                let end = (i..tokens.len()).find(|&j| tokens[j].1 == ";").unwrap_or(tokens.len());
                let mut here = module.clone();
                here.extend(inline.iter().map(|(n, _)| n.clone()));
                for path in expand(&tokens[i + 1..end]) {
                    if let Some(abs) = absolute(&path, &here) {
                        out.push((line, abs));
                    }
                }
                i = end + 1;
                continue;
            }
            "crate" | "super" | "self" if at(1) == "::" && (i == 0 || tokens[i - 1].1 != "::") => {
                let mut path = vec![tok.to_owned()];
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| t.1 == "::")
                    && tokens.get(j + 1).is_some_and(|t| ident_char(t.1.chars().next()))
                {
                    path.push(tokens[j + 1].1.clone());
                    j += 2;
                }
                let mut here = module.clone();
                here.extend(inline.iter().map(|(n, _)| n.clone()));
                if let Some(abs) = absolute(&path, &here) {
                    out.push((line, abs));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Identifiers, `::` and single punctuation characters, with their line.
fn tokenize(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_alphanumeric() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((n + 1, chars[start..i].iter().collect()));
            } else if c == ':' && chars.get(i + 1) == Some(&':') {
                out.push((n + 1, "::".to_owned()));
                i += 2;
            } else {
                if !c.is_whitespace() {
                    out.push((n + 1, c.to_string()));
                }
                i += 1;
            }
        }
    }
    out
}

/// The paths of a `use` tree (without `use` and `;`): `a::{b, c::d}` is `a::b`, `a::c::d`.
fn expand(tokens: &[(usize, String)]) -> Vec<Vec<String>> {
    fn tree(
        tokens: &[(usize, String)],
        i: &mut usize,
        prefix: &[String],
        out: &mut Vec<Vec<String>>,
    ) {
        let mut path = prefix.to_vec();
        while *i < tokens.len() {
            let tok = tokens[*i].1.as_str();
            match tok {
                "{" => {
                    *i += 1;
                    loop {
                        tree(tokens, i, &path, out);
                        match tokens.get(*i).map(|t| t.1.as_str()) {
                            Some(",") => *i += 1,
                            Some("}") => {
                                *i += 1;
                                break;
                            }
                            _ => break,
                        }
                        if tokens.get(*i).is_some_and(|t| t.1 == "}") {
                            *i += 1;
                            break;
                        }
                    }
                    return;
                }
                "," | "}" => break,
                "::" => *i += 1,
                "as" => *i += 2,
                "*" => *i += 1,
                "self" if path.len() > prefix.len() || !prefix.is_empty() => *i += 1,
                _ => {
                    path.push(tok.to_owned());
                    *i += 1;
                }
            }
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    // Skip a visibility: `pub`, `pub(crate)`, `pub(super)`, `pub(in ..)`.
    let mut start = 0;
    if tokens.first().is_some_and(|t| t.1 == "pub") {
        start = 1;
        if tokens.get(1).is_some_and(|t| t.1 == "(") {
            start = (1..tokens.len()).find(|&j| tokens[j].1 == ")").map_or(tokens.len(), |j| j + 1);
        }
    }
    let mut out = Vec::new();
    let mut i = start;
    tree(tokens, &mut i, &[], &mut out);
    out
}

/// `path` from the crate root, seen from module `here`; `None` for other crates.
fn absolute(path: &[String], here: &Module) -> Option<Module> {
    let mut base: Module = match path.first()?.as_str() {
        "crate" => Vec::new(),
        "self" | "super" => here.clone(),
        _ => return None,
    };
    let mut rest = &path[1..];
    if path[0] == "super" {
        base.pop();
    }
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The edges from a top-level module to one of a higher layer.
fn upward_edges(edges: &[Edge]) -> Vec<String> {
    let rank = |m: &Module| LAYERS.iter().position(|l| m.first().is_some_and(|f| f == l));
    let mut out = BTreeSet::new();
    for e in edges {
        if e.from.first() == e.to.first() {
            continue;
        }
        match (rank(&e.from), rank(&e.to)) {
            (Some(a), Some(b)) if a < b => {
                out.insert(format!(
                    "upward import: {}:{} uses crate::{} ({} is below {})",
                    e.file,
                    e.line,
                    e.to.join("::"),
                    e.from[0],
                    e.to[0]
                ));
            }
            (None, _) => {
                out.insert(format!("{}: module {} is not in LAYERS", e.file, e.from[0]));
            }
            (_, None) => {
                out.insert(format!("{}: module {} is not in LAYERS", e.file, e.to[0]));
            }
            _ => {}
        }
    }
    out.into_iter().collect()
}

/// Cycles between modules with the same parent, each named by its edges.
fn sibling_cycles(edges: &[Edge]) -> Vec<String> {
    // parent -> child -> child it uses -> first edge that does.
    let mut graph: BTreeMap<Module, BTreeMap<Module, BTreeMap<Module, &Edge>>> = BTreeMap::new();
    for e in edges {
        let k = e.from.iter().zip(&e.to).take_while(|(a, b)| a == b).count();
        if k < e.from.len() && k < e.to.len() {
            let parent = e.from[..k].to_vec();
            let (a, b) = (e.from[..=k].to_vec(), e.to[..=k].to_vec());
            graph.entry(parent).or_default().entry(a).or_default().entry(b).or_insert(e);
        }
    }
    let mut cycles = BTreeSet::new();
    for children in graph.values() {
        for start in children.keys() {
            // Depth-first search for a path from `start` back to itself.
            let mut stack = vec![(start.clone(), vec![])];
            let mut seen = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for (next, edge) in children.get(&node).into_iter().flatten() {
                    let mut path: Vec<&Edge> = path.clone();
                    path.push(edge);
                    if next == start {
                        let mut names: Vec<String> = path
                            .iter()
                            .map(|e| {
                                let k =
                                    e.from.iter().zip(&e.to).take_while(|(a, b)| a == b).count();
                                format!(
                                    "{} -> {} ({}:{})",
                                    e.from[..=k].join("::"),
                                    e.to[..=k].join("::"),
                                    e.file,
                                    e.line
                                )
                            })
                            .collect();
                        // One report per cycle, whichever module it is found from.
                        let first =
                            names.iter().enumerate().min_by_key(|(_, n)| *n).map_or(0, |(i, _)| i);
                        names.rotate_left(first);
                        cycles.insert(format!("import cycle: {}", names.join(", ")));
                    } else if seen.insert(next.clone()) {
                        stack.push((next.clone(), path));
                    }
                }
            }
        }
    }
    cycles.into_iter().collect()
}
