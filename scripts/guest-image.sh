#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build a test guest from Debian packages only:
#   build/guests/KIND/vmlinux      the uncompressed ELF kernel (PVH boot)
#   build/guests/KIND/vmlinuz      the bzImage, as Debian ships it
#   build/guests/KIND/initrd.gz    busybox + the kernel's Hyper-V modules
#                                  + kexec and hyperv-daemons binaries
#   build/guests/KIND/kver         kernel release
# KIND is 'trixie' (newest linux-image 6.12), 'bookworm' (newest 6.1),
# 'bullseye' (newest 5.10, from bullseye or bullseye-security) or
# 'trixie-bpo' (newest 7.x from trixie-backports; hv_vmbus built in),
# or 'custom' for your own kernel (docs/guest-driver-ci.rst): SOURCE is a
# linux-image .deb (make bindeb-pkg) or a directory holding
# boot/vmlinuz-* (or vmlinuz, bzImage), lib/modules/KVER/ (make
# modules_install INSTALL_MOD_PATH=DIR) and optionally an ELF vmlinux.
# Debian's 7.x linux-image-KVER is an empty package depending on
# linux-binary-KVER (usr/lib/modules/KVER/vmlinuz), linux-modules-KVER and
# linux-base-KVER (config, modules.builtin): those are unpacked together.
# Rebuilt only when an input changes (package versions, these scripts).
#
#   guest-image.sh KIND OUTDIR
#   guest-image.sh custom OUTDIR SOURCE
set -euo pipefail

KIND=$1
OUT=$(realpath -m "$2")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VMBUS_CACHE:-$HOME/.cache/vmbus-qemu}
DEBS=$CACHE/debs
say() { echo "guest-image[$KIND]: $*"; }
die() { echo "guest-image[$KIND]: error: $*" >&2; exit 1; }

HV_MODULES="hv_vmbus hv_utils hv_balloon hv_netvsc hv_storvsc hid_hyperv hyperv_keyboard hv_sock pci_hyperv uio_hv_generic"
# Userspace for later scenarios: kexec (unload by kexec), the KVP/VSS daemons,
# socat (VSOCK-CONNECT/VSOCK-LISTEN for hv_sock tests).
EXTRA_PKGS="kexec-tools hyperv-daemons socat"
TEST_MODULES="msr e1000 virtio_pci virtio_blk dummy"   # e1000: the TCP baseline of scripts/bench-hvsock.sh; virtio_blk: the swap disk of hibernation to disk; dummy: a network interface for the KVP test on 6.1

CUSTOM=
case "$KIND" in
    trixie)   series=6.12; suite=trixie ;;
    bookworm) series=6.1;  suite=bookworm ;;
    bullseye) series=5.10; suite=bullseye ;;
    trixie-bpo) series=7;  suite=trixie-backports ;;
    custom)   CUSTOM=$(realpath -e "${3:-/nonexistent}" 2>/dev/null) \
                  || die "usage: guest-image.sh custom OUTDIR KERNEL.deb|DIR (no such file: '${3:-}')" ;;
    *) die "unknown guest '$KIND' (trixie, bookworm, bullseye, trixie-bpo, or custom with a kernel .deb or directory)" ;;
esac

if [ -n "$CUSTOM" ]; then
    # identity of the custom kernel: the .deb's checksum, or the directory's file list
    if [ -f "$CUSTOM" ]; then
        meta=$(sha256sum < "$CUSTOM" | cut -c1-16)
    else
        meta=$(find "$CUSTOM" \( -type f -o -type l \) -printf '%P %s %T@\n' | LC_ALL=C sort | sha256sum | cut -c1-16)
    fi
    kpkg="custom:$CUSTOM"
else
# Newest linux-image-amd64 of the series (from SUITE or its -security /
# -updates suite), and the image package it pulls.
meta=$(apt-cache madison linux-image-amd64 | awk -v s="$suite" -v v="$series" \
       '$6 ~ "^"s"(-security|-updates)?/" && index($3, v".") == 1 {print $3}' | sort -V | tail -1)
[ -n "$meta" ] || die "no linux-image-amd64 $series.* in apt's lists for $suite; run scripts/bootstrap.sh (it adds trixie, bullseye and trixie-backports) and apt-get update"
kpkg=$(apt-cache show "linux-image-amd64=$meta" | sed -n 's/^Depends: //p' | head -1 | grep -o 'linux-image-[^ ,]*' | head -1)
[ -n "$kpkg" ] || die "cannot resolve the kernel package of linux-image-amd64=$meta"
fi

inputs="$kpkg $meta $(dpkg-query -W -f='${Version}' busybox-static)"
for p in $EXTRA_PKGS; do inputs="$inputs $p=$(apt-cache policy "$p" | sed -n 's/ *Candidate: //p')"; done
# The host libraries the userspace binaries are copied with (bootstrap.sh).
hostlibs=$(apt-cache depends $EXTRA_PKGS 2>/dev/null | sed -n 's/^ *Depends: \(lib[^ <>]*\)$/\1/p' | sort -u)
inputs="$inputs $(dpkg-query -W -f='${Package}=${Version},' $hostlibs 2>/dev/null)"
inputs="$inputs $(cat "$ROOT/scripts/guest-image.sh" "$ROOT/scripts/extract-vmlinux.py" $(find "$ROOT/scripts/guest" -type f | LC_ALL=C sort) | sha256sum | cut -c1-16)"
if [ -f "$OUT/.inputs" ] && [ "$(cat "$OUT/.inputs")" = "$inputs" ] && [ -f "$OUT/initrd.gz" ] && [ -f "$OUT/vmlinux" ]; then
    exit 0
fi

fetch() {  # fetch PKG[=VER] [-t SUITE]: download a .deb once into $DEBS, print its path
    local spec=$1 name f tmp
    shift
    name=${spec%%=*}
    mkdir -p "$DEBS"
    tmp=$(mktemp -d "$DEBS/.dl.XXXXXX")
    (cd "$tmp" && apt-get download -qq "$@" "$spec" >/dev/null 2>"$tmp/err") || { cat "$tmp/err" >&2; rm -rf "$tmp"; die "apt-get download $spec failed"; }
    f=$(ls "$tmp"/"$name"_*.deb)
    if [ -f "$DEBS/$(basename "$f")" ]; then rm -rf "$tmp"; else mv "$f" "$DEBS/"; rm -rf "$tmp"; fi
    echo "$DEBS/$(basename "$f")"
}

cached_deb() {  # the cached .deb for PKG at VERSION, or nothing
    local name=$1 ver=${2#*:}
    ls "$DEBS/${name}_${ver}_"*.deb 2>/dev/null | head -1 || true
}

say "building $OUT ($KIND); steps: kernel, modules, userspace, initrd, vmlinux"
if [ -n "$CUSTOM" ]; then
    kver_deb=$meta
    kdeb=$CUSTOM
else
kver_deb=$meta
# The image package, and the split-out parts it depends on (7.x packaging).
kparts="$kpkg $(apt-cache show "$kpkg=$kver_deb" | sed -n 's/^Depends: //p' | head -1 \
                | { grep -oE 'linux-(binary|modules|base)-[^ ,]*' || true; } | sort -u | tr '\n' ' ')"
kdeb=""
for p in $kparts; do
    d=$(cached_deb "$p" "$kver_deb")
    if [ -z "$d" ]; then
        say "[1/5] downloading $p ($kver_deb; cached in $DEBS)"
        d=$(fetch "$p=$kver_deb")
    fi
    kdeb="${kdeb:+$kdeb }$d"
done
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmbus-guest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -d "$kdeb" ]; then
    say "[1/5] copying $kdeb"
    mkdir -p "$WORK/k" && cp -a "$kdeb/." "$WORK/k/"
else
    for d in $kdeb; do
        say "[1/5] unpacking $(basename "$d")"
        dpkg-deb -x "$d" "$WORK/k" || die "cannot unpack $d (a linux-image .deb or a directory is needed)"
    done
fi
moddir=$( (ls -d "$WORK"/k/lib/modules/* "$WORK"/k/usr/lib/modules/* 2>/dev/null || true) | head -1)
[ -n "$moddir" ] || die "$kpkg has no modules directory (lib/modules/KVER)"
kver=$(basename "$moddir")
kroot=$(dirname "$(dirname "$(dirname "$moddir")")")   # prefix whose lib/modules holds it
[ -d "$kroot/lib/modules/$kver" ] || kroot=$WORK/k/usr
depmod -b "$kroot" "$kver" 2>/dev/null || depmod -b "$kroot" "$kver"

# Staging root.
S=$WORK/root
mkdir -p "$S"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,scenarios,lib/modules/"$kver"}
cp /bin/busybox "$S/bin/busybox"

# Modules with their dependencies (from modules.dep), decompressed.
declare -A want=()
add_mod() {
    local m=$1 path deps d
    path=$(modinfo -b "$kroot" -k "$kver" -F filename "$m" 2>/dev/null) || {
        # a custom kernel may leave drivers out: the guest reports them as failed
        [ -n "$CUSTOM" ] && { say "note: module $m is not in $kpkg; left out"; return 0; }
        die "module $m not in $kpkg"
    }
    case "$path" in ""|"(builtin)") return 0 ;; esac   # built in (custom kernels)
    [ -n "${want[$path]:-}" ] && return 0
    want[$path]=1
    deps=$(modinfo -b "$kroot" -k "$kver" -F depends "$m" | tr ',' ' ')
    for d in $deps; do add_mod "$d"; done
}
say "[2/5] collecting the Hyper-V modules of $kver and their dependencies"
for m in $HV_MODULES; do add_mod "$m"; done
# for tests only (not loaded by load_hv_modules): /dev/cpu/N/msr
for m in $TEST_MODULES; do add_mod "$m"; done
for path in "${!want[@]}"; do
    rel=${path#"$kroot/lib/modules/$kver/"}
    dest="$S/lib/modules/$kver/${rel%.xz}"
    dest=${dest%.zst}
    mkdir -p "$(dirname "$dest")"
    case "$path" in
        *.xz) xz -dc "$path" > "$dest" ;;
        *.zst) zstd -dcq "$path" > "$dest" ;;
        *) cp "$path" "$dest" ;;
    esac
done
cp "$kroot/lib/modules/$kver"/modules.{order,builtin} "$S/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$S" "$kver" 2>/dev/null

# Userspace extras and their libraries.
say "[3/5] adding userspace: busybox, $EXTRA_PKGS"
for p in $EXTRA_PKGS; do
    v=$(apt-cache policy "$p" | sed -n 's/ *Candidate: //p')
    d=$(cached_deb "$p" "$v")
    [ -n "$d" ] || d=$(fetch "$p=$v")
    dpkg-deb -x "$d" "$WORK/x"
done
for b in sbin/kexec usr/sbin/kexec usr/sbin/hv_kvp_daemon usr/sbin/hv_vss_daemon usr/sbin/hv_fcopy_daemon \
         usr/libexec/hypervkvpd/hv_get_dhcp_info usr/libexec/hypervkvpd/hv_get_dns_info \
         usr/libexec/hypervkvpd/hv_set_ifconfig usr/bin/socat; do
    [ -e "$WORK/x/$b" ] || continue
    mkdir -p "$S/$(dirname "$b")"
    cp -L --preserve=mode "$WORK/x/$b" "$S/$b"   # socat is a link to socat1 on trixie
    if ldd "$WORK/x/$b" 2>/dev/null | grep -q "not found"; then
        die "$b needs host libraries that are missing ($(ldd "$WORK/x/$b" | grep "not found" | awk '{print $1}' | tr '\n' ' ')); run scripts/bootstrap.sh"
    fi
    { ldd "$WORK/x/$b" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; } | while read -r lib; do
        mkdir -p "$S/$(dirname "$lib")"
        cp -L "$lib" "$S/$lib"
    done
done

# The scenarios need these; a package that moved them must fail here, not in a test.
for b in kexec socat hv_kvp_daemon; do
    [ -e "$S/sbin/$b" ] || [ -e "$S/usr/sbin/$b" ] || [ -e "$S/usr/bin/$b" ] ||
        die "no $b in the image (did $EXTRA_PKGS move it?)"
done

# Small test programs (scripts/guest/tools/NAME.c), linked statically so
# they need nothing from the image: /usr/bin/NAME.
for src in "$ROOT"/scripts/guest/tools/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    cc -static -O2 -Wall -Werror -o "$S/usr/bin/$name" "$src" || die "cannot build the guest tool $name ($src)"
done

# Our /init and its helpers.
cp "$ROOT/scripts/guest/init" "$S/init"
cp "$ROOT/scripts/guest/vmbus-guest.sh" "$S/lib/vmbus-guest.sh"
chmod +x "$S/init"
echo "$kver" > "$S/etc/kver"
echo "HV_MODULES='$HV_MODULES'" >> "$S/lib/vmbus-guest.sh"

say "[4/5] writing the initramfs (${#want[@]} modules)"
mkdir -p "$OUT.tmp"
(cd "$S" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6 > "$OUT.tmp/initrd.gz")
vmlinuz=$( (ls "$WORK"/k/boot/vmlinuz-* "$moddir"/vmlinuz "$WORK"/k/vmlinuz "$WORK"/k/bzImage 2>/dev/null || true) | head -1)
[ -n "$vmlinuz" ] || die "no kernel image (boot/vmlinuz-*, lib/modules/KVER/vmlinuz, vmlinuz or bzImage) in $kdeb"
cp "$vmlinuz" "$OUT.tmp/vmlinuz"
say "[5/5] uncompressed vmlinux for PVH boot"
if [ -n "$CUSTOM" ] && [ -f "$WORK/k/vmlinux" ]; then
    cp "$WORK/k/vmlinux" "$OUT.tmp/vmlinux"
else
    "$ROOT/scripts/extract-vmlinux.py" "$vmlinuz" "$OUT.tmp/vmlinux" || die "cannot extract vmlinux from $vmlinuz"
fi
echo "$kver" > "$OUT.tmp/kver"
echo "$kpkg $kver_deb" > "$OUT.tmp/kpkg"
echo "$inputs" > "$OUT.tmp/.inputs"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
say "ready: $kver ($(du -h "$OUT/initrd.gz" | cut -f1) initrd, ${#want[@]} modules)"
