#!/usr/bin/env python3
"""check_includes.py: the include graph of lib/, codegen/ and server/ has no
cycle, and dependencies point one way (docs/architecture.md):

  lib/              includes nothing of codegen/ or server/
  server/engine/    includes nothing of server/edge/ or server/handlers/
  server/edge/      includes nothing of server/handlers/
  codegen/, server/ include nothing of each other

A module is a .c file and its .h (server/edge/http.c + http.h), or a lone
header (server/server.h); module A depends on B when A.c or A.h includes
B.h. Usage: check_includes.py SRCDIR. Exit 0, or 1 naming each problem.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def files(top):
    for room in ("lib", "codegen", "server"):
        for dirpath, _, names in os.walk(os.path.join(top, room)):
            for n in names:
                if n.endswith((".c", ".h", ".def")):
                    yield os.path.relpath(os.path.join(dirpath, n), top)


def resolve(top, src, inc):
    """The file an #include "inc" in src means, relative to top, or None (system, generated)."""
    here = os.path.dirname(src)
    # the include paths of the build: the file's folder, lib/, server/, top
    for base in (here, "lib", "server", ""):
        cand = os.path.normpath(os.path.join(base, inc))
        if os.path.isfile(os.path.join(top, cand)):
            return cand
    return None


def module(path):
    return os.path.splitext(path)[0]


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else "."
    deps = {}
    problems = []
    for f in sorted(files(top)):
        with open(os.path.join(top, f), encoding="utf-8") as fh:
            text = fh.read()
        m = module(f)
        deps.setdefault(m, set())
        for inc in INCLUDE.findall(text):
            target = resolve(top, f, inc)
            if target is None:
                continue
            t = module(target)
            if t != m:
                deps[m].add(t)

    def room(mod):
        parts = mod.split("/")
        if parts[0] == "server" and len(parts) > 2:
            return "server/" + parts[1]
        return parts[0]

    forbidden = {
        "lib": ("codegen", "server"),
        "server/engine": ("server/edge", "server/handlers", "codegen"),
        "server/edge": ("server/handlers", "codegen"),
        "server/handlers": ("codegen",),
        "server": ("codegen",),
        "codegen": ("server",),
    }
    for m, ds in sorted(deps.items()):
        r = room(m)
        for d in sorted(ds):
            for bad in forbidden.get(r, ()):
                if d == bad or d.startswith(bad + "/"):
                    problems.append(f"{m} ({r}) includes {d}: a dependency against the layering")

    # cycles: depth-first search, reporting each cycle once
    state, stack, seen_cycles = {}, [], set()

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(deps.get(m, ())):
            if state.get(d) == 1:
                cyc = stack[stack.index(d):] + [d]
                key = frozenset(cyc)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    problems.append("include cycle: " + " -> ".join(cyc))
            elif d in deps and not state.get(d):
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(deps):
        if not state.get(m):
            visit(m)

    for p in problems:
        print("check_includes:", p)
    print(f"check_includes: {len(deps)} modules, {sum(len(d) for d in deps.values())} "
          f"dependencies, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
