//! The layering of ARCHITECTURE.md, checked on the source text: an import
//! that points up a layer, or a file-level import cycle among the files of
//! `src/command/`, fails the build's tests instead of waiting for a
//! reviewer to notice.
//!
//! The check is textual: comments and literals are blanked out, then every
//! `use` tree and every path that starts with `crate::`, `super::`,
//! `self::` or the name of a child module is resolved against the module
//! tree the files (and their inline `mod x { }` blocks, `#[path]`
//! attributes and imports) describe. Test code (`#[cfg(test)]` modules and
//! `*_tests.rs` files) is checked like the rest: a test reaching up a
//! layer ties the layers together as much as the code does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The leaves that are pure (no I/O, no clock, no state across calls):
/// what `cluster`, which must stay pure, may build on. `planted` holds
/// state only in the madsim build, for the simulation's planted bugs.
const PURE_LEAVES: &[&str] = &[
    "glob", "hll", "notify", "planted", "rdb", "resp", "sds", "slot", "sync",
];

/// Every top-level module of the library and the modules it may import,
/// lowest layer first. A module missing here fails the test: a new module
/// has to be given its place.
const LAYERS: &[(&str, &[&str])] = &[
    // Leaves: nothing but other leaves, where that is already the case.
    ("sync", &[]),
    // The crash-safe file write: std only, does I/O (so not pure).
    ("fsutil", &[]),
    ("glob", &[]),
    ("hll", &[]),
    ("planted", &[]),
    // The two clocks; the madsim build's jumps may be planted away.
    ("clock", &["planted"]),
    ("notify", &[]),
    ("rdb", &[]),
    ("sds", &[]),
    ("slot", &[]),
    ("resp", &["sds"]),
    ("engine", &["sync"]),
    // redis.conf: below everything that is configured, which may use its
    // value types (`LogLevel`, `BufferLimit`); it imports none of them.
    ("config", &["fsutil", "glob", "notify", "sds"]),
    ("log", &["clock", "config", "sync"]),
    // Pure state machines over the pure leaves (cluster: DESIGN.md §6);
    // pubsub's outboxes also take their limits as config's value type.
    ("cluster", PURE_LEAVES),
    (
        "pubsub",
        &[
            "clock", "config", "glob", "hll", "notify", "rdb", "resp", "sds", "slot", "sync",
        ],
    ),
    // The Redis data model on the engine.
    (
        "keyspace",
        &["engine", "glob", "notify", "sds", "slot", "sync"],
    ),
    // Replication as pure state: the change feed of keyspace effects.
    ("replication", &["keyspace", "planted", "resp", "sync"]),
    // The Lua state: frames in and out, commands through a closure.
    ("script", &["log", "resp", "sds", "sync"]),
    // The commands, on everything but the sessions and the driver.
    (
        "command",
        &[
            "clock",
            "cluster",
            "config",
            "engine",
            "fsutil",
            "glob",
            "hll",
            "keyspace",
            "log",
            "notify",
            "planted",
            "pubsub",
            "rdb",
            "replication",
            "resp",
            "script",
            "sds",
            "slot",
            "sync",
        ],
    ),
    // One client's session without its socket: runs commands.
    (
        "session",
        &[
            "command", "config", "engine", "keyspace", "log", "pubsub", "resp", "sync",
        ],
    ),
    // The tokio driver: on top, imported by nobody.
    (
        "server",
        &[
            "clock",
            "cluster",
            "command",
            "config",
            "engine",
            "glob",
            "hll",
            "keyspace",
            "log",
            "notify",
            "planted",
            "pubsub",
            "rdb",
            "replication",
            "resp",
            "sds",
            "session",
            "slot",
            "sync",
        ],
    ),
];

/// External crates a module must not use: the cluster state machines do no
/// I/O and read no clock, so that the simulator can drive them.
const FORBIDDEN_CRATES: &[(&str, &[&str])] =
    &[("cluster", &["tokio", "madsim", "fjall", "socket2", "libc"])];

#[test]
fn imports_point_down_the_layers_and_command_files_form_no_cycle() {
    let crate_tree = Crate::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
    let mut problems: Vec<String> = layer_violations(&crate_tree)
        .into_iter()
        .map(|violation| format!("import points up a layer: {violation}"))
        .collect();
    let graph = command_file_graph(&crate_tree);
    if let Some(cycle) = find_cycle(&graph) {
        problems.push(format!(
            "import cycle among command files (break it with a lower file both use): {}",
            cycle.join(" -> ")
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn use_trees_expand_to_one_path_per_name() {
    let paths = use_paths(" super::{args::{err, is}, zsets::{self, pop as take}, *}");
    let written: Vec<String> = paths
        .iter()
        .map(|(name, path)| format!("{name}={}", path.join("::")))
        .collect();
    assert_eq!(
        written,
        [
            "err=super::args::err",
            "is=super::args::is",
            "zsets=super::zsets",
            "take=super::zsets::pop",
            "*=super"
        ]
    );
}

#[test]
fn comments_and_literals_are_not_read_as_code() {
    let text = "let a = \"crate::server\"; // crate::server\n/* crate::server */ \
                let b = r#\"crate::server\"#; let c = '\"'; crate::sync::lock(&m);";
    let blanked = blank(text);
    assert_eq!(blanked.matches("crate::").count(), 1, "{blanked}");
    assert!(blanked.contains("crate::sync::lock"));
}

/// `from -> module` for every import of a top-level module that `from`'s
/// module may not use, and every forbidden external crate it names.
fn layer_violations(crate_tree: &Crate) -> BTreeSet<String> {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let forbidden: BTreeMap<&str, &[&str]> = FORBIDDEN_CRATES.iter().copied().collect();
    let mut found = BTreeSet::new();
    for file in &crate_tree.files {
        let Some(top) = file.module.first() else {
            continue; // lib.rs, the root, declares the modules
        };
        let may_use = allowed
            .get(top.as_str())
            .unwrap_or_else(|| panic!("module `{top}` has no row in LAYERS"));
        for reference in &file.references {
            match crate_tree.resolve(&reference.module, &reference.path) {
                Target::Module(target) => {
                    if let Some(target_top) = target.first() {
                        if target_top != top && !may_use.contains(&target_top.as_str()) {
                            found.insert(format!("{} -> {target_top}", file.name));
                        }
                    }
                }
                Target::External(name) => {
                    if forbidden
                        .get(top.as_str())
                        .is_some_and(|f| f.contains(&name.as_str()))
                    {
                        found.insert(format!("{} -> {name}", file.name));
                    }
                }
            }
        }
    }
    found
}

/// The files of `src/command/` and, for each, the files it imports from.
/// A module's references to its own children are not edges: a parent
/// declares its children and `command/mod.rs` lists their tables, as
/// `lib.rs` does the modules; what must not loop is a file's imports of
/// its siblings and parents.
fn command_file_graph(crate_tree: &Crate) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in crate_tree
        .files
        .iter()
        .filter(|f| f.name.starts_with("command/"))
    {
        let edges = graph.entry(file.name.clone()).or_default();
        for reference in &file.references {
            let Target::Module(target) = crate_tree.resolve(&reference.module, &reference.path)
            else {
                continue;
            };
            if target.starts_with(&file.module) {
                continue; // itself, or one of its children
            }
            let target_file = crate_tree.file_of(&target);
            if target_file.starts_with("command/") {
                edges.insert(target_file);
            }
        }
    }
    graph
}

/// A cycle of `graph`, as the files in order
/// (the first repeated at the end).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, State>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), State::Open);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(State::Open) => {
                    let start = path.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(State::Done) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_string(), State::Done);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node) {
            if let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

/// The library's module tree as its files describe it.
struct Crate {
    files: Vec<SourceFile>,
    /// Every module (file or inline) → the file it is written in.
    modules: BTreeMap<Vec<String>, String>,
    /// Each module's imports: the name they bring in → the path written.
    imports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
}

struct SourceFile {
    /// Relative to `src/`, with `/`.
    name: String,
    /// The module the file is, `[]` for lib.rs.
    module: Vec<String>,
    references: Vec<Reference>,
}

/// A path written in `module` (the file's, or an inline module's in it).
struct Reference {
    module: Vec<String>,
    path: Vec<String>,
}

enum Target {
    /// The module the path's item lives in.
    Module(Vec<String>),
    /// A path into another crate, by the crate's name.
    External(String),
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut texts = Vec::new();
        collect_rs(src, src, &mut texts);
        // `#[path = "x.rs"] mod name;` gives x.rs the module `parent::name`.
        let mut renamed = BTreeMap::new();
        for (name, text) in &texts {
            let blanked = blank(text);
            for (file, module_name) in path_attributes(text, &blanked) {
                let dir = Path::new(name)
                    .parent()
                    .map_or(String::new(), |d| d.to_string_lossy().into_owned());
                let target = if dir.is_empty() {
                    file
                } else {
                    format!("{dir}/{file}")
                };
                let mut module = module_of(name);
                module.push(module_name);
                renamed.insert(target, module);
            }
        }
        let mut crate_tree = Crate {
            files: Vec::new(),
            modules: BTreeMap::new(),
            imports: BTreeMap::new(),
        };
        for (name, text) in texts {
            if name == "main.rs" {
                continue; // the binary: a crate of its own
            }
            let module = renamed.remove(&name).unwrap_or_else(|| module_of(&name));
            let scanned = scan(&module, &blank(&text));
            for inline in scanned.inline_modules {
                crate_tree.modules.insert(inline, name.clone());
            }
            for (in_module, alias, path) in &scanned.imports {
                crate_tree
                    .imports
                    .entry(in_module.clone())
                    .or_default()
                    .insert(alias.clone(), path.clone());
            }
            crate_tree.modules.insert(module.clone(), name.clone());
            crate_tree.files.push(SourceFile {
                name,
                module,
                references: scanned.references,
            });
        }
        crate_tree
    }

    fn is_module(&self, module: &[String]) -> bool {
        self.modules.contains_key(module)
    }

    fn file_of(&self, module: &[String]) -> String {
        self.modules.get(module).cloned().unwrap_or_default()
    }

    /// The module `path`, written in `from`, points into.
    fn resolve(&self, from: &[String], path: &[String]) -> Target {
        self.resolve_depth(from, path, 0)
    }

    fn resolve_depth(&self, from: &[String], path: &[String], depth: usize) -> Target {
        let (mut base, mut rest): (Vec<String>, &[String]) = match path[0].as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (from.to_vec(), &path[1..]),
            "super" => {
                let supers = path.iter().take_while(|s| *s == "super").count();
                let keep = from.len().saturating_sub(supers);
                (from[..keep].to_vec(), &path[supers..])
            }
            first => {
                let child = [from, &[first.to_string()][..]].concat();
                if !self.is_module(&child) {
                    // A name `from` imported (`use super::zsets;`, then
                    // `zsets::pop`), else another crate's.
                    let imported = self.imports.get(from).and_then(|i| i.get(first));
                    return match imported {
                        Some(imported) if depth < 8 && imported != path => {
                            let mut followed = imported.clone();
                            followed.extend(path[1..].iter().cloned());
                            self.resolve_depth(from, &followed, depth + 1)
                        }
                        _ => Target::External(first.to_string()),
                    };
                }
                (from.to_vec(), path)
            }
        };
        while let Some(next) = rest.first() {
            let child = [&base[..], &[next.clone()][..]].concat();
            if !self.is_module(&child) {
                break;
            }
            base = child;
            rest = &rest[1..];
        }
        // An item of `base`: follow it when `base` imported it from elsewhere.
        if let Some(item) = rest.first() {
            let imported = self.imports.get(&base).and_then(|i| i.get(item));
            if let (Some(imported), true) = (imported, depth < 8) {
                let mut followed = imported.clone();
                followed.extend(rest[1..].iter().cloned());
                return self.resolve_depth(&base, &followed, depth + 1);
            }
        }
        Target::Module(base)
    }
}

fn collect_rs(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_rs(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path
                .strip_prefix(root)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("a source file");
            out.push((name, text));
        }
    }
}

/// The module a file is by its place: `a/b.rs` and `a/b/mod.rs` are `a::b`.
fn module_of(name: &str) -> Vec<String> {
    let stem = name.strip_suffix(".rs").unwrap_or(name);
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// `(file, module name)` of every `#[path = "file"] mod name;`.
fn path_attributes(text: &str, blanked: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = blanked;
    while let Some(at) = rest.find("#[path") {
        let offset = blanked.len() - rest.len() + at;
        // The literal is blanked; read it from the original text.
        let original = &text[offset..];
        let file = original
            .split('"')
            .nth(1)
            .expect("#[path = \"...\"]")
            .to_string();
        let after = &blanked[offset..];
        let declaration = &after[after.find(']').expect("#[path ...]") + 1..];
        let words: Vec<&str> = declaration
            .split(|c: char| !is_ident_char(c))
            .filter(|w| !w.is_empty())
            .collect();
        let name_at = words
            .iter()
            .position(|w| *w == "mod")
            .expect("mod after #[path]")
            + 1;
        out.push((file, words[name_at].to_string()));
        rest = &blanked[offset + 1..];
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `text` with comments and the contents of string and char literals
/// replaced by spaces (newlines kept), so that nothing in them is read as
/// code.
fn blank(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep_layout = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(keep_layout(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            out.push('r');
            i += 1;
            for _ in 0..hashes {
                out.push('#');
                i += 1;
            }
            out.push('"');
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' && (0..hashes).all(|h| chars.get(i + 1 + h) == Some(&'#')) {
                    out.push('"');
                    i += 1;
                    for _ in 0..hashes {
                        out.push('#');
                        i += 1;
                    }
                    break;
                }
                out.push(keep_layout(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let skip = if chars[i] == '\\' { 2 } else { 1 };
                for _ in 0..skip {
                    if let Some(&c) = chars.get(i) {
                        out.push(keep_layout(c));
                    }
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            out.push('\'');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                let skip = if chars[i] == '\\' { 2 } else { 1 };
                out.extend(std::iter::repeat_n(' ', skip));
                i += skip;
            }
            out.push('\'');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_prev_ident(chars: &[char], i: usize) -> bool {
    i > 0 && is_ident_char(chars[i - 1])
}

/// Whether `chars[at]` is the `r` of a raw string (`r"`, `r#"`, `br"`, not
/// a raw identifier `r#x` or the end of a word): its number of `#`s.
fn raw_string_start(chars: &[char], at: usize) -> Option<usize> {
    let starts_word =
        !is_prev_ident(chars, at) || chars[at - 1] == 'b' && !is_prev_ident(chars, at - 1);
    if chars[at] != 'r' || !starts_word {
        return None;
    }
    let hashes = chars[at + 1..].iter().take_while(|c| **c == '#').count();
    (chars.get(at + 1 + hashes) == Some(&'"')).then_some(hashes)
}

struct Scanned {
    inline_modules: Vec<Vec<String>>,
    /// (module, name brought in, path written).
    imports: Vec<(Vec<String>, String, Vec<String>)>,
    references: Vec<Reference>,
}

/// The inline modules, imports and path references of one blanked file
/// whose module is `module`.
fn scan(module: &[String], text: &str) -> Scanned {
    let chars: Vec<char> = text.chars().collect();
    let mut scanned = Scanned {
        inline_modules: Vec::new(),
        imports: Vec::new(),
        references: Vec::new(),
    };
    // The inline modules we are in, with the brace depth each opened at.
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut statement_start = 0;
    let mut i = 0;
    let current = |stack: &[(String, usize)]| -> Vec<String> {
        let mut m = module.to_vec();
        m.extend(stack.iter().map(|(name, _)| name.clone()));
        m
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '{' || c == '}' || c == ';' {
            if c == '{' {
                let before: String = chars[statement_start..i].iter().collect();
                let words: Vec<&str> = before.split_whitespace().collect();
                if words.len() >= 2 && words[words.len() - 2] == "mod" {
                    let name = words[words.len() - 1].to_string();
                    stack.push((name, depth));
                    scanned.inline_modules.push(current(&stack));
                }
                depth += 1;
            } else if c == '}' {
                depth = usize::saturating_sub(depth, 1);
                if stack.last().is_some_and(|(_, at)| *at == depth) {
                    stack.pop();
                }
            }
            statement_start = i + 1;
            i += 1;
            continue;
        }
        if is_ident_char(c) && !is_prev_ident(&chars, i) {
            let word: String = chars[i..]
                .iter()
                .take_while(|c| is_ident_char(**c))
                .collect();
            if word == "use" {
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == ';')
                    .map_or(chars.len(), |p| i + p);
                let tree: String = chars[i + 3..end].iter().collect();
                let in_module = current(&stack);
                for (alias, path) in use_paths(&tree) {
                    scanned.references.push(Reference {
                        module: in_module.clone(),
                        path: path.clone(),
                    });
                    if alias != "*" {
                        scanned.imports.push((in_module.clone(), alias, path));
                    }
                }
                statement_start = end + 1;
                i = end + 1;
                continue;
            }
            let preceded_by_path = i >= 2 && chars[i - 2] == ':' && chars[i - 1] == ':'
                || i >= 1 && chars[i - 1] == '$';
            let (path, end) = read_path(&chars, i);
            if path.len() >= 2 && !preceded_by_path {
                scanned.references.push(Reference {
                    module: current(&stack),
                    path,
                });
            }
            i = end;
            continue;
        }
        i += 1;
    }
    scanned
}

/// The `a::b::c` path starting at `chars[at]` and where it ends.
fn read_path(chars: &[char], at: usize) -> (Vec<String>, usize) {
    let mut path = Vec::new();
    let mut i = at;
    loop {
        let word: String = chars[i..]
            .iter()
            .take_while(|c| is_ident_char(**c))
            .collect();
        if word.is_empty() {
            break;
        }
        i += word.chars().count();
        path.push(word);
        if chars.get(i) == Some(&':')
            && chars.get(i + 1) == Some(&':')
            && chars.get(i + 2).is_some_and(|c| is_ident_char(*c))
        {
            i += 2;
        } else {
            break;
        }
    }
    (path, i)
}

/// The paths a use tree (`a::{b, c::d as e, f::*}`) brings in, each with
/// the name it is known by.
fn use_paths(tree: &str) -> Vec<(String, Vec<String>)> {
    let tokens = use_tokens(tree);
    let mut out = Vec::new();
    let mut at = 0;
    use_tree(&tokens, &mut at, &[], &mut out);
    out
}

fn use_tokens(tree: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = tree.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_ident_char(c) {
            let word: String = chars[i..]
                .iter()
                .take_while(|c| is_ident_char(**c))
                .collect();
            i += word.chars().count();
            tokens.push(word);
        } else if c == ':' {
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
            i += 1;
        }
    }
    tokens
}

fn use_tree(
    tokens: &[String],
    at: &mut usize,
    prefix: &[String],
    out: &mut Vec<(String, Vec<String>)>,
) {
    let mut path = prefix.to_vec();
    while let Some(token) = tokens.get(*at) {
        *at += 1;
        match token.as_str() {
            "{" => {
                loop {
                    use_tree(tokens, at, &path, out);
                    match tokens.get(*at).map(String::as_str) {
                        Some(",") => *at += 1,
                        _ => break,
                    }
                    if tokens.get(*at).map(String::as_str) == Some("}") {
                        break;
                    }
                }
                *at += 1; // the closing brace
                return;
            }
            "*" => {
                out.push(("*".to_string(), path));
                return;
            }
            "as" => {
                let alias = tokens.get(*at).cloned().unwrap_or_default();
                *at += 1;
                out.push((alias, path));
                return;
            }
            "," | "}" => {
                *at -= 1;
                break;
            }
            "self" if !path.is_empty() => {}
            word => path.push(word.to_string()),
        }
    }
    if let Some(last) = path.last() {
        out.push((last.clone(), path));
    }
}
