#!/usr/bin/python3
"""fixture_refs.py [--root DIR] [--list]: every recorded-answer file the tests and benches name,
and whether tests/fixtures/ holds it. Prints one line a missing name ("missing: NAME (FILE:LINE)")
and a summary line ("N fixture names, M missing"); exit 1 when any is missing.

A name counts as a fixture name when it is
  - a quoted *.json / *.yaml literal in a C unit test (tests/unit/*.c: they write no such files,
    they read them through th_fixtures()),
  - a path under a fixtures folder: tests/fixtures/..., $FIXTURES/..., $K8SFIX/..., or a path
    starting with one of tests/fixtures' subfolders (k8s/..., twitter/..., captured_2.42.0/...),
  - a *.json / *.yaml name in the recordings' own style: two or more underscores
    (v2_users_me_public_metrics_docs.json); the files the tests write are named otherwise.
A name found anywhere under tests/fixtures/ (with the subfolder it was given, if any) is there.
"""
import os
import re
import sys

SKIP_DIRS = {"fixtures", "node_modules", ".gen", "__pycache__"}
EXTS = (".c", ".h", ".sh", ".py", ".mjs", ".js")
NAME = r"[A-Za-z0-9_.+-]+\.(?:json|yaml|yml)"
QUOTED = re.compile(r'"(' + NAME + r')"')
UNDERSCORED = re.compile(r"(?<![A-Za-z0-9_./$-])(" + NAME + r")")
FIXDIR = re.compile(r"(?:tests/fixtures|\$\{?FIXTURES\}?|\$\{?K8SFIX\}?)/((?:[A-Za-z0-9_.+-]+/)*" + NAME + r")")


def fixture_files(root):
    base = os.path.join(root, "tests", "fixtures")
    have = set()
    for d, _, files in os.walk(base):
        for f in files:
            have.add(os.path.relpath(os.path.join(d, f), base))
    return have


def scan(root):
    base = os.path.join(root, "tests", "fixtures")
    subdirs = sorted(e for e in (os.listdir(base) if os.path.isdir(base) else [])
                     if os.path.isdir(os.path.join(base, e)))
    for d in os.listdir(base) if os.path.isdir(base) else []:
        p = os.path.join(base, d)
        if os.path.isdir(p):
            subdirs += [e for e in os.listdir(p) if os.path.isdir(os.path.join(p, e))]
    sub_re = None
    if subdirs:
        sub_re = re.compile(r"(?<![A-Za-z0-9_./$-])((?:" + "|".join(re.escape(s) for s in subdirs)
                            + r")/" + NAME + r")")
    refs = []
    for top in ("tests", "bench"):
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
            for f in files:
                if not f.endswith(EXTS):
                    continue
                path = os.path.join(d, f)
                rel = os.path.relpath(path, root)
                if rel == os.path.join("tests", "tools", "fixture_refs.py"):
                    continue
                unit_c = rel.startswith(os.path.join("tests", "unit") + os.sep) and f.endswith(".c")
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        found = set()
                        for m in FIXDIR.finditer(line):
                            found.add(m.group(1))
                        if sub_re:
                            for m in sub_re.finditer(line):
                                found.add(m.group(1))
                        if unit_c:
                            for m in QUOTED.finditer(line):
                                found.add(m.group(1))
                        for m in UNDERSCORED.finditer(line):
                            if m.group(1).count("_") >= 2:
                                found.add(m.group(1))
                        # a longer path already names its last part
                        for name in found:
                            if any(o != name and o.endswith("/" + name) for o in found):
                                continue
                            refs.append((name, rel, n))
    return refs


def present(name, have):
    if name in have:
        return True
    # a bare name, or one under a subfolder the test adds itself (th_fixtures() + "/k8s/")
    return any(h == name or h.endswith("/" + name) for h in have)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = sys.argv[1:]
    if "--root" in args:
        root = args[args.index("--root") + 1]
    have = fixture_files(root)
    refs = scan(root)
    names = {}
    for name, rel, n in refs:
        names.setdefault(name, (rel, n))
    missing = [(nm, w) for nm, w in sorted(names.items()) if not present(nm, have)]
    if "--list" in args:
        for nm, (rel, n) in sorted(names.items()):
            print(f"{nm} ({rel}:{n})")
    for nm, (rel, n) in missing:
        print(f"missing: {nm} ({rel}:{n})")
    print(f"{len(names)} fixture names, {len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
