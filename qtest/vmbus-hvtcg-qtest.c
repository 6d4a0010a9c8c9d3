/*
 * qtest: Hyper-V enlightenments under TCG.
 *
 *  - /vmbus/hvtcg/rules/...: the pure rules of hw/hyperv/tcg/hv-tcg-rules.c
 *    (linked in) on inputs a Linux guest never produces: reserved control
 *    bits, unknown codes, rep counts, variable headers, fast HvPostMessage,
 *    misaligned or page-crossing input, bad message type/size, bad
 *    HvSignalEvent parameters, the MSR #GP rules, 32-bit convention.
 *  - /vmbus/hvtcg/startup/...: the built QEMU under -accel tcg refuses
 *    hv-* flags TCG does not implement (naming them) and hv-synic without
 *    hv-vpindex, and accepts the supported set (QEMU is spawned directly:
 *    libqtest always runs -accel qtest, which ignores hv-* flags).
 *  - /vmbus/hvtcg/cpuid/...: a boot sector runs CPUID under -accel tcg
 *    (given before libqtest's -accel qtest, so it wins) and leaves the
 *    registers in RAM: the Hyper-V range beyond the leaves we implement
 *    (0x40000080.., read by Linux 6.19 without a signature check) is all
 *    zeros, where TCG alone would answer with its highest basic leaf.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "libqtest.h"
#include "../../../hw/hyperv/tcg/hv-tcg-rules.h"

/* ---- hypercall decoding ---- */

static HvTcgHcall decode64(uint64_t control, uint64_t in, uint64_t out)
{
    HvTcgRegs r = { .rcx = control, .rdx = in, .r8 = out };
    HvTcgHcall hc;

    hvtcg_hcall_decode(&r, true, &hc);
    return hc;
}

static void test_decode_64(void)
{
    HvTcgHcall hc = decode64(0x0abc0def0001005dull | (5ull << 17),
                             0x1234, 0x5678);

    g_assert_cmphex(hc.code, ==, 0x5d);
    g_assert_true(hc.fast);
    g_assert_cmpuint(hc.var_hdr, ==, 5);
    g_assert_cmphex(hc.rep_count, ==, 0xdef);
    g_assert_cmphex(hc.rep_start, ==, 0xabc);
    g_assert_cmphex(hc.in_param, ==, 0x1234);
    g_assert_cmphex(hc.out_param, ==, 0x5678);
}

static void test_decode_32(void)
{
    /* EDX:EAX control, EBX:ECX input, EDI:ESI output; high halves ignored */
    HvTcgRegs r = {
        .rax = 0xffffffff0001005cull, .rdx = 0xffffffff00000000ull,
        .rbx = 0x00000001, .rcx = 0x00002000,
        .rdi = 0x00000002, .rsi = 0x00003000,
    };
    HvTcgHcall hc;

    hvtcg_hcall_decode(&r, false, &hc);
    g_assert_cmphex(hc.control, ==, 0x1005c);
    g_assert_cmphex(hc.code, ==, 0x5c);
    g_assert_true(hc.fast);
    g_assert_cmphex(hc.in_param, ==, 0x100002000ull);
    g_assert_cmphex(hc.out_param, ==, 0x200003000ull);
}

static void test_result(void)
{
    HvTcgRegs r = { .rax = ~0ull, .rdx = ~0ull };

    hvtcg_hcall_result(&r, true, HVTCG_STATUS_INVALID_ALIGNMENT, 3);
    g_assert_cmphex(r.rax, ==, 0x0000000300000004ull);
    g_assert_cmphex(r.rdx, ==, ~0ull);          /* untouched in 64-bit */
    hvtcg_hcall_result(&r, false, HVTCG_STATUS_INVALID_HYPERCALL_CODE, 1);
    g_assert_cmphex(r.rax, ==, 2);
    g_assert_cmphex(r.rdx, ==, 1);
}

static void test_check_codes(void)
{
    HvTcgHcall hc;

    /* the calls Linux makes */
    hc = decode64(0x5c, 0x10000, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==, HVTCG_STATUS_SUCCESS);
    hc = decode64(0x1005d, 0x42, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==, HVTCG_STATUS_SUCCESS);
    hc = decode64(0x5d, 0x10008, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==, HVTCG_STATUS_SUCCESS);

    /* unknown / unimplemented codes */
    hc = decode64(0x0000, 0, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_CODE);
    hc = decode64(0x0002, 0, 0);        /* HvFlushVirtualAddressSpace */
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_CODE);
    hc = decode64(0xffff, 0, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_CODE);
    /* fast HvPostMessage: as QEMU answers under KVM */
    hc = decode64(0x1005c, 0x10000, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_CODE);
}

static void test_check_reserved(void)
{
    static const uint64_t rsvd[] = {
        1ull << 27, 1ull << 31, 1ull << 44, 1ull << 47, 1ull << 60, 1ull << 63,
    };
    HvTcgHcall hc;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(rsvd); i++) {
        hc = decode64(0x1005d | rsvd[i], 0, 0);
        g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                         HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
        /* reserved bits win over an unknown code */
        hc = decode64(0x1234 | rsvd[i], 0, 0);
        g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                         HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    }
}

static void test_check_rep_varhdr(void)
{
    HvTcgHcall hc;

    /* simple calls take no reps and no variable header */
    hc = decode64(0x5c | (1ull << 32), 0x10000, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    hc = decode64(0x5c | (1ull << 48), 0x10000, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    hc = decode64(0x5c | (1ull << 17), 0x10000, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    hc = decode64(0x1005d | (0xfffull << 32), 0, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    hc = decode64(0x1005d | (0x3ffull << 17), 0, 0);
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
}

static void test_check_alignment(void)
{
    HvTcgHcall hc;

    hc = decode64(0x5c, 0x10004, 0);             /* not 8-aligned */
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_ALIGNMENT);
    hc = decode64(0x5c, 0x10f08, 0);             /* 256 bytes cross a page */
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_ALIGNMENT);
    hc = decode64(0x5c, 0x10f00, 0);             /* ends exactly at the page */
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==, HVTCG_STATUS_SUCCESS);
    hc = decode64(0x5d, 0x10001, 0);             /* slow signal, misaligned */
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==,
                     HVTCG_STATUS_INVALID_ALIGNMENT);
    hc = decode64(0x1005d, 0x10001, 0);          /* fast: a value, no GPA */
    g_assert_cmpuint(hvtcg_hcall_check(&hc), ==, HVTCG_STATUS_SUCCESS);
}

static void test_post_message_input(void)
{
    HvTcgPostMessageInput in = {
        .connection_id = 4, .message_type = 1, .payload_size = 40,
    };

    g_assert_cmpuint(hvtcg_post_message_check(&in), ==, HVTCG_STATUS_SUCCESS);
    in.payload_size = 240;
    g_assert_cmpuint(hvtcg_post_message_check(&in), ==, HVTCG_STATUS_SUCCESS);
    in.payload_size = 241;
    g_assert_cmpuint(hvtcg_post_message_check(&in), ==,
                     HVTCG_STATUS_INVALID_PARAMETER);
    in.payload_size = 0xffffffffu;
    g_assert_cmpuint(hvtcg_post_message_check(&in), ==,
                     HVTCG_STATUS_INVALID_PARAMETER);
    in.payload_size = 8;
    in.message_type = 0;
    g_assert_cmpuint(hvtcg_post_message_check(&in), ==,
                     HVTCG_STATUS_INVALID_PARAMETER);
    in.message_type = 0x80000001u;     /* hypervisor message types */
    g_assert_cmpuint(hvtcg_post_message_check(&in), ==,
                     HVTCG_STATUS_INVALID_PARAMETER);
    in.message_type = 1;
    in.reserved = 1;
    g_assert_cmpuint(hvtcg_post_message_check(&in), ==,
                     HVTCG_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(sizeof(in), ==, 256);
}

static void test_signal_event_param(void)
{
    uint32_t id = 0;

    g_assert_cmpuint(hvtcg_signal_event_check(0x00abcdef, &id), ==,
                     HVTCG_STATUS_SUCCESS);
    g_assert_cmphex(id, ==, 0xabcdef);
    g_assert_cmpuint(hvtcg_signal_event_check(0x100000001ull, &id), ==,
                     HVTCG_STATUS_INVALID_PORT_ID);         /* flag number */
    g_assert_cmpuint(hvtcg_signal_event_check(0x01000001ull, &id), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT); /* bits 31:24 */
    g_assert_cmpuint(hvtcg_signal_event_check(1ull << 63, &id), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT); /* bits 63:48 */
}

/* ---- MSR rules ---- */

#define ALL (HVTCG_F_VPINDEX | HVTCG_F_SYNIC | HVTCG_F_TIME)

static HvTcgMsrVerdict wr(uint32_t msr, uint64_t val, unsigned f,
                          uint64_t *stored)
{
    return hvtcg_msr_write_rule(msr, val, 0, 0x8100000000000000ull, f, stored);
}

static void test_msr_sint(void)
{
    uint64_t st;
    uint32_t msr;

    for (msr = HVTCG_MSR_SINT0; msr <= HVTCG_MSR_SINT15; msr++) {
        /* unmasked with a vector below 16: #GP */
        g_assert_cmpint(wr(msr, 0x0f, ALL, &st), ==, HVTCG_MSR_GP);
        g_assert_cmpint(wr(msr, 0x00, ALL, &st), ==, HVTCG_MSR_GP);
        g_assert_cmpint(wr(msr, HVTCG_SINT_AUTO_EOI | 2, ALL, &st), ==,
                        HVTCG_MSR_GP);
        /* masked: any vector */
        g_assert_cmpint(wr(msr, HVTCG_SINT_MASKED | 2, ALL, &st), ==,
                        HVTCG_MSR_OK);
        g_assert_cmphex(st, ==, HVTCG_SINT_MASKED | 2);
        /* Linux's SINT2: vector 0xf3, reserved bits dropped */
        g_assert_cmpint(wr(msr, 0xfff0000000000f3ull, ALL, &st), ==,
                        HVTCG_MSR_OK);
        g_assert_cmphex(st, ==, 0xf3);
        /* without hv-synic the SynIC MSRs #GP */
        g_assert_cmpint(wr(msr, 0xf3, HVTCG_F_VPINDEX, &st), ==, HVTCG_MSR_GP);
        g_assert_cmpint(hvtcg_msr_read_rule(msr, HVTCG_F_VPINDEX), ==,
                        HVTCG_MSR_GP);
    }
}

static void test_msr_readonly(void)
{
    uint64_t st;

    g_assert_cmpint(wr(HVTCG_MSR_VP_INDEX, 1, ALL, &st), ==, HVTCG_MSR_GP);
    g_assert_cmpint(wr(HVTCG_MSR_SVERSION, 1, ALL, &st), ==, HVTCG_MSR_GP);
    g_assert_cmpint(wr(HVTCG_MSR_TIME_REF_COUNT, 1, ALL, &st), ==,
                    HVTCG_MSR_GP);
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_VP_INDEX, ALL), ==,
                    HVTCG_MSR_OK);
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_VP_INDEX, HVTCG_F_TIME), ==,
                    HVTCG_MSR_GP);
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_TIME_REF_COUNT,
                                        HVTCG_F_VPINDEX), ==, HVTCG_MSR_GP);
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_SVERSION, ALL), ==,
                    HVTCG_MSR_OK);
    /* EOM: write-only, reads 0 (allowed) */
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_EOM, ALL), ==, HVTCG_MSR_OK);
    g_assert_cmpint(wr(HVTCG_MSR_EOM, 0, ALL, &st), ==, HVTCG_MSR_OK);
}

static void test_msr_hypercall(void)
{
    uint64_t st;

    /* ignored until GUEST_OS_ID is set */
    g_assert_cmpint(hvtcg_msr_write_rule(HVTCG_MSR_HYPERCALL, 0x5001, 0, 0,
                                         ALL, &st), ==, HVTCG_MSR_IGNORE);
    /* reserved bits 11:2 dropped */
    g_assert_cmpint(wr(HVTCG_MSR_HYPERCALL, 0x5ffd, ALL, &st), ==,
                    HVTCG_MSR_OK);
    g_assert_cmphex(st, ==, 0x5001);
    /* locked: later writes dropped */
    g_assert_cmpint(hvtcg_msr_write_rule(HVTCG_MSR_HYPERCALL, 0, 0x5003,
                                         1, ALL, &st), ==, HVTCG_MSR_IGNORE);
    /* VP_ASSIST_PAGE accepted (Linux writes it on every CPU) */
    g_assert_cmpint(wr(HVTCG_MSR_VP_ASSIST_PAGE, 0x7001, 0, &st), ==,
                    HVTCG_MSR_OK);
    g_assert_cmphex(st, ==, 0x7001);
    /* SIMP/SIEFP: page + enable; SCONTROL: enable bit */
    g_assert_cmpint(wr(HVTCG_MSR_SIMP, 0x9fff, ALL, &st), ==, HVTCG_MSR_OK);
    g_assert_cmphex(st, ==, 0x9001);
    g_assert_cmpint(wr(HVTCG_MSR_SCONTROL, ~0ull, ALL, &st), ==, HVTCG_MSR_OK);
    g_assert_cmphex(st, ==, 1);
    /* outside our set: TCG's old behaviour */
    g_assert_cmpint(wr(0x40000021, 1, ALL & ~HVTCG_F_TIME, &st), ==,
                    HVTCG_MSR_NOT_OURS);
    g_assert_cmpint(hvtcg_msr_read_rule(0x400000c0, ALL), ==,
                    HVTCG_MSR_NOT_OURS);
}

static void test_msr_gpa(void)
{
    g_assert_true(hvtcg_msr_gpa_valid(HVTCG_MSR_SIMP, 0xfffffff001ull, 40));
    g_assert_false(hvtcg_msr_gpa_valid(HVTCG_MSR_SIMP, 0x10000000001ull, 40));
    g_assert_false(hvtcg_msr_gpa_valid(HVTCG_MSR_HYPERCALL,
                                       0xfffffffffffff001ull, 48));
    g_assert_false(hvtcg_msr_gpa_valid(HVTCG_MSR_SIEFP, 1ull << 52, 52));
    g_assert_false(hvtcg_msr_gpa_valid(HVTCG_MSR_VP_ASSIST_PAGE,
                                       1ull << 46, 46));
    /* not a page MSR */
    g_assert_true(hvtcg_msr_gpa_valid(HVTCG_MSR_GUEST_OS_ID, ~0ull, 40));
}

static void test_sint_deliverable(void)
{
    uint8_t v = 0;

    g_assert_true(hvtcg_sint_deliverable(0xf3, &v));
    g_assert_cmphex(v, ==, 0xf3);
    g_assert_true(hvtcg_sint_deliverable(HVTCG_SINT_AUTO_EOI | 0x30, &v));
    g_assert_false(hvtcg_sint_deliverable(HVTCG_SINT_MASKED | 0xf3, &v));
    g_assert_false(hvtcg_sint_deliverable(HVTCG_SINT_POLLING | 0xf3, &v));
    g_assert_false(hvtcg_sint_deliverable(0x0f, &v));
}

/* ---- time, timers, crash MSRs ---- */

#define F_ALL (HVTCG_F_VPINDEX | HVTCG_F_SYNIC | HVTCG_F_TIME | \
               HVTCG_F_STIMER | HVTCG_F_STIMER_DIRECT | HVTCG_F_CRASH)

static HvTcgMsrVerdict wrc(uint32_t msr, uint64_t val, uint64_t cur,
                          unsigned f, uint64_t *stored)
{
    return hvtcg_msr_write_rule(msr, val, cur, 1, f, stored);
}

static void test_msr_stimer(void)
{
    uint64_t st;
    uint32_t m;

    /* every timer MSR: #GP without hv-stimer, both ways */
    for (m = HVTCG_MSR_STIMER0_CONFIG; m <= HVTCG_MSR_STIMER3_COUNT; m++) {
        g_assert_cmpint(hvtcg_msr_read_rule(m, F_ALL & ~HVTCG_F_STIMER), ==,
                        HVTCG_MSR_GP);
        g_assert_cmpint(wrc(m, 0, 0, F_ALL & ~HVTCG_F_STIMER, &st), ==,
                        HVTCG_MSR_GP);
        g_assert_cmpint(hvtcg_msr_read_rule(m, F_ALL), ==, HVTCG_MSR_OK);
    }
    /* direct mode: #GP unless hv-stimer-direct */
    g_assert_cmpint(wrc(HVTCG_MSR_STIMER0_CONFIG, 0x1ed9, 0,
                       F_ALL & ~HVTCG_F_STIMER_DIRECT, &st), ==, HVTCG_MSR_GP);
    g_assert_cmpint(wrc(HVTCG_MSR_STIMER0_CONFIG, 0x1ed9, 0, F_ALL, &st), ==,
                    HVTCG_MSR_OK);
    g_assert_cmphex(st, ==, 0x1ed9);
    /* reserved bits dropped */
    g_assert_cmpint(wrc(HVTCG_MSR_STIMER0_CONFIG, ~0ull & ~HVTCG_STIMER_DIRECT,
                       0, F_ALL, &st), ==, HVTCG_MSR_OK);
    g_assert_cmphex(st, ==, HVTCG_STIMER_CONFIG_MASK & ~HVTCG_STIMER_DIRECT);
    /* counts are stored as they are, any value */
    g_assert_cmpint(wrc(HVTCG_MSR_STIMER3_COUNT, ~0ull, 0, F_ALL, &st), ==,
                    HVTCG_MSR_OK);
    g_assert_cmphex(st, ==, ~0ull);
    /* KVM: message mode with SINT 0 on an enabled timer disables it */
    g_assert_cmphex(hvtcg_stimer_config_write(0x20009, 0x9), ==, 0x8);
    g_assert_cmphex(hvtcg_stimer_config_write(0, 0x9), ==, 0x9);
    g_assert_cmphex(hvtcg_stimer_config_write(0x20009, 0x1009), ==, 0x1009);
    /* count: zero disables, auto-enable enables */
    g_assert_cmphex(hvtcg_stimer_count_write(0x20009, 0), ==, 0x20008);
    g_assert_cmphex(hvtcg_stimer_count_write(0x20008, 5), ==, 0x20009);
    g_assert_cmphex(hvtcg_stimer_count_write(0x20000, 5), ==, 0x20000);
    /* periodic: phase kept, missed periods skipped */
    g_assert_cmpuint(hvtcg_stimer_periodic_next(0, 1000, 100), ==, 1100);
    g_assert_cmpuint(hvtcg_stimer_periodic_next(1100, 1050, 100), ==, 1100);
    g_assert_cmpuint(hvtcg_stimer_periodic_next(1100, 1100, 100), ==, 1200);
    g_assert_cmpuint(hvtcg_stimer_periodic_next(1100, 1555, 100), ==, 1600);
    g_assert_cmpuint(hvtcg_stimer_periodic_next(1100, 1555, 0), ==,
                     UINT64_MAX);
}

static void test_msr_time_crash(void)
{
    uint64_t st;
    uint32_t m;

    /* REFERENCE_TSC: ours with hv-time, else TCG's old behaviour */
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_REFERENCE_TSC, F_ALL), ==,
                    HVTCG_MSR_OK);
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_REFERENCE_TSC,
                                        F_ALL & ~HVTCG_F_TIME), ==,
                    HVTCG_MSR_NOT_OURS);
    g_assert_cmpint(wrc(HVTCG_MSR_REFERENCE_TSC, 0x12345fffull, 0, F_ALL, &st),
                    ==, HVTCG_MSR_OK);
    g_assert_cmphex(st, ==, 0x12345001ull);
    g_assert_false(hvtcg_msr_gpa_valid(HVTCG_MSR_REFERENCE_TSC,
                                       1ull << 40 | 1, 40));
    /* crash MSRs: #GP without hv-crash */
    for (m = HVTCG_MSR_CRASH_P0; m <= HVTCG_MSR_CRASH_CTL; m++) {
        g_assert_cmpint(hvtcg_msr_read_rule(m, F_ALL & ~HVTCG_F_CRASH), ==,
                        HVTCG_MSR_GP);
        g_assert_cmpint(wrc(m, 1, 0, F_ALL & ~HVTCG_F_CRASH, &st), ==,
                        HVTCG_MSR_GP);
        g_assert_cmpint(wrc(m, ~0ull, 0, F_ALL, &st), ==, HVTCG_MSR_OK);
    }
}

static void test_tsc_math(void)
{
    /* 2.5 GHz: 0.004 * 2^64 */
    uint64_t scale = hvtcg_tsc_scale(2500000000ull), off;

    g_assert_cmphex(scale, ==, 0x010624dd2f1a9fbeull);
    g_assert_cmpuint(hvtcg_tsc_ref(2500000000ull, scale, 0), ==, 9999999);
    /* the offset that matches a reference time, at huge TSCs too */
    off = hvtcg_tsc_offset_for(~0ull - 5, scale, 42);
    g_assert_cmpuint(hvtcg_tsc_ref(~0ull - 5, scale, off), ==, 42);
    off = hvtcg_tsc_offset_for(123456789ull, scale, 1ull << 62);
    g_assert_cmpuint(hvtcg_tsc_ref(123456789ull, scale, off), ==, 1ull << 62);
    /* 1 GHz (icount ticks are ns): exactly /100 */
    scale = hvtcg_tsc_scale(1000000000ull);
    g_assert_cmpuint(hvtcg_tsc_ref(1000000000ull * 3600, scale, 0), >=,
                     36000000000ull - 1);
    /* rates the scale cannot express */
    g_assert_cmphex(hvtcg_tsc_scale(10000000ull), ==, 0);
    g_assert_cmphex(hvtcg_tsc_scale(0), ==, 0);
    g_assert_cmphex(hvtcg_tsc_scale(~0ull), !=, 0);
    /* sequence never 0 or 0xffffffff */
    g_assert_cmphex(hvtcg_tsc_next_seq(0xfffffffeu), ==, 1);
    g_assert_cmphex(hvtcg_tsc_next_seq(0xffffffffu), ==, 1);
    g_assert_cmphex(hvtcg_tsc_next_seq(7), ==, 8);
}

/* ---- IPI and TLB-flush hypercalls, VP sets ---- */

#define F_HC (HVTCG_F_IPI | HVTCG_F_TLBFLUSH)

static void test_ipi_flush_calls(void)
{
    HvTcgHcall hc;

    /* unknown unless the enlightenment is on */
    hc = decode64(0x0002, 0x1000, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, HVTCG_F_IPI), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_CODE);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==, HVTCG_STATUS_SUCCESS);
    hc = decode64(0x1000b, 0xf3, 0xf);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, HVTCG_F_TLBFLUSH), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_CODE);
    /* Linux's forms */
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==, HVTCG_STATUS_SUCCESS);
    hc = decode64(0x0015 | (2ull << 17), 0x1000, 0);        /* IPI_EX, 2 banks */
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==, HVTCG_STATUS_SUCCESS);
    hc = decode64(0x0014 | (1ull << 17) | (7ull << 32), 0x1000, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==, HVTCG_STATUS_SUCCESS);
    /* wrong forms: rep on a simple call, var header on a non-Ex call */
    hc = decode64(0x0002 | (1ull << 32), 0x1000, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    hc = decode64(0x000b | (1ull << 17), 0x1000, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    /* rep start beyond the count */
    hc = decode64(0x0003 | (2ull << 32) | (3ull << 48), 0x1000, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    /* fast: only the plain IPI fits in two registers (no XMM input) */
    hc = decode64(0x10002, 0, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    hc = decode64(0x10015, 0, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    /* misaligned input; headers crossing the page */
    hc = decode64(0x0002, 0x1004, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==,
                     HVTCG_STATUS_INVALID_ALIGNMENT);
    hc = decode64(0x0002, 0x1ff0, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==,
                     HVTCG_STATUS_INVALID_ALIGNMENT);
    hc = decode64(0x0013 | (0x3ffull << 17), 0x1000, 0);
    g_assert_cmpuint(hvtcg_hcall_check_f(&hc, F_HC), ==,
                     HVTCG_STATUS_INVALID_ALIGNMENT);
    /* vectors */
    g_assert_cmpuint(hvtcg_ipi_vector_check(0xf), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvtcg_ipi_vector_check(0x100), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvtcg_ipi_vector_check(0x10), ==, HVTCG_STATUS_SUCCESS);
    g_assert_cmpuint(hvtcg_ipi_vector_check(0xff), ==, HVTCG_STATUS_SUCCESS);
}

static void test_vpset(void)
{
    const uint64_t banks[2] = { 0x5, 1ull << 63 };  /* banks 0 and 3 */
    bool all;

    g_assert_cmpuint(hvtcg_vpset_check(HVTCG_VPSET_ALL, 0, 0, &all), ==,
                     HVTCG_STATUS_SUCCESS);
    g_assert_true(all);
    g_assert_cmpuint(hvtcg_vpset_check(HVTCG_VPSET_SPARSE_4K, 0x9, 2, &all),
                     ==, HVTCG_STATUS_SUCCESS);
    g_assert_false(all);
    /* bank count must match the variable header */
    g_assert_cmpuint(hvtcg_vpset_check(HVTCG_VPSET_SPARSE_4K, 0x9, 1, &all),
                     ==, HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvtcg_vpset_check(HVTCG_VPSET_SPARSE_4K, ~0ull, 63,
                                       &all), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvtcg_vpset_check(2, 0, 0, &all), ==,
                     HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_true(hvtcg_vpset_has(0x9, banks, 0));
    g_assert_false(hvtcg_vpset_has(0x9, banks, 1));
    g_assert_true(hvtcg_vpset_has(0x9, banks, 2));
    g_assert_true(hvtcg_vpset_has(0x9, banks, 3 * 64 + 63));
    g_assert_false(hvtcg_vpset_has(0x9, banks, 64));     /* bank 1 absent */
    g_assert_false(hvtcg_vpset_has(0x9, banks, 4096));   /* beyond 64 banks */
    g_assert_false(hvtcg_vpset_has(0x9, banks, ~0u));
}

static void test_msr_issue11(void)
{
    uint64_t st;

    /* #GP without the enlightenment */
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_VP_RUNTIME, 0), ==,
                    HVTCG_MSR_GP);
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_TSC_FREQUENCY, 0), ==,
                    HVTCG_MSR_GP);
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_TPR, 0), ==, HVTCG_MSR_GP);
    g_assert_cmpint(wrc(HVTCG_MSR_RESET, 1, 0, 0, &st), ==, HVTCG_MSR_GP);
    g_assert_cmpint(wrc(HVTCG_MSR_EOI, 0, 0, 0, &st), ==, HVTCG_MSR_GP);
    /* read-only: runtime, frequencies; write-only: EOI */
    g_assert_cmpint(wrc(HVTCG_MSR_VP_RUNTIME, 1, 0, HVTCG_F_RUNTIME, &st), ==,
                    HVTCG_MSR_GP);
    g_assert_cmpint(wrc(HVTCG_MSR_APIC_FREQUENCY, 1, 0, HVTCG_F_FREQ, &st),
                    ==, HVTCG_MSR_GP);
    g_assert_cmpint(hvtcg_msr_read_rule(HVTCG_MSR_EOI, HVTCG_F_VAPIC), ==,
                    HVTCG_MSR_GP);
    g_assert_cmpint(wrc(HVTCG_MSR_RESET, ~0ull, 0, HVTCG_F_RESET, &st), ==,
                    HVTCG_MSR_OK);
    g_assert_cmphex(st, ==, 1);
    g_assert_cmpint(wrc(HVTCG_MSR_ICR, 0xff000000000400f3ull, 0,
                        HVTCG_F_VAPIC, &st), ==, HVTCG_MSR_OK);
}

/* ---- startup: refusals and acceptance under -accel tcg ---- */

/*
 * Run QEMU with -cpu @cpu under TCG, paused, with QMP on stdin telling it
 * to quit at once.  Returns the exit status; *err gets stderr.
 */
static int run_qemu(const char *cpu, char **err)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmd = NULL;
    g_auto(GStrv) argv = NULL;
    GError *gerr = NULL;
    int status = -1;
    int in_fd;
    GPid pid;
    int err_fd;
    const char *quit = "{\"execute\":\"qmp_capabilities\"}\n"
                       "{\"execute\":\"quit\"}\n";
    GString *buf = g_string_new(NULL);
    char tmp[4096];
    ssize_t n;

    g_assert_nonnull(qemu);
    cmd = g_strdup_printf("%s -M q35 -accel tcg -nodefaults -display none -S "
                          "-qmp stdio -cpu %s", qemu, cpu);
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_async_with_pipes(NULL, argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD |
                                           G_SPAWN_STDOUT_TO_DEV_NULL,
                                           NULL, NULL, &pid, &in_fd, NULL,
                                           &err_fd, &gerr));
    /* QEMU that refused the CPU has exited: EPIPE is fine */
    signal(SIGPIPE, SIG_IGN);
    n = write(in_fd, quit, strlen(quit));
    (void)n;
    close(in_fd);
    while ((n = read(err_fd, tmp, sizeof(tmp))) > 0) {
        g_string_append_len(buf, tmp, n);
    }
    close(err_fd);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_spawn_close_pid(pid);
    {
        /* A sanitizer build of QEMU warns about coroutines; not ours. */
        g_auto(GStrv) lines = g_strsplit(buf->str, "\n", -1);

        g_string_truncate(buf, 0);
        for (int i = 0; lines[i]; i++) {
            if (!g_str_has_prefix(lines[i], "==") || !strstr(lines[i], "WARNING: ASan")) {
                g_string_append(buf, lines[i]);
                if (lines[i + 1]) {
                    g_string_append_c(buf, '\n');
                }
            }
        }
    }
    *err = g_string_free(buf, false);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_refused(const void *data)
{
    const char *flag = data;
    g_autofree char *cpu = g_strdup_printf("qemu64,hv-vpindex=on,%s=on", flag);
    g_autofree char *err = NULL;

    g_assert_cmpint(run_qemu(cpu, &err), !=, 0);
    if (!strstr(err, flag)) {
        g_test_message("stderr: %s", err);
    }
    g_assert_nonnull(strstr(err, flag));
}

static void test_synic_needs_vpindex(void)
{
    g_autofree char *err = NULL;

    g_assert_cmpint(run_qemu("qemu64,hv-synic=on", &err), !=, 0);
    g_assert_nonnull(strstr(err, "hv-synic requires hv-vpindex"));
}

static void test_stimer_deps(void)
{
    g_autofree char *err = NULL;
    g_autofree char *err2 = NULL;

    g_assert_cmpint(run_qemu("qemu64,hv-vpindex=on,hv-synic=on,hv-stimer=on",
                             &err), !=, 0);
    g_assert_nonnull(strstr(err, "hv-stimer requires hv-synic and hv-time"));
    g_assert_cmpint(run_qemu("qemu64,hv-vpindex=on,hv-synic=on,hv-time=on,"
                             "hv-stimer-direct=on", &err2), !=, 0);
    g_assert_nonnull(strstr(err2, "hv-stimer-direct requires hv-stimer"));
}

static void test_ipi_needs_vpindex(void)
{
    g_autofree char *err = NULL;
    g_autofree char *err2 = NULL;

    g_assert_cmpint(run_qemu("qemu64,hv-ipi=on", &err), !=, 0);
    g_assert_nonnull(strstr(err, "require hv-vpindex"));
    g_assert_cmpint(run_qemu("qemu64,hv-tlbflush=on", &err2), !=, 0);
    g_assert_nonnull(strstr(err2, "require hv-vpindex"));
}

static void test_accepted(void)
{
    g_autofree char *err = NULL;

    g_assert_cmpint(run_qemu("qemu64,hv-vpindex=on,hv-synic=on,hv-relaxed=on,"
                             "hv-time=on,hv-spinlocks=0x1fff,"
                             "hv-vendor-id=QEMUonTCG", &err), ==, 0);
    g_assert_cmpstr(err, ==, "");
    g_free(err);
    err = NULL;
    /* time, timers and crash flags */
    g_assert_cmpint(run_qemu("qemu64,hv-vpindex=on,hv-synic=on,hv-time=on,"
                             "hv-stimer=on,hv-stimer-direct=on,hv-crash=on",
                             &err), ==, 0);
    g_assert_cmpstr(err, ==, "");
    g_free(err);
    err = NULL;
    /* the libvirt set */
    g_assert_cmpint(run_qemu("qemu64,hv-relaxed=on,hv-vapic=on,"
                             "hv-spinlocks=0x1fff,hv-vpindex=on,hv-runtime=on,"
                             "hv-synic=on,hv-stimer=on,hv-reset=on,"
                             "hv-frequencies=on,hv-ipi=on,hv-tlbflush=on,"
                             "hv-time=on,hv-vendor-id=KVM\\ Hv", &err), ==, 0);
    g_assert_cmpstr(err, ==, "");
    g_free(err);
    err = NULL;
    /* hv-passthrough: everything TCG implements */
    g_assert_cmpint(run_qemu("qemu64,hv-passthrough=on", &err), ==, 0);
    g_assert_cmpstr(err, ==, "");
    g_free(err);
    err = NULL;
    /* no hv-* at all: as before */
    g_assert_cmpint(run_qemu("qemu64", &err), ==, 0);
}

/* ---- CPUID seen by a guest under TCG ---- */

/*
 * Boot sector, 16-bit real mode, DS = 0: for each u32 leaf of the table
 * at CPUID_TABLE (ends with 0) run CPUID with ECX = 0 and store EAX, EBX,
 * ECX, EDX at CPUID_OUT + 16 * i; then write CPUID_DONE at CPUID_FLAG
 * and halt.
 */
#define CPUID_TABLE_OFF 0x3b            /* table offset in the sector */
#define CPUID_OUT       0x8010
#define CPUID_FLAG      0x8000
#define CPUID_DONE      0x600df00du
#define CPUID_MAX       16

static const uint8_t cpuid_boot_code[] = {
    0xfa,                               /* cli */
    0x31, 0xc0,                         /* xor ax, ax */
    0x8e, 0xd8,                         /* mov ds, ax */
    0xbe, 0x3b, 0x7c,                   /* mov si, 0x7c00 + table */
    0xbf, 0x10, 0x80,                   /* mov di, CPUID_OUT */
    0x66, 0x8b, 0x04,                   /* 1: mov eax, [si] */
    0x66, 0x85, 0xc0,                   /* test eax, eax */
    0x74, 0x1c,                         /* jz 2f */
    0x66, 0x31, 0xc9,                   /* xor ecx, ecx */
    0x0f, 0xa2,                         /* cpuid */
    0x66, 0x89, 0x05,                   /* mov [di], eax */
    0x66, 0x89, 0x5d, 0x04,             /* mov [di + 4], ebx */
    0x66, 0x89, 0x4d, 0x08,             /* mov [di + 8], ecx */
    0x66, 0x89, 0x55, 0x0c,             /* mov [di + 12], edx */
    0x83, 0xc6, 0x04,                   /* add si, 4 */
    0x83, 0xc7, 0x10,                   /* add di, 16 */
    0xeb, 0xdc,                         /* jmp 1b */
    0x66, 0xc7, 0x06, 0x00, 0x80,       /* 2: mov dword [CPUID_FLAG], */
    0x0d, 0xf0, 0x0d, 0x60,             /*      CPUID_DONE */
    0xf4,                               /* 3: hlt */
    0xeb, 0xfd,                         /* jmp 3b */
};
QEMU_BUILD_BUG_ON(sizeof(cpuid_boot_code) != CPUID_TABLE_OFF);

typedef struct CpuidRegs {
    uint32_t eax, ebx, ecx, edx;
} CpuidRegs;

/*
 * Boot a PC with -cpu @cpu under TCG and read the leaves' registers (the
 * i440FX's IDE disk: SeaBIOS probes q35's AHCI port with a 32 s timeout).
 */
#define CPUID_DISK_SIZE (1024 * 1024)

static void guest_cpuid(const char *cpu, const uint32_t *leaves, int n,
                        CpuidRegs *out)
{
    g_autofree uint8_t *img = g_malloc0(CPUID_DISK_SIZE);
    g_autofree char *path = NULL;
    QTestState *qts;
    uint32_t flag = 0;
    int fd;

    g_assert_cmpint(n, <, CPUID_MAX);
    memcpy(img, cpuid_boot_code, sizeof(cpuid_boot_code));
    for (int i = 0; i < n; i++) {
        stl_le_p(img + CPUID_TABLE_OFF + 4 * i, leaves[i]);
    }
    img[510] = 0x55;
    img[511] = 0xaa;
    fd = g_file_open_tmp("vmbus-cpuid-XXXXXX", &path, NULL);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, img, CPUID_DISK_SIZE), ==, CPUID_DISK_SIZE);
    close(fd);

    qts = qtest_initf("-M pc -accel tcg -cpu %s -nodefaults -display none "
                      "-drive if=ide,file=%s,format=raw,snapshot=on",
                      cpu, path);
    /* SeaBIOS, then the sector: a bounded wait, not a timing check */
    for (int i = 0; i < 6000 && flag != CPUID_DONE; i++) {
        g_usleep(10 * 1000);
        flag = qtest_readl(qts, CPUID_FLAG);
    }
    g_assert_cmphex(flag, ==, CPUID_DONE);
    for (int i = 0; i < n; i++) {
        uint64_t a = CPUID_OUT + 16 * i;

        out[i].eax = qtest_readl(qts, a);
        out[i].ebx = qtest_readl(qts, a + 4);
        out[i].ecx = qtest_readl(qts, a + 8);
        out[i].edx = qtest_readl(qts, a + 12);
    }
    qtest_quit(qts);
    unlink(path);
}

/*
 * Leaf 0xD with AVX: EAX = XCR0 bits x87 | SSE | AVX = 7.  Bit 2 of
 * 0x40000082.EAX means "extended IOAPIC RTE" and bit 3 "confidential
 * VMBus" to Linux 6.19+, so TCG's out-of-range answer must not reach it.
 */
#define CPUID_TEST_CPU "qemu64,+xsave,+avx"

static const uint32_t cpuid_leaves[] = {
    0xd, 0x40000000, 0x40000080, 0x40000081, 0x40000082, 0x40000083,
    0x400000ff, 0x40000100,
};
enum { L_D, L_VENDOR, L_80, L_81, L_82, L_83, L_FF, L_100, L_COUNT };
QEMU_BUILD_BUG_ON(L_COUNT != ARRAY_SIZE(cpuid_leaves));

static void test_cpuid_vs_range_zero(void)
{
    CpuidRegs r[L_COUNT];

    guest_cpuid(CPUID_TEST_CPU ",hv-vpindex=on,hv-synic=on,hv-time=on,"
                "hv-relaxed=on", cpuid_leaves, L_COUNT, r);
    /* our Hyper-V leaves answer */
    g_assert_cmphex(r[L_VENDOR].eax, ==, 0x40000005);
    g_assert_cmphex(r[L_VENDOR].ebx, ==, 0x7263694d);      /* "Micr" */
    g_assert_cmphex(r[L_D].eax & 7, ==, 7);
    for (int i = L_80; i < L_COUNT; i++) {
        g_test_message("leaf 0x%x: %08x %08x %08x %08x", cpuid_leaves[i],
                       r[i].eax, r[i].ebx, r[i].ecx, r[i].edx);
        g_assert_cmphex(r[i].eax, ==, 0);
        g_assert_cmphex(r[i].ebx, ==, 0);
        g_assert_cmphex(r[i].ecx, ==, 0);
        g_assert_cmphex(r[i].edx, ==, 0);
    }
}

/* The same CPU without Hyper-V: 0x40000082 falls back to leaf 0xD (what
 * the test above would see if the range were not ours). */
static void test_cpuid_without_hyperv(void)
{
    CpuidRegs r[L_COUNT];

    guest_cpuid(CPUID_TEST_CPU, cpuid_leaves, L_COUNT, r);
    g_assert_cmphex(r[L_82].eax, ==, r[L_D].eax);
    g_assert_cmphex(r[L_82].eax & 4, ==, 4);
}

/*
 * Linux 7.x sets up its stimer0 clockevent only when 0x40000003 offers
 * both SYNTIMERS (EAX bit 3) and STIMER_DIRECT_MODE (EDX bit 19); with
 * the first alone it keeps the LAPIC timer.  Each bit follows its flag.
 */
static void test_cpuid_stimer_modes(void)
{
    static const uint32_t leaf[] = { 0x40000003 };
    CpuidRegs r;

    guest_cpuid("qemu64,hv-vpindex=on,hv-synic=on,hv-time=on,hv-stimer=on",
                leaf, 1, &r);
    g_assert_cmphex(r.eax & (1u << 3), ==, 1u << 3);
    g_assert_cmphex(r.edx & (1u << 19), ==, 0);
    guest_cpuid("qemu64,hv-vpindex=on,hv-synic=on,hv-time=on,hv-stimer=on,"
                "hv-stimer-direct=on", leaf, 1, &r);
    g_assert_cmphex(r.eax & (1u << 3), ==, 1u << 3);
    g_assert_cmphex(r.edx & (1u << 19), ==, 1u << 19);
    guest_cpuid("qemu64,hv-vpindex=on,hv-synic=on,hv-time=on", leaf, 1, &r);
    g_assert_cmphex(r.eax & (1u << 3), ==, 0);
    g_assert_cmphex(r.edx & (1u << 19), ==, 0);
}

int main(int argc, char **argv)
{
    static const char *const refused[] = {
        "hv-evmcs",
        "hv-reenlightenment", "hv-avic", "hv-xmm-input",
        "hv-emsr-bitmap", "hv-tlbflush-ext", "hv-tlbflush-direct",
        "hv-no-nonarch-coresharing",
    };
    size_t i;

    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/hvtcg/rules/decode-64", test_decode_64);
    qtest_add_func("/vmbus/hvtcg/rules/decode-32", test_decode_32);
    qtest_add_func("/vmbus/hvtcg/rules/result", test_result);
    qtest_add_func("/vmbus/hvtcg/rules/codes", test_check_codes);
    qtest_add_func("/vmbus/hvtcg/rules/reserved-bits", test_check_reserved);
    qtest_add_func("/vmbus/hvtcg/rules/rep-varhdr", test_check_rep_varhdr);
    qtest_add_func("/vmbus/hvtcg/rules/alignment", test_check_alignment);
    qtest_add_func("/vmbus/hvtcg/rules/post-message-input",
                   test_post_message_input);
    qtest_add_func("/vmbus/hvtcg/rules/signal-event-param",
                   test_signal_event_param);
    qtest_add_func("/vmbus/hvtcg/rules/msr-sint", test_msr_sint);
    qtest_add_func("/vmbus/hvtcg/rules/msr-readonly", test_msr_readonly);
    qtest_add_func("/vmbus/hvtcg/rules/msr-hypercall", test_msr_hypercall);
    qtest_add_func("/vmbus/hvtcg/rules/msr-gpa", test_msr_gpa);
    qtest_add_func("/vmbus/hvtcg/rules/sint-deliverable",
                   test_sint_deliverable);
    qtest_add_func("/vmbus/hvtcg/rules/msr-stimer", test_msr_stimer);
    qtest_add_func("/vmbus/hvtcg/rules/msr-time-crash", test_msr_time_crash);
    qtest_add_func("/vmbus/hvtcg/rules/tsc-page-math", test_tsc_math);
    qtest_add_func("/vmbus/hvtcg/rules/ipi-flush-calls", test_ipi_flush_calls);
    qtest_add_func("/vmbus/hvtcg/rules/vp-set", test_vpset);
    qtest_add_func("/vmbus/hvtcg/rules/msr-issue11", test_msr_issue11);
    for (i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_autofree char *path = g_strdup_printf("/vmbus/hvtcg/startup/refused/%s",
                                                refused[i]);
        qtest_add_data_func(path, refused[i], test_refused);
    }
    qtest_add_func("/vmbus/hvtcg/startup/synic-needs-vpindex",
                   test_synic_needs_vpindex);
    qtest_add_func("/vmbus/hvtcg/startup/stimer-deps", test_stimer_deps);
    qtest_add_func("/vmbus/hvtcg/startup/ipi-needs-vpindex",
                   test_ipi_needs_vpindex);
    qtest_add_func("/vmbus/hvtcg/startup/accepted", test_accepted);
    qtest_add_func("/vmbus/hvtcg/cpuid/vs-range-zero",
                   test_cpuid_vs_range_zero);
    qtest_add_func("/vmbus/hvtcg/cpuid/without-hyperv",
                   test_cpuid_without_hyperv);
    qtest_add_func("/vmbus/hvtcg/cpuid/stimer-modes",
                   test_cpuid_stimer_modes);
    return g_test_run();
}
