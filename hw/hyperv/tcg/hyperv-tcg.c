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
 * hv-stimer-direct, hv-runtime (hv-tcg-time.c), hv-crash, hv-reset,
 * hv-frequencies, hv-vapic, hv-ipi, hv-tlbflush, hv-passthrough (= all
 * of these), and the values hv-spinlocks, hv-vendor-id, hv-version-id-*.
 * Every other hv-* feature is refused at realize, naming the flag.
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
 * Auto-EOI.  QEMU's userspace APIC has no auto-EOI; we emulate it: when
 * a vCPU takes an interrupt whose vector belongs to one of its unmasked
 * auto-EOI SINTs, we EOI it at once (hyperv_tcg_interrupt_taken), as
 * KVM does (its per-vCPU auto-EOI vector bitmap).  A vector shared by an
 * auto-EOI and a non-auto-EOI SINT, or by another source, is auto-EOI'd
 * too (KVM: same); the guest tests aeoi, hyperv, migrate and burst
 * exercise it at 1-4 vCPUs.  The AEOI-deprecation hint follows KVM's
 * rule: set only with hv-avic, which TCG refuses -- so Linux programs
 * its SINTs with auto-EOI, as under KVM.
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
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "cpu.h"
#include "exec/address-spaces.h"
#include "exec/cputlb.h"
#include "system/tcg.h"
#include "hw/i386/apic.h"
#include "hw/hyperv/hyperv.h"
#include "hw/hyperv/hyperv-tcg.h"
#include "hw/hyperv/vmbus-fault.h"
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
                         (1ull << HYPERV_FEAT_CRASH) | \
                         (1ull << HYPERV_FEAT_RUNTIME) | \
                         (1ull << HYPERV_FEAT_RESET) | \
                         (1ull << HYPERV_FEAT_FREQUENCIES) | \
                         (1ull << HYPERV_FEAT_VAPIC) | \
                         (1ull << HYPERV_FEAT_IPI) | \
                         (1ull << HYPERV_FEAT_TLBFLUSH))

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
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_RUNTIME)) {
        f |= HVTCG_F_RUNTIME;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_RESET)) {
        f |= HVTCG_F_RESET;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_FREQUENCIES)) {
        f |= HVTCG_F_FREQ;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_VAPIC)) {
        f |= HVTCG_F_VAPIC;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_IPI)) {
        f |= HVTCG_F_IPI;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_TLBFLUSH)) {
        f |= HVTCG_F_TLBFLUSH;
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
        /*
         * Under KVM: every enlightenment the host offers.  Under TCG the
         * "host" is this file: every enlightenment implemented here
         * (like KVM, explicit hv-*=off flags do not take any away).
         */
        cpu->hyperv_features |= HVTCG_SUPPORTED;
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
                   "hv-time, hv-stimer, hv-stimer-direct, hv-crash, "
                   "hv-runtime, hv-reset, hv-frequencies, hv-vapic, "
                   "hv-ipi, hv-tlbflush)",
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
    /* as KVM: IPI and TLB-flush hypercalls name VPs by VP index */
    if ((hyperv_feat_enabled(cpu, HYPERV_FEAT_IPI) ||
         hyperv_feat_enabled(cpu, HYPERV_FEAT_TLBFLUSH)) &&
        !hyperv_feat_enabled(cpu, HYPERV_FEAT_VPINDEX)) {
        error_setg(errp, "Hyper-V enlightenments hv-ipi and hv-tlbflush "
                   "require hv-vpindex");
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
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_RUNTIME)) {
            *eax |= HV_VP_RUNTIME_AVAILABLE;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_RESET)) {
            *eax |= HV_RESET_AVAILABLE;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_FREQUENCIES)) {
            *eax |= HV_ACCESS_FREQUENCY_MSRS;
            *edx |= HV_FREQUENCY_MSRS_AVAILABLE;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_VAPIC)) {
            *eax |= HV_APIC_ACCESS_AVAILABLE;
        }
        break;
    case HV_CPUID_ENLIGHTMENT_INFO:
        /*
         * KVM's rule: the AEOI-deprecation hint only with hv-avic (which
         * TCG refuses), so guests use auto-EOI, emulated at interrupt
         * acknowledge (see the top).
         */
        *eax = 0;
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_AVIC) &&
            !hvtcg_hide_aeoi_hint) {
            *eax |= HV_DEPRECATING_AEOI_RECOMMENDED;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_RELAXED)) {
            *eax |= HV_RELAXED_TIMING_RECOMMENDED;
        }
        /* KVM's hints for these */
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_VAPIC)) {
            *eax |= HV_APIC_ACCESS_RECOMMENDED;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_IPI)) {
            *eax |= HV_CLUSTER_IPI_RECOMMENDED |
                    HV_EX_PROCESSOR_MASKS_RECOMMENDED;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_TLBFLUSH)) {
            *eax |= HV_REMOTE_TLB_FLUSH_RECOMMENDED |
                    HV_EX_PROCESSOR_MASKS_RECOMMENDED;
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
    env->msr_hv_runtime = saved->msr_hv_runtime;
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

/*
 * hv-vapic: the APIC register @reg (x2APIC MSR index = xAPIC offset / 16)
 * of the current vCPU's local APIC: through the x2APIC MSR path in
 * x2APIC mode, else the MMIO page (ICR: ICR2 holds bits 63:32).  Runs on
 * the vCPU thread (the APIC code uses current_cpu), BQL held.
 */
static hwaddr vapic_mmio(X86CPU *cpu, unsigned reg)
{
    return (cpu_get_apic_base(cpu->apic_state) & MSR_IA32_APICBASE_BASE) +
           reg * 16;
}

static uint64_t vapic_read(X86CPU *cpu, unsigned reg)
{
    uint64_t v;

    if (apic_msr_read(reg, &v) == 0) {
        return v;
    }
    v = address_space_ldl_le(&address_space_memory, vapic_mmio(cpu, reg),
                             MEMTXATTRS_UNSPECIFIED, NULL);
    if (reg == 0x30) {
        v |= (uint64_t)address_space_ldl_le(&address_space_memory,
                                            vapic_mmio(cpu, 0x31),
                                            MEMTXATTRS_UNSPECIFIED,
                                            NULL) << 32;
    }
    return v;
}

static void vapic_write(X86CPU *cpu, unsigned reg, uint64_t val)
{
    if (apic_msr_write(reg, val) == 0) {
        return;
    }
    if (reg == 0x30) {
        address_space_stl_le(&address_space_memory, vapic_mmio(cpu, 0x31),
                             val >> 32, MEMTXATTRS_UNSPECIFIED, NULL);
    }
    address_space_stl_le(&address_space_memory, vapic_mmio(cpu, reg),
                         (uint32_t)val, MEMTXATTRS_UNSPECIFIED, NULL);
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
        vmbus_guest_fault(NULL, VMBUS_FAULT_MSR_ACCESS, "vcpu %d: rdmsr "
                          "0x%x: #GP (enlightenment not enabled)",
                          CPU(cpu)->cpu_index, msr);
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
        *val = hvtcg_ref_time(cpu);
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
    case HV_X64_MSR_VP_RUNTIME:
        *val = hvtcg_runtime(cpu);
        break;
    case HV_X64_MSR_RESET:
        *val = 0;
        break;
    case HV_X64_MSR_TSC_FREQUENCY: {
        BQL_LOCK_GUARD();           /* the calibration state */
        *val = hvtcg_tsc_hz();
        break;
    }
    case HV_X64_MSR_APIC_FREQUENCY:
        /* QEMU's APIC timer counts QEMU_CLOCK_VIRTUAL nanoseconds */
        *val = NANOSECONDS_PER_SECOND;
        break;
    case HV_X64_MSR_ICR:
    case HV_X64_MSR_TPR: {
        BQL_LOCK_GUARD();
        *val = vapic_read(cpu, msr == HV_X64_MSR_ICR ? 0x30 : 0x08);
        break;
    }
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
        vmbus_guest_fault(NULL, VMBUS_FAULT_OVERLAY_PAGE, "hypercall page "
                          "at 0x%" HWADDR_PRIx " is not writable RAM", gpa);
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
        vmbus_guest_fault(NULL, VMBUS_FAULT_MSR_ACCESS, "vcpu %d: wrmsr "
                          "0x%x <- 0x%" PRIx64 ": #GP", cs->cpu_index, msr,
                          val);
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
        if ((stored & 1) && hyperv_feat_enabled(cpu, HYPERV_FEAT_VAPIC) &&
            hvtcg_gpa_is_ram(stored & ~0xfffull, 4)) {
            /* KVM: apic_assist (no lazy EOI pending) starts at 0 */
            address_space_write(&address_space_memory, stored & ~0xfffull,
                                MEMTXATTRS_UNSPECIFIED, &(uint32_t){0}, 4);
        }
        break;
    case HV_X64_MSR_RESET:
        if (stored & 1) {
            qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        }
        break;
    case HV_X64_MSR_EOI:
        vapic_write(cpu, 0x0b, 0);
        break;
    case HV_X64_MSR_ICR:
        vapic_write(cpu, 0x30, stored);
        break;
    case HV_X64_MSR_TPR:
        vapic_write(cpu, 0x08, stored);
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

/* Copy @len bytes of slow-call input at @gpa. */
static bool hcall_read(uint64_t gpa, void *buf, size_t len)
{
    return address_space_read(&address_space_memory, gpa,
                              MEMTXATTRS_UNSPECIFIED, buf, len) == MEMTX_OK;
}

/* The VPs a call names: all, a 64-bit mask (VPs 0..63) or a sparse set. */
typedef struct HvVpSet {
    bool all;
    bool sparse;
    uint64_t mask;          /* !sparse: VPs 0..63; sparse: valid banks */
    uint64_t banks[64];
} HvVpSet;

static bool vpset_has(const HvVpSet *set, uint32_t vp)
{
    if (set->all) {
        return true;
    }
    if (!set->sparse) {
        return vp < 64 && ((set->mask >> vp) & 1);
    }
    return hvtcg_vpset_has(set->mask, set->banks, vp);
}

/* Read an Ex call's VP set: @hdr = format, valid_bank_mask; banks follow. */
static uint16_t vpset_read(const HvTcgHcall *hc, const uint64_t *hdr,
                           uint64_t banks_gpa, HvVpSet *set)
{
    uint64_t format = le64_to_cpu(hdr[0]);
    uint16_t st;
    unsigned n, i;

    set->mask = le64_to_cpu(hdr[1]);
    st = hvtcg_vpset_check(format, set->mask, hc->var_hdr, &set->all);
    if (st != HV_STATUS_SUCCESS || set->all) {
        return st;
    }
    set->sparse = true;
    n = hc->var_hdr;                /* == popcount(mask) <= 64 */
    if (!hcall_read(banks_gpa, set->banks, n * 8)) {
        return HV_STATUS_INVALID_PARAMETER;
    }
    for (i = 0; i < n; i++) {
        set->banks[i] = le64_to_cpu(set->banks[i]);
    }
    return HV_STATUS_SUCCESS;
}

/* HvCallSendSyntheticClusterIpi[Ex] */
static uint16_t hcall_send_ipi(const HvTcgHcall *hc)
{
    HvVpSet set = {};
    uint64_t w[3];
    uint32_t vector;
    uint16_t st;
    CPUState *cs;

    if (hc->code == HVTCG_CALL_SEND_IPI) {
        if (hc->fast) {
            w[0] = hc->in_param;
            w[1] = hc->out_param;
        } else if (!hcall_read(hc->in_param, w, 16)) {
            return HV_STATUS_INVALID_PARAMETER;
        } else {
            w[0] = le64_to_cpu(w[0]);
            w[1] = le64_to_cpu(w[1]);
        }
        vector = (uint32_t)w[0];
        set.mask = w[1];
    } else {
        if (!hcall_read(hc->in_param, w, 24)) {
            return HV_STATUS_INVALID_PARAMETER;
        }
        vector = (uint32_t)le64_to_cpu(w[0]);
        st = vpset_read(hc, &w[1], hc->in_param + 24, &set);
        if (st != HV_STATUS_SUCCESS) {
            return st;
        }
    }
    st = hvtcg_ipi_vector_check(vector);
    if (st != HV_STATUS_SUCCESS) {
        return st;
    }
    CPU_FOREACH(cs) {
        if (vpset_has(&set, hyperv_vp_index(cs))) {
            hvtcg_apic_inject(X86_CPU(cs), vector);
        }
    }
    return HV_STATUS_SUCCESS;
}

static void flush_work(CPUState *cs, run_on_cpu_data data)
{
    tlb_flush(cs);
}

static void flush_done(CPUState *cs, run_on_cpu_data data)
{
    /*
     * Runs exclusively: every other vCPU has left guest code, and those
     * we queued flush_work on run it before they execute any more.
     */
}

/*
 * HvCallFlushVirtualAddressSpace/List[Ex]: flush the whole TLB of every
 * named vCPU (a superset of the address space or list asked for, as
 * KVM's fallback), synchronously for the caller.
 */
static uint16_t hcall_flush(X86CPU *self, const HvTcgHcall *hc)
{
    bool ex = hc->code == HVTCG_CALL_FLUSH_VA_SPACE_EX ||
              hc->code == HVTCG_CALL_FLUSH_VA_LIST_EX;
    HvVpSet set = {};
    uint64_t w[4];
    uint64_t flags;
    uint16_t st;
    CPUState *cs;
    bool others = false;

    if (!hcall_read(hc->in_param, w, ex ? 32 : 24)) {
        return HV_STATUS_INVALID_PARAMETER;
    }
    flags = le64_to_cpu(w[1]);
    if (ex) {
        st = vpset_read(hc, &w[2], hc->in_param + 32, &set);
        if (st != HV_STATUS_SUCCESS) {
            return st;
        }
    } else {
        set.mask = le64_to_cpu(w[2]);
    }
    if (flags & HVTCG_FLUSH_ALL_PROCESSORS) {
        set.all = true;
    }
    CPU_FOREACH(cs) {
        if (!vpset_has(&set, hyperv_vp_index(cs))) {
            continue;
        }
        if (cs == CPU(self)) {
            tlb_flush(cs);
        } else {
            async_run_on_cpu(cs, flush_work, RUN_ON_CPU_NULL);
            others = true;
        }
    }
    if (others) {
        /* the caller goes on only once the others are flushed */
        async_safe_run_on_cpu(CPU(self), flush_done, RUN_ON_CPU_NULL);
    }
    return HV_STATUS_SUCCESS;
}

bool hyperv_tcg_hypercall(CPUX86State *env)
{
    X86CPU *cpu = env_archcpu(env);
    HvTcgRegs r;
    HvTcgHcall hc;
    bool mode64;
    uint16_t st, reps = 0;

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
    st = hvtcg_hcall_check_f(&hc, hvtcg_features(cpu));
    if (st == HV_STATUS_SUCCESS) {
        BQL_LOCK_GUARD();
        switch (hc.code) {
        case HVTCG_CALL_SEND_IPI:
        case HVTCG_CALL_SEND_IPI_EX:
            st = hcall_send_ipi(&hc);
            break;
        case HVTCG_CALL_FLUSH_VA_SPACE:
        case HVTCG_CALL_FLUSH_VA_SPACE_EX:
            st = hcall_flush(cpu, &hc);
            break;
        case HVTCG_CALL_FLUSH_VA_LIST:
        case HVTCG_CALL_FLUSH_VA_LIST_EX:
            st = hcall_flush(cpu, &hc);
            if (st == HV_STATUS_SUCCESS) {
                reps = hc.rep_count;        /* every GVA: all flushed */
            }
            break;
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
        vmbus_guest_fault(NULL, VMBUS_FAULT_HYPERCALL_INPUT, "vcpu %d: "
                          "hypercall control 0x%" PRIx64 " refused: status "
                          "%u", CPU(cpu)->cpu_index, hc.control, st);
    }
    trace_hvtcg_hypercall(CPU(cpu)->cpu_index, hc.code, hc.fast, mode64,
                          hc.in_param, st);
    hvtcg_hcall_result(&r, mode64, st, reps);
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
