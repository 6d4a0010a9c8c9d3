# SPDX-License-Identifier: GPL-2.0-or-later
# Version sweep: hv_vmbus loaded with max_version= at every version Linux
# speaks (5.3 .. 2.4), one after the other in one boot; each must connect
# at exactly that version, in the guest's log and in query-vmbus.
#   vmbus.versions="0x50003 ..."  the list (default: all of them)
# With hv_vmbus built in, max_version comes only from the kernel command
# line, so one boot checks one version: hv_vmbus.max_version=0x... .
if mod_builtin hv_vmbus; then
    cap=$(kparam hv_vmbus.max_version)
    if [ -z "$cap" ]; then
        result versions SKIP "hv_vmbus is built in: no walk in one boot (run one boot per hv_vmbus.max_version=)"
        return 0 2>/dev/null || exit 0
    fi
    want="$((cap >> 16)).$((cap & 0xffff))"
    wait_for '[ -n "$(vmbus_version)" ]' 10
    got=$(vmbus_version)
    host=$(host_action qmp-get query-vmbus version | tr -d '"')
    if [ "$got" = "$want" ] && [ "$host" = "$want" ]; then
        result "version-$want" PASS "guest $got, host $host (hv_vmbus.max_version=$cap)"
    else
        result "version-$want" FAIL "guest '$got', host '$host', wanted $want (hv_vmbus.max_version=$cap)"
    fi
    return 0 2>/dev/null || exit 0
fi
versions=$(kparam vmbus.versions | tr ',' ' ')
[ -n "$versions" ] || versions="0x50003 0x50002 0x50001 0x50000 0x40001 0x40000 0x30000 0x20004"
ok=0 bad=0
for v in $versions; do
    want="$((v >> 16)).$((v & 0xffff))"
    dmesg -c > /dev/null
    if ! modprobe hv_vmbus max_version=$v; then
        result "version-$want" FAIL "modprobe hv_vmbus max_version=$v"; bad=$((bad + 1)); continue
    fi
    wait_for '[ -n "$(vmbus_version)" ]' 10
    got=$(vmbus_version)
    host=$(host_action qmp-get query-vmbus version | tr -d '"')
    if [ "$got" = "$want" ] && [ "$host" = "$want" ]; then
        result "version-$want" PASS "guest $got, host $host"; ok=$((ok + 1))
    else
        result "version-$want" FAIL "guest '$got', host '$host', wanted $want"; bad=$((bad + 1))
    fi
    rmmod hv_vmbus || { result "version-$want" FAIL "rmmod hv_vmbus"; break; }
done
info versions_ok "$ok"
