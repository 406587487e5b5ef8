#!/usr/bin/env bash
# The build steps of deploy/Dockerfile, as one script the image and CI both run.
#
#   deploy/build.sh dashboard        npm ci + vite build into dashboard/dist (scripts/build-dashboard)
#   deploy/build.sh binary OUT_DIR   cargo build --release --locked -p pitbox, then OUT_DIR/pitbox
#   deploy/build.sh --check          validates what the two steps need (files, tools, lock file)
#                                    without building: a release build from scratch takes many
#                                    minutes on 2 cores, so CI checks the steps instead of running them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

fail=0
ok() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; fail=1; }

check() {
  echo "build.sh --check: the Dockerfile's build steps"
  for f in dashboard/package.json dashboard/package-lock.json scripts/build-dashboard Cargo.toml Cargo.lock \
    crates/pitbox/Cargo.toml crates/webui/Cargo.toml; do
    if [[ -f $f ]]; then ok "$f exists"; else bad "$f is missing"; fi
  done
  if [[ -x scripts/build-dashboard ]]; then ok "scripts/build-dashboard is executable"; else bad "scripts/build-dashboard is not executable"; fi
  if grep -q '"build"' dashboard/package.json; then ok "dashboard/package.json has a build script"; else bad "dashboard/package.json has no \"build\" script"; fi
  # The embed folder crates/webui reads must be the one the dashboard step writes.
  if grep -q 'folder = "../../dashboard/dist"' crates/webui/src/lib.rs; then
    ok "crates/webui embeds dashboard/dist (what the dashboard step builds)"
  else
    bad "crates/webui no longer embeds ../../dashboard/dist: update deploy/build.sh and the Dockerfile"
  fi
  for tool in cargo npm node; do
    if command -v "$tool" >/dev/null; then ok "$tool found ($("$tool" --version 2>/dev/null | head -1))"; else bad "$tool not found"; fi
  done
  # --locked fails the image build when Cargo.lock is stale; find that out here instead.
  if out=$(cargo metadata --format-version 1 --locked --offline --no-deps 2>&1 >/dev/null); then
    ok "Cargo.lock is current (cargo metadata --locked --offline)"
  else
    bad "Cargo.lock is not current: $(echo "$out" | tail -1)"
  fi
  if cargo metadata --format-version 1 --offline --no-deps 2>/dev/null \
    | python3 -c 'import json,sys; sys.exit(0 if any(t["name"]=="pitbox" and "bin" in t["kind"] for p in json.load(sys.stdin)["packages"] for t in p["targets"]) else 1)'; then
    ok "the workspace has the pitbox binary target"
  else
    bad "no binary target named pitbox in the workspace"
  fi
  return $fail
}

case "${1:-}" in
  dashboard)
    scripts/build-dashboard
    ;;
  binary)
    out=${2:?usage: deploy/build.sh binary OUT_DIR}
    if [[ ! -f dashboard/dist/index.html ]]; then
      echo "build.sh: dashboard/dist/index.html is missing: run deploy/build.sh dashboard first" >&2
      exit 1
    fi
    cargo build --release --locked -p pitbox
    mkdir -p "$out"
    install -m 0755 "${CARGO_TARGET_DIR:-target}/release/pitbox" "$out/pitbox"
    "$out/pitbox" --version
    ;;
  --check)
    check
    ;;
  *)
    echo "usage: deploy/build.sh dashboard | binary OUT_DIR | --check" >&2
    exit 2
    ;;
esac
