/*
 * Unit tests: VMBus core channels (offer, open, close, rescind, hv_sock, modify)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "simguest.h"

static SimGuest *ready(uint32_t version, int nchan)
{
    SimGuest *sg = sim_new(0);

    for (int i = 0; i < nchan; i++) {
        sim_offer(sg, 100 + i, 1, 0);
    }
    sim_connect(sg, version);
    ck_assert_int_eq(sim_request_offers(sg), nchan);
    return sg;
}

static void post_relid(SimGuest *sg, uint32_t type, uint32_t relid)
{
    VmbWireRelid m;

    memset(&m, 0, sizeof(m));
    sim_hdr(&m, type);
    m.child_relid = relid;
    sim_send(sg, &m, sizeof(m));
}

START_TEST(test_offers_stored_until_request)
{
    SimGuest *sg = sim_new(0);
    SimMsg *m;

    for (int i = 0; i < 5; i++) {
        sim_offer(sg, 100 + i, 1, 0);
    }
    sim_expect_none(sg);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_expect_none(sg);
    {
        VmbWireHdr h;

        sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
        sim_send(sg, &h, sizeof(h));
    }
    for (uint32_t r = 1; r <= 5; r++) {
        m = sim_expect(sg, VMBW_MSG_OFFERCHANNEL);
        ck_assert_uint_eq(((VmbWireOfferChannel *)m->data)->child_relid, r);
        g_free(m);
    }
    g_free(sim_expect(sg, VMBW_MSG_ALLOFFERS_DELIVERED));
    sim_expect_none(sg);
    sim_free(sg);
}
END_TEST

START_TEST(test_second_requestoffers_refused)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 2);
    VmbWireHdr h;

    sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
    sim_send(sg, &h, sizeof(h));
    sim_expect_none(sg);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_hotplug_after_request)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 1);
    SimMsg *m;

    sim_offer(sg, 200, 2, 0);
    m = sim_expect(sg, VMBW_MSG_OFFERCHANNEL);
    ck_assert_uint_eq(((VmbWireOfferChannel *)m->data)->child_relid, 2);
    sim_apply(sg, m);
    g_free(m);
    sim_open_channel(sg, 2);
    sim_free(sg);
}
END_TEST

START_TEST(test_hotplug_before_request)
{
    SimGuest *sg = sim_new(0);

    sim_connect(sg, VMBW_VERSION_IRON);
    sim_offer(sg, 200, 2, 0);
    sim_expect_none(sg);
    ck_assert_int_eq(sim_request_offers(sg), 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_duplicate_offer)
{
    SimGuest *sg = sim_new(0);
    VmbcOfferParams p = sim_params(1, 1, 0);
    GError *err = NULL;

    ck_assert_ptr_nonnull(vmbc_offer(sg->core, &p, NULL));
    ck_assert_ptr_null(vmbc_offer(sg->core, &p, &err));
    ck_assert(g_error_matches(err, VMBC_ERROR, VMBC_ERROR_EXISTS));
    g_clear_error(&err);
    p.subchannel_index = 1;
    ck_assert_ptr_nonnull(vmbc_offer(sg->core, &p, NULL));
    sim_free(sg);
}
END_TEST

START_TEST(test_relid_exhaustion)
{
    SimGuest *sg = sim_new(0);
    VmbcOfferParams p;
    GError *err = NULL;

    for (uint32_t i = 0; i < 2047; i++) {
        p = sim_params(7, i, 0);
        ck_assert_ptr_nonnull(vmbc_offer(sg->core, &p, NULL));
    }
    p = sim_params(7, 5000, 0);
    ck_assert_ptr_null(vmbc_offer(sg->core, &p, &err));
    ck_assert(g_error_matches(err, VMBC_ERROR, VMBC_ERROR_NO_SPACE));
    g_clear_error(&err);
    sim_connect(sg, VMBW_VERSION_IRON);
    ck_assert_int_eq(sim_request_offers(sg), 2047);
    sim_free(sg);
}
END_TEST

START_TEST(test_open_close)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 2);
    VmbcChannel *c = vmbc_chan_by_relid(sg->core, 1);
    VmbcGpadl *g;

    sim_open_channel(sg, 1);
    ck_assert_int_eq(vmbc_chan_state(c), VMBC_CHAN_OPEN);
    ck_assert_int_eq(sg->n_open, 1);
    g = vmbc_chan_ring_gpadl(c);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(vmbc_gpadl_pfn_count(g), 8);
    ck_assert_uint_eq(vmbc_chan_ring_split(c), 4);
    ck_assert_uint_eq(vmbc_chan_target_vp(c), 0);
    sim_close_channel(sg, 1);
    ck_assert_int_eq(vmbc_chan_state(c), VMBC_CHAN_CLOSED);
    ck_assert_int_eq(sg->n_close, 1);
    ck_assert_ptr_null(vmbc_chan_ring_gpadl(c));
    /* reopen */
    sim_open_channel(sg, 1);
    sim_close_channel(sg, 1);
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_open_userdata_vp)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 1);
    VmbWireOpenChannel o;
    uint32_t h;
    SimMsg *m;
    VmbcChannel *c = vmbc_chan_by_relid(sg->core, 1);

    ck_assert_uint_eq(sim_gpadl(sg, 1, 10, &h), 0);
    memset(&o, 0, sizeof(o));
    sim_hdr(&o, VMBW_MSG_OPENCHANNEL);
    o.child_relid = 1;
    o.openid = 99;
    o.ringbuffer_gpadlhandle = h;
    o.target_vp = 3;
    o.downstream_ringbuffer_pageoffset = 6;
    o.userdata[0] = 0x5a;
    sim_send(sg, &o, sizeof(o));
    m = sim_expect(sg, VMBW_MSG_OPENCHANNEL_RESULT);
    ck_assert_uint_eq(((VmbWireOpenResult *)m->data)->openid, 99);
    ck_assert_uint_eq(((VmbWireOpenResult *)m->data)->status, 0);
    g_free(m);
    ck_assert_uint_eq(vmbc_chan_target_vp(c), 3);
    ck_assert_uint_eq(vmbc_chan_open_userdata(c)[0], 0x5a);
    vmbc_channel_notify_guest(c);
    ck_assert_uint_eq(g_array_index(sg->events, SimEvent, 0).vp, 3);
    sim_free(sg);
}
END_TEST

START_TEST(test_open_refused_by_device)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 1);
    uint32_t h;
    SimMsg *m;

    sg->open_status = -5;
    ck_assert_uint_eq(sim_gpadl(sg, 1, 8, &h), 0);
    ck_assert_uint_eq(sim_open(sg, 1, h, 4, 0), VMBW_STATUS_UNSUCCESSFUL);
    sg->open_status = 0x1234;
    ck_assert_uint_eq(sim_open(sg, 1, h, 4, 0), 0x1234);
    /* GPADL not pinned: teardown answered at once */
    sim_teardown(sg, 1, h);
    m = sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN);
    g_free(m);
    sg->open_status = 0;
    sim_open_channel(sg, 1);
    sim_free(sg);
}
END_TEST

/* Every OPENCHANNEL validation gets a non-zero status. */
START_TEST(test_open_validation)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 2);
    uint32_t h1, h2, hsmall, hodd;
    int errs;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 8, &h1), 0);
    ck_assert_uint_eq(sim_gpadl(sg, 2, 8, &h2), 0);
    ck_assert_uint_eq(sim_gpadl(sg, 1, 3, &hsmall), 0);
    ck_assert_uint_ne(sim_open(sg, 0, h1, 4, 0), 0);        /* relid 0 */
    ck_assert_uint_ne(sim_open(sg, 9, h1, 4, 0), 0);        /* unknown */
    ck_assert_uint_ne(sim_open(sg, 3000, h1, 4, 0), 0);     /* > 2047 */
    ck_assert_uint_ne(sim_open(sg, 1, 0x999, 4, 0), 0);     /* no gpadl */
    ck_assert_uint_ne(sim_open(sg, 1, h2, 4, 0), 0);        /* other's */
    ck_assert_uint_ne(sim_open(sg, 1, h1, 1, 0), 0);        /* split 1 */
    ck_assert_uint_ne(sim_open(sg, 1, h1, 0, 0), 0);        /* split 0 */
    ck_assert_uint_ne(sim_open(sg, 1, h1, 7, 0), 0);        /* 1 page in */
    ck_assert_uint_ne(sim_open(sg, 1, h1, 0xffffffff, 0), 0);
    ck_assert_uint_ne(sim_open(sg, 1, hsmall, 2, 0), 0);    /* 3 pages */
    ck_assert_uint_ne(sim_open(sg, 1, h1, 4, 4), 0);        /* no VP 4 */
    ck_assert_uint_ne(sim_open(sg, 1, h1, 4, 0xffffffff), 0);
    errs = sg->n_guest_errors;
    ck_assert_int_eq(errs, 12);
    ck_assert_int_eq(sg->n_open, 0);
    ck_assert_uint_eq(sim_open(sg, 1, h1, 4, 0), 0);
    ck_assert_uint_ne(sim_open(sg, 1, h1, 4, 0), 0);        /* open twice */
    /* incomplete GPADL: header only, 30 pages announced */
    {
        VmbWireGpadlHeader g;

        memset(&g, 0, sizeof(g));
        sim_hdr(&g, VMBW_MSG_GPADL_HEADER);
        g.child_relid = 2;
        g.gpadl = 0x7777;
        g.range_buflen = 8 + 8 * 30;
        g.rangecount = 1;
        g.range0.byte_count = 30 * 4096;
        sim_send(sg, &g, sizeof(g));
    }
    ck_assert_uint_eq(sim_inbox_len(sg), 0);
    ck_assert_uint_ne(sim_open(sg, 2, 0x7777, 4, 0), 0);
    /* ring with an unaligned range */
    {
        VmbWireGpadlHeader g;
        SimMsg *m;

        memset(&g, 0, sizeof(g));
        sim_hdr(&g, VMBW_MSG_GPADL_HEADER);
        g.child_relid = 2;
        hodd = g.gpadl = 0x8888;
        g.range_buflen = 8 + 8 * 5;
        g.rangecount = 1;
        g.range0.byte_count = 4 * 4096;
        g.range0.byte_offset = 100;
        for (int i = 0; i < 5; i++) {
            g.pfn[i] = 50 + i;
        }
        sim_send(sg, &g, 28 + 40);
        m = sim_expect(sg, VMBW_MSG_GPADL_CREATED);
        ck_assert_uint_eq(((VmbWireGpadlCreated *)m->data)->creation_status,
                          0);
        g_free(m);
        ck_assert_uint_ne(sim_open(sg, 2, hodd, 2, 0), 0);
    }
    sim_free(sg);
}
END_TEST

START_TEST(test_rescind_closed)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 2);
    VmbcChannel *c = vmbc_chan_by_relid(sg->core, 1);
    SimMsg *m;
    VmbcChannel *n;
    uint32_t h;

    ck_assert_uint_eq(sim_gpadl(sg, 1, 4, &h), 0);
    vmbc_rescind(c);
    m = sim_expect(sg, VMBW_MSG_RESCIND_CHANNELOFFER);
    ck_assert_uint_eq(((VmbWireRelid *)m->data)->child_relid, 1);
    sim_apply(sg, m);
    g_free(m);
    ck_assert_int_eq(vmbc_chan_state(c), VMBC_CHAN_RESCINDED);
    ck_assert_ptr_null(vmbc_gpadl_find(sg->core, h));   /* implicit */
    /* second rescind is a no-op */
    vmbc_rescind(c);
    sim_expect_none(sg);
    /* the relid is not reused before RELID_RELEASED */
    n = sim_offer(sg, 300, 3, 0);
    ck_assert_uint_ne(vmbc_chan_relid(n), 1);
    sim_drain(sg);
    /* opening a rescinded channel fails */
    ck_assert_uint_ne(sim_open(sg, 1, h, 2, 0), 0);
    sim_relid_released(sg, 1);
    ck_assert_int_eq(sg->n_released, 1);
    ck_assert_uint_eq(g_array_index(sg->released, uint32_t, 0), 1);
    ck_assert_ptr_null(vmbc_chan_by_relid(sg->core, 1));
    sim_free(sg);
}
END_TEST

START_TEST(test_rescind_open)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 1);
    VmbcChannel *c = vmbc_chan_by_relid(sg->core, 1);
    uint32_t extra;
    SimMsg *m;
    VmbcConnInfo ci;

    sim_open_channel(sg, 1);
    ck_assert_uint_eq(sim_gpadl(sg, 1, 100, &extra), 0);
    vmbc_rescind(c);
    ck_assert_int_eq(sg->n_close, 1);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.n_gpadls, 0);
    ck_assert_uint_eq(ci.gpadl_bytes, 0);
    m = sim_expect(sg, VMBW_MSG_RESCIND_CHANNELOFFER);
    sim_apply(sg, m);
    g_free(m);
    /* the driver's close + a teardown that crossed the rescind */
    post_relid(sg, VMBW_MSG_CLOSECHANNEL, 1);
    sim_teardown(sg, 1, extra);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN));
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_relid_released(sg, 1);
    ck_assert_int_eq(sg->n_released, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_rescind_unoffered)
{
    SimGuest *sg = sim_new(0);
    VmbcChannel *c = sim_offer(sg, 1, 1, 0);

    vmbc_rescind(c);
    ck_assert_int_eq(sg->n_released, 1);
    sim_connect(sg, VMBW_VERSION_IRON);
    ck_assert_int_eq(sim_request_offers(sg), 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_relid_released_bad)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 1);

    post_relid(sg, VMBW_MSG_RELID_RELEASED, 55);
    post_relid(sg, VMBW_MSG_RELID_RELEASED, 0);
    sim_open_channel(sg, 1);
    post_relid(sg, VMBW_MSG_RELID_RELEASED, 1);   /* open */
    ck_assert_int_eq(sg->n_guest_errors, 3);
    ck_assert_int_eq(vmbc_chan_state(vmbc_chan_by_relid(sg->core, 1)),
                     VMBC_CHAN_OPEN);
    ck_assert_int_eq(sg->n_released, 0);
    sim_free(sg);
}
END_TEST

/*
 * Linux releases the relid of an offer it could not add as a device
 * (vmbus_add_channel_work's error path) without any rescind: the host
 * takes that as the guest dropping the offer.  The offer comes back on
 * the next connection, and a hot-unplug completes at once.
 */
START_TEST(test_relid_released_unrescinded)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 3);
    VmbcChannel *c = vmbc_chan_by_relid(sg->core, 1);
    VmbcChannel *sub = sim_offer(sg, 101, 1, 1);
    uint32_t h;

    sim_drain(sg);
    ck_assert_uint_eq(sim_gpadl(sg, 1, 4, &h), 0);
    sim_relid_released(sg, 1);
    ck_assert_int_eq(sg->n_guest_errors, 0);
    ck_assert(!vmbc_chan_offered(c));
    ck_assert_int_eq(vmbc_chan_state(c), VMBC_CHAN_CLOSED);
    ck_assert_ptr_null(vmbc_gpadl_find(sg->core, h));
    sim_check(sg);
    /* a subchannel the guest drops is gone for good */
    sim_relid_released(sg, vmbc_chan_relid(sub));
    ck_assert_int_eq(sg->n_guest_errors, 0);
    ck_assert_int_eq(sg->n_released, 1);
    sim_check(sg);
    /* hot-unplug: nothing for the guest to release */
    vmbc_rescind(c);
    sim_expect_none(sg);
    ck_assert_int_eq(sg->n_released, 2);
    ck_assert_ptr_null(vmbc_chan_by_relid(sg->core, 1));
    /* the other offer, dropped too, is offered again on reconnect */
    sim_relid_released(sg, 2);
    sim_unload(sg);
    sim_kexec(sg);
    sim_connect(sg, VMBW_VERSION_IRON);
    ck_assert_int_eq(sim_request_offers(sg), 2);
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_close_bad)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 1);

    post_relid(sg, VMBW_MSG_CLOSECHANNEL, 1);     /* not open */
    post_relid(sg, VMBW_MSG_CLOSECHANNEL, 77);
    post_relid(sg, VMBW_MSG_CLOSECHANNEL, 0xffffffff);
    ck_assert_int_eq(sg->n_guest_errors, 3);
    ck_assert_int_eq(sg->n_close, 0);
    sim_expect_none(sg);
    sim_free(sg);
}
END_TEST

START_TEST(test_subchannel_rescind_on_close)
{
    SimGuest *sg = sim_new(0);
    VmbcChannel *prim = sim_offer(sg, 1, 1, 0);
    VmbcChannel *sub;
    SimMsg *m;

    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    /* the device offers a subchannel on demand */
    sub = sim_offer(sg, 1, 1, 1);
    m = sim_expect(sg, VMBW_MSG_OFFERCHANNEL);
    ck_assert_uint_eq(((VmbWireOfferChannel *)m->data)->sub_channel_index, 1);
    sim_apply(sg, m);
    g_free(m);
    ck_assert_int_eq(sg->nr_chan_close_on_suspend, 1);
    sim_open_channel(sg, vmbc_chan_relid(sub));
    sim_close_channel(sg, vmbc_chan_relid(sub));
    ck_assert(sg->chans[vmbc_chan_relid(sub)].rescinded);
    ck_assert_int_eq(sg->nr_chan_close_on_suspend, 0);
    sim_relid_released(sg, 2);
    ck_assert_int_eq(sg->n_released, 1);
    /* closing the primary does not rescind it */
    sim_close_channel(sg, 1);
    ck_assert_int_eq(vmbc_chan_state(prim), VMBC_CHAN_CLOSED);
    sim_expect_none(sg);
    sim_free(sg);
}
END_TEST

static void tl_request(SimGuest *sg, uint32_t ep, uint32_t svc)
{
    VmbWireTlConnectRequest t;

    memset(&t, 0, sizeof(t));
    sim_hdr(&t, VMBW_MSG_TL_CONNECT_REQUEST);
    memcpy(t.guest_endpoint_id.b, &ep, 4);
    memcpy(t.host_service_id.b, &svc, 4);
    sim_send(sg, &t, sizeof(t));
}

START_TEST(test_tl_connect_accept)
{
    SimGuest *sg = ready(VMBW_VERSION_WIN10, 1);
    SimMsg *m;
    const VmbWireOfferChannel *o;
    uint32_t ep = 0xe0e0, svc = 0x5e5e, relid;
    int dev;
    VmbcChannel *c;

    sg->tl_dev = &dev;
    tl_request(sg, ep, svc);
    ck_assert_int_eq(sg->n_tl, 1);
    m = sim_expect(sg, VMBW_MSG_OFFERCHANNEL);
    o = (const void *)m->data;
    ck_assert_uint_eq(o->chn_flags & 0x2000, 0x2000);
    ck_assert_mem_eq(o->if_instance.b, &ep, 4);
    ck_assert_mem_eq(o->if_type.b, &svc, 4);
    ck_assert_uint_eq(o->user_def[4], 0);   /* not for guest accept */
    relid = o->child_relid;
    sim_apply(sg, m);
    g_free(m);
    c = vmbc_chan_by_relid(sg->core, relid);
    ck_assert_ptr_eq(vmbc_chan_get_opaque(c), &dev);
    sim_open_channel(sg, relid);
    sim_close_channel(sg, relid);
    ck_assert(sg->chans[relid].rescinded);
    sim_relid_released(sg, relid);
    ck_assert_int_eq(sg->n_released, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_tl_connect_refused)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 0);
    SimMsg *m;
    const VmbWireTlConnectResult *r;
    uint32_t ep = 0x1111, svc = 0x2222;

    sg->tl_status = VMBW_STATUS_CONNECTION_REFUSED;
    tl_request(sg, ep, svc);
    m = sim_expect(sg, VMBW_MSG_TL_CONNECT_RESULT);
    ck_assert_uint_eq(m->len, 44);
    r = (const void *)m->data;
    ck_assert_uint_eq(r->status, VMBW_STATUS_CONNECTION_REFUSED);
    ck_assert_mem_eq(r->endpoint_id.b, &ep, 4);
    ck_assert_mem_eq(r->service_id.b, &svc, 4);
    g_free(m);
    ck_assert_uint_eq(sim_nchan(sg), 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_tl_connect_version_and_dup)
{
    SimGuest *sg = ready(VMBW_VERSION_WIN8_1, 0);

    tl_request(sg, 1, 2);
    sim_expect_none(sg);
    ck_assert_int_eq(sg->n_tl, 0);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    sim_free(sg);

    sg = ready(VMBW_VERSION_IRON, 0);
    tl_request(sg, 1, 2);
    sim_drain(sg);
    tl_request(sg, 1, 2);       /* same endpoint while live */
    g_free(sim_expect(sg, VMBW_MSG_TL_CONNECT_RESULT));
    ck_assert_int_eq(sg->n_tl, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_tl_before_requestoffers)
{
    SimGuest *sg = sim_new(0);

    sim_connect(sg, VMBW_VERSION_IRON);
    tl_request(sg, 1, 2);
    sim_expect_none(sg);
    ck_assert_int_eq(sim_request_offers(sg), 1);
    sim_free(sg);
}
END_TEST

static void modify(SimGuest *sg, uint32_t relid, uint32_t vp)
{
    VmbWireModifyChannel m;

    memset(&m, 0, sizeof(m));
    sim_hdr(&m, VMBW_MSG_MODIFYCHANNEL);
    m.child_relid = relid;
    m.target_vp = vp;
    sim_send(sg, &m, sizeof(m));
}

START_TEST(test_modify_41)
{
    SimGuest *sg = ready(VMBW_VERSION_WIN10_RS3_0, 1);
    VmbcChannel *c = vmbc_chan_by_relid(sg->core, 1);

    sim_open_channel(sg, 1);
    modify(sg, 1, 2);
    sim_expect_none(sg);
    ck_assert_uint_eq(vmbc_chan_target_vp(c), 2);
    vmbc_channel_notify_guest(c);
    ck_assert_uint_eq(g_array_index(sg->events, SimEvent, 0).vp, 2);
    modify(sg, 1, 9);           /* no such VP: no reply below 5.3 */
    sim_expect_none(sg);
    ck_assert_uint_eq(vmbc_chan_target_vp(c), 2);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_modify_53)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 2);
    SimMsg *m;
    const VmbWireModifyChannelResponse *r;

    sim_open_channel(sg, 1);
    modify(sg, 1, 3);
    m = sim_expect(sg, VMBW_MSG_MODIFYCHANNEL_RESPONSE);
    r = (const void *)m->data;
    ck_assert_uint_eq(m->len, 16);
    ck_assert_uint_eq(r->child_relid, 1);
    ck_assert_uint_eq(r->status, 0);
    g_free(m);
    modify(sg, 1, 100);
    m = sim_expect(sg, VMBW_MSG_MODIFYCHANNEL_RESPONSE);
    ck_assert_uint_ne(((VmbWireModifyChannelResponse *)m->data)->status, 0);
    g_free(m);
    modify(sg, 2, 1);           /* not open */
    m = sim_expect(sg, VMBW_MSG_MODIFYCHANNEL_RESPONSE);
    ck_assert_uint_ne(((VmbWireModifyChannelResponse *)m->data)->status, 0);
    g_free(m);
    modify(sg, 99, 1);          /* unknown */
    m = sim_expect(sg, VMBW_MSG_MODIFYCHANNEL_RESPONSE);
    ck_assert_uint_eq(((VmbWireModifyChannelResponse *)m->data)->child_relid,
                      99);
    ck_assert_uint_ne(((VmbWireModifyChannelResponse *)m->data)->status, 0);
    g_free(m);
    sim_free(sg);
}
END_TEST

START_TEST(test_modify_40_refused)
{
    SimGuest *sg = ready(VMBW_VERSION_WIN10, 1);

    sim_open_channel(sg, 1);
    modify(sg, 1, 1);
    sim_expect_none(sg);
    ck_assert_uint_eq(vmbc_chan_target_vp(vmbc_chan_by_relid(sg->core, 1)),
                      0);
    ck_assert_uint_eq(vmbc_counters(sg->core)->refused[22], 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_stable_relid_reoffer)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 3);
    VmbcChannel *c = vmbc_chan_by_relid(sg->core, 2);
    SimMsg *m;

    vmbc_rescind(c);
    sim_drain(sg);
    sim_relid_released(sg, 2);
    /* other devices come and go meanwhile */
    sim_offer(sg, 500, 5, 0);
    sim_drain(sg);
    /* the same device is plugged back: same relid */
    sim_offer(sg, 101, 1, 0);
    m = sim_expect(sg, VMBW_MSG_OFFERCHANNEL);
    ck_assert_uint_eq(((VmbWireOfferChannel *)m->data)->child_relid, 2);
    g_free(m);
    sim_free(sg);
}
END_TEST

/* Hibernation: close, subchannel rescinds, unload, resume, same relids. */
START_TEST(test_hibernation)
{
    SimGuest *sg = sim_new(0);
    VmbWireGuid inst[3];
    uint32_t tl_relid;

    sim_offer(sg, 1, 11, 0);
    sim_offer(sg, 2, 22, 0);
    sim_offer(sg, 3, 33, 0);
    for (int i = 0; i < 3; i++) {
        inst[i] = vmbc_chan_params(vmbc_chan_by_relid(sg->core, i + 1))
                  ->instance_id;
    }
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    sim_open_channel(sg, 2);
    /* subchannels of device 2 */
    sim_offer(sg, 2, 22, 1);
    sim_offer(sg, 2, 22, 2);
    sim_drain(sg);
    sim_open_channel(sg, 4);
    sim_open_channel(sg, 5);
    /* an hv_sock connection */
    {
        VmbWireTlConnectRequest t;

        memset(&t, 0, sizeof(t));
        sim_hdr(&t, VMBW_MSG_TL_CONNECT_REQUEST);
        t.guest_endpoint_id.b[0] = 9;
        sim_send(sg, &t, sizeof(t));
        tl_relid = ((VmbWireOfferChannel *)
                    ((SimMsg *)g_queue_peek_head(&sg->inbox))->data)
                   ->child_relid;
        sim_drain(sg);
        sim_open_channel(sg, tl_relid);
    }
    ck_assert_int_eq(sg->nr_chan_close_on_suspend, 3);
    sim_suspend(sg);
    ck_assert_int_eq(sg->n_released, 3);
    ck_assert_uint_eq(sim_nchan(sg), 3);
    sim_resume(sg);
    for (int i = 0; i < 3; i++) {
        ck_assert_mem_eq(sg->chans[i + 1].offer.if_instance.b, inst[i].b, 16);
    }
    ck_assert(!sg->chans[4].present && !sg->chans[5].present);
    /* drivers reopen and re-request subchannels */
    sim_open_channel(sg, 1);
    sim_open_channel(sg, 2);
    sim_offer(sg, 2, 22, 1);
    sim_drain(sg);
    sim_free(sg);
}
END_TEST

static bool foreach_cb(VmbcChannel *c, void *arg)
{
    uint32_t r = vmbc_chan_relid(c);

    g_array_append_val((GArray *)arg, r);
    return r < 4;
}

START_TEST(test_foreach_order)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 5);
    GArray *seen = g_array_new(false, false, sizeof(uint32_t));

    vmbc_foreach_channel(sg->core, foreach_cb, seen);
    ck_assert_uint_eq(seen->len, 4);
    for (uint32_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(g_array_index(seen, uint32_t, i), i + 1);
    }
    g_array_free(seen, true);
    sim_free(sg);
}
END_TEST

START_TEST(test_monitor_ids_exhausted)
{
    SimGuest *sg = sim_new(0);
    VmbcOfferParams p;
    int with = 0;

    for (int i = 0; i < 130; i++) {
        p = sim_params(9, i, 0);
        p.monitor_allocated = true;
        vmbc_offer(sg->core, &p, NULL);
    }
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    for (int r = 1; r <= 130; r++) {
        with += sg->chans[r].offer.monitor_allocated;
    }
    ck_assert_int_eq(with, 128);
    sim_free(sg);
}
END_TEST

START_TEST(test_chan_opaque_accessors)
{
    SimGuest *sg = sim_new(0);
    VmbcOfferParams p = sim_params(1, 2, 0);
    int x;
    VmbcChannel *c;

    p.dev_opaque = &x;
    c = vmbc_offer(sg->core, &p, NULL);
    ck_assert_ptr_eq(vmbc_chan_get_opaque(c), &x);
    vmbc_chan_set_opaque(c, NULL);
    ck_assert_ptr_null(vmbc_chan_get_opaque(c));
    ck_assert_ptr_eq(vmbc_chan_core(c), sg->core);
    ck_assert(!vmbc_chan_offered(c));
    ck_assert_uint_eq(vmbc_chan_connection_id(c), 0x2001);
    ck_assert_ptr_null(vmbc_chan_by_relid(sg->core, 0));
    ck_assert_ptr_null(vmbc_chan_by_relid(sg->core, 5000));
    sim_free(sg);
}
END_TEST

/* Offer then rescind while the slot is busy: the guest sees both, in order. */
START_TEST(test_offer_rescind_order_busy)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 1);
    VmbcChannel *c;
    SimMsg *m;

    sg->slot_busy = true;
    c = sim_offer(sg, 7, 7, 0);
    vmbc_rescind(c);
    ck_assert_uint_eq(sim_inbox_len(sg), 0);
    sim_free_slot(sg);
    m = sim_expect(sg, VMBW_MSG_OFFERCHANNEL);
    sim_apply(sg, m);
    g_free(m);
    m = sim_expect(sg, VMBW_MSG_RESCIND_CHANNELOFFER);
    sim_apply(sg, m);
    g_free(m);
    sim_relid_released(sg, 2);
    ck_assert_int_eq(sg->n_released, 1);
    sim_free(sg);
}
END_TEST

/* A device replaces a subchannel from inside chan_released. */
static SimGuest *replace_sg;
static void replace_released(void *opaque, VmbcChannel *chan)
{
    VmbcOfferParams p = *vmbc_chan_params(chan);

    ck_assert_ptr_nonnull(vmbc_offer(replace_sg->core, &p, NULL));
}

START_TEST(test_reoffer_from_released)
{
    SimGuest *sg = ready(VMBW_VERSION_IRON, 1);
    VmbcChannel *sub;

    sub = sim_offer(sg, 100, 1, 1);
    sim_drain(sg);
    vmbc_rescind(sub);
    sim_drain(sg);
    /* swap the hook (the core reads ops through the pointer) */
    sg->ops.chan_released = replace_released;
    replace_sg = sg;
    sim_relid_released(sg, 2);
    sim_check(sg);
    ck_assert_uint_eq(sim_nchan(sg), 2);
    g_free(sim_expect(sg, VMBW_MSG_OFFERCHANNEL));
    sim_free(sg);
}
END_TEST

static Suite *chan_suite(void)
{
    Suite *s = suite_create("vmbus-core-chan");
    TCase *tc = tcase_create("chan");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_offers_stored_until_request);
    tcase_add_test(tc, test_second_requestoffers_refused);
    tcase_add_test(tc, test_hotplug_after_request);
    tcase_add_test(tc, test_hotplug_before_request);
    tcase_add_test(tc, test_duplicate_offer);
    tcase_add_test(tc, test_relid_exhaustion);
    tcase_add_test(tc, test_open_close);
    tcase_add_test(tc, test_open_userdata_vp);
    tcase_add_test(tc, test_open_refused_by_device);
    tcase_add_test(tc, test_open_validation);
    tcase_add_test(tc, test_rescind_closed);
    tcase_add_test(tc, test_rescind_open);
    tcase_add_test(tc, test_rescind_unoffered);
    tcase_add_test(tc, test_relid_released_bad);
    tcase_add_test(tc, test_relid_released_unrescinded);
    tcase_add_test(tc, test_close_bad);
    tcase_add_test(tc, test_subchannel_rescind_on_close);
    tcase_add_test(tc, test_tl_connect_accept);
    tcase_add_test(tc, test_tl_connect_refused);
    tcase_add_test(tc, test_tl_connect_version_and_dup);
    tcase_add_test(tc, test_tl_before_requestoffers);
    tcase_add_test(tc, test_modify_41);
    tcase_add_test(tc, test_modify_53);
    tcase_add_test(tc, test_modify_40_refused);
    tcase_add_test(tc, test_stable_relid_reoffer);
    tcase_add_test(tc, test_hibernation);
    tcase_add_test(tc, test_foreach_order);
    tcase_add_test(tc, test_monitor_ids_exhausted);
    tcase_add_test(tc, test_chan_opaque_accessors);
    tcase_add_test(tc, test_offer_rescind_order_busy);
    tcase_add_test(tc, test_reoffer_from_released);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sim_run_suite(chan_suite());
}
