#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The newcomer's path, reproduced: a freshly debootstrapped Debian root
# (minbase plus git, make, ca-certificates), a clean clone of this
# repository's HEAD inside it, and the README's two commands run there as
# root with nothing cached (no ccache, no downloads), each timed.
#
#   scripts/fresh-root.sh [SUITE [DIR]]
#     SUITE  bookworm (default) or trixie
#     DIR    where the root goes (default /var/tmp/vmbus-fresh-SUITE;
#            emptied first, left in place afterwards for inspection)
#   FRESH_COMMANDS="check run"   which README commands to run, in order
#   FRESH_MIRROR=URL             the Debian mirror (default: deb.debian.org)
#
# Needs root (debootstrap, chroot, mounts).  Prints one line per command:
#   fresh-root[SUITE]: make check: 0 (25m31s) -- 397 passed, 0 failed, 0 skipped
# and exits non-zero if any command failed.  Logs: DIR.log/make-CMD.log.
set -euo pipefail

SUITE=${1:-bookworm}
DIR=$(realpath -m "${2:-/var/tmp/vmbus-fresh-$SUITE}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
COMMANDS=${FRESH_COMMANDS:-check run}
LOGS=$DIR.log
say() { echo "fresh-root[$SUITE]: $*"; }
die() { echo "fresh-root[$SUITE]: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"
case "$SUITE" in bookworm|trixie) ;; *) die "SUITE is bookworm or trixie, not '$SUITE'" ;; esac
case "$DIR" in /|/usr|/var|/tmp|/root|/home) die "refusing DIR=$DIR" ;; esac
if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } ||
        die "cannot install debootstrap"
fi

mounted=()
cleanup() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount -l "${mounted[$i]}" 2>/dev/null || true
    done
}
trap cleanup EXIT
mnt() {  # mnt TARGET MOUNT-ARGS...
    local t=$1
    shift
    mkdir -p "$t"
    mount "$@" "$t"
    mounted+=("$t")
}

# Anything still mounted from an earlier run goes first.
if [ -d "$DIR" ]; then
    { grep -o " $DIR/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf --one-file-system "$DIR"
fi
rm -rf "$LOGS"
mkdir -p "$DIR" "$LOGS"

t0=$(date +%s)
say "debootstrap --variant=minbase $SUITE (log: $LOGS/debootstrap.log)"
debootstrap --variant=minbase --include=git,make,ca-certificates "$SUITE" "$DIR" "$MIRROR" \
    > "$LOGS/debootstrap.log" 2>&1 || { tail -20 "$LOGS/debootstrap.log"; die "debootstrap failed"; }
# The archive areas a real installation has.
cat > "$DIR/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
say "root ready in $(( $(date +%s) - t0 ))s"

mnt "$DIR/proc" -t proc proc
mnt "$DIR/sys" -t sysfs sysfs
mnt "$DIR/dev" --rbind /dev
mount --make-rslave "$DIR/dev"
mnt "$DIR/dev/shm" -t tmpfs tmpfs
mnt "$DIR/tmp" -t tmpfs -o mode=1777 tmpfs
mnt "$DIR/run" -t tmpfs tmpfs

# A clean clone of what is committed here (no build/, no caches).
git clone -q --no-local "$ROOT" "$DIR/root/vmbus-qemu"
say "cloned $(git -C "$ROOT" rev-parse --short HEAD) into /root/vmbus-qemu"

rc_all=0
for c in $COMMANDS; do
    log=$LOGS/make-$c.log
    say "make $c (log: $log)"
    s=$(date +%s)
    set +e
    chroot "$DIR" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /root/vmbus-qemu && make $c" < /dev/null > "$log" 2>&1
    rc=$?
    set -e
    dt=$(( $(date +%s) - s ))
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 || true)
    [ -n "$last" ] || last=$(grep -a -E 'VMBUS-INFO: vmbus_version=' "$log" | tail -1 | sed 's/.*VMBUS-INFO: //' || true)
    say "make $c: $rc ($((dt / 60))m$((dt % 60))s)${last:+ -- $last}"
    [ "$rc" = 0 ] || { rc_all=1; grep -E '^FAIL' "$log" | head -20 | sed 's/^/  /' || true; }
done
say "total $(( ($(date +%s) - t0) / 60 ))m$(( ($(date +%s) - t0) % 60 ))s"
exit $rc_all
