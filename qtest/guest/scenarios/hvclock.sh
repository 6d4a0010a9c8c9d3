# SPDX-License-Identifier: GPL-2.0-or-later
# Hyper-V time sources agree under TCG (hv-time, hv-stimer); run with
# msr.allow_writes=on.  Uses /usr/bin/hvclock (scripts/guest/tools).
#   vmbus.hvclock_n=N        samples per vCPU for the TSC page / MSR check
#                            (default 20000)
#   vmbus.hvclock_timers=N   one-shot STIMER1 expiries per vCPU (default 200)
#   vmbus.hvclock_drift=S    only measure the drift between the TSC page and
#                            TIME_REF_COUNT over S guest seconds (the bench)
#   vmbus.hvclock_migrate=1  then migrate and check again (the destination
#                            continues the clock from the migrated page)
# Checks: on every vCPU, each TIME_REF_COUNT read lies between the TSC
# page read before and after it; no synthetic timer is delivered before
# its deadline as TIME_REF_COUNT reads it.
n=$(kparam vmbus.hvclock_n || echo 20000)
nt=$(kparam vmbus.hvclock_timers || echo 200)
drift=$(kparam vmbus.hvclock_drift || echo 0)
mig=$(kparam vmbus.hvclock_migrate || echo 0)
failed=$(load_hv_modules)
cs=/sys/devices/system/clocksource/clocksource0
if [ "$(cat $cs/current_clocksource)" != hyperv_clocksource_tsc_page ] &&
   grep -qw hyperv_clocksource_tsc_page $cs/available_clocksource; then
    echo hyperv_clocksource_tsc_page > $cs/current_clocksource
fi
info clocksource "$(cat $cs/current_clocksource)"
hvclock_run() {
if ! modprobe msr || [ ! -e /dev/cpu/0/msr ]; then
    result hvclock_agree SKIP "no msr module"
    return 0
fi
if [ "$drift" != 0 ]; then
    out=$(hvclock drift "$drift" 2>&1); rc=$?
    echo "$out"
    line=$(echo "$out" | grep "^hvclock drift over")
    if [ $rc = 0 ] && [ -n "$line" ]; then
        info hvclock_drift "$line"
        result hvclock_drift PASS "$line"
    else
        result hvclock_drift FAIL "rc=$rc $(echo "$out" | tail -1)"
    fi
    return 0
fi
out=$(hvclock check "$n" 2>&1); rc=$?
echo "$out"
case $rc in
    0) result hvclock_agree PASS "$(echo "$out" | grep '^hvclock: check' | sed 's/^hvclock: check //;s/ msr_.*window_min/ window_min/' | tr '\n' ';')" ;;
    2) result hvclock_agree SKIP "$(echo "$out" | tail -1)" ;;
    *) result hvclock_agree FAIL "$(echo "$out" | grep -E 'violation|check|FAIL' | head -6 | tr '\n' ';')" ;;
esac
out=$(hvclock timer "$nt" 2>&1); rc=$?
echo "$out"
case $rc in
    0) result hvclock_timer PASS "$(echo "$out" | grep '^hvclock: timer' | sed 's/^hvclock: timer //' | tr '\n' ';')" ;;
    2) result hvclock_timer SKIP "$(echo "$out" | tail -1)" ;;
    *) result hvclock_timer FAIL "$(echo "$out" | grep -E 'early|timer|FAIL' | head -6 | tr '\n' ';')" ;;
esac
if [ "$mig" = 1 ]; then
    r0=$(rdmsr 0 0x40000020)
    if m=$(host_action migrate); then
        r1=$(rdmsr 0 0x40000020)
        out=$(hvclock check "$n" 2>&1); rc=$?
        echo "$out"
        if [ $rc = 0 ] && [ $((r1 - r0)) -ge 0 ]; then
            result hvclock_migrate PASS "TIME_REF_COUNT $r0 -> $r1 across migration; $(echo "$out" | grep '^hvclock: check' | sed 's/^hvclock: check //;s/ msr_.*window_min/ window_min/' | tr '\n' ';')"
        else
            result hvclock_migrate FAIL "rc=$rc ref $r0 -> $r1; $(echo "$out" | grep -E 'violation|check|FAIL|SKIP' | head -6 | tr '\n' ';')"
        fi
    else
        result hvclock_migrate FAIL "migrate: $m"
    fi
fi
# the rate over a short interval, for the log only (make bench measures 10 s)
out=$(hvclock drift 2 2>&1) && info hvclock_drift_2s "$(echo "$out" | grep '^hvclock drift' | sed 's/^hvclock //')"
}
hvclock_run
[ -z "$failed" ] || info modules_failed "$failed"
