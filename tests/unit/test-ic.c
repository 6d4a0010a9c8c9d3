/*
 * Unit tests for the integration-component framework: ICMSG headers and
 * NEGOTIATE, against a simulated Linux guest, and bad input
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The simulated guest answers a host NEGOTIATE the way Linux's
 * vmbus_prep_negotiate_resp() does: it refuses more than 100 versions of
 * either kind, walks its own lists best first and takes the first one the
 * host offered, and answers in the same buffer with both counts 1 (or 0
 * when nothing matched) and the two chosen versions at the start of the
 * version array, flags TRANSACTION|RESPONSE.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "../../hw/hyperv/vmbus-devices/ic/ic-proto.h"

#define V(a, b) VMBIC_VERSION(a, b)

static const uint32_t fw_host[] = { V(3, 0), V(1, 0) };
static const uint32_t hb_host[] = { V(3, 0), V(1, 0) };
static const uint32_t sd_host[] = { V(3, 2), V(3, 1), V(3, 0), V(1, 0) };

/* Linux's lists (hv_util.c): framework 3.0, 1.0; heartbeat 3.0, 1.0. */
static const uint32_t fw_linux[] = { V(3, 0), V(1, 0) };
static const uint32_t hb_linux[] = { V(3, 0), V(1, 0) };

static void guest_negotiate(uint8_t *buf, size_t len,
                            const uint32_t *fw, unsigned n_fw,
                            const uint32_t *msg, unsigned n_msg)
{
    uint8_t *p = buf + VMBIC_HDR_SIZE;
    uint16_t nf = vmbic_ld16(p), nm = vmbic_ld16(p + 2);
    uint8_t *vers = p + VMBIC_NEGOTIATE_SIZE;
    uint32_t f = 0, m = 0;
    bool found = false;

    ck_assert_uint_ge(len, VMBIC_HDR_SIZE + 4);
    vmbic_st16(buf + VMBIC_OFF_MSGSIZE, 0x10);
    if (nf > 100 || nm > 100 || VMBIC_HDR_SIZE + 8 + 4u * (nf + nm) > len) {
        goto out;
    }
    for (unsigned i = 0; i < n_fw && !found; i++) {
        for (unsigned j = 0; j < nf; j++) {
            if (VMBIC_VERSION(vmbic_ld16(vers + 4 * j),
                              vmbic_ld16(vers + 4 * j + 2)) == fw[i]) {
                f = fw[i];
                found = true;
                break;
            }
        }
    }
    if (found) {
        found = false;
        for (unsigned i = 0; i < n_msg && !found; i++) {
            for (unsigned j = nf; j < nf + nm; j++) {
                if (VMBIC_VERSION(vmbic_ld16(vers + 4 * j),
                                  vmbic_ld16(vers + 4 * j + 2)) == msg[i]) {
                    m = msg[i];
                    found = true;
                    break;
                }
            }
        }
    }
out:
    vmbic_st16(p, found ? 1 : 0);
    vmbic_st16(p + 2, found ? 1 : 0);
    vmbic_st16(vers, VMBIC_VERSION_MAJOR(f));
    vmbic_st16(vers + 2, VMBIC_VERSION_MINOR(f));
    vmbic_st16(vers + 4, VMBIC_VERSION_MAJOR(m));
    vmbic_st16(vers + 6, VMBIC_VERSION_MINOR(m));
    buf[VMBIC_OFF_FLAGS] = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_RESPONSE;
}

START_TEST(test_negotiate_linux_heartbeat)
{
    uint8_t buf[256];
    uint32_t f = 0, m = 0;
    size_t len = vmbic_build_negotiate(buf, sizeof(buf), 7, fw_host, 2,
                                       hb_host, 2);
    VmbicHdr h;

    ck_assert_uint_eq(len, VMBIC_HDR_SIZE + 8 + 4 * 4);
    ck_assert_int_eq(vmbic_parse_hdr(buf, len, &h), VMBIC_OK);
    ck_assert_uint_eq(h.type, VMBIC_MSG_NEGOTIATE);
    ck_assert_uint_eq(h.flags, VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_REQUEST);
    ck_assert_uint_eq(h.tid, 7);
    ck_assert_uint_eq(h.pipe_msgsize, len - VMBIC_PIPE_HDR_SIZE);
    guest_negotiate(buf, len, fw_linux, 2, hb_linux, 2);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 7, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_OK);
    ck_assert_uint_eq(f, V(3, 0));
    ck_assert_uint_eq(m, V(3, 0));
}
END_TEST

START_TEST(test_negotiate_guest_preference)
{
    /* The guest's order wins: it prefers 1.0 when the host lists 3.0 first. */
    static const uint32_t g_msg[] = { V(1, 0), V(3, 0) };
    uint8_t buf[256];
    uint32_t f, m;
    size_t len = vmbic_build_negotiate(buf, sizeof(buf), 1, fw_host, 2,
                                       hb_host, 2);

    guest_negotiate(buf, len, fw_linux, 2, g_msg, 2);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 1, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_OK);
    ck_assert_uint_eq(m, V(1, 0));
}
END_TEST

START_TEST(test_negotiate_single_versions)
{
    /* One version of each: the answer still has room for both versions. */
    static const uint32_t fw1[] = { V(3, 0) };
    static const uint32_t vss[] = { V(5, 0) };
    uint8_t buf[256];
    uint32_t f, m;
    size_t len = vmbic_build_negotiate(buf, sizeof(buf), 2, fw1, 1, vss, 1);

    ck_assert_uint_eq(len, VMBIC_HDR_SIZE + 8 + 8);
    guest_negotiate(buf, len, fw1, 1, vss, 1);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 2, fw1, 1, vss, 1,
                                           &f, &m), VMBIC_OK);
    ck_assert_uint_eq(m, V(5, 0));
}
END_TEST

START_TEST(test_negotiate_shutdown_3_2)
{
    static const uint32_t sd_linux[] = { V(3, 2), V(3, 1), V(3, 0), V(1, 0) };
    uint8_t buf[256];
    uint32_t f, m;
    size_t len = vmbic_build_negotiate(buf, sizeof(buf), 3, fw_host, 2,
                                       sd_host, 4);

    guest_negotiate(buf, len, fw_linux, 2, sd_linux, 4);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 3, fw_host, 2, sd_host, 4,
                                           &f, &m), VMBIC_OK);
    ck_assert_uint_eq(m, V(3, 2));
}
END_TEST

START_TEST(test_negotiate_no_match)
{
    static const uint32_t g_msg[] = { V(9, 9) };
    uint8_t buf[256];
    uint32_t f, m;
    size_t len = vmbic_build_negotiate(buf, sizeof(buf), 4, fw_host, 2,
                                       hb_host, 2);

    guest_negotiate(buf, len, fw_linux, 2, g_msg, 1);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 4, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_NO_MATCH);
    /* no common framework either */
    len = vmbic_build_negotiate(buf, sizeof(buf), 4, fw_host, 2, hb_host, 2);
    guest_negotiate(buf, len, g_msg, 1, hb_linux, 2);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 4, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_NO_MATCH);
}
END_TEST

START_TEST(test_build_refuses)
{
    uint8_t buf[256];
    uint32_t many[101];

    for (int i = 0; i < 101; i++) {
        many[i] = V(1, i);
    }
    ck_assert_uint_eq(vmbic_build_negotiate(buf, sizeof(buf), 0, fw_host, 0,
                                            hb_host, 2), 0);
    ck_assert_uint_eq(vmbic_build_negotiate(buf, sizeof(buf), 0, fw_host, 2,
                                            hb_host, 0), 0);
    ck_assert_uint_eq(vmbic_build_negotiate(buf, sizeof(buf), 0, many, 101,
                                            hb_host, 2), 0);
    /* does not fit */
    ck_assert_uint_eq(vmbic_build_negotiate(buf, 40, 0, fw_host, 2,
                                            hb_host, 2), 0);
    ck_assert_uint_eq(vmbic_build(buf, 27, &(VmbicHdr){0}, NULL, 0), 0);
    ck_assert_uint_eq(vmbic_build(buf, sizeof(buf), &(VmbicHdr){0}, NULL, 0),
                      VMBIC_HDR_SIZE);
}
END_TEST

/* A valid answer, then one field broken at a time. */
static size_t good_answer(uint8_t *buf, size_t cap, uint8_t tid)
{
    size_t len = vmbic_build_negotiate(buf, cap, tid, fw_host, 2, hb_host, 2);

    guest_negotiate(buf, len, fw_linux, 2, hb_linux, 2);
    return len;
}

START_TEST(test_bad_short)
{
    uint8_t buf[256];
    uint32_t f, m;
    size_t len = good_answer(buf, sizeof(buf), 5);

    /* every length shorter than headers + counts + two versions */
    for (size_t l = 0; l < VMBIC_HDR_SIZE + 16; l++) {
        VmbicError e = vmbic_parse_negotiate(buf, l, 5, fw_host, 2, hb_host, 2,
                                             &f, &m);
        ck_assert_msg(e == VMBIC_ERR_SHORT || e == VMBIC_ERR_MSGSIZE,
                      "len %zu: %s", l, vmbic_strerror(e));
    }
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_OK);
}
END_TEST

START_TEST(test_bad_long)
{
    uint8_t *buf = g_malloc0(VMBIC_MAX_PACKET + 1);
    VmbicHdr h;

    ck_assert_int_eq(vmbic_parse_hdr(buf, VMBIC_MAX_PACKET + 1, &h),
                     VMBIC_ERR_LONG);
    ck_assert_int_eq(vmbic_parse_hdr(buf, VMBIC_MAX_PACKET, &h), VMBIC_OK);
    g_free(buf);
}
END_TEST

START_TEST(test_bad_msgsize)
{
    uint8_t buf[256];
    uint32_t f, m;
    size_t len = good_answer(buf, sizeof(buf), 5);

    vmbic_st16(buf + VMBIC_OFF_MSGSIZE, len - VMBIC_HDR_SIZE + 1);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_MSGSIZE);
    vmbic_st16(buf + VMBIC_OFF_MSGSIZE, 0xffff);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_MSGSIZE);
}
END_TEST

START_TEST(test_bad_flags_type_tid)
{
    uint8_t buf[256];
    uint32_t f, m;
    size_t len;

    len = good_answer(buf, sizeof(buf), 5);
    buf[VMBIC_OFF_FLAGS] = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_REQUEST;
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_NOT_RESPONSE);
    len = good_answer(buf, sizeof(buf), 5);
    vmbic_st16(buf + VMBIC_OFF_TYPE, VMBIC_MSG_HEARTBEAT);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_TYPE);
    len = good_answer(buf, sizeof(buf), 5);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 6, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_TID);
}
END_TEST

START_TEST(test_bad_counts_versions)
{
    uint8_t buf[256];
    uint32_t f = 0xdead, m = 0xbeef;
    size_t len;

    len = good_answer(buf, sizeof(buf), 5);
    vmbic_st16(buf + VMBIC_HDR_SIZE, 2);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_COUNTS);
    len = good_answer(buf, sizeof(buf), 5);
    vmbic_st16(buf + VMBIC_HDR_SIZE + 2, 0);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_COUNTS);
    len = good_answer(buf, sizeof(buf), 5);
    vmbic_st16(buf + VMBIC_HDR_SIZE + 2, 0xffff);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_COUNTS);
    /* a framework version the host never offered */
    len = good_answer(buf, sizeof(buf), 5);
    vmbic_st16(buf + VMBIC_HDR_SIZE + 8, 4);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_VERSION);
    /* a message version the host never offered */
    len = good_answer(buf, sizeof(buf), 5);
    vmbic_st16(buf + VMBIC_HDR_SIZE + 14, 7);
    ck_assert_int_eq(vmbic_parse_negotiate(buf, len, 5, fw_host, 2, hb_host, 2,
                                           &f, &m), VMBIC_ERR_VERSION);
    /* outputs untouched on error */
    ck_assert_uint_eq(f, 0xdead);
    ck_assert_uint_eq(m, 0xbeef);
}
END_TEST

START_TEST(test_random_input)
{
    /* Random answers never crash and are only accepted when valid. */
    GRand *r = g_rand_new_with_seed(1234);
    uint8_t buf[128];

    for (int i = 0; i < 200000; i++) {
        size_t len = g_rand_int_range(r, 0, sizeof(buf) + 1);
        uint32_t f, m;
        VmbicHdr h;

        for (size_t j = 0; j < len; j++) {
            buf[j] = g_rand_int(r);
        }
        if (len > VMBIC_HDR_SIZE && (i & 1)) {
            /* mostly-valid headers reach the deeper checks */
            vmbic_st16(buf + VMBIC_OFF_TYPE, 0);
            vmbic_st16(buf + VMBIC_OFF_MSGSIZE, 0);
            buf[VMBIC_OFF_FLAGS] |= VMBIC_FLAG_RESPONSE;
            buf[VMBIC_OFF_TID] = 9;
            if (i & 2) {
                vmbic_st16(buf + VMBIC_HDR_SIZE, 1);
                vmbic_st16(buf + VMBIC_HDR_SIZE + 2, 1);
            }
        }
        if (vmbic_parse_negotiate(buf, len, 9, fw_host, 2, hb_host, 2,
                                  &f, &m) == VMBIC_OK) {
            ck_assert(f == V(3, 0) || f == V(1, 0));
            ck_assert(m == V(3, 0) || m == V(1, 0));
        }
        vmbic_parse_hdr(buf, len, &h);
        g_free(vmbic_utf16_to_utf8(buf, len));
    }
    g_rand_free(r);
}
END_TEST

START_TEST(test_utf16)
{
    uint8_t buf[64];
    size_t n = vmbic_utf8_to_utf16("host-\xc3\xa9", buf, sizeof(buf));
    char *s;

    ck_assert_uint_eq(n, 2 * 7);
    s = vmbic_utf16_to_utf8(buf, n);
    ck_assert_str_eq(s, "host-\xc3\xa9");
    g_free(s);
    /* bounded: no NUL within the byte count */
    s = vmbic_utf16_to_utf8(buf, 4);
    ck_assert_str_eq(s, "ho");
    g_free(s);
    /* odd byte counts drop the last byte */
    s = vmbic_utf16_to_utf8(buf, 5);
    ck_assert_str_eq(s, "ho");
    g_free(s);
    /* a lone surrogate is refused */
    vmbic_st16(buf, 0xd800);
    vmbic_st16(buf + 2, 'a');
    vmbic_st16(buf + 4, 0);
    ck_assert_ptr_null(vmbic_utf16_to_utf8(buf, 6));
    /* does not fit */
    ck_assert_uint_eq(vmbic_utf8_to_utf16("abcdef", buf, 12), 0);
    ck_assert_uint_eq(vmbic_utf8_to_utf16("abcdef", buf, 14), 14);
    /* not UTF-8 */
    ck_assert_uint_eq(vmbic_utf8_to_utf16("\xff\xfe", buf, sizeof(buf)), 0);
}
END_TEST

static Suite *ic_suite(void)
{
    Suite *s = suite_create("vmbus-ic");
    TCase *tc;

    tc = tcase_create("negotiate");
    tcase_add_test(tc, test_negotiate_linux_heartbeat);
    tcase_add_test(tc, test_negotiate_guest_preference);
    tcase_add_test(tc, test_negotiate_single_versions);
    tcase_add_test(tc, test_negotiate_shutdown_3_2);
    tcase_add_test(tc, test_negotiate_no_match);
    tcase_add_test(tc, test_build_refuses);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_test(tc, test_bad_short);
    tcase_add_test(tc, test_bad_long);
    tcase_add_test(tc, test_bad_msgsize);
    tcase_add_test(tc, test_bad_flags_type_tid);
    tcase_add_test(tc, test_bad_counts_versions);
    tcase_add_test(tc, test_random_input);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("strings");
    tcase_add_test(tc, test_utf16);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ic_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
