/*
 * Unit tests (Check) of the QEMU-free Hyper-V-under-TCG rules
 * (hw/hyperv/tcg/hv-tcg-rules.c): hypercall decoding and checks, MSR
 * write rules, plus a randomized robustness run over hostile inputs.
 * The qtest vmbus-hvtcg-qtest covers the same rules case by case
 * inside QEMU's build; this one runs in the standalone build.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "../../hw/hyperv/tcg/hv-tcg-rules.h"

static HvTcgHcall dec64(uint64_t control, uint64_t in)
{
    HvTcgRegs r = { .rcx = control, .rdx = in };
    HvTcgHcall hc;

    hvtcg_hcall_decode(&r, true, &hc);
    return hc;
}

START_TEST(test_linux_calls)
{
    HvTcgHcall hc = dec64(0x5c, 0x7000);

    ck_assert_uint_eq(hvtcg_hcall_check(&hc), HVTCG_STATUS_SUCCESS);
    hc = dec64(0x1005d, 0x12);
    ck_assert_uint_eq(hvtcg_hcall_check(&hc), HVTCG_STATUS_SUCCESS);
    ck_assert(hc.fast);
}
END_TEST

START_TEST(test_bad_calls)
{
    HvTcgHcall hc = dec64(0x42, 0);

    ck_assert_uint_eq(hvtcg_hcall_check(&hc), HVTCG_STATUS_INVALID_HYPERCALL_CODE);
    hc = dec64(0x5c | (1ull << 63), 0x7000);
    ck_assert_uint_eq(hvtcg_hcall_check(&hc), HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    hc = dec64(0x5c | (3ull << 32), 0x7000);
    ck_assert_uint_eq(hvtcg_hcall_check(&hc), HVTCG_STATUS_INVALID_HYPERCALL_INPUT);
    hc = dec64(0x5c, 0x7004);
    ck_assert_uint_eq(hvtcg_hcall_check(&hc), HVTCG_STATUS_INVALID_ALIGNMENT);
    hc = dec64(0x5c, 0x7f10);
    ck_assert_uint_eq(hvtcg_hcall_check(&hc), HVTCG_STATUS_INVALID_ALIGNMENT);
}
END_TEST

START_TEST(test_32bit)
{
    HvTcgRegs r = { .rax = 0x5d, .rdx = 0, .rbx = 0, .rcx = 0x8000 };
    HvTcgHcall hc;

    hvtcg_hcall_decode(&r, false, &hc);
    ck_assert_uint_eq(hc.code, 0x5d);
    ck_assert(!hc.fast);
    ck_assert_uint_eq(hc.in_param, 0x8000);
    hvtcg_hcall_result(&r, false, HVTCG_STATUS_INVALID_PORT_ID, 0);
    ck_assert_uint_eq(r.rax, 17);
    ck_assert_uint_eq(r.rdx, 0);
}
END_TEST

START_TEST(test_msr_rules)
{
    uint64_t st;
    unsigned all = HVTCG_F_VPINDEX | HVTCG_F_SYNIC | HVTCG_F_TIME;

    ck_assert_int_eq(hvtcg_msr_write_rule(HVTCG_MSR_SINT0 + 2, 0x0a, 0, 1,
                                          all, &st), HVTCG_MSR_GP);
    ck_assert_int_eq(hvtcg_msr_write_rule(HVTCG_MSR_SINT0 + 2, 0xf3, 0, 1,
                                          all, &st), HVTCG_MSR_OK);
    ck_assert_uint_eq(st, 0xf3);
    ck_assert_int_eq(hvtcg_msr_write_rule(HVTCG_MSR_VP_INDEX, 0, 0, 1,
                                          all, &st), HVTCG_MSR_GP);
    ck_assert_int_eq(hvtcg_msr_write_rule(HVTCG_MSR_HYPERCALL, 0x1001, 0, 0,
                                          all, &st), HVTCG_MSR_IGNORE);
    ck_assert_int_eq(hvtcg_msr_read_rule(HVTCG_MSR_SIMP, HVTCG_F_VPINDEX),
                     HVTCG_MSR_GP);
    ck_assert(!hvtcg_msr_gpa_valid(HVTCG_MSR_SIMP, 1ull << 40, 40));
}
END_TEST

/* Hostile inputs: random registers and blocks never produce anything
 * outside the documented statuses, and SUCCESS implies the invariants. */
START_TEST(test_random)
{
    unsigned seed = 1234;
    int i;

    for (i = 0; i < 200000; i++) {
        HvTcgRegs r;
        HvTcgHcall hc;
        HvTcgPostMessageInput in;
        uint64_t *w = (uint64_t *)&r, st;
        uint32_t id;
        uint16_t s;
        size_t k;

        for (k = 0; k < sizeof(r) / 8; k++) {
            w[k] = ((uint64_t)rand_r(&seed) << 33) ^
                   ((uint64_t)rand_r(&seed) << 11) ^ rand_r(&seed);
        }
        if (i & 1) {
            r.rcx &= ~HVTCG_HC_RSVD_MASK;
            r.rcx = (r.rcx & ~0xffffull) | (0x5c + (i & 2) / 2);
        }
        hvtcg_hcall_decode(&r, i & 4, &hc);
        s = hvtcg_hcall_check(&hc);
        ck_assert(s == HVTCG_STATUS_SUCCESS ||
                  s == HVTCG_STATUS_INVALID_HYPERCALL_CODE ||
                  s == HVTCG_STATUS_INVALID_HYPERCALL_INPUT ||
                  s == HVTCG_STATUS_INVALID_ALIGNMENT);
        if (s == HVTCG_STATUS_SUCCESS) {
            ck_assert(!(hc.control & HVTCG_HC_RSVD_MASK));
            ck_assert(!hc.rep_count && !hc.rep_start && !hc.var_hdr);
            ck_assert(hc.fast || !(hc.in_param & 7));
        }
        memcpy(&in, &r, sizeof(r) < sizeof(in) ? sizeof(r) : sizeof(in));
        s = hvtcg_post_message_check(&in);
        ck_assert(s == HVTCG_STATUS_SUCCESS ||
                  s == HVTCG_STATUS_INVALID_PARAMETER);
        if (s == HVTCG_STATUS_SUCCESS) {
            ck_assert_uint_le(in.payload_size, HVTCG_MESSAGE_PAYLOAD_SIZE);
        }
        s = hvtcg_signal_event_check(r.rdx, &id);
        if (s == HVTCG_STATUS_SUCCESS) {
            ck_assert_uint_le(id, HVTCG_CONNECTION_ID_MASK);
        }
        if (hvtcg_msr_write_rule(HVTCG_MSR_SINT0 + (i & 15), r.rbx, 0, r.rsi,
                                 HVTCG_F_SYNIC, &st) == HVTCG_MSR_OK) {
            uint8_t v;
            ck_assert((st & HVTCG_SINT_MASKED) ||
                      (st & HVTCG_SINT_VECTOR_MASK) >= 16);
            if (hvtcg_sint_deliverable(st, &v)) {
                ck_assert_uint_ge(v, 16);
            }
        }
    }
}
END_TEST

/*
 * The timer, IPI and TLB-flush rules on random input: IPI/flush call forms never accept
 * a header that crosses the page, sparse VP sets never index past their
 * banks, timer CONFIG writes keep only defined bits, the TSC math round
 * trips.
 */
START_TEST(test_random_11)
{
    unsigned seed = 99;
    static const uint16_t codes[] = { 0x02, 0x03, 0x0b, 0x13, 0x14, 0x15 };
    int i;

    for (i = 0; i < 200000; i++) {
        uint64_t a = ((uint64_t)rand_r(&seed) << 33) ^
                     ((uint64_t)rand_r(&seed) << 11) ^ rand_r(&seed);
        uint64_t b = ((uint64_t)rand_r(&seed) << 33) ^
                     ((uint64_t)rand_r(&seed) << 11) ^ rand_r(&seed);
        uint64_t banks[64] = { 0 };
        HvTcgRegs r = { .rcx = (a & ~0xffffull & ~HVTCG_HC_RSVD_MASK) |
                               codes[i % 6],
                        .rdx = b };
        HvTcgHcall hc;
        uint16_t s;
        bool all;
        uint64_t scale, off;

        hvtcg_hcall_decode(&r, true, &hc);
        s = hvtcg_hcall_check_f(&hc, HVTCG_F_IPI | HVTCG_F_TLBFLUSH);
        if (s == HVTCG_STATUS_SUCCESS && !hc.fast) {
            ck_assert((hc.in_param & 4095) +
                      hvtcg_hcall_fixed_size(hc.code) + 8u * hc.var_hdr <= 4096);
        }
        if (hvtcg_vpset_check(a & 1, b, hc.var_hdr, &all) ==
            HVTCG_STATUS_SUCCESS && !all) {
            ck_assert_uint_le(hc.var_hdr, 64);
            /* reads only banks[0..var_hdr) */
            (void)hvtcg_vpset_has(b, banks, (unsigned)a);
        }
        ck_assert(!(hvtcg_stimer_config_write(b, a) &
                    ~HVTCG_STIMER_CONFIG_MASK));
        scale = hvtcg_tsc_scale(b | 0x80000000ull);
        off = hvtcg_tsc_offset_for(a, scale, b);
        ck_assert(hvtcg_tsc_ref(a, scale, off) == b);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hv-tcg");
    TCase *tc = tcase_create("rules");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_linux_calls);
    tcase_add_test(tc, test_bad_calls);
    tcase_add_test(tc, test_32bit);
    tcase_add_test(tc, test_msr_rules);
    tcase_add_test(tc, test_random);
    tcase_add_test(tc, test_random_11);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
