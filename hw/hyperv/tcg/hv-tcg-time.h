/*
 * Hyper-V enlightenments under TCG: reference time and synthetic timers
 * (hv-tcg-time.c), as called from hyperv-tcg.c.  Internal to
 * hw/hyperv/tcg/.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_HYPERV_TCG_HV_TCG_TIME_H
#define HW_HYPERV_TCG_HV_TCG_TIME_H

/*
 * Reference time (TIME_REF_COUNT) as @cpu reads it, in 100 ns units:
 * the TSC page's formula on @cpu's TSC once the page was set up, else
 * QEMU_CLOCK_VIRTUAL.  Any thread.
 */
uint64_t hvtcg_ref_time(X86CPU *cpu);

/* Realize: per-vCPU timer state (and the TSC calibration baseline). */
void hvtcg_time_realize(X86CPU *cpu);

/* System reset: timers stopped and forgotten, TSC page state dropped. */
void hvtcg_time_reset(X86CPU *cpu);

/* The guest wrote REFERENCE_TSC (@stored already in msr_hv_tsc); BQL. */
void hvtcg_tsc_page_update(X86CPU *cpu);

/*
 * The guest wrote a synthetic timer MSR (CONFIG or COUNT, @val as the
 * rules accepted it); BQL held.
 */
void hvtcg_stimer_write(X86CPU *cpu, uint32_t msr, uint64_t val);

/* The guest's TSC rate in Hz (HV_X64_MSR_TSC_FREQUENCY; 0 unknown). */
uint64_t hvtcg_tsc_hz(void);

/* VP_RUNTIME of @cpu, in 100 ns units: its vCPU thread's CPU time. */
uint64_t hvtcg_runtime(X86CPU *cpu);

/*
 * Is [@gpa, @gpa + @len) guest RAM (not ROM, not MMIO)?  Pages the
 * hypervisor writes into (TSC page, VP assist page) must be: a guest
 * pointing them at a device gets nothing written there.
 */
bool hvtcg_gpa_is_ram(uint64_t gpa, uint64_t len);

/* Send @vector as a fixed interrupt to @cpu's local APIC; BQL held. */
int hvtcg_apic_inject(X86CPU *cpu, uint8_t vector);

#endif
