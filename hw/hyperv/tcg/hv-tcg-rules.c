/*
 * Hyper-V enlightenments under TCG: the pure rules (see hv-tcg-rules.h).
 *
 * QEMU-free on purpose: no qemu/osdep.h, only the C library, so unit
 * tests and fuzzers link this file alone.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hv-tcg-rules.h"

#define PAGE_SIZE_4K 4096u

void hvtcg_hcall_decode(const HvTcgRegs *r, bool mode64, HvTcgHcall *hc)
{
    uint64_t c;

    if (mode64) {
        c = r->rcx;
        hc->in_param = r->rdx;
        hc->out_param = r->r8;
    } else {
        c = ((r->rdx & 0xffffffffull) << 32) | (r->rax & 0xffffffffull);
        hc->in_param = ((r->rbx & 0xffffffffull) << 32) |
                       (r->rcx & 0xffffffffull);
        hc->out_param = ((r->rdi & 0xffffffffull) << 32) |
                        (r->rsi & 0xffffffffull);
    }
    hc->control = c;
    hc->code = c & HVTCG_HC_CODE_MASK;
    hc->fast = !!(c & HVTCG_HC_FAST);
    hc->var_hdr = (c & HVTCG_HC_VARHDR_MASK) >> HVTCG_HC_VARHDR_SHIFT;
    hc->rep_count = (c & HVTCG_HC_REP_COUNT_MASK) >> HVTCG_HC_REP_COUNT_SHIFT;
    hc->rep_start = (c & HVTCG_HC_REP_START_MASK) >> HVTCG_HC_REP_START_SHIFT;
}

uint16_t hvtcg_hcall_check(const HvTcgHcall *hc)
{
    return hvtcg_hcall_check_f(hc, 0);
}

unsigned hvtcg_hcall_fixed_size(uint16_t code)
{
    switch (code) {
    case HVTCG_CALL_FLUSH_VA_SPACE:
    case HVTCG_CALL_FLUSH_VA_LIST:
        return 24;      /* address_space, flags, processor_mask */
    case HVTCG_CALL_FLUSH_VA_SPACE_EX:
    case HVTCG_CALL_FLUSH_VA_LIST_EX:
        return 32;      /* address_space, flags, format, valid_bank_mask */
    case HVTCG_CALL_SEND_IPI:
        return 16;      /* vector, reserved, cpu_mask */
    case HVTCG_CALL_SEND_IPI_EX:
        return 24;      /* vector, reserved, format, valid_bank_mask */
    case HVTCG_CALL_POST_MESSAGE:
        return sizeof(HvTcgPostMessageInput);
    case HVTCG_CALL_SIGNAL_EVENT:
        return 8;
    default:
        return 0;
    }
}

/* IPI and TLB-flush calls: form (rep, variable header, fast) and input. */
static uint16_t check_ipi_flush(const HvTcgHcall *hc, bool rep, bool var,
                                bool fast_ok)
{
    if ((!rep && (hc->rep_count || hc->rep_start)) ||
        (!var && hc->var_hdr)) {
        return HVTCG_STATUS_INVALID_HYPERCALL_INPUT;
    }
    if (rep && hc->rep_start > hc->rep_count) {
        return HVTCG_STATUS_INVALID_HYPERCALL_INPUT;
    }
    if (hc->fast) {
        /* only what fits in two registers: no XMM input is offered */
        return fast_ok ? HVTCG_STATUS_SUCCESS
                       : HVTCG_STATUS_INVALID_HYPERCALL_INPUT;
    }
    if (hc->in_param & 7) {
        return HVTCG_STATUS_INVALID_ALIGNMENT;
    }
    /* the fixed and variable headers must not cross a page */
    if ((hc->in_param & (PAGE_SIZE_4K - 1)) + hvtcg_hcall_fixed_size(hc->code) +
        8u * hc->var_hdr > PAGE_SIZE_4K) {
        return HVTCG_STATUS_INVALID_ALIGNMENT;
    }
    return HVTCG_STATUS_SUCCESS;
}

uint16_t hvtcg_hcall_check_f(const HvTcgHcall *hc, unsigned features)
{
    if (hc->control & HVTCG_HC_RSVD_MASK) {
        return HVTCG_STATUS_INVALID_HYPERCALL_INPUT;
    }
    switch (hc->code) {
    case HVTCG_CALL_FLUSH_VA_SPACE:
    case HVTCG_CALL_FLUSH_VA_LIST:
    case HVTCG_CALL_FLUSH_VA_SPACE_EX:
    case HVTCG_CALL_FLUSH_VA_LIST_EX:
        if (!(features & HVTCG_F_TLBFLUSH)) {
            return HVTCG_STATUS_INVALID_HYPERCALL_CODE;
        }
        return check_ipi_flush(hc,
                               hc->code == HVTCG_CALL_FLUSH_VA_LIST ||
                               hc->code == HVTCG_CALL_FLUSH_VA_LIST_EX,
                               hc->code == HVTCG_CALL_FLUSH_VA_SPACE_EX ||
                               hc->code == HVTCG_CALL_FLUSH_VA_LIST_EX,
                               false);
    case HVTCG_CALL_SEND_IPI:
    case HVTCG_CALL_SEND_IPI_EX:
        if (!(features & HVTCG_F_IPI)) {
            return HVTCG_STATUS_INVALID_HYPERCALL_CODE;
        }
        return check_ipi_flush(hc, false, hc->code == HVTCG_CALL_SEND_IPI_EX,
                               hc->code == HVTCG_CALL_SEND_IPI);
    case HVTCG_CALL_POST_MESSAGE:
        /*
         * Not fast-capable (its 256-byte input does not fit in two
         * registers; we offer no XMM input).  QEMU answers a fast
         * HvPostMessage under KVM with INVALID_HYPERCALL_CODE: same here.
         */
        if (hc->fast) {
            return HVTCG_STATUS_INVALID_HYPERCALL_CODE;
        }
        /* A simple call: no reps, no variable header. */
        if (hc->rep_count || hc->rep_start || hc->var_hdr) {
            return HVTCG_STATUS_INVALID_HYPERCALL_INPUT;
        }
        /* 8-byte aligned, and the block must not cross a page. */
        if (hc->in_param & 7) {
            return HVTCG_STATUS_INVALID_ALIGNMENT;
        }
        if ((hc->in_param & (PAGE_SIZE_4K - 1)) +
            sizeof(HvTcgPostMessageInput) > PAGE_SIZE_4K) {
            return HVTCG_STATUS_INVALID_ALIGNMENT;
        }
        return HVTCG_STATUS_SUCCESS;
    case HVTCG_CALL_SIGNAL_EVENT:
        if (hc->rep_count || hc->rep_start || hc->var_hdr) {
            return HVTCG_STATUS_INVALID_HYPERCALL_INPUT;
        }
        if (!hc->fast && (hc->in_param & 7)) {
            return HVTCG_STATUS_INVALID_ALIGNMENT;
        }
        return HVTCG_STATUS_SUCCESS;
    default:
        return HVTCG_STATUS_INVALID_HYPERCALL_CODE;
    }
}

void hvtcg_hcall_result(HvTcgRegs *r, bool mode64, uint16_t status,
                        uint16_t reps_done)
{
    uint64_t v = (uint64_t)status |
                 ((uint64_t)(reps_done & 0xfff) << HVTCG_HC_REP_COUNT_SHIFT);

    if (mode64) {
        r->rax = v;
    } else {
        r->rax = v & 0xffffffffull;
        r->rdx = v >> 32;
    }
}

uint16_t hvtcg_post_message_check(const HvTcgPostMessageInput *in)
{
    /* TLFS: message type > 0 and < 0x80000000 (the hypervisor's own). */
    if (in->message_type == 0 || (in->message_type & 0x80000000u)) {
        return HVTCG_STATUS_INVALID_PARAMETER;
    }
    if (in->payload_size > HVTCG_MESSAGE_PAYLOAD_SIZE) {
        return HVTCG_STATUS_INVALID_PARAMETER;
    }
    if (in->reserved != 0) {
        return HVTCG_STATUS_INVALID_PARAMETER;
    }
    return HVTCG_STATUS_SUCCESS;
}

uint16_t hvtcg_signal_event_check(uint64_t param, uint32_t *conn_id)
{
    /*
     * Bits 47:32 are the flag number within the port.  Like QEMU under
     * KVM we support flag 0 only (all known guests use 0).
     */
    if (param & 0x0000ffff00000000ull) {
        return HVTCG_STATUS_INVALID_PORT_ID;
    }
    /* Bits 63:48 and 31:24 are reserved-zero. */
    if (param & ~(uint64_t)HVTCG_CONNECTION_ID_MASK) {
        return HVTCG_STATUS_INVALID_HYPERCALL_INPUT;
    }
    *conn_id = param & HVTCG_CONNECTION_ID_MASK;
    return HVTCG_STATUS_SUCCESS;
}

static bool is_synic_msr(uint32_t msr)
{
    return (msr >= HVTCG_MSR_SCONTROL && msr <= HVTCG_MSR_EOM) ||
           (msr >= HVTCG_MSR_SINT0 && msr <= HVTCG_MSR_SINT15);
}

static bool is_stimer_msr(uint32_t msr)
{
    return msr >= HVTCG_MSR_STIMER0_CONFIG && msr <= HVTCG_MSR_STIMER3_COUNT;
}

static bool is_crash_msr(uint32_t msr)
{
    return msr >= HVTCG_MSR_CRASH_P0 && msr <= HVTCG_MSR_CRASH_CTL;
}

HvTcgMsrVerdict hvtcg_msr_read_rule(uint32_t msr, unsigned features)
{
    switch (msr) {
    case HVTCG_MSR_GUEST_OS_ID:
    case HVTCG_MSR_HYPERCALL:
    case HVTCG_MSR_VP_ASSIST_PAGE:
        return HVTCG_MSR_OK;
    case HVTCG_MSR_VP_INDEX:
        return (features & HVTCG_F_VPINDEX) ? HVTCG_MSR_OK : HVTCG_MSR_GP;
    case HVTCG_MSR_TIME_REF_COUNT:
        return (features & HVTCG_F_TIME) ? HVTCG_MSR_OK : HVTCG_MSR_GP;
    case HVTCG_MSR_REFERENCE_TSC:
        /* without hv-time: TCG's old behaviour (Linux's kexec writes it) */
        return (features & HVTCG_F_TIME) ? HVTCG_MSR_OK : HVTCG_MSR_NOT_OURS;
    case HVTCG_MSR_VP_RUNTIME:
        return (features & HVTCG_F_RUNTIME) ? HVTCG_MSR_OK : HVTCG_MSR_GP;
    case HVTCG_MSR_RESET:
        return (features & HVTCG_F_RESET) ? HVTCG_MSR_OK : HVTCG_MSR_GP;
    case HVTCG_MSR_TSC_FREQUENCY:
    case HVTCG_MSR_APIC_FREQUENCY:
        return (features & HVTCG_F_FREQ) ? HVTCG_MSR_OK : HVTCG_MSR_GP;
    case HVTCG_MSR_EOI:
        return HVTCG_MSR_GP;                    /* write-only */
    case HVTCG_MSR_ICR:
    case HVTCG_MSR_TPR:
        return (features & HVTCG_F_VAPIC) ? HVTCG_MSR_OK : HVTCG_MSR_GP;
    default:
        if (is_stimer_msr(msr)) {
            return (features & HVTCG_F_STIMER) ? HVTCG_MSR_OK : HVTCG_MSR_GP;
        }
        if (is_crash_msr(msr)) {
            return (features & HVTCG_F_CRASH) ? HVTCG_MSR_OK : HVTCG_MSR_GP;
        }
        if (is_synic_msr(msr)) {
            return (features & HVTCG_F_SYNIC) ? HVTCG_MSR_OK : HVTCG_MSR_GP;
        }
        return HVTCG_MSR_NOT_OURS;
    }
}

/* Page-address MSRs: enable bit 0, bits 11:1 reserved, GPA in 63:12. */
static uint64_t page_msr(uint64_t val)
{
    return val & (~0xfffull | 1);
}

HvTcgMsrVerdict hvtcg_msr_write_rule(uint32_t msr, uint64_t val, uint64_t cur,
                                     uint64_t guest_os_id, unsigned features,
                                     uint64_t *stored)
{
    *stored = cur;
    switch (msr) {
    case HVTCG_MSR_GUEST_OS_ID:
        *stored = val;
        return HVTCG_MSR_OK;
    case HVTCG_MSR_HYPERCALL:
        /* Locked: further writes are dropped until reset. */
        if (cur & HVTCG_HYPERCALL_LOCKED) {
            return HVTCG_MSR_IGNORE;
        }
        /* Hypercalls stay disabled until the guest identifies itself. */
        if (guest_os_id == 0) {
            return HVTCG_MSR_IGNORE;
        }
        *stored = val & (~0xfffull | HVTCG_HYPERCALL_ENABLE |
                         HVTCG_HYPERCALL_LOCKED);
        return HVTCG_MSR_OK;
    case HVTCG_MSR_VP_INDEX:
    case HVTCG_MSR_TIME_REF_COUNT:
    case HVTCG_MSR_SVERSION:
    case HVTCG_MSR_VP_RUNTIME:
    case HVTCG_MSR_TSC_FREQUENCY:
    case HVTCG_MSR_APIC_FREQUENCY:
        /* read-only (or absent) */
        return HVTCG_MSR_GP;
    case HVTCG_MSR_RESET:
        if (!(features & HVTCG_F_RESET)) {
            return HVTCG_MSR_GP;
        }
        *stored = val & 1;      /* bit 0: reset the partition */
        return HVTCG_MSR_OK;
    case HVTCG_MSR_EOI:
    case HVTCG_MSR_ICR:
    case HVTCG_MSR_TPR:
        if (!(features & HVTCG_F_VAPIC)) {
            return HVTCG_MSR_GP;
        }
        *stored = val;          /* the local APIC judges the value */
        return HVTCG_MSR_OK;
    case HVTCG_MSR_VP_ASSIST_PAGE:
        /*
         * Accepted and stored (Linux writes it on every CPU), though we
         * advertise nothing that uses the page.
         */
        *stored = page_msr(val);
        return HVTCG_MSR_OK;
    case HVTCG_MSR_REFERENCE_TSC:
        if (!(features & HVTCG_F_TIME)) {
            return HVTCG_MSR_NOT_OURS;
        }
        *stored = page_msr(val);
        return HVTCG_MSR_OK;
    default:
        break;
    }
    if (is_stimer_msr(msr)) {
        if (!(features & HVTCG_F_STIMER)) {
            return HVTCG_MSR_GP;
        }
        if ((msr - HVTCG_MSR_STIMER0_CONFIG) & 1) {
            *stored = val;                          /* COUNT */
            return HVTCG_MSR_OK;
        }
        /* direct mode only when offered (KVM: with hv-enforce-cpuid) */
        if ((val & HVTCG_STIMER_DIRECT) &&
            !(features & HVTCG_F_STIMER_DIRECT)) {
            return HVTCG_MSR_GP;
        }
        *stored = hvtcg_stimer_config_write(cur, val);
        return HVTCG_MSR_OK;
    }
    if (is_crash_msr(msr)) {
        if (!(features & HVTCG_F_CRASH)) {
            return HVTCG_MSR_GP;
        }
        *stored = val;  /* CRASH_CTL: the caller acts on the notify bit */
        return HVTCG_MSR_OK;
    }
    if (!is_synic_msr(msr)) {
        return HVTCG_MSR_NOT_OURS;
    }
    if (!(features & HVTCG_F_SYNIC)) {
        return HVTCG_MSR_GP;
    }
    switch (msr) {
    case HVTCG_MSR_SCONTROL:
        *stored = val & 1;
        return HVTCG_MSR_OK;
    case HVTCG_MSR_SIEFP:
    case HVTCG_MSR_SIMP:
        *stored = page_msr(val);
        return HVTCG_MSR_OK;
    case HVTCG_MSR_EOM:
        *stored = 0;
        return HVTCG_MSR_OK;
    default:    /* SINT0..15 */
        /* An unmasked SINT with a vector below 16 is a #GP (TLFS). */
        if (!(val & HVTCG_SINT_MASKED) &&
            (val & HVTCG_SINT_VECTOR_MASK) < 16) {
            return HVTCG_MSR_GP;
        }
        *stored = val & (HVTCG_SINT_VECTOR_MASK | HVTCG_SINT_MASKED |
                         HVTCG_SINT_AUTO_EOI | HVTCG_SINT_POLLING);
        return HVTCG_MSR_OK;
    }
}

bool hvtcg_msr_gpa_valid(uint32_t msr, uint64_t stored, unsigned phys_bits)
{
    switch (msr) {
    case HVTCG_MSR_HYPERCALL:
    case HVTCG_MSR_VP_ASSIST_PAGE:
    case HVTCG_MSR_REFERENCE_TSC:
    case HVTCG_MSR_SIMP:
    case HVTCG_MSR_SIEFP:
        if (phys_bits >= 64) {
            return true;
        }
        return (stored & ~0xfffull) >> phys_bits == 0;
    default:
        return true;
    }
}

bool hvtcg_sint_deliverable(uint64_t sint, uint8_t *vector)
{
    uint8_t v = sint & HVTCG_SINT_VECTOR_MASK;

    if (sint & (HVTCG_SINT_MASKED | HVTCG_SINT_POLLING)) {
        return false;
    }
    if (v < 16) {
        return false;
    }
    *vector = v;
    return true;
}

uint64_t hvtcg_stimer_config_write(uint64_t old, uint64_t val)
{
    uint64_t v = val & HVTCG_STIMER_CONFIG_MASK;

    /*
     * KVM: a timer reprogrammed to message mode with SINT 0 while it
     * was enabled is disabled (SINT 0 means "no SINT" for Windows).
     */
    if ((old & HVTCG_STIMER_ENABLE) && !(v & HVTCG_STIMER_DIRECT) &&
        !(v & HVTCG_STIMER_SINT_MASK)) {
        v &= ~HVTCG_STIMER_ENABLE;
    }
    return v;
}

uint64_t hvtcg_stimer_count_write(uint64_t config, uint64_t count)
{
    if (count == 0) {
        return config & ~HVTCG_STIMER_ENABLE;
    }
    if (config & HVTCG_STIMER_AUTO_ENABLE) {
        return config | HVTCG_STIMER_ENABLE;
    }
    return config;
}

uint64_t hvtcg_stimer_periodic_next(uint64_t exp, uint64_t now,
                                    uint64_t period)
{
    if (period == 0) {
        return UINT64_MAX;
    }
    if (exp == 0) {
        return now + period;
    }
    if (now < exp) {
        return exp;
    }
    return now + (period - (now - exp) % period);
}

/* high 64 bits of a * b */
static uint64_t mul_hi64(uint64_t a, uint64_t b)
{
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;

    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

uint64_t hvtcg_tsc_scale(uint64_t tsc_hz)
{
    const uint64_t ref_hz = 10000000;   /* 100 ns units */
    uint64_t rem = ref_hz, q = 0;
    int i;

    if (tsc_hz <= ref_hz) {
        return 0;
    }
    /* (ref_hz << 64) / tsc_hz by long division; fits as ref_hz < tsc_hz */
    for (i = 0; i < 64; i++) {
        bool carry = rem >> 63;

        rem <<= 1;
        q <<= 1;
        if (carry || rem >= tsc_hz) {
            rem -= tsc_hz;
            q |= 1;
        }
    }
    return q;
}

uint64_t hvtcg_tsc_ref(uint64_t tsc, uint64_t scale, uint64_t offset)
{
    return mul_hi64(tsc, scale) + offset;
}

uint64_t hvtcg_tsc_offset_for(uint64_t tsc, uint64_t scale, uint64_t ref)
{
    return ref - mul_hi64(tsc, scale);
}

uint32_t hvtcg_tsc_next_seq(uint32_t seq)
{
    seq++;
    if (seq == 0 || seq == 0xffffffffu) {
        seq = 1;
    }
    return seq;
}

uint16_t hvtcg_vpset_check(uint64_t format, uint64_t valid_bank_mask,
                           unsigned var_cnt, bool *all)
{
    *all = false;
    switch (format) {
    case HVTCG_VPSET_ALL:
        *all = true;
        return HVTCG_STATUS_SUCCESS;
    case HVTCG_VPSET_SPARSE_4K:
        /* one bank word per bit of the mask, exactly (KVM) */
        if ((unsigned)__builtin_popcountll(valid_bank_mask) != var_cnt) {
            return HVTCG_STATUS_INVALID_HYPERCALL_INPUT;
        }
        return HVTCG_STATUS_SUCCESS;
    default:
        return HVTCG_STATUS_INVALID_HYPERCALL_INPUT;
    }
}

bool hvtcg_vpset_has(uint64_t valid_bank_mask, const uint64_t *banks,
                     unsigned vp)
{
    unsigned bank = vp / 64;

    if (bank >= 64 || !((valid_bank_mask >> bank) & 1)) {
        return false;
    }
    return (banks[__builtin_popcountll(valid_bank_mask &
                                       ((1ull << bank) - 1))] >>
            (vp % 64)) & 1;
}

uint16_t hvtcg_ipi_vector_check(uint64_t vector)
{
    return vector < 0x10 || vector > 0xff ?
           HVTCG_STATUS_INVALID_HYPERCALL_INPUT : HVTCG_STATUS_SUCCESS;
}
