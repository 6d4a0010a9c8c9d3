#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Obtain the pinned QEMU source and unpack it into DEST as a git tree
# whose first commit is the pristine source (so the overlay can be
# re-applied cleanly).
#
#   qemu-source.sh DEST [QEMU_SRC_DIR]
#
# Without QEMU_SRC_DIR: Debian's 'qemu' source package (trixie, 1:10.0.*),
# downloaded once into $VMBUS_CACHE/qemu-dl, checked against the .dsc
# checksums, unpacked with dpkg-source (Debian's patches applied).
# With QEMU_SRC_DIR: a copy of that checkout (never written into).
set -euo pipefail

DEST=$1
SRC=${2:-}
CACHE=${VMBUS_CACHE:-$HOME/.cache/vmbus-qemu}
PIN_VERSION=${QEMU_DEB_VERSION:-1:10.0.13+ds-0+deb13u1}

say() { echo "qemu-source: $*"; }
die() { echo "qemu-source: error: $*" >&2; exit 1; }

check_version() {
    local v
    v=$(cat "$1/VERSION" 2>/dev/null) || die "$1 has no VERSION file: not a QEMU source tree"
    case "$v" in
        10.0.*) echo "$v" ;;
        *) die "unsupported QEMU version $v in $1 (this project needs 10.0.x)" ;;
    esac
}

# Verify every file listed in a .dsc's Checksums-Sha256 section.
verify_dsc() {
    local dsc=$1 dir ok=0
    dir=$(dirname "$dsc")
    while read -r sum size name; do
        [ -n "$name" ] || continue
        [ -f "$dir/$name" ] || { echo "missing $name"; return 1; }
        [ "$(stat -c %s "$dir/$name")" = "$size" ] || { echo "size mismatch: $name"; return 1; }
        echo "$sum  $dir/$name" | sha256sum -c --quiet - >/dev/null 2>&1 || { echo "checksum mismatch: $name"; return 1; }
        ok=$((ok + 1))
    done < <(sed -n '/^Checksums-Sha256:/,/^[A-Z]/{/^ /p}' "$dsc")
    [ $ok -ge 2 ] || { echo "no checksums found in $dsc"; return 1; }
}

fetch_debian() {
    local dl=$CACHE/qemu-dl ver=$PIN_VERSION uver dsc tmp
    uver=${ver#*:}
    dsc=$dl/qemu_$uver.dsc
    if [ -f "$dl/.complete-$uver" ] && verify_dsc "$dsc" >/dev/null; then
        echo "$dsc"; return 0
    fi
    # Debian keeps only the current upload: fall back to the newest 1:10.0.*.
    local avail
    avail=$(apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p' | grep '^1:10\.0\.' | sort -V | tail -1 || true)
    if [ -z "$avail" ]; then
        die "no QEMU 10.0 source package in apt's lists; run 'scripts/bootstrap.sh' (adds trixie deb-src) or pass --qemu-src=DIR"
    fi
    if [ "$avail" != "$ver" ]; then
        say "pinned $ver is not in the archive any more; using $avail" >&2
        ver=$avail; uver=${ver#*:}; dsc=$dl/qemu_$uver.dsc
    fi
    tmp=$(mktemp -d "$CACHE/qemu-dl.tmp.XXXXXX")
    say "downloading Debian source qemu=$ver (about 40 MB)" >&2
    (cd "$tmp" && apt-get source -qq --download-only "qemu=$ver" >/dev/null 2>"$tmp/err.log") \
        || { cat "$tmp/err.log" >&2; rm -rf "$tmp"; die "apt-get source qemu=$ver failed; check network access to Debian's archive"; }
    local why
    if ! why=$(verify_dsc "$tmp/qemu_$uver.dsc"); then
        rm -rf "$tmp"; die "downloaded QEMU source failed its .dsc check ($why); nothing was kept, try again"
    fi
    mkdir -p "$dl"
    rm -f "$tmp/err.log"
    mv "$tmp"/* "$dl"/
    rm -rf "$tmp"
    touch "$dl/.complete-$uver"
    echo "$dl/qemu_$uver.dsc"
}

mkdir -p "$CACHE" "$(dirname "$DEST")"
if [ -f "$DEST/.vmbus-pristine" ]; then
    exit 0
fi
rm -rf "$DEST" "$DEST.tmp"
if [ -n "$SRC" ]; then
    [ -d "$SRC" ] || die "--qemu-src=$SRC is not a directory"
    v=$(check_version "$SRC")
    say "copying QEMU $v from $SRC"
    mkdir -p "$DEST.tmp"
    tar -C "$SRC" --exclude=./build --exclude=.git -cf - . | tar -C "$DEST.tmp" -xf -
    origin="$SRC (QEMU $v)"
else
    dsc=$(fetch_debian)
    say "unpacking $(basename "$dsc") with Debian's patches (about a minute)"
    dpkg-source -q -x "$dsc" "$DEST.tmp" >/dev/null 2>&1 || { rm -rf "$DEST.tmp"; die "dpkg-source -x $dsc failed; remove $CACHE/qemu-dl (a damaged download) and run ./configure again"; }
    v=$(check_version "$DEST.tmp")
    origin="Debian source $(basename "$dsc" .dsc) (QEMU $v)"
fi
say "recording the pristine tree in git (the overlay is re-applied on top of it; about a minute)"
(
    cd "$DEST.tmp"
    git init -q .
    git -c user.name=vmbus -c user.email=vmbus@localhost add -A
    git -c user.name=vmbus -c user.email=vmbus@localhost commit -q -m "pristine: $origin"
) || die "could not record the pristine tree"
echo "$origin" > "$DEST.tmp/.vmbus-pristine"
mv "$DEST.tmp" "$DEST"
say "QEMU source ready: $origin"
