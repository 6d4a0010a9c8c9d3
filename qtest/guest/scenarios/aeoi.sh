# SPDX-License-Identifier: GPL-2.0-or-later
# Auto-EOI: with the AEOI-deprecation hint hidden
# (-device x-hv-msg-burst,id=burst,aeoi-hint=off) Linux programs SINT2
# with auto-EOI and does not EOI the APIC; only the host's auto-EOI
# emulation keeps interrupts flowing.  Then the burst scenario runs.
hints=$(dmesg | sed -n 's/.*Hyper-V: privilege flags.*hints \(0x[0-9a-f]*\).*/\1/p' | head -1)
if [ -n "$hints" ] && [ $(( hints & 0x200 )) = 0 ]; then
    result aeoi_hint_hidden PASS "hints $hints"
else
    result aeoi_hint_hidden FAIL "hints '${hints}' (want bit 9 clear)"
fi
. /scenarios/burst.sh
