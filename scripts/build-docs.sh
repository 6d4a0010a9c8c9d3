#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the documentation in docs/ with Debian's Sphinx, warnings as
# errors.  Installs python3-sphinx on first use (scripts/bootstrap.sh
# --optional docs; needs root).
#
#   build-docs.sh [OUTDIR]     default build/docs/html
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/build/docs/html}")
say() { echo "build-docs: $*"; }
die() { echo "build-docs: error: $*" >&2; exit 1; }

if ! command -v sphinx-build >/dev/null 2>&1; then
    say "installing Debian's python3-sphinx"
    "$ROOT/scripts/bootstrap.sh" --optional docs \
        || die "cannot install python3-sphinx; as root: apt-get install python3-sphinx"
fi
say "sphinx-build -W docs -> ${OUT#"$ROOT"/}"
# -W: warnings are errors; --keep-going: report all of them; -n: broken references too
sphinx-build -q -W --keep-going -n -b html -d "$OUT/../doctrees" "$ROOT/docs" "$OUT" \
    || die "the docs have warnings (above); fix them, then run 'make docs' again"
say "ready: ${OUT#"$ROOT"/}/index.html"
