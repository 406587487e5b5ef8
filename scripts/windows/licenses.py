#!/usr/bin/env python3
"""Collects the licence texts of every third-party Rust crate compiled into pitbox.exe.

Walks `cargo metadata --filter-platform TARGET` from the `pitbox` package through normal
dependencies (build and dev dependencies are not shipped), copies each crate's LICENSE*, COPYING*,
NOTICE* and UNLICENSE files into OUT/crates/NAME-VERSION/, and writes OUT/THIRD-PARTY.txt listing
every crate with its licence expression and whether a text was found. A crate without a licence
text of its own is listed with its SPDX expression: the standard text of that licence applies.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

LICENSE_PREFIXES = ("license", "licence", "copying", "notice", "unlicense", "copyright")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", args.target],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in meta["packages"]}
    members = set(meta["workspace_members"])
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next((pid for pid in members if packages[pid]["name"] == "pitbox"), None)
    if root is None:
        print("licenses.py: no `pitbox` package in the workspace", file=sys.stderr)
        return 1
    seen, stack = set(), [root]
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k.get("kind") is None for k in dep["dep_kinds"]):
                stack.append(dep["pkg"])
    crates_dir = os.path.join(args.out, "crates")
    os.makedirs(crates_dir, exist_ok=True)
    lines = []
    missing = 0
    for pid in sorted(seen - members, key=lambda i: (packages[i]["name"], packages[i]["version"])):
        p = packages[pid]
        name = f'{p["name"]}-{p["version"]}'
        src = os.path.dirname(p["manifest_path"])
        texts = sorted(
            f for f in os.listdir(src)
            if f.lower().startswith(LICENSE_PREFIXES) and os.path.isfile(os.path.join(src, f))
        )
        if p.get("license_file"):
            lf = os.path.join(src, p["license_file"])
            if os.path.isfile(lf) and os.path.basename(lf) not in texts:
                texts.append(os.path.relpath(lf, src))
        if texts:
            dst = os.path.join(crates_dir, name)
            os.makedirs(dst, exist_ok=True)
            for t in texts:
                shutil.copyfile(os.path.join(src, t), os.path.join(dst, os.path.basename(t)))
        else:
            missing += 1
        expr = p.get("license") or "see licence file"
        note = ", ".join(os.path.basename(t) for t in texts) if texts else "no text in the crate: the standard text applies"
        lines.append(f'{p["name"]} {p["version"]}  [{expr}]  {p.get("repository") or ""}  ({note})')
    # The Apache-2.0 text is the same for every crate: keep one copy at the top for the crates
    # that carry only the expression.
    for pid in sorted(seen - members):
        apache = os.path.join(os.path.dirname(packages[pid]["manifest_path"]), "LICENSE-APACHE")
        if os.path.isfile(apache):
            shutil.copyfile(apache, os.path.join(args.out, "Apache-2.0.txt"))
            break
    with open(os.path.join(args.out, "THIRD-PARTY.txt"), "w", encoding="utf-8") as f:
        f.write("Third-party Rust crates compiled into pitbox.exe, with their licences.\n")
        f.write("Licence texts are in crates/NAME-VERSION/; Apache-2.0.txt is the Apache licence text.\n")
        f.write("PitBox itself: MIT OR Apache-2.0.\n\n")
        f.write("\n".join(lines) + "\n")
    print(f"licenses.py: {len(lines)} crates, {len(lines) - missing} with licence texts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
