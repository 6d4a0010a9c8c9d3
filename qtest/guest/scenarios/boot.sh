# SPDX-License-Identifier: GPL-2.0-or-later
# The guest boots to /init and its kernel loads modules from the image
# (a module that does not need Hyper-V: vsock).
if modprobe vsock 2>/dev/null && grep -q '^vsock ' /proc/modules; then
    result boot PASS "kernel $(uname -r)"
else
    result boot FAIL "modprobe vsock failed"
fi
