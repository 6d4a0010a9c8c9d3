# SPDX-License-Identifier: GPL-2.0-or-later
# The Hyper-V MSRs and hypercall instructions as the guest sees them,
# after Linux's hyperv_init and hv_vmbus (run with msr.allow_writes=on):
# per-CPU VP_INDEX, partition-wide GUEST_OS_ID/HYPERCALL on every CPU
# (APs came up through INIT/SIPI), SVERSION, TIME_REF_COUNT, SINT2 as
# Linux programmed it, #GP on writes Hyper-V refuses, and #UD for
# VMCALL/VMMCALL from user mode (CPL 3).
load_hv_modules > /dev/null
wait_for '[ -n "$(vmbus_version)" ]' 10
if ! modprobe msr || [ ! -e /dev/cpu/0/msr ]; then
    result hvregs SKIP "no msr module in the image"
else
    ncpu=$(grep -c ^processor /proc/cpuinfo)
    bad=""
    os0=$(rdmsr 0 0x40000000)
    for c in $(seq 0 $((ncpu - 1))); do
        [ "$(rdmsr $c 0x40000002)" = "$(printf '0x%016x' $c)" ] || bad="$bad vp_index[$c]=$(rdmsr $c 0x40000002)"
        [ "$(rdmsr $c 0x40000000)" = "$os0" ] || bad="$bad guest_os_id[$c]"
        hc=$(rdmsr $c 0x40000001)
        [ "$hc" != GP ] && [ $((hc & 1)) = 1 ] || bad="$bad hypercall[$c]=$hc"
        s2=$(rdmsr $c 0x40000092)
        [ "$s2" != GP ] && [ $((s2 & 0x100ff)) = $((0xf3)) ] || bad="$bad sint2[$c]=$s2"
        [ "$(rdmsr $c 0x40000080)" = 0x0000000000000001 ] || bad="$bad scontrol[$c]"
    done
    [ "$os0" != GP ] && [ "$os0" != 0x0000000000000000 ] || bad="$bad guest_os_id=$os0"
    if [ -z "$bad" ]; then
        result msr_state PASS "$ncpu CPUs: VP_INDEX, GUEST_OS_ID $os0, HYPERCALL enabled, SINT2 vector 0xf3, SCONTROL on every CPU"
    else
        result msr_state FAIL "$bad"
    fi

    bad=""
    [ "$(rdmsr 0 0x40000081)" = 0x0000000000000001 ] || bad="$bad sversion=$(rdmsr 0 0x40000081)"
    [ "$(rdmsr 0 0x40000084)" = 0x0000000000000000 ] || bad="$bad eom_read"
    t1=$(rdmsr 0 0x40000020); usleep 20000; t2=$(rdmsr 0 0x40000020)
    [ "$t1" != GP ] && [ $((t2 - t1)) -ge 100000 ] && [ $((t2 - t1)) -lt 100000000 ] || bad="$bad time_ref_count $t1 -> $t2"
    wrmsr 0 0x40000002 5 && bad="$bad vp_index-write-accepted"
    wrmsr 0 0x40000081 1 && bad="$bad sversion-write-accepted"
    wrmsr 0 0x40000020 0 && bad="$bad time_ref_count-write-accepted"
    s5=$(rdmsr 0 0x40000095)
    wrmsr 0 0x40000095 0x0f && bad="$bad sint5-vector-15-unmasked-accepted"
    wrmsr 0 0x40000095 0x1000f || bad="$bad sint5-masked-refused"
    [ "$(rdmsr 0 0x40000095)" = 0x000000000001000f ] || bad="$bad sint5-readback=$(rdmsr 0 0x40000095)"
    wrmsr 0 0x40000095 "$s5" || bad="$bad sint5-restore"
    wrmsr 0 0x40000021 0 || bad="$bad reference_tsc-write-faulted"
    if [ -z "$bad" ]; then
        result msr_rules PASS "SVERSION 1, EOM reads 0, TIME_REF_COUNT +$((t2 - t1)) in 20ms, #GP: VP_INDEX/SVERSION/TIME_REF_COUNT writes and unmasked SINT vector<16"
    else
        result msr_rules FAIL "$bad"
    fi

    # VMCALL / VMMCALL at CPL 3: #UD (SIGILL, exit 132); control: nops exit 0
    echo "f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAAeABAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAEAAOAABAAAAAAAAAAEAAAAFAAAAAAAAAAAAAAAAAEAAAAAAAAAAQAAAAAAAhAAAAAAAAACEAAAAAAAAAAAQAAAAAAAAkJCQuDwAAAAx/w8F" | base64 -d > /tmp/t-nop
    echo "f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAAeABAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAEAAOAABAAAAAAAAAAEAAAAFAAAAAAAAAAAAAAAAAEAAAAAAAAAAQAAAAAAAhAAAAAAAAACEAAAAAAAAAAAQAAAAAAAADwHBuDwAAAAx/w8F" | base64 -d > /tmp/t-vmcall
    echo "f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAAeABAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAEAAOAABAAAAAAAAAAEAAAAFAAAAAAAAAAAAAAAAAEAAAAAAAAAAQAAAAAAAhAAAAAAAAACEAAAAAAAAAAAQAAAAAAAADwHZuDwAAAAx/w8F" | base64 -d > /tmp/t-vmmcall
    chmod +x /tmp/t-nop /tmp/t-vmcall /tmp/t-vmmcall
    /tmp/t-nop; rn=$?
    /tmp/t-vmcall; rc=$?
    /tmp/t-vmmcall; rm=$?
    if [ $rn = 0 ] && [ $rc = 132 ] && [ $rm = 132 ]; then
        result hypercall_cpl3 PASS "user-mode VMCALL and VMMCALL raise #UD (SIGILL)"
    else
        result hypercall_cpl3 FAIL "exit codes: nop=$rn vmcall=$rc vmmcall=$rm (want 0 132 132)"
    fi
fi
