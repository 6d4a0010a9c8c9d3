# SPDX-License-Identifier: GPL-2.0-or-later
# Migration round trip mid-traffic: VMBus connected, a burst of host
# messages in flight, the host migrates the VM to a file and restarts it
# from that file (-incoming).  Afterwards the Hyper-V state must still
# work: hypercalls (guest->host messages), SynIC delivery (a second
# burst, busy slot + EOM) and a VMBus channel (hv_balloon rebind).
# Needs -device vmbus-bridge -device hv-balloon -device x-hv-msg-burst,id=burst.
load_hv_modules > /dev/null
if ! wait_for '[ -n "$(vmbus_dev_of hv_balloon)" ]' 10; then
    result migrate FAIL "VMBus/hv_balloon not up before migration"
else
    dev=$(vmbus_dev_of hv_balloon)
    irq0=$(hyp_interrupts)
    host_action qom-set /machine/peripheral/burst count 500 > /dev/null
    before=$(host_action qom-get /machine/peripheral/burst delivered)
    if out=$(host_action migrate); then
        result migrate PASS "migrated to a file and back; burst at $before/500 when migration started"
    else
        result migrate FAIL "host: $out"
    fi
    set -- $(msg_burst 100)
    if [ "$1" -ge 100 ] && [ "$3" = 0 ] && [ "${2:-0}" -gt 0 ]; then
        result synic_after_migration PASS "delivered=$1 retries=$2 errors=$3 hyp_irqs=+$(( $(hyp_interrupts) - irq0 ))"
    else
        result synic_after_migration FAIL "delivered=$1 retries=$2 errors=$3"
    fi
    if vmbus_rebind "$dev"; then
        result vmbus_after_migration PASS "hv_balloon $dev rebound"
    else
        result vmbus_after_migration FAIL "hv_balloon rebind failed"
    fi
    info vp_index_cpus "$(grep -c ^processor /proc/cpuinfo)"
fi
