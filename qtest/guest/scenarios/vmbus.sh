# SPDX-License-Identifier: GPL-2.0-or-later
# hv_vmbus connects to the bridge at the expected version and every offered
# device gets its driver.
#   vmbus.expect_version=5.3   version the guest must negotiate
#   vmbus.expect_devices=N     devices that must appear, each with a driver
want_ver=$(kparam vmbus.expect_version)
want_devs=$(kparam vmbus.expect_devices || echo 0)
failed=$(load_hv_modules)
if ! wait_for '[ -n "$(vmbus_version)" ]' 15; then
    result vmbus FAIL "no 'Vmbus version' line (modules failed:${failed:-none})"
    report_platform
    return 0 2>/dev/null || exit 0
fi
ver=$(vmbus_version)
info vmbus_version "$ver"
if [ -n "$want_ver" ] && [ "$ver" != "$want_ver" ]; then
    result vmbus-version FAIL "negotiated $ver, expected $want_ver"
else
    result vmbus-version PASS "$ver"
fi
bound() { vmbus_devices | grep -vc ' none$'; }
if wait_for '[ "$(bound)" -ge "$want_devs" ]' 15; then
    result vmbus-devices PASS "$(bound) bound"
else
    result vmbus-devices FAIL "$(bound) of $want_devs devices bound"
fi
report_platform
