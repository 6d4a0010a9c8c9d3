/*
 * Hyper-V enlightenments under TCG: stubs for builds without TCG (or
 * without HYPERV), so QEMU's hooks link.  Nothing here is reachable
 * with Hyper-V on, since only hyperv-tcg.c turns it on.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include CONFIG_DEVICES
#include "qapi/error.h"
#include "cpu.h"
#include "hw/hyperv/hyperv.h"
#include "hw/hyperv/hyperv-tcg.h"

#if !defined(CONFIG_HYPERV) || !defined(CONFIG_TCG)

bool hyperv_tcg_enabled(X86CPU *cpu)
{
    return false;
}

void hyperv_tcg_realize(X86CPU *cpu, Error **errp)
{
}

bool hyperv_tcg_cpuid(X86CPU *cpu, uint32_t index, uint32_t *eax,
                      uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
    return false;
}

void hyperv_tcg_after_reset(X86CPU *cpu)
{
}

void hyperv_tcg_cpu_init(X86CPU *cpu, const CPUX86State *saved)
{
}

int hyperv_tcg_rdmsr(CPUX86State *env, uint32_t msr, uint64_t *val)
{
    *val = 0;
    return 0;
}

int hyperv_tcg_wrmsr(CPUX86State *env, uint32_t msr, uint64_t val)
{
    return 0;
}

bool hyperv_tcg_hypercall(CPUX86State *env)
{
    return false;
}

void hyperv_tcg_interrupt_taken(CPUX86State *env, int intno)
{
}

void hyperv_tcg_test_hide_aeoi_hint(bool hide)
{
}

int hyperv_arch_sint_inject(CPUState *cs, uint32_t sint)
{
    return 0;
}

#endif
