#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Lay our files into the QEMU tree and apply our hook patches.
#
#   qemu-overlay.sh ROOT QEMU_SRC
#
# Our hw/ and include/ files are symlinked to the same paths in QEMU's
# tree (an edit here rebuilds there); qtest/ goes to tests/qtest/vmbus/.
# The hook patches in scripts/qemu-patches/ are applied in order.  The
# tree is reset to its pristine commit first, but only when the set of
# files or patches changed, so unchanged QEMU files keep their mtimes.
set -euo pipefail
ROOT=$(cd "$1" && pwd)
QSRC=$(cd "$2" && pwd)
# 'upstream': a cross-check tree that keeps QEMU's own VMBus (vmbus.c) and
# takes only our TCG Hyper-V work: no hw/hyperv/vmbus*/, none of our VMBus
# headers, QAPI module or qtests, and no hook patch that refers to them.
MODE=${3:-ours}
UPSTREAM_SKIP_PATCHES="0005-acpi-vmbus-node-from-our-bridge.patch 0006-qapi-hmp-vmbus-commands.patch 0007-hw-hyperv-kconfig-of-our-devices.patch"
die() { echo "qemu-overlay: error: $*" >&2; exit 1; }

cd "$ROOT"
links() {
    # "our-path qemu-path" pairs
    local d
    if [ "$MODE" = upstream ]; then
        find hw include -type f | sort | grep -v -e '^hw/hyperv/vmbus' \
            -e '^include/hw/hyperv/vmbus' | while read -r f; do echo "$f $f"; done
        return 0
    fi
    for d in hw include qapi; do
        [ -d "$d" ] && find "$d" -type f | sort | while read -r f; do echo "$f $f"; done
    done
    [ -d qtest ] && find qtest -type f | sort | while read -r f; do echo "$f tests/qtest/vmbus/${f#qtest/}"; done
    return 0
}
patches() {
    local p
    for p in $(ls scripts/qemu-patches/*.patch 2>/dev/null | sort); do
        if [ "$MODE" = upstream ] && echo " $UPSTREAM_SKIP_PATCHES " | grep -q " $(basename "$p") "; then
            continue
        fi
        echo "$p"
    done
}

stamp=$( { links; for p in $(patches); do sha256sum "$p"; done; } | sha256sum | cut -d' ' -f1)
if [ -f "$QSRC/.vmbus-overlay" ] && [ "$(cat "$QSRC/.vmbus-overlay")" = "$stamp" ]; then
    exit 0
fi

echo "qemu-overlay: laying our files and $(patches | wc -l) hook patch(es) into $QSRC"
git -C "$QSRC" reset -q --hard
git -C "$QSRC" clean -q -fd -e .vmbus-pristine
links | while read -r ours theirs; do
    mkdir -p "$QSRC/$(dirname "$theirs")"
    ln -sfn "$ROOT/$ours" "$QSRC/$theirs"
done
for p in $(patches); do
    git -C "$QSRC" apply --whitespace=nowarn "$ROOT/$p" || die "patch $p does not apply to $(cat "$QSRC/.vmbus-pristine")"
done
echo "$stamp" > "$QSRC/.vmbus-overlay"
