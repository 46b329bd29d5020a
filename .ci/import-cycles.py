#!/usr/bin/env python3
"""Finds import cycles between the Rust source files of the workspace.

Usage: python3 .ci/import-cycles.py [ROOT] [--verbose]
       python3 .ci/import-cycles.py --self-test

Reads every `.rs` file of each crate under `crates/*/src` and `src/` (each
crate root: `lib.rs`, `main.rs`, `bin/*.rs`), builds the module tree from the
`mod name;` declarations (and inline `mod name { ... }` blocks), and draws an
edge from file A to file B when A names an item of B through a crate-local
path:

* `use crate::...`, `use super::...`, `use self::...` (groups, globs and
  `as` renames included), and a `use` whose first segment is a child module;
* the same paths written in code (`crate::a::f()`, `super::Ctx`), outside
  comments and string literals (so rustdoc links are not imports).

A path is followed to the file that *defines* the item: a name that a module
binds with a `use` (public or private, for a child can name its parent's
private imports) is followed to its target, so a re-export in `lib.rs` or a
full path does not hide a dependency: `use crate::HttpClient` in `auth.rs`
counts as an edge to `client.rs` when `lib.rs` says
`pub use crate::client::HttpClient`. A `#[macro_export]` macro named as
`crate::name!` is followed to the file that defines it. Paths into other
crates are ignored (cargo forbids cycles between crates).

Parents and children. Declaring `mod child;` is not an import. A child that
uses its parent's (or any ancestor's) items is normal Rust: the parent is the
shared context of its children (`super::Ctx`, `crate::errln!`). The rule: an
edge from a file to the file of one of its ancestor modules is allowed and
is left out of the cycle search. Every other edge counts (siblings, cousins,
and a parent using a child), and the checker fails on any cycle among them:
two sibling files using each other, or a parent that uses a child that
(through any other non-ancestor files) leads back to the parent's subtree's
file. Parent/child pairs that use each other directly are listed with
`--verbose` as allowed.

Unit-test modules (an inline `mod` under `#[cfg(test)]`) are not read:
they test a file, they are not part of its structure.

Known cycles. `KNOWN_CYCLES` below lists the cycles that were there when
this check was added and that are still to be broken (each with the cheap
fix). A known cycle is printed as a warning; a cycle not in the list fails,
and so does a listed one that is gone (remove it from the list), so the list
only shrinks.

Exit status: 0 without a new cycle, 1 with one (each cycle is printed as the
files of one strongly connected component), 2 on a usage error.
`--self-test` builds a tiny fixture tree in a temporary directory with known
cycles (a direct one, one hidden behind a crate-root re-export, one through
a code path) and an allowed parent/child pair, and checks that exactly the
expected cycles are found.
"""

import os
import re
import sys
import tempfile

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip(text):
    """Blanks comments, string and char literals, keeping line structure."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not re.match(r"\w", text[i - 1])):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            m = re.match(r"'(\\(u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'", text[i:])
            if m:
                i += m.end()
                out.append("' '")
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Module:
    def __init__(self, name, file, parent, inline):
        self.name = name
        self.file = file
        self.parent = parent
        self.inline = inline
        self.children = {}
        self.bindings = {}  # name -> absolute path (tuple) of what it names
        self.globs = []  # absolute module paths glob-imported
        self.paths = []  # (absolute path tuple) used in this module

    def path(self):
        out, m = [], self
        while m.parent is not None:
            out.append(m.name)
            m = m.parent
        return tuple(reversed(out))


def parse_use_tree(s):
    """Expands `a::{b, c::d as e, *}` into [(segments, alias)]."""
    s = re.sub(r"\s+", "", s)
    pos = 0

    def tree(prefix):
        nonlocal pos
        out = []
        segs = list(prefix)
        while pos < len(s):
            if s[pos] == "{":
                pos += 1
                while pos < len(s) and s[pos] != "}":
                    out.extend(tree(segs))
                    if pos < len(s) and s[pos] == ",":
                        pos += 1
                pos += 1
                return out
            if s[pos] == "*":
                pos += 1
                out.append((segs + ["*"], None))
                return out
            m = re.match(r"(::)?(\$?" + IDENT + ")", s[pos:])
            if not m:
                return out
            pos += m.end()
            segs.append(m.group(2))
            if s.startswith("::", pos):
                pos += 2
                continue
            alias = None
            m = re.match(r"as(" + IDENT + ")", s[pos:])
            if s.startswith("as", pos) and m:
                alias = m.group(1)
                pos += m.end()
            out.append((segs, alias))
            return out
        return out

    return tree([])


USE_RE = re.compile(r"\buse\s+([^;]+);")
MOD_RE = re.compile(r"\bmod\s+(" + IDENT + r")\s*([;{])")
CFG_TEST_RE = re.compile(r"#\[cfg\(test\)\](?:\s*#\[[^\]]*\])*\s*(?:pub(?:\([^)]*\))?)?$")
BARE_RE = re.compile(r"(?<![\w$:])(" + IDENT + r")((?:\s*::\s*" + IDENT + r")+)(\s*!)?")
PATH_RE = re.compile(r"(?<![\w$])((?:crate|super|self)(?:\s*::\s*" + IDENT + r")+)(\s*!)?")
MACRO_RE = re.compile(r"#\[macro_export\][^\n]*\n\s*macro_rules!\s*(" + IDENT + ")")


class Crate:
    def __init__(self, root_file):
        self.root = Module(None, root_file, None, False)
        self.files = {}  # file -> Module (the file's own module)
        self.macros = {}  # exported macro name -> file
        self.load(self.root, root_file, is_root=True)

    def load(self, module, file, is_root=False):
        self.files[file] = module
        with open(file, encoding="utf-8") as f:
            text = strip(f.read())
        for m in MACRO_RE.finditer(text):
            self.macros[m.group(1)] = file
        base = os.path.basename(file)
        if is_root or base in ("mod.rs", "lib.rs", "main.rs"):
            directory = os.path.dirname(file)
        else:
            directory = os.path.join(os.path.dirname(file), base[:-3])
        self.scan(module, text, directory)

    def scan(self, module, text, directory):
        """Reads one file's text into `module`, recursing into inline modules."""
        # Cut inline `mod x { ... }` blocks out first; scan each as its own module.
        rest, pos = [], 0
        for m in MOD_RE.finditer(text):
            if m.start() < pos:
                continue
            name = m.group(1)
            if m.group(2) == ";":
                child_file = None
                for cand in (os.path.join(directory, name + ".rs"), os.path.join(directory, name, "mod.rs")):
                    if os.path.exists(cand):
                        child_file = cand
                        break
                if child_file:
                    child = Module(name, child_file, module, False)
                    module.children[name] = child
                    self.load(child, child_file)
                continue
            depth, j = 1, m.end()
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            rest.append(text[pos:m.start()])
            pos = j
            if CFG_TEST_RE.search(text[max(0, m.start() - 200):m.start()].rstrip()):
                continue  # a unit-test module: not part of the file's structure
            child = Module(name, module.file, module, True)
            module.children[name] = child
            self.scan(child, text[m.end():j - 1], os.path.join(directory, name))
        rest.append(text[pos:])
        own = "".join(rest)
        for m in USE_RE.finditer(own):
            for segs, alias in parse_use_tree(m.group(1)):
                if segs and segs[-1] == "self":
                    segs = segs[:-1]
                if not segs:
                    continue
                absolute = self.absolute(module, segs)
                if absolute is None:
                    continue
                if absolute[-1] == "*":
                    module.globs.append(absolute[:-1])
                    module.paths.append(absolute[:-1])
                else:
                    module.bindings[alias or absolute[-1]] = absolute
                    module.paths.append(absolute)
        code = USE_RE.sub(" ", own)
        for m in PATH_RE.finditer(code):
            segs = [s.strip() for s in m.group(1).split("::")]
            absolute = self.absolute(module, segs)
            if absolute is not None:
                module.paths.append(absolute + (("!",) if m.group(2) else ()))
        # Code paths that start with a child module's name or a name this
        # module binds with a `use` (`stop::run(..)`, `listing::fnv1a(..)`).
        for m in BARE_RE.finditer(code):
            first = m.group(1)
            rest = [s.strip() for s in m.group(2).split("::")[1:]]
            if first in module.children:
                absolute = module.path() + (first,) + tuple(rest)
            elif first in module.bindings:
                absolute = module.bindings[first] + tuple(rest)
            else:
                continue
            module.paths.append(absolute + (("!",) if m.group(3) else ()))

    def absolute(self, module, segs):
        """Turns a path as written in `module` into one from the crate root;
        None for a path into another crate."""
        cur = list(module.path())
        first = segs[0]
        if first == "crate":
            return tuple(segs[1:])
        if first in ("self", "super"):
            i = 0
            while i < len(segs) and segs[i] in ("self", "super"):
                if segs[i] == "super":
                    if not cur:
                        return None
                    cur.pop()
                i += 1
            return tuple(cur + segs[i:])
        # A `use` starting with a name: a child module of this one (or an
        # item of it, in 2018 paths); anything else is another crate.
        if first in module.children:
            return tuple(cur + segs)
        return None

    def module_at(self, path):
        m = self.root
        for seg in path:
            if seg not in m.children:
                return None
            m = m.children[seg]
        return m

    def resolve(self, path, seen=None):
        """The file defining the item at absolute `path` (a module path gives
        the module's file)."""
        seen = seen or set()
        if path in seen:
            return None
        seen.add(path)
        macro = bool(path) and path[-1] == "!"
        if macro:
            path = path[:-1]
        m = self.root
        for i, seg in enumerate(path):
            if seg in m.children:
                m = m.children[seg]
                continue
            if macro and i == len(path) - 1 and not m.parent and seg in self.macros:
                return self.macros[seg]
            if seg in m.bindings:
                target = m.bindings[seg] + path[i + 1:] + (("!",) if macro else ())
                found = self.resolve(target, seen)
                return found if found is not None else m.file
            for g in m.globs:
                gm = self.module_at(g)
                if gm is not None and (seg in gm.children or seg in gm.bindings):
                    found = self.resolve(g + path[i:], seen)
                    if found is not None:
                        return found
            return m.file
        return m.file

    def edges(self):
        """(from_file, to_file) pairs, ancestor flag included."""
        out = set()
        for module in self.all_modules():
            for p in module.paths:
                target = self.resolve(p)
                if target is None or target == module.file:
                    continue
                out.add((module.file, target))
        return out

    def all_modules(self):
        stack = [self.root]
        while stack:
            m = stack.pop()
            yield m
            stack.extend(m.children.values())

    def ancestor_files(self, file):
        m = self.files[file].parent
        out = set()
        while m is not None:
            out.add(m.file)
            m = m.parent
        return out


def crate_roots(root):
    roots = []
    srcs = [os.path.join(root, "src")]
    crates = os.path.join(root, "crates")
    if os.path.isdir(crates):
        srcs += [os.path.join(crates, c, "src") for c in sorted(os.listdir(crates))]
    for src in srcs:
        for name in ("lib.rs", "main.rs"):
            if os.path.isfile(os.path.join(src, name)):
                roots.append(os.path.join(src, name))
        bin_dir = os.path.join(src, "bin")
        if os.path.isdir(bin_dir):
            for name in sorted(os.listdir(bin_dir)):
                p = os.path.join(bin_dir, name)
                if name.endswith(".rs"):
                    roots.append(p)
                elif os.path.isfile(os.path.join(p, "main.rs")):
                    roots.append(os.path.join(p, "main.rs"))
    return roots


def sccs(nodes, graph):
    """Tarjan's strongly connected components, iteratively."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def check(root):
    """Returns (cycles, allowed parent/child pairs), files relative to root."""
    cycles, allowed = [], []
    rel = lambda p: os.path.relpath(p, root)
    seen_files = set()
    for crate_root in crate_roots(root):
        crate = Crate(crate_root)
        graph = {}
        edges = crate.edges()
        for a, b in edges:
            if b in crate.ancestor_files(a):
                if (b, a) in edges:
                    allowed.append((rel(b), rel(a)))
                continue
            graph.setdefault(a, set()).add(b)
        for comp in sccs(set(crate.files), graph):
            key = tuple(comp)
            if len(comp) > 1 and key not in seen_files:
                seen_files.add(key)
                cycles.append([rel(f) for f in comp])
    return sorted(cycles), sorted(set(allowed))


# Cycles to break, as sorted file lists relative to the workspace root.
KNOWN_CYCLES: set = set()

FIXTURE = {
    "src/lib.rs": """
        //! A crate root. `crate::b::B` in a comment is no import.
        mod a;
        mod b;
        mod c;
        mod d;
        mod e;
        mod f;
        mod hub;
        pub use crate::d::Thing;
        #[macro_export]
        macro_rules! say { () => {} }
        const S: &str = "crate::e::E";
    """,
    # a <-> b: a direct cycle through `use` statements.
    "src/a.rs": "use crate::b::{self, B as Bee};\npub struct A;\n",
    "src/b.rs": "use super::a::A;\npub struct B;\n",
    # c <-> d: hidden behind the crate root's re-export of d::Thing.
    "src/c.rs": "use crate::Thing;\npub fn c() {}\n",
    "src/d.rs": "pub struct Thing;\npub fn d() { super::c::c(); }\n",
    # e -> f only; f names e only in a string, a doc comment and its unit
    # tests, and uses the crate root's macro (an ancestor: allowed).
    "src/e.rs": "pub struct E;\npub fn e() { crate::f::f(); }\n",
    "src/f.rs": "/// See [`crate::e::E`].\npub fn f() { let _ = \"crate::e::E\"; crate::say!(); }\n"
    "#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::e::E;\n    #[test]\n    fn t() { f(); let _ = E; }\n}\n",
    # hub <-> hub/child: a parent and its child using each other (allowed);
    # hub/x <-> hub/y: siblings in a cycle through a code path.
    "src/hub/mod.rs": "mod child;\nmod x;\nmod y;\npub struct Ctx;\npub fn go() { child::run(); }\n",
    "src/hub/child.rs": "use super::Ctx;\npub fn run() { let _ = Ctx; }\n",
    "src/hub/x.rs": "pub fn x() { super::y::y(); }\n",
    "src/hub/y.rs": "use super::x;\npub fn y() { x::x(); }\n",
}

EXPECTED_CYCLES = [
    ["src/a.rs", "src/b.rs"],
    ["src/c.rs", "src/d.rs"],
    ["src/hub/x.rs", "src/hub/y.rs"],
]
EXPECTED_ALLOWED = [("src/hub/mod.rs", "src/hub/child.rs")]


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        for path, text in FIXTURE.items():
            full = os.path.join(tmp, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(text)
        cycles, allowed = check(tmp)
        ok = cycles == EXPECTED_CYCLES and allowed == EXPECTED_ALLOWED
        # Removing the cycles' back edges leaves a clean tree.
        for path, text in (("src/b.rs", "pub struct B;\n"), ("src/d.rs", "pub struct Thing;\n"),
                           ("src/hub/y.rs", "pub fn y() {}\n")):
            with open(os.path.join(tmp, path), "w", encoding="utf-8") as f:
                f.write(text)
        clean, _ = check(tmp)
        ok = ok and clean == []
    if not ok:
        print("import-cycles self-test FAILED", file=sys.stderr)
        print(f"  cycles:  {cycles}\n  expected {EXPECTED_CYCLES}", file=sys.stderr)
        print(f"  allowed: {allowed}\n  expected {EXPECTED_ALLOWED}", file=sys.stderr)
        print(f"  after removing the cycles: {clean}", file=sys.stderr)
        return 1
    print(f"import-cycles self-test: found the {len(EXPECTED_CYCLES)} fixture cycles, "
          "allowed the parent/child pair, and a clean tree passes")
    return 0


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    if flags - {"--self-test", "--verbose"} or len(args) > 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if "--self-test" in flags:
        return self_test()
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    root = os.path.abspath(root)
    cycles, allowed = check(root)
    if "--verbose" in flags:
        for parent, child in allowed:
            print(f"allowed (parent/child): {parent} <-> {child}")
    found = {tuple(c) for c in cycles}
    new = sorted(found - KNOWN_CYCLES)
    gone = sorted(KNOWN_CYCLES - found)
    for comp in sorted(found & KNOWN_CYCLES):
        print("warning: known import cycle, still to break: " + ", ".join(comp), file=sys.stderr)
    for comp in new:
        print("import cycle between: " + ", ".join(comp), file=sys.stderr)
    for comp in gone:
        print("no longer a cycle, remove it from KNOWN_CYCLES: " + ", ".join(comp), file=sys.stderr)
    if new or gone:
        return 1
    print(f"no new import cycles between files ({len(found)} known, "
          f"{len(allowed)} parent/child pair(s) allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
