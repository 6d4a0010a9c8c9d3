# SPDX-License-Identifier: GPL-2.0-or-later
# A burst of host messages larger than one SIM slot: most posts find
# SINT2's slot busy, set the pending flag and are redelivered after the
# guest's EOM.  Needs -device x-hv-msg-burst,id=burst (and hv-balloon,
# so a VMBus channel can be checked afterwards).
N=${BURST:-200}
load_hv_modules > /dev/null
if ! wait_for '[ -n "$(vmbus_version)" ]' 10; then
    result burst FAIL "VMBus did not connect"
else
    wait_for '[ -n "$(vmbus_dev_of hv_balloon)" ]' 10
    irq0=$(hyp_interrupts)
    set -- $(msg_burst $N)
    irq1=$(hyp_interrupts)
    if [ "$1" = "$N" ] && [ "$3" = 0 ] && [ "${2:-0}" -gt 0 ]; then
        result burst PASS "delivered=$1 busy-slot retries after EOM=$2 hyp_irqs=+$((irq1 - irq0))"
    else
        result burst FAIL "delivered=$1 retries=$2 errors=$3 (want $N, >0, 0)"
    fi
    dev=$(vmbus_dev_of hv_balloon)
    if [ -n "$dev" ] && vmbus_rebind "$dev"; then
        result vmbus_after_burst PASS "hv_balloon $dev rebound"
    else
        result vmbus_after_burst FAIL "hv_balloon channel not usable after the burst"
    fi
fi
