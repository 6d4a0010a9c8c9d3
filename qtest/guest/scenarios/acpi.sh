# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hyper-V's ACPI layout as the guest's kernel sees it: the module device
# \_SB.VMOD (ACPI0004) with the VMBus node VMBS under it, VMBus connected
# through it, and the MMIO window left free for VMBus devices.
#   vmbus.expect_window=BASE,MiB   a window the bridge was given
#                                   (mmio-base/-size or mmio-low-*): no
#                                   guest resource may overlap it
load_hv_modules > /dev/null
wait_for '[ -n "$(vmbus_version)" ]' 20

path_of() {  # the ACPI path of the first device with this _HID (Linux upper-cases it)
    local d
    for d in /sys/bus/acpi/devices/*; do
        [ "$(cat "$d/hid" 2>/dev/null)" = "$1" ] && [ -e "$d/path" ] && { cat "$d/path"; return 0; }
    done
    return 1
}
mod=$(path_of ACPI0004 || true)
bus=$(path_of VMBUS || true)
if [ "$mod" = '\_SB_.VMOD' ] && [ "$bus" = '\_SB_.VMOD.VMBS' ]; then
    result acpi-layout PASS "$mod / $bus"
else
    result acpi-layout FAIL "module device '$mod', VMBus node '$bus'"
fi
v=$(vmbus_version)
if [ -n "$v" ]; then result acpi-vmbus PASS "version $v"; else result acpi-vmbus FAIL "no VMBus connection"; fi

w=$(kparam vmbus.expect_window || true)
if [ -n "$w" ]; then
    base=$(( ${w%,*} ))
    end=$(( base + (${w#*,} << 20) - 1 ))
    clash=""
    # every range the kernel registered, nested ones included
    while read -r range name; do
        lo=$(( 0x${range%-*} )); hi=$(( 0x${range#*-} ))
        if [ "$lo" -le "$end" ] && [ "$hi" -ge "$base" ]; then
            clash="$clash $range:$name"
        fi
    done <<IOMEM
$(sed 's/^ *//; s/ : /\t/' /proc/iomem | tr '\t' ' ')
IOMEM
    if [ -z "$clash" ]; then
        result acpi-window PASS "$(printf '0x%x-0x%x' "$base" "$end") free in /proc/iomem"
    else
        result acpi-window FAIL "window $(printf '0x%x-0x%x' "$base" "$end") overlaps:$clash"
    fi
fi
grep -v -i 'reserved\|system ram\|kernel' /proc/iomem | head -40 | sed 's/^/VMBUS-INFO: iomem=/'
