#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install what the build, the tests and the guest images need, from
# Debian's archive only.  Idempotent; silent when everything is present.
#
# On bookworm, meson >= 1.5 and python3-pycotap come from trixie, which is
# added at a low pin priority (100) so nothing else is upgraded from it.
# The QEMU source package also comes from trixie's deb-src.
# The guest kernels of scripts/guest-image.sh also come from bullseye (5.10),
# bookworm (6.1, on a trixie host) and trixie-backports (7.x), added at pin
# priority 1: apt-get download
# takes them by version, nothing is ever installed from them.
set -euo pipefail

say() { echo "bootstrap: $*"; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }

# Packages from the host's own suite.
PKGS=(build-essential pkg-config ninja-build libglib2.0-dev libpixman-1-dev
      libfdt-dev zlib1g-dev libslirp-dev check ccache flex bison
      python3-venv dpkg-dev seabios kmod cpio busybox-static xz-utils zstd
      ca-certificates file socat clang libclang-rt-dev git)
# Packages that must come from trixie on bookworm.
TRIXIE_PKGS=(meson python3-pycotap)
# Optional sets, installed only by the scripts that need them
# ('bootstrap.sh --optional NAME'), never by 'make run':
#   libvirt  scripts/check-libvirt.sh (no qemu is pulled in; ours is used)
#   docs     scripts/build-docs.sh
#            (virt-xml-validate needs xmllint)
OPT_libvirt=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libxml2-utils)
OPT_docs=(python3-sphinx)

. /etc/os-release
codename=${VERSION_CODENAME:-unknown}

missing() {
    local p out=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || out+=("$p")
    done
    echo "${out[@]:-}"
}

meson_ok() {
    command -v meson >/dev/null 2>&1 || return 1
    local v; v=$(meson --version 2>/dev/null) || return 1
    [ "$(printf '%s\n1.5.0\n' "$v" | sort -V | head -1)" = "1.5.0" ]
}

need_root() {
    [ "$(id -u)" = 0 ] || die "missing packages ($*); run as root, or install them with apt-get"
}

updated=0
added_source=0
apt_update() {
    [ $updated = 1 ] && return 0
    say "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed; check the network access to Debian's archive"
    updated=1
}

# trixie at low priority, plus deb-src for the QEMU source package.
ensure_trixie_source() {
    local src=/etc/apt/sources.list.d/vmbus-trixie.sources
    local pin=/etc/apt/preferences.d/vmbus-trixie.pref
    if [ ! -f "$src" ]; then
        need_root "trixie apt source"
        if [ "$codename" = trixie ]; then
            say "adding trixie deb-src (for the QEMU source package)"
            types="deb-src"
        else
            say "adding Debian trixie at pin priority 100 (for meson >= 1.5, python3-pycotap and the QEMU source)"
            types="deb deb-src"
        fi
        cat > "$src" <<SRC
Types: $types
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        if [ "$codename" != trixie ]; then
            cat > "$pin" <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
        fi
        updated=0
    fi
}

# A suite only for 'apt-get download' of guest kernels, at pin priority 1.
#   ensure_download_suite FILE-NAME URI SUITE... : adds what no apt source names yet
ensure_download_suite() {
    local name=$1 uri=$2 src pin suites=() s
    shift 2
    src=/etc/apt/sources.list.d/vmbus-$name.sources
    pin=/etc/apt/preferences.d/vmbus-$name.pref
    [ -f "$src" ] && return 0
    for s in "$@"; do
        [ "$s" = "$codename" ] && continue
        grep -rqsE "^[^#]*[[:space:]]$s([[:space:]]|\$)" /etc/apt/sources.list /etc/apt/sources.list.d/ || suites+=("$s")
    done
    [ ${#suites[@]} = 0 ] && return 0
    need_root "apt source ${suites[*]}"
    say "adding Debian ${suites[*]} at pin priority 1 (guest kernels for scripts/guest-image.sh; nothing is installed from it)"
    cat > "$src" <<SRC
Types: deb
URIs: $uri
Suites: ${suites[*]}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    : > "$pin"
    for s in "${suites[@]}"; do
        printf 'Package: *\nPin: release n=%s\nPin-Priority: 1\n\n' "$s" >> "$pin"
    done
    added_source=1
}

if [ "${1:-}" = --optional ]; then
    case "${2:-}" in
        libvirt) want=("${OPT_libvirt[@]}") ;;
        docs) want=("${OPT_docs[@]}") ;;
        *) die "usage: bootstrap.sh [--optional libvirt|docs]" ;;
    esac
    m=$(missing "${want[@]}")
    [ -z "$m" ] && exit 0
    need_root "$m"
    say "installing (optional set '$2'): $m"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $m >/dev/null 2>&1 || {
        apt_update
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $m >/dev/null \
            || die "apt-get install $m failed; check the network access to Debian's archive"
    }
    exit 0
fi

m=$(missing "${PKGS[@]}")
if [ -n "$m" ]; then
    need_root "$m"
    apt_update
    say "installing: $m"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $m >/dev/null \
        || die "apt-get install $m failed"
fi

ensure_trixie_source
mt=$(missing "${TRIXIE_PKGS[@]}")
if [ -n "$mt" ] || ! meson_ok; then
    need_root "$mt meson>=1.5"
    apt_update
    say "installing from trixie: ${TRIXIE_PKGS[*]}"
    if [ "$codename" = trixie ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${TRIXIE_PKGS[@]}" >/dev/null
    else
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t trixie "${TRIXIE_PKGS[@]}" >/dev/null
    fi || die "installing ${TRIXIE_PKGS[*]} from trixie failed"
    meson_ok || die "meson >= 1.5 still not available (found $(meson --version 2>/dev/null || echo none))"
fi

# The guest image carries Debian's kexec, hyperv-daemons and socat
# binaries with their shared libraries taken from this host, so the host
# needs those libraries (e.g. kexec-tools links libxenctrl).
GUEST_USERSPACE=(kexec-tools hyperv-daemons socat)
libs=$(apt-cache depends "${GUEST_USERSPACE[@]}" 2>/dev/null | sed -n 's/^ *Depends: \(lib[^ <>]*\)$/\1/p' | sort -u)
ml=$(missing $libs)
if [ -n "$ml" ]; then
    need_root "$ml"
    apt_update
    say "installing libraries the guest image's userspace needs: $ml"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $ml >/dev/null 2>&1 \
        || die "apt-get install $ml failed"
fi

# Guest kernels: 5.10 from bullseye, 6.1 from bookworm (each with its
# security suite; on a bookworm host they are there already), 7.x from
# trixie-backports.
ensure_download_suite bookworm http://deb.debian.org/debian bookworm
ensure_download_suite bookworm-security http://deb.debian.org/debian-security bookworm-security
ensure_download_suite bullseye http://deb.debian.org/debian bullseye
ensure_download_suite bullseye-security http://deb.debian.org/debian-security bullseye-security
ensure_download_suite trixie-backports http://deb.debian.org/debian trixie-backports

# apt source lists are needed by 'apt-get source' and 'apt-get download';
# make sure they were fetched at least once (and after a source was added).
if [ $added_source = 1 ]; then
    updated=0
    apt_update
elif ! ls /var/lib/apt/lists/*trixie*Sources* /var/lib/apt/lists/*bullseye*Packages* \
          /var/lib/apt/lists/*bookworm*Packages* \
          /var/lib/apt/lists/*trixie-backports*Packages* >/dev/null 2>&1; then
    apt_update
fi
exit 0
