#!/usr/bin/env python3
"""Fails when a crate's top-level modules depend on each other in a cycle.

usage: scripts/check_module_cycles.py SRC_DIR...   (e.g. trainer/src runtime/src)
       scripts/check_module_cycles.py --self-test

A top-level module is a file `SRC/<m>.rs` or a directory `SRC/<m>/` next to `lib.rs`. Module `a`
depends on `b` when code in a file of `a` names `crate::b` (a `use` or a path; comments, doc links
included, are left out: a module's documentation may point at the modules that use it). The
layering a maintainer reads in `lib.rs` holds only without cycles: a cycle means two modules
cannot be understood, tested or moved one without the other.
"""

import re
import sys
import tempfile
from pathlib import Path

CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


def code(path: Path) -> str:
    """The file's text without its comment lines."""
    return COMMENT.sub("", path.read_text(encoding="utf-8"))


def top_modules(src: Path) -> dict:
    """Top-level module name -> the files that make it up."""
    modules = {}
    for entry in sorted(src.iterdir()):
        if entry.is_dir():
            modules.setdefault(entry.name, []).extend(sorted(entry.rglob("*.rs")))
        elif entry.suffix == ".rs" and entry.stem not in ("lib", "main"):
            modules.setdefault(entry.stem, []).append(entry)
    return modules


def dependencies(modules: dict) -> dict:
    deps = {}
    for name, files in modules.items():
        named = set()
        for f in files:
            named.update(CRATE_PATH.findall(code(f)))
        deps[name] = sorted(m for m in named if m in modules and m != name)
    return deps


def find_cycle(deps: dict):
    """One dependency cycle as a list of modules (first == last), or None."""
    state = {}  # absent: not visited; 1: on the current path; 2: done
    path = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for d in deps[m]:
            if state.get(d) == 1:
                return path[path.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(deps):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def check(src: Path) -> bool:
    if not (src / "lib.rs").is_file():
        print(f"{src}: no lib.rs: not a crate's source directory", file=sys.stderr)
        return False
    deps = dependencies(top_modules(src))
    cycle = find_cycle(deps)
    if cycle:
        print(f"{src}: module cycle: {' -> '.join(cycle)}", file=sys.stderr)
        for a, b in zip(cycle, cycle[1:]):
            users = [
                str(f.relative_to(src))
                for f in top_modules(src)[a]
                if re.search(rf"\bcrate::{b}\b", code(f))
            ]
            print(f"  {a} -> {b}: {', '.join(users)}", file=sys.stderr)
        return False
    print(f"{src}: {len(deps)} top-level modules, no cycle")
    return True


def self_test() -> bool:
    """The check must fail on a cycle (direct and through a third module) and pass without."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp)
        (src / "lib.rs").write_text("pub mod a; pub mod b; pub mod c;\n")
        (src / "a").mkdir()
        (src / "a" / "mod.rs").write_text("use crate::b::x;\n")
        (src / "b.rs").write_text("pub fn x() { crate::c::y() }\n")
        # A doc link back to a user is no dependency.
        (src / "c.rs").write_text("/// Used by [`crate::a`].\npub fn y() {}\n")
        if not check(src):
            return False
        (src / "c.rs").write_text("use crate::a;\npub fn y() {}\n")
        cycle = find_cycle(dependencies(top_modules(src)))
        if cycle != ["a", "b", "c", "a"]:
            print(f"self-test: expected the cycle a -> b -> c -> a, got {cycle}", file=sys.stderr)
            return False
    print("self-test: a cycle is found, a layering passes")
    return True


def main(args) -> int:
    if args == ["--self-test"]:
        return 0 if self_test() else 1
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    ok = [check(Path(a)) for a in args]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
