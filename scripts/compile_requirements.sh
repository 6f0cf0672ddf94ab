#!/usr/bin/env bash
# Regenerate requirements.txt (every pinned package of the build-and-test environment)
# from requirements.in (the tools used directly) with pip-tools' pip-compile (in .venv).
#   scripts/compile_requirements.sh             keep the current pins where they still fit
#   scripts/compile_requirements.sh --upgrade   move everything to the newest versions
# Existing pins in requirements.txt are kept unless --upgrade is given.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP_COMPILE=.venv/bin/pip-compile
[ -x "$PIP_COMPILE" ] || PIP_COMPILE=pip-compile
"$PIP_COMPILE" --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
  "$@" requirements.in -o requirements.txt
# A local wheel may resolve torch to the local version 2.13.0+cpu; pin the public
# version (which that local wheel also satisfies) so the file works everywhere.
sed -i -E 's/^torch==([0-9.]+)\+[a-z0-9]+$/torch==\1/' requirements.txt
