/*
 * Unit tests: VMBus core GPADLs (header/body streams, limits, teardown)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "simguest.h"

static SimGuest *ready_cfg(const VmbcConfig *cfg, int nchan)
{
    SimGuest *sg = sim_new_cfg(cfg);

    for (int i = 0; i < nchan; i++) {
        sim_offer(sg, 100 + i, 1, 0);
    }
    sim_connect(sg, VMBW_VERSION_IRON);
    ck_assert_int_eq(sim_request_offers(sg), nchan);
    return sg;
}

static SimGuest *ready(int nchan)
{
    VmbcConfig cfg = { 0 };

    return ready_cfg(&cfg, nchan);
}

static uint64_t rhdr(uint32_t count, uint32_t off)
{
    return (uint64_t)count | (uint64_t)off << 32;
}

/*
 * Post a range stream: up to hdr_words in the header (max 27), then
 * bodies of up to body_words (max 28).
 */
static void post_stream(SimGuest *sg, uint32_t relid, uint32_t handle,
                        uint16_t rangecount, uint16_t buflen,
                        const uint64_t *w, uint32_t n, uint32_t hdr_words,
                        uint32_t body_words)
{
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlHeader *h = (void *)buf;
    VmbWireGpadlBody *b = (void *)buf;
    uint32_t k = MIN(n, hdr_words), done;

    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, VMBW_MSG_GPADL_HEADER);
    h->child_relid = relid;
    h->gpadl = handle;
    h->range_buflen = buflen;
    h->rangecount = rangecount;
    memcpy(buf + 20, w, k * 8);
    sim_send(sg, buf, 20 + k * 8);
    for (done = k; done < n;) {
        uint32_t m = MIN(n - done, body_words);

        memset(buf, 0, sizeof(buf));
        sim_hdr(buf, VMBW_MSG_GPADL_BODY);
        b->gpadl = handle;
        memcpy(buf + 16, w + done, m * 8);
        sim_send(sg, buf, 16 + m * 8);
        done += m;
    }
}

static uint32_t expect_created(SimGuest *sg, uint32_t relid, uint32_t handle)
{
    SimMsg *m = sim_expect(sg, VMBW_MSG_GPADL_CREATED);
    const VmbWireGpadlCreated *c = (const void *)m->data;
    uint32_t st;

    ck_assert_uint_eq(m->len, 20);
    ck_assert_uint_eq(c->child_relid, relid);
    ck_assert_uint_eq(c->gpadl, handle);
    st = c->creation_status;
    g_free(m);
    return st;
}

START_TEST(test_single_message)
{
    SimGuest *sg = ready(1);
    uint32_t h;
    VmbcGpadl *g;
    const uint64_t *pfns;
    uint32_t bc, bo, np;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 26, &h), 0);
    ck_assert_uint_eq(h, SIM_FIRST_GPADL);
    g = vmbc_gpadl_find(sg->core, h);
    ck_assert(vmbc_gpadl_complete(g));
    ck_assert_uint_eq(vmbc_gpadl_pfn_count(g), 26);
    ck_assert_uint_eq(vmbc_gpadl_relid(g), 1);
    ck_assert_uint_eq(vmbc_gpadl_handle(g), h);
    ck_assert_uint_eq(vmbc_gpadl_bytes(g), 26 * 4096);
    ck_assert_uint_eq(vmbc_gpadl_range_count(g), 1);
    ck_assert(vmbc_gpadl_range(g, 0, &bc, &bo, &pfns, &np));
    ck_assert_uint_eq(np, 26);
    ck_assert_uint_eq(pfns[25], 0x1000 + h + 25);
    ck_assert(!vmbc_gpadl_range(g, 1, &bc, &bo, &pfns, &np));
    sim_free(sg);
}
END_TEST

START_TEST(test_multi_message)
{
    static const uint32_t sizes[] = { 27, 54, 55, 100, 1000, 4096 };
    SimGuest *sg = ready(1);

    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        uint32_t h;
        VmbcGpadl *g;

        ck_assert_uint_eq(sim_gpadl(sg, 1, sizes[i], &h), 0);
        g = vmbc_gpadl_find(sg->core, h);
        ck_assert_uint_eq(vmbc_gpadl_pfn_count(g), sizes[i]);
        for (uint32_t p = 0; p < sizes[i]; p++) {
            ck_assert_uint_eq(vmbc_gpadl_pfns(g)[p], 0x1000 + h + p);
        }
    }
    sim_free(sg);
}
END_TEST

/* range_buflen wraps: Linux truncates it to 16 bits. */
START_TEST(test_buflen_wrap)
{
    SimGuest *sg = ready(1);
    uint32_t h;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 8191, &h), 0);   /* buflen == 0 */
    ck_assert_uint_eq(sim_gpadl(sg, 1, 8192, &h), 0);   /* buflen == 8 */
    ck_assert_uint_eq(vmbc_gpadl_pfn_count(vmbc_gpadl_find(sg->core, h)),
                      8192);
    sim_free(sg);
}
END_TEST

START_TEST(test_one_gib)
{
    SimGuest *sg = ready(1);
    uint32_t h;
    VmbcConnInfo ci;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 262144, &h), 0);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.gpadl_bytes, 1ull << 30);
    sim_teardown(sg, 1, h);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN));
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.gpadl_bytes, 0);
    sim_free(sg);
}
END_TEST

/* Three unaligned ranges whose headers straddle message boundaries. */
START_TEST(test_multi_range)
{
    SimGuest *sg = ready(1);
    uint64_t w[64];
    uint32_t n = 0;
    VmbcGpadl *g;
    const uint64_t *pfns;
    uint32_t bc, bo, np;

    w[n++] = rhdr(100, 4000);               /* spans 2 pages */
    w[n++] = 0x500;
    w[n++] = 0x501;
    w[n++] = rhdr(10 * 4096, 0);            /* 10 pages */
    for (int i = 0; i < 10; i++) {
        w[n++] = 0x600 + i;
    }
    w[n++] = rhdr(4096 * 20 + 1, 17);       /* 21 pages */
    for (int i = 0; i < 21; i++) {
        w[n++] = 0x700 + i;
    }
    post_stream(sg, 1, 0x42, 3, n * 8, w, n, 5, 7);
    ck_assert_uint_eq(expect_created(sg, 1, 0x42), 0);
    g = vmbc_gpadl_find(sg->core, 0x42);
    ck_assert_uint_eq(vmbc_gpadl_range_count(g), 3);
    ck_assert_uint_eq(vmbc_gpadl_pfn_count(g), 33);
    ck_assert(vmbc_gpadl_range(g, 0, &bc, &bo, &pfns, &np));
    ck_assert_uint_eq(bc, 100);
    ck_assert_uint_eq(bo, 4000);
    ck_assert_uint_eq(np, 2);
    ck_assert_uint_eq(pfns[1], 0x501);
    ck_assert(vmbc_gpadl_range(g, 2, &bc, &bo, &pfns, &np));
    ck_assert_uint_eq(np, 21);
    ck_assert_uint_eq(bo, 17);
    ck_assert_uint_eq(pfns[20], 0x714);
    ck_assert_uint_eq(vmbc_gpadl_bytes(g), 100 + 10 * 4096 + 4096 * 20 + 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_many_ranges)
{
    SimGuest *sg = ready(1);
    uint32_t nr = 1000, n = 0;
    uint64_t *w = g_new(uint64_t, nr * 2);

    for (uint32_t i = 0; i < nr; i++) {
        w[n++] = rhdr(1 + i, i % 4000);
        w[n++] = 0x9000 + i;
    }
    post_stream(sg, 1, 0x43, nr, (uint16_t)(n * 8), w, n, 27, 28);
    ck_assert_uint_eq(expect_created(sg, 1, 0x43), 0);
    ck_assert_uint_eq(vmbc_gpadl_range_count(vmbc_gpadl_find(sg->core, 0x43)),
                      nr);
    g_free(w);
    sim_free(sg);
}
END_TEST

/* Two GPADLs built at once (two channels' drivers racing). */
START_TEST(test_interleaved)
{
    SimGuest *sg = ready(2);
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlHeader *h = (void *)buf;
    VmbWireGpadlBody *b = (void *)buf;

    for (uint32_t k = 0; k < 2; k++) {
        memset(buf, 0, sizeof(buf));
        sim_hdr(buf, VMBW_MSG_GPADL_HEADER);
        h->child_relid = k + 1;
        h->gpadl = 0x100 + k;
        h->range_buflen = 8 + 8 * 30;
        h->rangecount = 1;
        h->range0.byte_count = 30 * 4096;
        sim_send(sg, buf, 20 + 8 * 27);
    }
    for (uint32_t k = 0; k < 2; k++) {
        memset(buf, 0, sizeof(buf));
        sim_hdr(buf, VMBW_MSG_GPADL_BODY);
        b->gpadl = 0x101 - k;
        sim_send(sg, buf, 16 + 8 * 4);
    }
    ck_assert_uint_eq(expect_created(sg, 2, 0x101), 0);
    ck_assert_uint_eq(expect_created(sg, 1, 0x100), 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_duplicate_handle)
{
    SimGuest *sg = ready(2);
    uint32_t h;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 4, &h), 0);
    sim_gpadl_post(sg, 2, h, 4, 0x77);
    ck_assert_uint_ne(expect_created(sg, 2, h), 0);
    ck_assert_uint_eq(vmbc_gpadl_relid(vmbc_gpadl_find(sg->core, h)), 1);
    ck_assert_uint_eq(vmbc_gpadl_pfns(vmbc_gpadl_find(sg->core, h))[0],
                      0x1000 + h);
    /* reuse after teardown is fine */
    sim_teardown(sg, 1, h);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN));
    sim_gpadl_post(sg, 2, h, 4, 0x77);
    ck_assert_uint_eq(expect_created(sg, 2, h), 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_handle_reuse_after_unload)
{
    SimGuest *sg = ready(1);

    ck_assert_uint_eq(sim_gpadl(sg, 1, 4, NULL), 0);
    sim_unload(sg);
    sim_kexec(sg);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    ck_assert_uint_eq(sim_gpadl(sg, 1, 4, NULL), 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_handle_zero)
{
    SimGuest *sg = ready(1);

    sim_gpadl_post(sg, 1, 0, 4, 0x10);
    ck_assert_uint_ne(expect_created(sg, 1, 0), 0);
    ck_assert_uint_eq(sim_nchan(sg), 1);
    ck_assert_ptr_null(vmbc_gpadl_find(sg->core, 0));
    sim_free(sg);
}
END_TEST

START_TEST(test_unknown_relid_absorbs_bodies)
{
    SimGuest *sg = ready(1);
    VmbcConnInfo ci;
    int errs;

    sim_gpadl_post(sg, 7, 0x55, 100, 0x10);
    ck_assert_uint_ne(expect_created(sg, 7, 0x55), 0);
    sim_expect_none(sg);
    errs = sg->n_guest_errors;
    ck_assert_int_eq(errs, 1);      /* bodies were expected: no noise */
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.n_gpadls, 0);
    /* relid 0 too */
    sim_gpadl_post(sg, 0, 0x56, 3, 0x10);
    ck_assert_uint_ne(expect_created(sg, 0, 0x56), 0);
    sim_free(sg);
}
END_TEST

/* Each malformed header field is refused with a status. */
START_TEST(test_bad_headers)
{
    SimGuest *sg = ready(1);
    uint64_t w[4];
    VmbcConnInfo ci;

    w[0] = rhdr(4096, 0);
    w[1] = 0x10;
    post_stream(sg, 1, 0x60, 0, 16, w, 2, 27, 28);          /* 0 ranges */
    ck_assert_uint_ne(expect_created(sg, 1, 0x60), 0);
    w[0] = rhdr(4096, 4096);
    post_stream(sg, 1, 0x61, 1, 16, w, 2, 27, 28);          /* offset */
    ck_assert_uint_ne(expect_created(sg, 1, 0x61), 0);
    w[0] = rhdr(0, 0);
    post_stream(sg, 1, 0x62, 1, 16, w, 2, 27, 28);          /* count 0 */
    ck_assert_uint_ne(expect_created(sg, 1, 0x62), 0);
    w[0] = rhdr(4096, 0);
    post_stream(sg, 1, 0x63, 1, 24, w, 2, 27, 28);          /* buflen */
    ck_assert_uint_ne(expect_created(sg, 1, 0x63), 0);
    post_stream(sg, 1, 0x64, 1, 13, w, 2, 27, 28);          /* buflen%8 */
    ck_assert_uint_ne(expect_created(sg, 1, 0x64), 0);
    w[1] = 1ull << 40;
    post_stream(sg, 1, 0x65, 1, 16, w, 2, 27, 28);          /* PFN */
    ck_assert_uint_ne(expect_created(sg, 1, 0x65), 0);
    w[1] = 0x10;
    w[2] = 0x11;
    post_stream(sg, 1, 0x66, 1, 24, w, 3, 27, 28);          /* extra PFN */
    ck_assert_uint_ne(expect_created(sg, 1, 0x66), 0);
    /* a partial word */
    {
        uint8_t buf[VMBW_MAX_PAYLOAD];
        VmbWireGpadlHeader *h = (void *)buf;

        memset(buf, 0, sizeof(buf));
        sim_hdr(buf, VMBW_MSG_GPADL_HEADER);
        h->child_relid = 1;
        h->gpadl = 0x67;
        h->range_buflen = 16;
        h->rangecount = 1;
        memcpy(buf + 20, w, 16);
        sim_send(sg, buf, 20 + 12);
        ck_assert_uint_ne(expect_created(sg, 1, 0x67), 0);
    }
    sim_expect_none(sg);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.gpadl_bytes, 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_body_more_than_announced)
{
    SimGuest *sg = ready(1);
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlBody *b = (void *)buf;
    VmbcConnInfo ci;

    /* header announces 30 pages, carries 26; body brings 28 */
    post_stream(sg, 1, 0x70, 1, 8 + 8 * 30,
                (uint64_t[27]){ rhdr(30 * 4096, 0) }, 27, 27, 28);
    sim_expect_none(sg);
    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, VMBW_MSG_GPADL_BODY);
    b->gpadl = 0x70;
    sim_send(sg, buf, 240);
    ck_assert_uint_ne(expect_created(sg, 1, 0x70), 0);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.n_gpadls, 0);      /* known length: gone */
    ck_assert_uint_eq(ci.gpadl_bytes, 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_body_unknown_or_complete)
{
    SimGuest *sg = ready(1);
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlBody *b = (void *)buf;
    uint32_t h;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 4, &h), 0);
    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, VMBW_MSG_GPADL_BODY);
    b->gpadl = 0x999;
    sim_send(sg, buf, 24);
    b->gpadl = h;
    sim_send(sg, buf, 24);
    ck_assert_int_eq(sg->n_guest_errors, 2);
    ck_assert_uint_eq(vmbc_gpadl_pfn_count(vmbc_gpadl_find(sg->core, h)), 4);
    sim_expect_none(sg);
    sim_free(sg);
}
END_TEST

START_TEST(test_quota)
{
    VmbcConfig cfg = { .gpadl_quota_bytes = 1 << 20 };   /* 256 pages */
    SimGuest *sg = ready_cfg(&cfg, 1);
    uint32_t h1, h2;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 200, &h1), 0);
    ck_assert_uint_eq(sim_gpadl(sg, 1, 100, &h2), VMBW_STATUS_QUOTA_EXCEEDED);
    ck_assert_ptr_null(vmbc_gpadl_find(sg->core, h2));
    ck_assert_uint_eq(sim_gpadl(sg, 1, 56, NULL), 0);
    sim_teardown(sg, 1, h1);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN));
    ck_assert_uint_eq(sim_gpadl(sg, 1, 200, NULL), 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_default_quota)
{
    SimGuest *sg = ready(1);

    /* 1280 MiB = 327680 pages */
    ck_assert_uint_eq(sim_gpadl(sg, 1, 327680, NULL), 0);
    ck_assert_uint_eq(sim_gpadl(sg, 1, 1, NULL), VMBW_STATUS_QUOTA_EXCEEDED);
    sim_free(sg);
}
END_TEST

START_TEST(test_count_limit)
{
    VmbcConfig cfg = { .gpadl_max_count = 4 };
    SimGuest *sg = ready_cfg(&cfg, 1);

    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(sim_gpadl(sg, 1, 2, NULL), 0);
    }
    ck_assert_uint_eq(sim_gpadl(sg, 1, 2, NULL),
                      VMBW_STATUS_INSUFFICIENT_RESOURCES);
    sim_free(sg);
}
END_TEST

START_TEST(test_teardown_unknown_and_mismatch)
{
    SimGuest *sg = ready(2);
    uint32_t h;

    sim_teardown(sg, 1, 0x31337);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN));   /* no hang */
    ck_assert_int_eq(sg->n_guest_errors, 1);
    ck_assert_uint_eq(sim_gpadl(sg, 1, 4, &h), 0);
    sim_teardown(sg, 2, h);                          /* wrong relid */
    sim_expect_none(sg);
    ck_assert_int_eq(sg->n_guest_errors, 2);
    ck_assert_ptr_nonnull(vmbc_gpadl_find(sg->core, h));
    sim_free(sg);
}
END_TEST

START_TEST(test_teardown_in_use_deferred)
{
    SimGuest *sg = ready(1);
    uint32_t h;
    SimMsg *m;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 8, &h), 0);
    ck_assert_uint_eq(sim_open(sg, 1, h, 4, 0), 0);
    sim_teardown(sg, 1, h);
    sim_expect_none(sg);
    sim_teardown(sg, 1, h);         /* repeated: refused */
    ck_assert_int_eq(sg->n_guest_errors, 1);
    {
        VmbWireRelid c;

        memset(&c, 0, sizeof(c));
        sim_hdr(&c, VMBW_MSG_CLOSECHANNEL);
        c.child_relid = 1;
        sim_send(sg, &c, sizeof(c));
    }
    m = sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN);
    ck_assert_uint_eq(((VmbWireGpadlTorndown *)m->data)->gpadl, h);
    g_free(m);
    ck_assert_ptr_null(vmbc_gpadl_find(sg->core, h));
    sim_free(sg);
}
END_TEST

START_TEST(test_teardown_incomplete)
{
    SimGuest *sg = ready(1);
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlBody *b = (void *)buf;

    post_stream(sg, 1, 0x80, 1, 8 + 8 * 40,
                (uint64_t[27]){ rhdr(40 * 4096, 0) }, 27, 27, 28);
    sim_teardown(sg, 1, 0x80);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN));
    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, VMBW_MSG_GPADL_BODY);
    b->gpadl = 0x80;
    sim_send(sg, buf, 16 + 8 * 14);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    sim_expect_none(sg);
    sim_free(sg);
}
END_TEST

START_TEST(test_teardown_failed_zombie)
{
    SimGuest *sg = ready(1);
    uint64_t w[2] = { rhdr(4096, 4096), 1 };    /* bad offset: unknown len */
    VmbcConnInfo ci;

    post_stream(sg, 1, 0x81, 1, 16, w, 2, 27, 28);
    ck_assert_uint_ne(expect_created(sg, 1, 0x81), 0);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.n_gpadls, 1);      /* kept to absorb bodies */
    sim_teardown(sg, 1, 0x81);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN));
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.n_gpadls, 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_device_pin)
{
    SimGuest *sg = ready(1);
    uint32_t h;
    VmbcGpadl *g;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 16, &h), 0);
    g = vmbc_gpadl_find(sg->core, h);
    vmbc_gpadl_pin(g);
    sim_teardown(sg, 1, h);
    sim_expect_none(sg);
    vmbc_gpadl_unpin(g);
    sim_check(sg);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN));
    sim_free(sg);
}
END_TEST

START_TEST(test_rescind_releases_and_quota)
{
    VmbcConfig cfg = { .gpadl_quota_bytes = 1 << 20 };
    SimGuest *sg = ready_cfg(&cfg, 2);
    VmbcConnInfo ci;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 128, NULL), 0);
    ck_assert_uint_eq(sim_gpadl(sg, 1, 64, NULL), 0);
    ck_assert_uint_eq(sim_gpadl(sg, 2, 64, NULL), 0);
    vmbc_rescind(vmbc_chan_by_relid(sg->core, 1));
    sim_drain(sg);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.n_gpadls, 1);
    ck_assert_uint_eq(ci.gpadl_bytes, 64 * 4096);
    ck_assert_uint_eq(sim_gpadl(sg, 2, 192, NULL), 0);
    /* new GPADLs on a rescinded channel are refused */
    ck_assert_uint_ne(sim_gpadl(sg, 1, 1, NULL), 0);
    sim_free(sg);
}
END_TEST

static bool gpadl_cb(VmbcGpadl *g, void *arg)
{
    uint32_t h = vmbc_gpadl_handle(g);

    g_array_append_val((GArray *)arg, h);
    return true;
}

START_TEST(test_foreach_gpadl_sorted)
{
    SimGuest *sg = ready(1);
    uint32_t last = 0, n = 0;

    for (int i = 0; i < 20; i++) {
        ck_assert_uint_eq(sim_gpadl(sg, 1, 1 + i, NULL), 0);
    }
    {
        GArray *a = g_array_new(false, false, sizeof(uint32_t));

        vmbc_foreach_gpadl(sg->core, gpadl_cb, a);
        for (guint i = 0; i < a->len; i++) {
            ck_assert_uint_gt(g_array_index(a, uint32_t, i), last);
            last = g_array_index(a, uint32_t, i);
            n++;
        }
        g_array_free(a, true);
    }
    ck_assert_uint_eq(n, 20);
    sim_free(sg);
}
END_TEST

static Suite *gpadl_suite(void)
{
    Suite *s = suite_create("vmbus-core-gpadl");
    TCase *tc = tcase_create("gpadl");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_single_message);
    tcase_add_test(tc, test_multi_message);
    tcase_add_test(tc, test_buflen_wrap);
    tcase_add_test(tc, test_one_gib);
    tcase_add_test(tc, test_multi_range);
    tcase_add_test(tc, test_many_ranges);
    tcase_add_test(tc, test_interleaved);
    tcase_add_test(tc, test_duplicate_handle);
    tcase_add_test(tc, test_handle_reuse_after_unload);
    tcase_add_test(tc, test_handle_zero);
    tcase_add_test(tc, test_unknown_relid_absorbs_bodies);
    tcase_add_test(tc, test_bad_headers);
    tcase_add_test(tc, test_body_more_than_announced);
    tcase_add_test(tc, test_body_unknown_or_complete);
    tcase_add_test(tc, test_quota);
    tcase_add_test(tc, test_default_quota);
    tcase_add_test(tc, test_count_limit);
    tcase_add_test(tc, test_teardown_unknown_and_mismatch);
    tcase_add_test(tc, test_teardown_in_use_deferred);
    tcase_add_test(tc, test_teardown_incomplete);
    tcase_add_test(tc, test_teardown_failed_zombie);
    tcase_add_test(tc, test_device_pin);
    tcase_add_test(tc, test_rescind_releases_and_quota);
    tcase_add_test(tc, test_foreach_gpadl_sorted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sim_run_suite(gpadl_suite());
}
