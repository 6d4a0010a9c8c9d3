# SPDX-License-Identifier: GPL-2.0-or-later
# The libvirt-style set of Hyper-V enlightenments under TCG (relaxed,
# vapic, spinlocks, vpindex, runtime, synic, stimer, reset, frequencies,
# ipi, tlbflush, vendor_id; plus time): Linux says it uses the IPI and
# TLB-flush hypercalls and the enlightened APIC, stays correct under a
# parallel workload that needs remote TLB flushes (and sends no TLB
# shootdown IPIs: the hypercall does it), connects to VMBus; the MSRs of
# hv-runtime, hv-frequencies, hv-vapic; then HV_X64_MSR_RESET reboots the
# VM (run with --allow-reboot, msr.allow_writes=on).
boot=$(host_action boot-count)
failed=$(load_hv_modules)
if [ "$boot" != 1 ]; then
    wait_for '[ -n "$(vmbus_version)" ]' 10
    [ -n "$(vmbus_version)" ] && result hv_reset PASS "HV_X64_MSR_RESET rebooted the VM (boot $boot), VMBus $(vmbus_version) again" ||
        result hv_reset FAIL "no VMBus after the reset"
else
bad=""
for l in "Hyper-V: Using IPI hypercalls" "Hyper-V: Using hypercall for remote TLB flush" \
         "Hyper-V: Using enlightened APIC" "Hyper-V: LAPIC Timer Frequency"; do
    dmesg | grep -q "$l" || bad="$bad missing:'$l'"
done
hints=$(dmesg | sed -n 's/.*Hyper-V: privilege flags.*hints \(0x[0-9a-f]*\).*/\1/p' | head -1)
[ -z "$bad" ] && result hv_log PASS "hints $hints; IPI and TLB-flush hypercalls, enlightened APIC, LAPIC frequency from the MSR" ||
    result hv_log FAIL "$bad"
# CPUID as the flags ask: vendor (hv-vendor-id), spinlock count
if modprobe cpuid 2>/dev/null && [ -e /dev/cpu/0/cpuid ]; then
    leaf() { dd if=/dev/cpu/0/cpuid bs=16 count=1 iflag=skip_bytes skip=$(($1)) 2>/dev/null | od -An -tx4 | tr -s ' '; }
    vend=$(dd if=/dev/cpu/0/cpuid bs=16 count=1 iflag=skip_bytes skip=$((0x40000000)) 2>/dev/null | dd bs=1 skip=4 count=12 2>/dev/null)
    set -- $(leaf 0x40000004)
    if [ "$vend" = "Microsoft Hv" ] && [ "$2" = 00001fff ]; then
        result hv_cpuid PASS "vendor '$vend', hints 0x$1, spinlocks 0x$2"
    else
        result hv_cpuid FAIL "vendor '$vend' leaf 0x40000004: $*"
    fi
else
    result hv_cpuid SKIP "no cpuid module in the image"
fi
online=$(cat /sys/devices/system/cpu/online)
wait_for '[ -n "$(vmbus_version)" ]' 10
v=$(vmbus_version)
[ -n "$v" ] && result vmbus_connect PASS "Vmbus version:$v cpus $online" || result vmbus_connect FAIL "no VMBus (modules failed:${failed:-none})"

# a parallel workload: short processes migrating across the CPUs, each
# mapping, touching and unmapping memory (remote TLB flushes)
tlb0=$(awk '$1 == "TLB:" { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts)
want=$(seq 1 3000 | md5sum)
rm -f /tmp/wl.*
for w in 1 2 3 4 5 6; do
    ( ok=0; for i in $(seq 1 15); do
          [ "$(seq 1 3000 | md5sum)" = "$want" ] && ok=$((ok + 1))
          dd if=/dev/zero of=/dev/null bs=1M count=8 2>/dev/null
      done; echo $ok > /tmp/wl.$w ) &
done
wait
good=0
for w in 1 2 3 4 5 6; do good=$((good + $(cat /tmp/wl.$w))); done
tlb1=$(awk '$1 == "TLB:" { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts)
if [ $good = 90 ] && ! dmesg | grep -qE "segfault|BUG:|general protection"; then
    result tlb_workload PASS "90/90 checksums right on $online, TLB shootdown IPIs +$((tlb1 - tlb0)) (flushes by hypercall)"
else
    result tlb_workload FAIL "$good/90 right, $(dmesg | grep -cE 'segfault|BUG:') faults, TLB IPIs +$((tlb1 - tlb0))"
fi

if ! modprobe msr || [ ! -e /dev/cpu/0/msr ]; then
    result hv_msrs SKIP "no msr module"
else
    bad=""
    ncpu=$(grep -c ^processor /proc/cpuinfo)
    r0=$(rdmsr 0 0x40000010); t0=$(rdmsr 0 0x40000020)
    dd if=/dev/zero of=/dev/null bs=1M count=64 2>/dev/null
    r1=$(rdmsr 0 0x40000010); t1=$(rdmsr 0 0x40000020)
    [ "$r0" != GP ] && [ $((r1 - r0)) -gt 0 ] || bad="$bad runtime $r0->$r1"
    wrmsr 0 0x40000010 0 && bad="$bad runtime-write-accepted"
    tscf=$(rdmsr 0 0x40000022); apicf=$(rdmsr 0 0x40000023)
    mhz=$(dmesg | sed -n 's/.*tsc: Detected \([0-9]*\)\..* MHz processor.*/\1/p' | head -1)
    [ $((tscf / 1000000)) -ge $((mhz - 1)) ] && [ $((tscf / 1000000)) -le $((mhz + 1)) ] || bad="$bad tsc_freq=$tscf detected=${mhz}MHz"
    [ "$apicf" = 0x000000003b9aca00 ] || bad="$bad apic_freq=$apicf"
    wrmsr 0 0x40000022 1 && bad="$bad tsc_freq-write-accepted"
    tpr=$(rdmsr 0 0x40000072)
    [ "$tpr" != GP ] || bad="$bad tpr-read"
    rdmsr 0 0x40000070 | grep -q GP || bad="$bad eoi-read-accepted"
    icr=$(rdmsr 0 0x40000071)
    [ "$icr" != GP ] || bad="$bad icr-read"
    c=1
    while [ $c -lt $ncpu ]; do
        [ "$(rdmsr $c 0x40000010)" != GP ] || bad="$bad runtime[$c]"
        c=$((c + 1))
    done
    if [ -z "$bad" ]; then
        result hv_msrs PASS "VP_RUNTIME +$(( (r1 - r0) / 10000 ))ms over $(( (t1 - t0) / 10000 ))ms, TSC $tscf Hz (guest detected ${mhz} MHz), APIC 1 GHz, TPR $tpr ICR $icr, EOI write-only"
    else
        result hv_msrs FAIL "$bad"
    fi
    echo "VMBUS-INFO: resetting through HV_X64_MSR_RESET"
    wrmsr 0 0x40000003 1
    sleep 30
    result hv_reset FAIL "HV_X64_MSR_RESET did not reset"
fi
fi
