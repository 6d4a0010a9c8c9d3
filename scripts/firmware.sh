#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Populate the firmware directory that our QEMU is configured with
# (--firmwarepath), from Debian packages: SeaBIOS from 'seabios', the
# option ROMs from trixie's 'qemu-system-data' (downloaded once).
#
#   firmware.sh DIR
set -euo pipefail
DIR=$1
CACHE=${VMBUS_CACHE:-$HOME/.cache/vmbus-qemu}
ROMS="linuxboot_dma.bin linuxboot.bin kvmvapic.bin pvh.bin multiboot_dma.bin multiboot.bin"
die() { echo "firmware: error: $*" >&2; exit 1; }

ok=1
for f in bios-256k.bin $ROMS; do [ -e "$DIR/$f" ] || ok=0; done
[ $ok = 1 ] && exit 0

[ -f /usr/share/seabios/bios-256k.bin ] || die "/usr/share/seabios/bios-256k.bin missing; install Debian's 'seabios' (scripts/bootstrap.sh)"
mkdir -p "$DIR"
ln -sf /usr/share/seabios/bios-256k.bin "$DIR/bios-256k.bin"

roms=$CACHE/qemu-system-data
if [ ! -f "$roms/.complete" ]; then
    echo "firmware: fetching option ROMs (trixie qemu-system-data)"
    tmp=$(mktemp -d "$CACHE/qsd.tmp.XXXXXX")
    (cd "$tmp" && apt-get download -qq -t trixie qemu-system-data >/dev/null 2>&1) \
        || { rm -rf "$tmp"; die "apt-get download qemu-system-data failed; run scripts/bootstrap.sh (adds trixie) and check network access"; }
    dpkg-deb -x "$tmp"/qemu-system-data_*.deb "$tmp/x" || { rm -rf "$tmp"; die "cannot unpack qemu-system-data"; }
    rm -rf "$roms"; mkdir -p "$roms"
    for f in $ROMS; do
        cp "$tmp/x/usr/share/qemu/$f" "$roms/" || { rm -rf "$tmp" "$roms"; die "qemu-system-data lacks $f"; }
    done
    rm -rf "$tmp"
    touch "$roms/.complete"
fi
for f in $ROMS; do ln -sf "$roms/$f" "$DIR/$f"; done
