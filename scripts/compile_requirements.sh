#!/usr/bin/env bash
# Regenerate the pinned environments with pip-tools' pip-compile (in .venv):
#   requirements-site.in -> requirements-site.txt   the site build (`make book`): no torch
#   requirements.in      -> requirements.txt        the build-and-test environment; it includes
#                                                   requirements-site.in at those same pins
#   scripts/compile_requirements.sh             keep the current pins where they still fit
#   scripts/compile_requirements.sh --upgrade   move everything to the newest versions
# Portable: POSIX sh tools only (no GNU-only `sed -i`), so it runs on macOS too.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP_COMPILE=.venv/bin/pip-compile
[ -x "$PIP_COMPILE" ] || PIP_COMPILE=pip-compile

compile() {  # compile IN OUT [pip-compile options]
  local in=$1 out=$2
  shift 2
  "$PIP_COMPILE" --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
    "$@" "$in" -o "$out"
  # A local wheel may resolve torch to the local version 2.13.0+cpu; pin the public version
  # (which that local wheel also satisfies) so the file works everywhere.
  sed -E 's/^torch==([0-9.]+)\+[a-z0-9]+$/torch==\1/' "$out" > "$out.tmp"
  mv "$out.tmp" "$out"
}

# The site's pins first: requirements.in is constrained by them (-c requirements-site.txt).
compile requirements-site.in requirements-site.txt "$@"
compile requirements.in requirements.txt "$@"
