#!/usr/bin/env bash
# Container entrypoint: runs `pitbox "$@"`. Platforms that cannot mount files (DigitalOcean App
# Platform) pass the cluster's token signing key as PITBOX_SIGNING_KEY_PEM; it is written to a
# private file and handed to the cloud as PITBOX_CLOUD_SIGNING_KEY_FILE, so every node signs with
# the same key.
set -euo pipefail
if [[ -n ${PITBOX_SIGNING_KEY_PEM:-} ]]; then
  umask 077
  key=${TMPDIR:-/tmp}/pitbox-signing-key.pem
  printf '%s\n' "$PITBOX_SIGNING_KEY_PEM" >"$key"
  export PITBOX_CLOUD_SIGNING_KEY_FILE=$key
  unset PITBOX_SIGNING_KEY_PEM
fi
exec pitbox "$@"
