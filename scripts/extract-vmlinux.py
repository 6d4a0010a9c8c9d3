#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Pull the uncompressed ELF kernel out of a bzImage (xz or zstd payload).
# Booting that ELF through PVH skips the in-guest decompression, which
# costs seconds under TCG.
#
#   extract-vmlinux.py BZIMAGE OUT
import lzma
import subprocess
import sys

MAGICS = [
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
]


def try_xz(data):
    d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    try:
        return d.decompress(data)
    except lzma.LZMAError:
        return None


def try_zstd(data):
    p = subprocess.run(["zstd", "-dc", "-q"], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    # zstd complains about trailing garbage after the frame; the output
    # before that is what we want.
    return p.stdout or None


def main():
    src, out = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    for magic, kind in MAGICS:
        pos = data.find(magic)
        while pos >= 0:
            elf = try_xz(data[pos:]) if kind == "xz" else try_zstd(data[pos:])
            if elf and elf[:4] == b"\x7fELF":
                with open(out, "wb") as f:
                    f.write(elf)
                return 0
            pos = data.find(magic, pos + 1)
    sys.stderr.write("extract-vmlinux: no xz or zstd ELF payload found in %s\n" % src)
    return 1


sys.exit(main())
