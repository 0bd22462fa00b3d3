#!/usr/bin/env python3
"""Import cycles between the modules of each crate: none allowed.

Cargo already refuses a cycle between the workspace's crates; this finds them inside a crate.
A module may use its own submodules and its ancestors (that is nesting, not a cycle). Between
sibling modules (children of one parent) every reference is an arrow, taken from `crate::…`,
`super::…` and `self::…` paths anywhere in a file's code outside `#[cfg(test)]` modules; the
arrows of each family of siblings must not form a circle.

    python3 scripts/module-cycles.py            # every crate of the workspace
    python3 scripts/module-cycles.py --self-test

Exit status 1 and the circles (with the references that make them) if there is one.
"""

import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["crates/model", "crates/platform", "crates/server", "crates/clients", "crates/core", "crates/cli", "src-tauri", "mobile"]
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts in (["lib"], ["main"]):
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def code_of(text: str) -> str:
    """The text without comments, strings and `#[cfg(test)]` modules."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def references(module: tuple, code: str, modules: set) -> set:
    """Modules this module's code names, as absolute module paths."""
    found = set()
    # `use` trees: expand `a::{b, c::d}` one level deep enough for module names.
    paths = []
    for m in re.finditer(rf"\b(crate|super|self)((?:::{IDENT})+|::\{{)", code):
        start = m.start()
        rest = code[start:]
        brace = re.match(rf"((?:crate|super|self)(?:::(?:super|{IDENT}))*)::\{{([^;]*?)\}}", rest, re.S)
        if brace:
            for inner in re.split(r",", brace.group(2)):
                inner = inner.strip().split(" as ")[0].strip()
                if inner:
                    paths.append(brace.group(1) + "::" + inner.replace("{", "").replace("}", ""))
        else:
            paths.append(re.match(rf"(?:crate|super|self)(?:::{IDENT})*", rest).group(0))
    for path in paths:
        parts = [p for p in path.replace(" ", "").split("::") if p]
        if parts[0] == "crate":
            base, parts = [], parts[1:]
        else:
            base = list(module)
            while parts and parts[0] in ("self", "super"):
                if parts.pop(0) == "super":
                    base = base[:-1]
        full = base + parts
        # The longest prefix that is a module of this crate.
        for n in range(len(full), -1, -1):
            if tuple(full[:n]) in modules:
                found.add(tuple(full[:n]))
                break
    return found


def cycles_of(src: Path) -> list:
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(src, f): f for f in files}
    arrows = {}  # (parent, a, b) -> [file of a reference]
    for module, file in modules.items():
        for target in references(module, code_of(file.read_text(encoding="utf-8")), set(modules)):
            common = 0
            while common < min(len(module), len(target)) and module[common] == target[common]:
                common += 1
            if common in (len(module), len(target)):
                continue  # an ancestor or a descendant: nesting, not a sibling
            parent = module[:common]
            a, b = module[common], target[common]
            arrows.setdefault((parent, a, b), []).append(str(file.relative_to(ROOT)))
    found = []
    families = {}
    for (parent, a, b), files in arrows.items():
        families.setdefault(parent, {}).setdefault(a, set()).add(b)
    for parent, graph in families.items():
        for cycle in strongly_connected(graph):
            if len(cycle) > 1:
                where = "::".join(parent) or "crate root"
                ties = [f"{a} -> {b} ({', '.join(sorted(set(arrows[(parent, a, b)])))})"
                        for a in cycle for b in graph.get(a, ()) if b in cycle]
                found.append(f"{src.parent.relative_to(ROOT)}: {where}: {' <-> '.join(sorted(cycle))}\n    " + "\n    ".join(ties))
    return found


def strongly_connected(graph: dict) -> list:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    nodes = set(graph) | {b for bs in graph.values() for b in bs}

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(component)

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def self_test() -> None:
    """The check must see a circle where there is one, and none in nesting."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "crate" / "src"
        (src / "a").mkdir(parents=True)
        (src / "lib.rs").write_text("mod a; mod b;\n")
        (src / "a" / "mod.rs").write_text("mod inner; use crate::b::B; pub struct A; use inner::I;\n")
        (src / "a" / "inner.rs").write_text("use super::A; pub struct I;\n")
        (src / "b.rs").write_text("use crate::{a::A, c}; pub struct B;\n#[cfg(test)]\nmod tests { use crate::a::A; }\n")
        global ROOT
        saved, ROOT = ROOT, Path(d)
        try:
            found = cycles_of(src)
            assert len(found) == 1 and "a <-> b" in found[0], found
            (src / "b.rs").write_text("pub struct B;\n#[cfg(test)]\nmod tests { use crate::a::A; }\n")
            assert cycles_of(src) == [], "a test module's use is not an arrow; nesting is not a circle"
        finally:
            ROOT = saved


def main() -> int:
    self_test()
    if "--self-test" in sys.argv:
        print("module-cycles: self-test passed")
        return 0
    found = []
    for crate in CRATES:
        found += cycles_of(ROOT / crate / "src")
    if found:
        print("import cycles between modules:\n" + "\n".join(found))
        return 1
    print(f"module-cycles: no import cycle between the modules of {len(CRATES)} crates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
