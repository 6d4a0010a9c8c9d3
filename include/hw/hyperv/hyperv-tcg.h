/*
 * Hyper-V enlightenments under TCG: the hooks QEMU's x86 code calls.
 *
 * Implemented in hw/hyperv/tcg/hyperv-tcg.c (stubs in hyperv-tcg-stub.c
 * for builds without TCG or HYPERV).  Include after "cpu.h".  Every hook
 * is a no-op, or keeps QEMU's old behaviour, unless the vCPU runs under
 * TCG with at least one hv-* enlightenment (hyperv_tcg_enabled()).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_HYPERV_HYPERV_TCG_H
#define HW_HYPERV_HYPERV_TCG_H

/* TCG, and the user asked for Hyper-V (an hv-* feature or hv-spinlocks). */
bool hyperv_tcg_enabled(X86CPU *cpu);

/*
 * x86_cpu_realizefn, after the APIC: refuse what TCG does not implement,
 * create the SynIC.
 */
void hyperv_tcg_realize(X86CPU *cpu, Error **errp);

/* cpu_x86_cpuid: true when @index is a Hyper-V leaf we answered. */
bool hyperv_tcg_cpuid(X86CPU *cpu, uint32_t index, uint32_t *eax,
                      uint32_t *ebx, uint32_t *ecx, uint32_t *edx);

/* x86_cpu_after_reset: SINTs masked, SynIC pages unmapped. */
void hyperv_tcg_after_reset(X86CPU *cpu);

/* do_cpu_init, after cpu_reset: keep the Hyper-V MSRs from @saved. */
void hyperv_tcg_cpu_init(X86CPU *cpu, const CPUX86State *saved);

/*
 * helper_rdmsr/helper_wrmsr for 0x40000000..0x400001ff.  Return 0, or
 * -1 for #GP.  MSRs we do not implement keep TCG's old behaviour (read
 * 0, writes ignored).
 */
int hyperv_tcg_rdmsr(CPUX86State *env, uint32_t msr, uint64_t *val);
int hyperv_tcg_wrmsr(CPUX86State *env, uint32_t msr, uint64_t val);

/* VMCALL/VMMCALL: false means raise #UD. */
bool hyperv_tcg_hypercall(CPUX86State *env);

/* The vCPU took hardware interrupt @intno from its APIC (auto-EOI). */
void hyperv_tcg_interrupt_taken(CPUX86State *env, int intno);

/* Test only: hide the AEOI-deprecation hint (see hv-msg-burst.c). */
void hyperv_tcg_test_hide_aeoi_hint(bool hide);

#endif
