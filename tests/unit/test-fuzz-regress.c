/*
 * Unit tests: regressions for findings of the libFuzzer targets (tests/fuzz)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * One test per finding, reproducing it through the public API, named
 * after the fuzz target that found it.
 */

#include <string.h>

#include "simguest.h"

/* Offset of a section's payload in a save stream, or -1. */
static long find_section(const GByteArray *s, const char tag[4])
{
    size_t off = 8;                     /* magic + version */

    while (off + 8 <= s->len) {
        uint32_t len;

        memcpy(&len, s->data + off + 4, 4);
        if (!memcmp(s->data + off, tag, 4)) {
            return (long)off + 8;
        }
        off += 8 + GUINT32_FROM_LE(len);
    }
    return -1;
}

/* Payload offset and length of the CHAN section of relid, or -1. */
static long find_chan(const GByteArray *s, uint32_t relid, uint32_t *len)
{
    size_t off = 8;

    while (off + 12 <= s->len) {
        uint32_t l, r;

        memcpy(&l, s->data + off + 4, 4);
        memcpy(&r, s->data + off + 8, 4);
        l = GUINT32_FROM_LE(l);
        if (!memcmp(s->data + off, "CHAN", 4) &&
            GUINT32_FROM_LE(r) == relid) {
            *len = l;
            return (long)off + 8;
        }
        off += 8 + l;
    }
    return -1;
}

/* A save stream with n messages still queued for a busy slot. */
static GByteArray *stream_with_queued(SimGuest *sg)
{
    GByteArray *s = g_byte_array_new();
    VmbWireHdr h;

    sim_offer(sg, 1, 1, 0);
    sim_connect(sg, VMBW_VERSION_IRON);
    sg->slot_busy = true;
    sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
    sim_send(sg, &h, sizeof(h));        /* OFFERCHANNEL + ALLOFFERS queued */
    vmbc_save(sg->core, s);
    return s;
}

/*
 * fuzz-load: vmbc_load() accepted queued messages of any type and
 * length, which the core then posted to the guest as if it had built
 * them (e.g. type 0x02000006).
 */
START_TEST(test_load_outq_bad_type)
{
    SimGuest *sg = sim_new(0);
    GByteArray *s = stream_with_queued(sg);
    long q = find_section(s, "OUTQ");
    SimGuest *dst;
    GError *err = NULL;
    uint32_t bad = GUINT32_TO_LE(0x02000006);

    ck_assert_int_gt(q, 0);
    /* count u32, then vp, sint, len and the message */
    memcpy(s->data + q + 4 + 12, &bad, 4);
    dst = sim_new(0);
    ck_assert(!vmbc_load(dst->core, s->data, s->len, &err));
    g_clear_error(&err);
    sim_check(dst);
    sim_free(dst);
    g_byte_array_free(s, true);
    sim_free(sg);
}
END_TEST

/* fuzz-load: the same with a host type but the wrong length. */
START_TEST(test_load_outq_bad_len)
{
    SimGuest *sg = sim_new(0);
    GByteArray *s = stream_with_queued(sg);
    long q = find_section(s, "OUTQ");
    SimGuest *dst;
    GError *err = NULL;
    uint32_t type = GUINT32_TO_LE(VMBW_MSG_GPADL_CREATED);

    ck_assert_int_gt(q, 0);
    /* the queued OFFERCHANNEL (196 bytes) relabelled GPADL_CREATED (20) */
    memcpy(s->data + q + 4 + 12, &type, 4);
    dst = sim_new(0);
    ck_assert(!vmbc_load(dst->core, s->data, s->len, &err));
    g_clear_error(&err);
    sim_free(dst);
    g_byte_array_free(s, true);
    sim_free(sg);
}
END_TEST

/* The unmodified stream still loads and delivers its queue. */
START_TEST(test_load_outq_ok)
{
    SimGuest *sg = sim_new(0);
    GByteArray *s = stream_with_queued(sg);
    SimGuest *dst = sim_new(0);
    GError *err = NULL;

    ck_assert_msg(vmbc_load(dst->core, s->data, s->len, &err), "%s",
                  err ? err->message : "");
    sim_check(dst);
    sim_free_slot(dst);
    g_free(sim_expect(dst, VMBW_MSG_OFFERCHANNEL));
    g_free(sim_expect(dst, VMBW_MSG_ALLOFFERS_DELIVERED));
    sim_free(dst);
    g_byte_array_free(s, true);
    sim_free(sg);
}
END_TEST

/*
 * fuzz-load: a subchannel (or hv_sock channel) saved without
 * rescind_on_close, which the core itself never produces, was loaded
 * with rescind_on_close forced on, so save -> load -> save differed.
 * Such a stream is now refused.
 */
START_TEST(test_load_subchannel_rescind_flag)
{
    SimGuest *sg = sim_new(0);
    GByteArray *s = g_byte_array_new();
    SimGuest *dst;
    GError *err = NULL;
    uint32_t len = 0;
    long c;

    sim_offer(sg, 1, 1, 0);
    sim_offer(sg, 1, 1, 1);             /* subchannel: relid 2 */
    vmbc_save(sg->core, s);
    c = find_chan(s, 2, &len);
    ck_assert_int_gt(c, 0);
    /* rescind_on_close is the last byte of the offer parameters */
    ck_assert_uint_eq(s->data[c + len - 1], 1);
    s->data[c + len - 1] = 0;
    dst = sim_new(0);
    ck_assert(!vmbc_load(dst->core, s->data, s->len, &err));
    g_clear_error(&err);
    sim_check(dst);
    ck_assert_uint_eq(sim_nchan(dst), 0);
    /* the genuine stream loads and saves back to the same bytes */
    s->data[c + len - 1] = 1;
    ck_assert_msg(vmbc_load(dst->core, s->data, s->len, &err), "%s",
                  err ? err->message : "");
    {
        GByteArray *again = g_byte_array_new();

        vmbc_save(dst->core, again);
        ck_assert_uint_eq(again->len, s->len);
        ck_assert(!memcmp(again->data, s->data, s->len));
        g_byte_array_free(again, true);
    }
    sim_free(dst);
    g_byte_array_free(s, true);
    sim_free(sg);
}
END_TEST

static Suite *regress_suite(void)
{
    Suite *s = suite_create("fuzz-regress");
    TCase *tc = tcase_create("load");

    tcase_add_test(tc, test_load_outq_bad_type);
    tcase_add_test(tc, test_load_outq_bad_len);
    tcase_add_test(tc, test_load_outq_ok);
    tcase_add_test(tc, test_load_subchannel_rescind_flag);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sim_run_suite(regress_suite());
}
