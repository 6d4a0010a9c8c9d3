/*
 * Hyper-V enlightenments under TCG: CPUID leaves, Hyper-V MSRs, the
 * hypercall page and VMCALL/VMMCALL hypercalls, SynIC delivery.
 *
 * QEMU implements Hyper-V's synthetic interrupt controller only for KVM.
 * This file gives TCG the same, reusing QEMU's accelerator-independent
 * SynIC in hw/hyperv/hyperv.c (message/event pages as overlay RAM,
 * staged message posting, connection handlers).  The guest-visible
 * rules (hypercall decoding, MSR write checks) are pure functions in
 * hv-tcg-rules.c; this file applies them to QEMU state.  Small hooks in
 * target/i386 and hw/hyperv/hyperv.c call in here (see
 * scripts/qemu-patches/0003-*.patch).
 *
 * Opt-in: nothing changes unless the vCPU runs under TCG with an hv-*
 * enlightenment.  Implemented: hv-relaxed, hv-vpindex, hv-synic,
 * hv-time (TIME_REF_COUNT and the reference TSC page), hv-stimer,
 * hv-stimer-direct (hv-tcg-time.c), hv-crash, and the values hv-spinlocks,
 * hv-vendor-id, hv-version-id-*.  Every other hv-* feature is refused at
 * realize, naming the flag.
 *
 * State.  The Hyper-V MSRs live in CPUX86State (msr_hv_*), as under KVM,
 * so QEMU's existing vmstate subsections (cpu/msr_hyperv_hypercall,
 * cpu/msr_hyperv_vapic, cpu/msr_hyperv_synic with its post_load that
 * remaps the SynIC pages) migrate them unchanged; the SynIC message and
 * event pages are RAM blocks and migrate as RAM.  GUEST_OS_ID and
 * HYPERCALL are partition-wide: a write is stored in every vCPU.
 * cpu_reset clears them (they lie before end_reset_fields); INIT keeps
 * them (hyperv_tcg_cpu_init), like Hyper-V and KVM.
 *
 * Auto-EOI.  QEMU's userspace APIC has no auto-EOI, so CPUID 0x40000004
 * always carries HV_DEPRECATING_AEOI_RECOMMENDED under TCG: Linux then
 * programs its SINTs without auto-EOI and EOIs the APIC itself.  A guest
 * that sets auto-EOI anyway still works: when a vCPU takes an interrupt
 * whose vector belongs to one of its unmasked auto-EOI SINTs, we EOI it
 * at once (hyperv_tcg_interrupt_taken), as KVM does.  The cost is that a
 * non-SynIC source sharing that vector is auto-EOI'd too (KVM: same).
 *
 * Locking (MTTCG).  Decided here, for all of this file:
 *  - MSR and hypercall helpers run on the vCPU thread WITHOUT the BQL.
 *  - Everything that touches another vCPU's state, the memory map, the
 *    SynIC or the connection handlers takes the BQL (BQL_LOCK_GUARD):
 *    partition-wide MSR writes (CPU_FOREACH), SCONTROL/SIMP/SIEFP
 *    (memory_region_add/del_subregion), SINT writes, EOM, and the
 *    hypercall dispatch.  So under TCG the VMBus message handlers run
 *    with the BQL held (under KVM they run without it).
 *  - SINT injection (hyperv_arch_sint_inject) is called by hyperv.c with
 *    the BQL held: from cpu_post_msg (run_on_cpu work on the target vCPU)
 *    and from hyperv_set_event_flag (main loop).  Since every writer of
 *    msr_hv_synic_* holds the BQL, reading another vCPU's SINT there is
 *    consistent.  The interrupt is an MSI write to the target's local
 *    APIC, which kicks that vCPU (cpu_interrupt) under MTTCG.
 *  - Reads of the vCPU's own MSRs need no lock: 64-bit fields written
 *    with qatomic_set by the BQL holder, read with qatomic_read.
 *  - Event flags are set with host atomics on RAM, which matches TCG's
 *    atomic emulation of the guest's lock bts/btr on the same page.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "cpu.h"
#include "exec/address-spaces.h"
#include "system/tcg.h"
#include "hw/i386/apic.h"
#include "hw/hyperv/hyperv.h"
#include "hw/hyperv/hyperv-tcg.h"
#include "target/i386/kvm/hyperv-proto.h"
#include "target/i386/kvm/hyperv.h"
#include "system/runstate.h"
#include "hv-tcg-rules.h"
#include "hv-tcg-time.h"
#include "trace.h"

/* The hv-* features implemented under TCG. */
#define HVTCG_SUPPORTED ((1ull << HYPERV_FEAT_RELAXED) | \
                         (1ull << HYPERV_FEAT_VPINDEX) | \
                         (1ull << HYPERV_FEAT_SYNIC) | \
                         (1ull << HYPERV_FEAT_TIME) | \
                         (1ull << HYPERV_FEAT_STIMER) | \
                         (1ull << HYPERV_FEAT_STIMER_DIRECT) | \
                         (1ull << HYPERV_FEAT_CRASH))

/* Property names of HYPERV_FEAT_* bits, for error messages. */
static const char *const hv_feat_names[] = {
    [HYPERV_FEAT_RELAXED] = "hv-relaxed",
    [HYPERV_FEAT_VAPIC] = "hv-vapic",
    [HYPERV_FEAT_TIME] = "hv-time",
    [HYPERV_FEAT_CRASH] = "hv-crash",
    [HYPERV_FEAT_RESET] = "hv-reset",
    [HYPERV_FEAT_VPINDEX] = "hv-vpindex",
    [HYPERV_FEAT_RUNTIME] = "hv-runtime",
    [HYPERV_FEAT_SYNIC] = "hv-synic",
    [HYPERV_FEAT_STIMER] = "hv-stimer",
    [HYPERV_FEAT_FREQUENCIES] = "hv-frequencies",
    [HYPERV_FEAT_REENLIGHTENMENT] = "hv-reenlightenment",
    [HYPERV_FEAT_TLBFLUSH] = "hv-tlbflush",
    [HYPERV_FEAT_EVMCS] = "hv-evmcs",
    [HYPERV_FEAT_IPI] = "hv-ipi",
    [HYPERV_FEAT_STIMER_DIRECT] = "hv-stimer-direct",
    [HYPERV_FEAT_AVIC] = "hv-avic",
    [HYPERV_FEAT_SYNDBG] = "hv-syndbg",
    [HYPERV_FEAT_MSR_BITMAP] = "hv-emsr-bitmap",
    [HYPERV_FEAT_XMM_INPUT] = "hv-xmm-input",
    [HYPERV_FEAT_TLBFLUSH_EXT] = "hv-tlbflush-ext",
    [HYPERV_FEAT_TLBFLUSH_DIRECT] = "hv-tlbflush-direct",
};

/*
 * Test only (x-hv-msg-burst,aeoi-hint=off): hide the AEOI-deprecation
 * hint so that a guest programs its SINTs with auto-EOI, to exercise
 * hyperv_tcg_interrupt_taken.
 */
static bool hvtcg_hide_aeoi_hint;

void hyperv_tcg_test_hide_aeoi_hint(bool hide)
{
    hvtcg_hide_aeoi_hint = hide;
}

bool hyperv_tcg_enabled(X86CPU *cpu)
{
    return tcg_enabled() &&
           (cpu->hyperv_features ||
            cpu->hyperv_spinlock_attempts != HYPERV_SPINLOCK_NEVER_NOTIFY);
}

static unsigned hvtcg_features(X86CPU *cpu)
{
    unsigned f = 0;

    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_VPINDEX)) {
        f |= HVTCG_F_VPINDEX;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC)) {
        f |= HVTCG_F_SYNIC;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_TIME)) {
        f |= HVTCG_F_TIME;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_STIMER)) {
        f |= HVTCG_F_STIMER;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_STIMER_DIRECT)) {
        f |= HVTCG_F_STIMER_DIRECT;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_CRASH)) {
        f |= HVTCG_F_CRASH;
    }
    return f;
}

void hyperv_tcg_realize(X86CPU *cpu, Error **errp)
{
    uint64_t extra;
    int bit;

    if (!tcg_enabled()) {
        return;
    }
    if (cpu->hyperv_passthrough) {
        error_setg(errp, "hv-passthrough is not supported under TCG");
        return;
    }
    if (cpu->hyperv_synic_kvm_only) {
        error_setg(errp, "x-hv-synic-kvm-only is not supported under TCG");
        return;
    }
    if (cpu->hyperv_no_nonarch_cs != ON_OFF_AUTO_OFF) {
        error_setg(errp, "hv-no-nonarch-coresharing is not supported "
                   "under TCG");
        return;
    }
    extra = cpu->hyperv_features & ~HVTCG_SUPPORTED;
    if (extra) {
        bit = ctz64(extra);
        error_setg(errp, "Hyper-V enlightenment %s is not supported under "
                   "TCG (supported: hv-relaxed, hv-vpindex, hv-synic, "
                   "hv-time, hv-stimer, hv-stimer-direct, hv-crash)",
                   bit < ARRAY_SIZE(hv_feat_names) && hv_feat_names[bit] ?
                   hv_feat_names[bit] : "(unknown)");
        return;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC) &&
        !hyperv_feat_enabled(cpu, HYPERV_FEAT_VPINDEX)) {
        error_setg(errp, "Hyper-V enlightenment hv-synic requires "
                   "hv-vpindex");
        return;
    }
    /* as KVM: timers need the SynIC and reference time */
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_STIMER) &&
        (!hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC) ||
         !hyperv_feat_enabled(cpu, HYPERV_FEAT_TIME))) {
        error_setg(errp, "Hyper-V enlightenment hv-stimer requires "
                   "hv-synic and hv-time");
        return;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_STIMER_DIRECT) &&
        !hyperv_feat_enabled(cpu, HYPERV_FEAT_STIMER)) {
        error_setg(errp, "Hyper-V enlightenment hv-stimer-direct requires "
                   "hv-stimer");
        return;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC)) {
        hyperv_synic_add(CPU(cpu));
    }
    if (hyperv_tcg_enabled(cpu)) {
        hvtcg_time_realize(cpu);
    }
}

bool hyperv_tcg_cpuid(X86CPU *cpu, uint32_t index, uint32_t *eax,
                      uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
    if (index < 0x40000000 || index > 0x4fffffff ||
        !hyperv_tcg_enabled(cpu)) {
        return false;
    }
    *eax = *ebx = *ecx = *edx = 0;
    switch (index) {
    case HV_CPUID_VENDOR_AND_MAX_FUNCTIONS:
        /*
         * Hyper-V owns 0x40000000 and nothing is offered above its
         * range: no TCGTCGTCGTCG (or KVM) leaf can outrank it.
         */
        *eax = HV_CPUID_IMPLEMENT_LIMITS;
        *ebx = cpu->hyperv_vendor_id[0];
        *ecx = cpu->hyperv_vendor_id[1];
        *edx = cpu->hyperv_vendor_id[2];
        break;
    case HV_CPUID_INTERFACE:
        *eax = cpu->hyperv_interface_id[0];
        *ebx = cpu->hyperv_interface_id[1];
        *ecx = cpu->hyperv_interface_id[2];
        *edx = cpu->hyperv_interface_id[3];
        break;
    case HV_CPUID_VERSION:
        *eax = cpu->hyperv_ver_id_build;
        *ebx = (uint32_t)cpu->hyperv_ver_id_major << 16 |
               cpu->hyperv_ver_id_minor;
        *ecx = cpu->hyperv_ver_id_sp;
        *edx = (uint32_t)cpu->hyperv_ver_id_sb << 24 |
               (cpu->hyperv_ver_id_sn & 0xffffff);
        break;
    case HV_CPUID_FEATURES:
        *eax = HV_HYPERCALL_AVAILABLE;
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_VPINDEX)) {
            *eax |= HV_VP_INDEX_AVAILABLE;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC)) {
            *eax |= HV_SYNIC_AVAILABLE;
            *ebx |= HV_POST_MESSAGES | HV_SIGNAL_EVENTS;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_TIME)) {
            *eax |= HV_TIME_REF_COUNT_AVAILABLE | HV_REFERENCE_TSC_AVAILABLE;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_STIMER)) {
            *eax |= HV_SYNTIMERS_AVAILABLE;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_STIMER_DIRECT)) {
            *edx |= HV_STIMER_DIRECT_MODE_AVAILABLE;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_CRASH)) {
            *edx |= HV_GUEST_CRASH_MSR_AVAILABLE;
        }
        break;
    case HV_CPUID_ENLIGHTMENT_INFO:
        /* Always: we have no auto-EOI in the APIC (see the top). */
        *eax = hvtcg_hide_aeoi_hint ? 0 : HV_DEPRECATING_AEOI_RECOMMENDED;
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_RELAXED)) {
            *eax |= HV_RELAXED_TIMING_RECOMMENDED;
        }
        *ebx = cpu->hyperv_spinlock_attempts;
        break;
    case HV_CPUID_IMPLEMENT_LIMITS:
        *eax = cpu->hv_max_vps;
        *ebx = cpu->hyperv_limits[0];
        *ecx = cpu->hyperv_limits[1];
        *edx = cpu->hyperv_limits[2];
        break;
    default:
        /* the rest of the hypervisor range reads as zeros */
        break;
    }
    return true;
}

void hyperv_tcg_after_reset(X86CPU *cpu)
{
    CPUX86State *env = &cpu->env;
    int i;

    if (!hyperv_tcg_enabled(cpu)) {
        return;
    }
    for (i = 0; i < HV_SINT_COUNT; i++) {
        env->msr_hv_synic_sint[i] = HV_SINT_MASKED;
    }
    /* timers stopped, their routes dropped, before the SynIC reset */
    hvtcg_time_reset(cpu);
    /* devices using the SynIC were reset first and dropped their routes */
    hyperv_synic_reset(CPU(cpu));
}

void hyperv_tcg_cpu_init(X86CPU *cpu, const CPUX86State *saved)
{
    CPUX86State *env = &cpu->env;

    if (!hyperv_tcg_enabled(cpu)) {
        return;
    }
    /*
     * INIT (e.g. Linux's INIT-SIPI bringing up secondaries) must not
     * forget the Hyper-V state: QEMU's cpu_reset on INIT clears msr_hv_*,
     * which lie outside the start_init_save..end_init_save block.
     */
    env->msr_hv_guest_os_id = saved->msr_hv_guest_os_id;
    env->msr_hv_hypercall = saved->msr_hv_hypercall;
    env->msr_hv_vapic = saved->msr_hv_vapic;
    env->msr_hv_synic_control = saved->msr_hv_synic_control;
    env->msr_hv_synic_evt_page = saved->msr_hv_synic_evt_page;
    env->msr_hv_synic_msg_page = saved->msr_hv_synic_msg_page;
    memcpy(env->msr_hv_synic_sint, saved->msr_hv_synic_sint,
           sizeof(env->msr_hv_synic_sint));
    env->msr_hv_tsc = saved->msr_hv_tsc;
    memcpy(env->msr_hv_crash_params, saved->msr_hv_crash_params,
           sizeof(env->msr_hv_crash_params));
    /* timers keep running across INIT (their QEMU timers are untouched) */
    memcpy(env->msr_hv_stimer_config, saved->msr_hv_stimer_config,
           sizeof(env->msr_hv_stimer_config));
    memcpy(env->msr_hv_stimer_count, saved->msr_hv_stimer_count,
           sizeof(env->msr_hv_stimer_count));
}

static uint64_t *synic_msr_field(CPUX86State *env, uint32_t msr)
{
    switch (msr) {
    case HV_X64_MSR_SCONTROL:
        return &env->msr_hv_synic_control;
    case HV_X64_MSR_SIEFP:
        return &env->msr_hv_synic_evt_page;
    case HV_X64_MSR_SIMP:
        return &env->msr_hv_synic_msg_page;
    case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
        return &env->msr_hv_synic_sint[msr - HV_X64_MSR_SINT0];
    default:
        return NULL;
    }
}

int hyperv_tcg_rdmsr(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    X86CPU *cpu = env_archcpu(env);
    uint64_t *field;

    *val = 0;
    if (!hyperv_tcg_enabled(cpu)) {
        return 0;
    }
    switch (hvtcg_msr_read_rule(msr, hvtcg_features(cpu))) {
    case HVTCG_MSR_GP:
        qemu_log_mask(LOG_GUEST_ERROR, "hyperv-tcg: rdmsr 0x%x: #GP "
                      "(enlightenment not enabled)\n", msr);
        trace_hvtcg_msr_gp(CPU(cpu)->cpu_index, msr, 0, 0);
        return -1;
    case HVTCG_MSR_NOT_OURS:
        return 0;
    default:
        break;
    }
    switch (msr) {
    case HV_X64_MSR_GUEST_OS_ID:
        *val = qatomic_read(&env->msr_hv_guest_os_id);
        break;
    case HV_X64_MSR_HYPERCALL:
        *val = qatomic_read(&env->msr_hv_hypercall);
        break;
    case HV_X64_MSR_VP_INDEX:
        *val = hyperv_vp_index(CPU(cpu));
        break;
    case HV_X64_MSR_TIME_REF_COUNT:
        *val = hvtcg_ref_time();
        break;
    case HV_X64_MSR_REFERENCE_TSC:
        *val = qatomic_read(&env->msr_hv_tsc);
        break;
    case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT: {
        unsigned i = (msr - HV_X64_MSR_STIMER0_CONFIG) / 2;

        *val = (msr - HV_X64_MSR_STIMER0_CONFIG) & 1 ?
               qatomic_read(&env->msr_hv_stimer_count[i]) :
               qatomic_read(&env->msr_hv_stimer_config[i]);
        break;
    }
    case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_P4:
        *val = qatomic_read(&env->msr_hv_crash_params[msr -
                                                      HV_X64_MSR_CRASH_P0]);
        break;
    case HV_X64_MSR_CRASH_CTL:
        *val = HV_CRASH_CTL_NOTIFY;     /* the one action we offer (KVM) */
        break;
    case HV_X64_MSR_APIC_ASSIST_PAGE:
        *val = qatomic_read(&env->msr_hv_vapic);
        break;
    case HV_X64_MSR_SVERSION:
        *val = HV_SYNIC_VERSION;
        break;
    case HV_X64_MSR_EOM:
        *val = 0;
        break;
    default:
        field = synic_msr_field(env, msr);
        *val = field ? qatomic_read(field) : 0;
        break;
    }
    return 0;
}

static void write_hypercall_page(X86CPU *cpu, uint64_t msr)
{
    CPUX86State *env = &cpu->env;
    hwaddr gpa = msr & TARGET_PAGE_MASK;
    /* vmcall; ret -- or vmmcall; ret on AMD-like vendors */
    uint8_t code[4] = { 0x0f, 0x01, 0xc1, 0xc3 };
    bool amd = IS_AMD_CPU(env) ||
               env->cpuid_vendor1 == 0x6f677948;    /* "Hygo"nGenuine */
    MemTxResult r;

    if (amd) {
        code[2] = 0xd9;
    }
    /* also invalidates translated code on that page */
    r = address_space_write(&address_space_memory, gpa,
                            MEMTXATTRS_UNSPECIFIED, code, sizeof(code));
    trace_hvtcg_hypercall_page(gpa, amd ? "vmmcall" : "vmcall", r);
    if (r != MEMTX_OK) {
        qemu_log_mask(LOG_GUEST_ERROR, "hyperv-tcg: hypercall page at 0x%"
                      HWADDR_PRIx " is not writable RAM\n", gpa);
    }
}

int hyperv_tcg_wrmsr(CPUX86State *env, uint32_t msr, uint64_t val)
{
    X86CPU *cpu = env_archcpu(env);
    CPUState *cs = CPU(cpu), *other;
    uint64_t stored, cur = 0, *field;
    HvTcgMsrVerdict v;

    if (!hyperv_tcg_enabled(cpu)) {
        return 0;
    }

    BQL_LOCK_GUARD();
    switch (msr) {
    case HV_X64_MSR_HYPERCALL:
        cur = env->msr_hv_hypercall;
        break;
    case HV_X64_MSR_APIC_ASSIST_PAGE:
        cur = env->msr_hv_vapic;
        break;
    case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT:
        cur = (msr - HV_X64_MSR_STIMER0_CONFIG) & 1 ?
              env->msr_hv_stimer_count[(msr - HV_X64_MSR_STIMER0_CONFIG) / 2] :
              env->msr_hv_stimer_config[(msr - HV_X64_MSR_STIMER0_CONFIG) / 2];
        break;
    default:
        field = synic_msr_field(env, msr);
        cur = field ? *field : 0;
        break;
    }
    v = hvtcg_msr_write_rule(msr, val, cur, env->msr_hv_guest_os_id,
                             hvtcg_features(cpu), &stored);
    if (v == HVTCG_MSR_OK &&
        !hvtcg_msr_gpa_valid(msr, stored, cpu->phys_bits)) {
        v = HVTCG_MSR_GP;   /* a page beyond the physical address space */
    }
    trace_hvtcg_wrmsr(cs->cpu_index, msr, val, v);
    switch (v) {
    case HVTCG_MSR_NOT_OURS:
    case HVTCG_MSR_IGNORE:
        return 0;
    case HVTCG_MSR_GP:
        qemu_log_mask(LOG_GUEST_ERROR, "hyperv-tcg: wrmsr 0x%x <- 0x%"
                      PRIx64 ": #GP\n", msr, val);
        trace_hvtcg_msr_gp(cs->cpu_index, msr, val, 1);
        return -1;
    case HVTCG_MSR_OK:
        break;
    }

    switch (msr) {
    case HV_X64_MSR_GUEST_OS_ID:
        /* partition-wide; clearing it disables hypercalls */
        CPU_FOREACH(other) {
            CPUX86State *oenv = &X86_CPU(other)->env;

            qatomic_set(&oenv->msr_hv_guest_os_id, stored);
            if (!stored) {
                qatomic_set(&oenv->msr_hv_hypercall,
                            oenv->msr_hv_hypercall & ~HV_HYPERCALL_ENABLE);
            }
        }
        break;
    case HV_X64_MSR_HYPERCALL:
        /* partition-wide */
        CPU_FOREACH(other) {
            qatomic_set(&X86_CPU(other)->env.msr_hv_hypercall, stored);
        }
        if (stored & HV_HYPERCALL_ENABLE) {
            write_hypercall_page(cpu, stored);
        }
        break;
    case HV_X64_MSR_APIC_ASSIST_PAGE:
        qatomic_set(&env->msr_hv_vapic, stored);
        break;
    case HV_X64_MSR_REFERENCE_TSC:
        /* partition-wide */
        CPU_FOREACH(other) {
            qatomic_set(&X86_CPU(other)->env.msr_hv_tsc, stored);
        }
        hvtcg_tsc_page_update(cpu);
        break;
    case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT:
        hvtcg_stimer_write(cpu, msr, stored);
        break;
    case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_P4:
        /* partition-wide (KVM) */
        CPU_FOREACH(other) {
            qatomic_set(&X86_CPU(other)->env.msr_hv_crash_params[
                            msr - HV_X64_MSR_CRASH_P0], stored);
        }
        break;
    case HV_X64_MSR_CRASH_CTL:
        if (stored & HV_CRASH_CTL_NOTIFY) {
            /* as KVM_SYSTEM_EVENT_CRASH: the five parameters in the event */
            trace_hvtcg_crash(cs->cpu_index, env->msr_hv_crash_params[0],
                              env->msr_hv_crash_params[1]);
            qemu_system_guest_panicked(cpu_get_crash_info(cs));
        }
        break;
    case HV_X64_MSR_EOM:
        trace_hvtcg_eom(cs->cpu_index);
        hyperv_synic_eom(cs);
        break;
    case HV_X64_MSR_SCONTROL:
    case HV_X64_MSR_SIEFP:
    case HV_X64_MSR_SIMP:
        qatomic_set(synic_msr_field(env, msr), stored);
        /* maps/unmaps the overlay pages; needs the BQL */
        hyperv_x86_synic_update(cpu);
        break;
    default:    /* SINTn */
        qatomic_set(synic_msr_field(env, msr), stored);
        break;
    }
    return 0;
}

static void regs_get(CPUX86State *env, HvTcgRegs *r)
{
    r->rax = env->regs[R_EAX];
    r->rbx = env->regs[R_EBX];
    r->rcx = env->regs[R_ECX];
    r->rdx = env->regs[R_EDX];
    r->rsi = env->regs[R_ESI];
    r->rdi = env->regs[R_EDI];
#ifdef TARGET_X86_64
    r->r8 = env->regs[8];
#else
    r->r8 = 0;
#endif
}

/* HvPostMessage: copy the input block, validate, dispatch. */
static uint16_t hcall_post_message(const HvTcgHcall *hc)
{
    HvTcgPostMessageInput in;
    struct hyperv_post_message_input msg;
    uint16_t st;

    QEMU_BUILD_BUG_ON(sizeof(in) != sizeof(msg));
    if (address_space_read(&address_space_memory, hc->in_param,
                           MEMTXATTRS_UNSPECIFIED, &in, sizeof(in))
        != MEMTX_OK) {
        return HV_STATUS_INVALID_PARAMETER;
    }
    in.connection_id = le32_to_cpu(in.connection_id);
    in.reserved = le32_to_cpu(in.reserved);
    in.message_type = le32_to_cpu(in.message_type);
    in.payload_size = le32_to_cpu(in.payload_size);
    st = hvtcg_post_message_check(&in);
    if (st != HV_STATUS_SUCCESS) {
        return st;
    }
    msg.connection_id = in.connection_id;
    msg._reserved = 0;
    msg.message_type = in.message_type;
    msg.payload_size = in.payload_size;
    memcpy(msg.payload, in.payload, sizeof(msg.payload));
    return hyperv_post_message_dispatch(&msg);
}

static uint16_t hcall_signal_event(const HvTcgHcall *hc)
{
    uint64_t param = hc->in_param;
    uint32_t conn_id;
    uint16_t st;

    if (!hc->fast) {
        uint64_t le;

        if (address_space_read(&address_space_memory, hc->in_param,
                               MEMTXATTRS_UNSPECIFIED, &le, sizeof(le))
            != MEMTX_OK) {
            return HV_STATUS_INVALID_PARAMETER;
        }
        param = le64_to_cpu(le);
    }
    st = hvtcg_signal_event_check(param, &conn_id);
    if (st != HV_STATUS_SUCCESS) {
        return st;
    }
    return hyperv_hcall_signal_event(conn_id, true);
}

bool hyperv_tcg_hypercall(CPUX86State *env)
{
    X86CPU *cpu = env_archcpu(env);
    HvTcgRegs r;
    HvTcgHcall hc;
    bool mode64;
    uint16_t st;

    if (!hyperv_tcg_enabled(cpu)) {
        return false;                       /* as before: #UD */
    }
    /* Hyper-V: #UD outside protected mode, in v8086 mode, at CPL > 0. */
    if (!(env->cr[0] & CR0_PE_MASK) || (env->eflags & VM_MASK) ||
        (env->hflags & HF_CPL_MASK) != 0) {
        trace_hvtcg_hypercall_ud(CPU(cpu)->cpu_index, "mode/cpl");
        return false;
    }
    /* ... and while the hypercall page is disabled */
    if (!(qatomic_read(&env->msr_hv_hypercall) & HV_HYPERCALL_ENABLE)) {
        trace_hvtcg_hypercall_ud(CPU(cpu)->cpu_index, "disabled");
        return false;
    }

    mode64 = !!(env->hflags & HF_CS64_MASK);
    regs_get(env, &r);
    hvtcg_hcall_decode(&r, mode64, &hc);
    st = hvtcg_hcall_check(&hc);
    if (st == HV_STATUS_SUCCESS) {
        BQL_LOCK_GUARD();
        switch (hc.code) {
        case HV_POST_MESSAGE:
            st = hcall_post_message(&hc);
            break;
        case HV_SIGNAL_EVENT:
            st = hcall_signal_event(&hc);
            break;
        default:
            st = HV_STATUS_INVALID_HYPERCALL_CODE;
            break;
        }
    } else {
        qemu_log_mask(LOG_GUEST_ERROR, "hyperv-tcg: hypercall control 0x%"
                      PRIx64 " refused: status %u\n", hc.control, st);
    }
    trace_hvtcg_hypercall(CPU(cpu)->cpu_index, hc.code, hc.fast, mode64,
                          hc.in_param, st);
    hvtcg_hcall_result(&r, mode64, st, 0);
    env->regs[R_EAX] = r.rax;
    if (!mode64) {
        env->regs[R_EDX] = r.rdx;
    }
    return true;
}

/* Called by hw/hyperv/hyperv.c, BQL held (see the locking note). */
int hyperv_arch_sint_inject(CPUState *cs, uint32_t sint)
{
    X86CPU *cpu = X86_CPU(cs);
    CPUX86State *env = &cpu->env;
    uint8_t vector;

    if (sint >= HV_SINT_COUNT) {
        return -EINVAL;
    }
    /*
     * Masked or polling SINTs, or a disabled SynIC: the message or flag
     * stays in its page and no interrupt is sent (the guest polls).
     * Not an error for the sender.
     */
    if (!(env->msr_hv_synic_control & HV_SYNIC_ENABLE) ||
        !hvtcg_sint_deliverable(env->msr_hv_synic_sint[sint], &vector)) {
        trace_hvtcg_sint(cs->cpu_index, sint, 0, false);
        return 0;
    }
    trace_hvtcg_sint(cs->cpu_index, sint, vector, true);
    return hvtcg_apic_inject(cpu, vector);
}

void hyperv_tcg_interrupt_taken(CPUX86State *env, int intno)
{
    X86CPU *cpu = env_archcpu(env);
    uint8_t vector;
    int i;

    if (intno < 16 || !hyperv_tcg_enabled(cpu) ||
        !hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC) ||
        !(env->msr_hv_synic_control & HV_SYNIC_ENABLE)) {
        return;
    }
    for (i = 0; i < HV_SINT_COUNT; i++) {
        uint64_t sint = qatomic_read(&env->msr_hv_synic_sint[i]);

        if ((sint & HV_SINT_AUTO_EOI) &&
            hvtcg_sint_deliverable(sint, &vector) && vector == intno) {
            trace_hvtcg_auto_eoi(CPU(cpu)->cpu_index, intno);
            /* EOI on this vCPU's APIC: x2APIC MSR, else the MMIO page */
            if (apic_msr_write(0x0b, 0) < 0) {
                address_space_stl_le(&address_space_memory,
                    (cpu_get_apic_base(cpu->apic_state) &
                     MSR_IA32_APICBASE_BASE) + 0xb0,
                    0, MEMTXATTRS_UNSPECIFIED, NULL);
            }
            return;
        }
    }
}
