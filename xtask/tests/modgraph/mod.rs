//! A crate's module import graph, read from its sources with a small lexer (no
//! dependencies): each file is a module (`a.rs` and `a/mod.rs` are `a`, `a/b.rs` is
//! `a::b`); an edge a -> b means module a's code uses something that b defines, through
//! `use` (not `pub use`: a re-export is a facade, not a dependency) or through a path
//! (`crate::b::f()`, `super::X`, `child::Y`). Names are resolved through re-exports, so
//! `crate::Var` counts as an import of the module that defines `Var`.

mod cycles;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub use cycles::cycles;

/// One source file.
#[derive(Debug, Default)]
struct Module {
    /// Child modules (`mod x;`).
    children: BTreeSet<String>,
    /// Names brought in by `use` (public or not): name -> absolute path.
    imports: BTreeMap<String, Vec<String>>,
    /// Glob imports (`use x::*`), absolute.
    globs: Vec<Vec<String>>,
    /// Items defined here (fn, struct, enum, trait, type, const, static, macro).
    items: BTreeSet<String>,
    /// Absolute paths this module's own code uses.
    uses: Vec<Vec<String>>,
}

/// The modules of a crate and the imports between them.
#[derive(Debug)]
pub struct ModuleGraph {
    modules: BTreeMap<String, Module>,
    edges: BTreeMap<String, BTreeSet<String>>,
    unresolved: Vec<String>,
}

fn join(path: &[String]) -> String {
    path.join("::")
}

fn split(name: &str) -> Vec<String> {
    if name.is_empty() {
        Vec::new()
    } else {
        name.split("::").map(String::from).collect()
    }
}

/// Source text without comments, string and char literals (replaced by spaces).
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r'
            && (c.get(i + 1) == Some(&'"') || c.get(i + 1) == Some(&'#'))
            && (i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_'))
        {
            // raw string r"..." or r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (1..=hashes).all(|h| c.get(j + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{..}'), or a lifetime ('a) left as it is.
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c[i]);
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Punct(char),
    Path,
}

fn tokens(code: &str) -> Vec<Tok> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i].is_alphabetic() || c[i] == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[s..i].iter().collect()));
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::Path);
            i += 2;
        } else if c[i].is_whitespace() {
            i += 1;
        } else {
            out.push(Tok::Punct(c[i]));
            i += 1;
        }
    }
    out
}

/// Expands a use tree (tokens after `use`, up to `;`) into (path, alias) pairs; a glob
/// ends its path with "*".
fn use_paths(toks: &[Tok], prefix: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    let mut path = prefix;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(s) if s == "as" => {
                if let Some(Tok::Ident(alias)) = toks.get(i + 1) {
                    let name = alias.clone();
                    out.push((path.clone(), name));
                    return;
                }
                i += 1;
            }
            Tok::Ident(s) => {
                path.push(s.clone());
                i += 1;
            }
            Tok::Path => i += 1,
            Tok::Punct('*') => {
                path.push("*".into());
                out.push((path, "*".into()));
                return;
            }
            Tok::Punct('{') => {
                // split the group at top-level commas
                let mut depth = 0;
                let mut start = i + 1;
                for j in i + 1..toks.len() {
                    match toks[j] {
                        Tok::Punct('{') => depth += 1,
                        Tok::Punct('}') if depth == 0 => {
                            if start < j {
                                use_paths(&toks[start..j], path.clone(), out);
                            }
                            return;
                        }
                        Tok::Punct('}') => depth -= 1,
                        Tok::Punct(',') if depth == 0 => {
                            if start < j {
                                use_paths(&toks[start..j], path.clone(), out);
                            }
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            _ => i += 1,
        }
    }
    if let Some(last) = path.last().cloned() {
        if last == "self" {
            path.pop();
            let name = path.last().cloned().unwrap_or_default();
            out.push((path, name));
        } else {
            out.push((path, last));
        }
    }
}

impl Module {
    /// Makes a path relative to module `me` absolute (None: another crate's).
    fn absolute(&self, me: &[String], path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?;
        let mut base: Vec<String> = me.to_vec();
        let rest = match first.as_str() {
            "crate" => {
                base.clear();
                &path[1..]
            }
            "self" => &path[1..],
            "super" => {
                let mut k = 0;
                while path.get(k).is_some_and(|s| s == "super") {
                    base.pop();
                    k += 1;
                }
                &path[k..]
            }
            c if self.children.contains(c) => path,
            _ => return None,
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }
}

const ITEM_KEYWORDS: &[&str] = &[
    "fn", "struct", "enum", "trait", "type", "const", "static", "union",
];

/// The module each token is in: the file's, or an inline `mod name { .. }` in it.
fn inline_modules(me: &[String], toks: &[Tok]) -> Vec<Vec<String>> {
    let mut out = Vec::with_capacity(toks.len());
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        if *t == Tok::Punct('{') {
            depth += 1;
            if i >= 2 && toks[i - 2] == Tok::Ident("mod".into()) {
                if let Tok::Ident(name) = &toks[i - 1] {
                    stack.push((name.clone(), depth));
                }
            }
        }
        let mut ctx = me.to_vec();
        ctx.extend(stack.iter().map(|(n, _)| n.clone()));
        out.push(ctx);
        if *t == Tok::Punct('}') {
            if stack.last().is_some_and(|(_, d)| *d == depth) {
                stack.pop();
            }
            depth = depth.saturating_sub(1);
        }
    }
    out
}

fn parse(me: &[String], src: &str) -> Module {
    let toks = tokens(&strip(src));
    let ctx = inline_modules(me, &toks);
    let mut m = Module::default();
    // Children first: paths may start with them.
    for w in toks.windows(3) {
        if let [Tok::Ident(k), Tok::Ident(name), Tok::Punct(';')] = w {
            if k == "mod" {
                m.children.insert(name.clone());
            }
        }
    }
    let mut in_use = vec![false; toks.len()];
    let mut i = 0;
    while i < toks.len() {
        if toks[i] == Tok::Ident("use".into()) {
            let public = i > 0
                && (toks[i - 1] == Tok::Ident("pub".into()) || toks[i - 1] == Tok::Punct(')'));
            let end = (i..toks.len())
                .find(|&j| toks[j] == Tok::Punct(';'))
                .unwrap_or(toks.len());
            let mut paths = Vec::new();
            use_paths(&toks[i + 1..end], Vec::new(), &mut paths);
            for (path, alias) in paths {
                let Some(abs) = m.absolute(&ctx[i], &path) else {
                    continue;
                };
                if alias == "*" {
                    m.globs.push(abs[..abs.len() - 1].to_vec());
                    if !public {
                        m.uses.push(abs[..abs.len() - 1].to_vec());
                    }
                } else {
                    m.imports.insert(alias, abs.clone());
                    if !public {
                        m.uses.push(abs);
                    }
                }
            }
            in_use[i..end.min(toks.len())]
                .iter_mut()
                .for_each(|b| *b = true);
            i = end;
            continue;
        }
        // A local macro that defines an item names it first: `family!(MATMUL, ..)`.
        if matches!(toks[i], Tok::Ident(_))
            && toks.get(i + 1) == Some(&Tok::Punct('!'))
            && matches!(toks.get(i + 2), Some(Tok::Punct('(' | '{')))
        {
            if let Some(Tok::Ident(n)) = toks.get(i + 3) {
                m.items.insert(n.clone());
            }
        }
        if let (Tok::Ident(k), Some(Tok::Ident(name))) = (&toks[i], toks.get(i + 1)) {
            if ITEM_KEYWORDS.contains(&k.as_str()) {
                m.items.insert(name.clone());
            }
            if k == "macro_rules" {
                if let Some(Tok::Ident(n)) = toks.get(i + 2) {
                    m.items.insert(n.clone());
                }
            }
        }
        i += 1;
    }
    // Paths in code: `crate::..`, `super::..`, `self::..`, `child::..` not after `::`.
    let mut i = 0;
    while i < toks.len() {
        let starts = match &toks[i] {
            Tok::Ident(s) => {
                (s == "crate" || s == "super" || s == "self" || m.children.contains(s))
                    && toks.get(i + 1) == Some(&Tok::Path)
                    && (i == 0 || toks[i - 1] != Tok::Path)
                    && !in_use[i]
            }
            _ => false,
        };
        if !starts {
            i += 1;
            continue;
        }
        let at = i;
        let mut path = Vec::new();
        while let Some(Tok::Ident(s)) = toks.get(i) {
            path.push(s.clone());
            if toks.get(i + 1) == Some(&Tok::Path) {
                i += 2;
            } else {
                i += 1;
                break;
            }
        }
        if let Some(abs) = m.absolute(&ctx[at], &path) {
            m.uses.push(abs);
        }
    }
    m
}

impl ModuleGraph {
    /// Reads every `.rs` file under `src` (a crate's source folder; `main.rs` and `bin/`
    /// are other crates and left out).
    pub fn of_crate(src: &Path) -> ModuleGraph {
        let mut files = Vec::new();
        collect(src, src, &mut files);
        let modules: BTreeMap<String, Module> = files
            .into_iter()
            .map(|(name, text)| {
                let m = parse(&split(&name), &text);
                (name, m)
            })
            .collect();
        let mut g = ModuleGraph {
            modules,
            edges: BTreeMap::new(),
            unresolved: Vec::new(),
        };
        let names: Vec<String> = g.modules.keys().cloned().collect();
        for name in names {
            let uses = g.modules[&name].uses.clone();
            for u in uses {
                match g.resolve(&u, 0) {
                    Some(target) => {
                        if target != name {
                            g.edges.entry(name.clone()).or_default().insert(target);
                        }
                    }
                    None => g.unresolved.push(format!("{} in {name}", join(&u))),
                }
            }
        }
        g
    }

    /// Module names, and the modules each imports.
    pub(crate) fn parts(&self) -> (Vec<&String>, &BTreeMap<String, BTreeSet<String>>) {
        (self.modules.keys().collect(), &self.edges)
    }

    /// Number of modules read.
    pub fn modules(&self) -> usize {
        self.modules.len()
    }

    /// The modules `from` imports.
    pub fn imports(&self, from: &str) -> Vec<String> {
        self.edges
            .get(from)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Paths that name nothing this reader could find.
    pub fn unresolved(&self) -> &[String] {
        &self.unresolved
    }

    /// The module that defines what `path` (absolute) names.
    fn resolve(&self, path: &[String], depth: usize) -> Option<String> {
        if depth > 16 {
            return None;
        }
        let mut module: Vec<String> = Vec::new();
        for (k, seg) in path.iter().enumerate() {
            let here = self.modules.get(&join(&module))?;
            if here.children.contains(seg) {
                module.push(seg.clone());
                continue;
            }
            if here.items.contains(seg) {
                return Some(join(&module));
            }
            if let Some(target) = here.imports.get(seg) {
                let mut p = target.clone();
                p.extend(path[k + 1..].iter().cloned());
                return self.resolve(&p, depth + 1);
            }
            for glob in &here.globs {
                let mut p = glob.clone();
                p.extend(path[k..].iter().cloned());
                if let Some(t) = self.resolve(&p, depth + 1) {
                    return Some(t);
                }
            }
            // Enum variants, associated items and fields of a type defined here.
            return (k > 0 && module.len() < k).then(|| join(&module));
        }
        Some(join(&module))
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap();
        if p.is_dir() {
            if rel != Path::new("bin") {
                collect(root, &p, out);
            }
            continue;
        }
        if p.extension().is_none_or(|x| x != "rs") || rel == Path::new("main.rs") {
            continue;
        }
        let mut parts: Vec<String> = rel
            .with_extension("")
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
            parts.pop();
        }
        out.push((parts.join("::"), std::fs::read_to_string(&p).unwrap()));
    }
}
