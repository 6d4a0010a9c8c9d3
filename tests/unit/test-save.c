/*
 * Unit tests: VMBus core save/restore (round trips mid-scenario, bad streams)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <string.h>

#include "simguest.h"

/* Device offers a "QEMU" makes at realize: same on both sides. */
static void devices(SimGuest *sg, int n)
{
    for (int i = 0; i < n; i++) {
        VmbcOfferParams p = sim_params(100 + i, 1 + i, 0);
        GError *err = NULL;

        if (i == 2) {
            p.monitor_allocated = true;
            p.monitor_latency = 200;
        }
        ck_assert_ptr_nonnull(vmbc_offer(sg->core, &p, &err));
    }
}

/*
 * Save 'a', load into a fresh core with the same device offers, check
 * the reloaded core saves to the same bytes, move the guest over.
 */
static SimGuest *migrate(SimGuest *a, int ndev)
{
    GByteArray *s1 = g_byte_array_new(), *s2 = g_byte_array_new();
    VmbcConfig cfg = a->cfg;
    SimGuest *b;
    GError *err = NULL;
    SimMsg *m;

    vmbc_save(a->core, s1);
    b = sim_new_cfg(&cfg);
    b->nvps = a->nvps;
    devices(b, ndev);
    ck_assert_msg(vmbc_load(b->core, s1->data, s1->len, &err), "load: %s",
                  err ? err->message : "");
    sim_check(b);
    vmbc_save(b->core, s2);
    ck_assert_uint_eq(s1->len, s2->len);
    ck_assert_mem_eq(s1->data, s2->data, s1->len);
    g_byte_array_free(s1, true);
    g_byte_array_free(s2, true);

    /* the guest (memory, driver state, undelivered slot) moves over */
    memcpy(b->mem, a->mem, SIM_MEM_SIZE);
    memcpy(b->chans, a->chans, sizeof(a->chans));
    memcpy(b->suspended, a->suspended, sizeof(a->suspended));
    memcpy(b->suspended_relid, a->suspended_relid,
           sizeof(a->suspended_relid));
    b->n_suspended = a->n_suspended;
    b->msg_conn_id = a->msg_conn_id;
    b->conn_state = a->conn_state;
    b->version = a->version;
    b->next_gpadl_handle = a->next_gpadl_handle;
    b->nr_chan_close_on_suspend = a->nr_chan_close_on_suspend;
    b->nr_chan_fixup_on_resume = a->nr_chan_fixup_on_resume;
    b->now = a->now;
    b->slot_busy = a->slot_busy;
    b->one_at_a_time = a->one_at_a_time;
    while ((m = sim_pop(a))) {
        g_queue_push_tail(&b->inbox, m);
    }
    sim_free(a);
    return b;
}

static SimGuest *ready(int ndev, uint32_t version)
{
    SimGuest *sg = sim_new(0);

    devices(sg, ndev);
    sim_connect(sg, version);
    ck_assert_int_eq(sim_request_offers(sg), ndev);
    return sg;
}

START_TEST(test_save_disconnected)
{
    SimGuest *sg = sim_new(0);

    devices(sg, 3);
    sg = migrate(sg, 3);
    ck_assert_uint_eq(sim_nchan(sg), 3);
    sim_connect(sg, VMBW_VERSION_IRON);
    ck_assert_int_eq(sim_request_offers(sg), 3);
    sim_free(sg);
}
END_TEST

START_TEST(test_save_connected_not_ready)
{
    SimGuest *sg = sim_new(0);

    devices(sg, 2);
    sim_connect(sg, VMBW_VERSION_WIN10);
    sg = migrate(sg, 2);
    ck_assert_int_eq(sim_request_offers(sg), 2);
    sim_open_channel(sg, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_save_open_channels)
{
    SimGuest *sg = ready(3, VMBW_VERSION_IRON);
    VmbcChannel *c;
    int dev = 1;
    uint32_t h_extra;

    sim_open_channel(sg, 1);
    sim_open_channel(sg, 2);
    ck_assert_uint_eq(sim_gpadl(sg, 2, 300, &h_extra), 0);
    vmbc_chan_set_opaque(vmbc_chan_by_relid(sg->core, 1), &dev);
    sg = migrate(sg, 3);
    c = vmbc_chan_by_relid(sg->core, 1);
    ck_assert_int_eq(vmbc_chan_state(c), VMBC_CHAN_OPEN);
    ck_assert_ptr_null(vmbc_chan_get_opaque(c));    /* the new device's */
    ck_assert_uint_eq(vmbc_gpadl_pfn_count(vmbc_gpadl_find(sg->core,
                                                            h_extra)), 300);
    /* continue: signal, notify, close, teardown */
    ck_assert_uint_eq(sim_signal(sg, vmbc_chan_connection_id(c)), 0);
    ck_assert_int_eq(sg->n_notify, 1);
    vmbc_channel_notify_guest(c);
    ck_assert_uint_eq(sg->events->len, 1);
    sim_close_channel(sg, 1);
    sim_close_channel(sg, 2);
    sim_teardown(sg, 2, h_extra);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN));
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_save_mid_gpadl)
{
    SimGuest *sg = ready(1, VMBW_VERSION_IRON);
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlHeader *h = (void *)buf;
    VmbWireGpadlBody *b = (void *)buf;
    VmbcGpadl *g;

    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, VMBW_MSG_GPADL_HEADER);
    h->child_relid = 1;
    h->gpadl = 0x500;
    h->range_buflen = 8 + 8 * 40;
    h->rangecount = 1;
    h->range0.byte_count = 40 * 4096;
    for (int i = 0; i < 26; i++) {
        h->pfn[i] = 0x100 + i;
    }
    sim_send(sg, buf, 236);
    sg = migrate(sg, 1);
    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, VMBW_MSG_GPADL_BODY);
    b->gpadl = 0x500;
    for (int i = 0; i < 14; i++) {
        b->pfn[i] = 0x100 + 26 + i;
    }
    sim_send(sg, buf, 16 + 8 * 14);
    g_free(sim_expect(sg, VMBW_MSG_GPADL_CREATED));
    g = vmbc_gpadl_find(sg->core, 0x500);
    for (int i = 0; i < 40; i++) {
        ck_assert_uint_eq(vmbc_gpadl_pfns(g)[i], 0x100 + i);
    }
    sim_free(sg);
}
END_TEST

START_TEST(test_save_queued_messages)
{
    SimGuest *sg = sim_new(0);
    VmbWireHdr hd;
    uint32_t expect = 1;
    SimMsg *m;

    devices(sg, 6);
    sim_connect(sg, VMBW_VERSION_IRON);
    sg->slot_busy = true;
    sg->one_at_a_time = true;
    sim_hdr(&hd, VMBW_MSG_REQUESTOFFERS);
    sim_send(sg, &hd, sizeof(hd));
    sim_free_slot(sg);
    sim_free_slot(sg);      /* two delivered, five queued */
    ck_assert_uint_eq(sim_inbox_len(sg), 2);
    sg = migrate(sg, 6);
    for (;;) {
        m = sim_pop(sg);
        if (!m) {
            sim_free_slot(sg);
            continue;
        }
        if (m->hdr.msgtype == VMBW_MSG_ALLOFFERS_DELIVERED) {
            g_free(m);
            break;
        }
        ck_assert_uint_eq(((VmbWireOfferChannel *)m->data)->child_relid,
                          expect++);
        sim_apply(sg, m);
        g_free(m);
    }
    ck_assert_uint_eq(expect, 7);
    sim_free(sg);
}
END_TEST

START_TEST(test_save_rescinded)
{
    SimGuest *sg = ready(2, VMBW_VERSION_IRON);

    vmbc_rescind(vmbc_chan_by_relid(sg->core, 2));
    sim_drain(sg);
    sg = migrate(sg, 2);
    ck_assert_int_eq(vmbc_chan_state(vmbc_chan_by_relid(sg->core, 2)),
                     VMBC_CHAN_RESCINDED);
    sim_relid_released(sg, 2);
    ck_assert_int_eq(sg->n_released, 1);
    sim_free(sg);
}
END_TEST

/* Subchannels / hv_sock channels come back unclaimed. */
START_TEST(test_save_unclaimed)
{
    SimGuest *sg = ready(2, VMBW_VERSION_IRON);
    VmbcChannel *sub;

    sim_open_channel(sg, 1);
    sim_offer(sg, 100, 1, 1);
    sim_drain(sg);
    sim_open_channel(sg, 3);
    sg = migrate(sg, 2);
    sub = vmbc_chan_by_relid(sg->core, 3);
    ck_assert_ptr_nonnull(sub);
    ck_assert_ptr_null(vmbc_chan_get_opaque(sub));
    ck_assert_uint_eq(vmbc_chan_params(sub)->subchannel_index, 1);
    ck_assert(vmbc_chan_params(sub)->rescind_on_close);
    sim_close_channel(sg, 3);
    ck_assert(sg->chans[3].rescinded);
    sim_relid_released(sg, 3);
    sim_free(sg);
}
END_TEST

/* A device only the destination has is hot-plugged after load. */
START_TEST(test_save_new_device_on_target)
{
    SimGuest *sg = ready(2, VMBW_VERSION_IRON);
    GByteArray *s = g_byte_array_new();
    SimGuest *b = sim_new(0);
    SimMsg *m;

    vmbc_save(sg->core, s);
    devices(b, 2);
    sim_offer(b, 999, 9, 0);
    ck_assert(vmbc_load(b->core, s->data, s->len, NULL));
    sim_check(b);
    m = sim_expect(b, VMBW_MSG_OFFERCHANNEL);
    ck_assert_uint_eq(((VmbWireOfferChannel *)m->data)->child_relid, 3);
    g_free(m);
    g_byte_array_free(s, true);
    sim_free(b);
    sim_free(sg);
}
END_TEST

START_TEST(test_save_monitor)
{
    SimGuest *sg = ready(3, VMBW_VERSION_WIN10);
    VmbWireMonitorPage *mp2;
    uint32_t id;

    sim_open_channel(sg, 3);
    id = sg->chans[3].offer.monitorid;
    sg = migrate(sg, 3);
    ck_assert(sg->timer_armed[VMBC_TIMER_MONITOR]);
    mp2 = (void *)(sg->mem + SIM_MON_PAGE2);
    mp2->trigger_group[id / 32].pending |= 1u << (id % 32);
    sim_advance(sg, 100000);
    ck_assert_int_eq(sg->n_notify, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_save_win7)
{
    SimGuest *sg = ready(2, VMBW_VERSION_WIN7);
    uint32_t w = 1u << 2;

    sim_open_channel(sg, 2);
    sg = migrate(sg, 2);
    memcpy(sg->mem + SIM_INT_PAGE + 2048, &w, 4);
    sim_signal(sg, 2);
    ck_assert_int_eq(sg->n_notify, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_save_hibernation)
{
    SimGuest *sg = ready(3, VMBW_VERSION_IRON);

    sim_open_channel(sg, 1);
    sim_offer(sg, 101, 2, 1);
    sim_drain(sg);
    sim_open_channel(sg, 4);
    sim_suspend(sg);
    sg = migrate(sg, 3);
    sim_resume(sg);
    sim_open_channel(sg, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_save_tl)
{
    SimGuest *sg = ready(1, VMBW_VERSION_IRON);
    VmbWireTlConnectRequest t;

    memset(&t, 0, sizeof(t));
    sim_hdr(&t, VMBW_MSG_TL_CONNECT_REQUEST);
    t.guest_endpoint_id.b[1] = 7;
    sim_send(sg, &t, sizeof(t));
    sim_drain(sg);
    sim_open_channel(sg, 2);
    sg = migrate(sg, 1);
    sim_close_channel(sg, 2);
    ck_assert(sg->chans[2].rescinded);
    sim_relid_released(sg, 2);
    sim_free(sg);
}
END_TEST

/* Save/load at every step of repeated kexec cycles. */
START_TEST(test_save_cycles)
{
    SimGuest *sg = sim_new(0);

    devices(sg, 3);
    for (int cycle = 0; cycle < 5; cycle++) {
        uint32_t h;

        ck_assert_uint_eq(sim_linux_connect(sg, false), VMBW_VERSION_IRON);
        sg = migrate(sg, 3);
        ck_assert_int_eq(sim_request_offers(sg), 3);
        sg = migrate(sg, 3);
        ck_assert_uint_eq(sim_gpadl(sg, 1, 8, &h), 0);
        ck_assert_uint_eq(h, SIM_FIRST_GPADL);
        sg = migrate(sg, 3);
        ck_assert_uint_eq(sim_open(sg, 1, h, 4, 0), 0);
        sg = migrate(sg, 3);
        sim_unload(sg);
        sg = migrate(sg, 3);
        sim_kexec(sg);
    }
    sim_free(sg);
}
END_TEST

START_TEST(test_save_modify)
{
    SimGuest *sg = ready(2, VMBW_VERSION_IRON);
    VmbWireModifyChannel m;
    SimMsg *r;

    sim_open_channel(sg, 2);
    memset(&m, 0, sizeof(m));
    sim_hdr(&m, VMBW_MSG_MODIFYCHANNEL);
    m.child_relid = 2;
    m.target_vp = 3;
    sim_send(sg, &m, sizeof(m));
    g_free(sim_expect(sg, VMBW_MSG_MODIFYCHANNEL_RESPONSE));
    sg = migrate(sg, 2);
    ck_assert_uint_eq(vmbc_chan_target_vp(vmbc_chan_by_relid(sg->core, 2)),
                      3);
    m.target_vp = 1;
    sim_send(sg, &m, sizeof(m));
    r = sim_expect(sg, VMBW_MSG_MODIFYCHANNEL_RESPONSE);
    ck_assert_uint_eq(((VmbWireModifyChannelResponse *)r->data)->status, 0);
    g_free(r);
    vmbc_channel_notify_guest(vmbc_chan_by_relid(sg->core, 2));
    ck_assert_uint_eq(g_array_index(sg->events, SimEvent, 0).vp, 1);
    sim_free(sg);
}
END_TEST

/* ---- bad streams --------------------------------------------------- */

static GByteArray *rich_stream(void)
{
    SimGuest *sg = ready(3, VMBW_VERSION_IRON);
    GByteArray *s = g_byte_array_new();

    sim_open_channel(sg, 1);
    sim_open_channel(sg, 3);
    ck_assert_uint_eq(sim_gpadl(sg, 2, 40, NULL), 0);
    sim_offer(sg, 101, 2, 1);
    sg->slot_busy = true;
    vmbc_rescind(vmbc_chan_by_relid(sg->core, 2));
    vmbc_save(sg->core, s);
    sim_free(sg);
    return s;
}

static void assert_reset_state(SimGuest *sg)
{
    VmbcConnInfo ci;

    sim_check(sg);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_int_eq(ci.state, VMBC_CONN_DISCONNECTED);
    ck_assert_uint_eq(ci.n_gpadls, 0);
    ck_assert_uint_eq(ci.out_queue_len, 0);
    ck_assert_uint_eq(ci.n_channels, 3);
}

START_TEST(test_load_truncated)
{
    GByteArray *s = rich_stream();

    for (guint len = 0; len < s->len; len++) {
        SimGuest *b = sim_new(0);
        GError *err = NULL;

        devices(b, 3);
        ck_assert(!vmbc_load(b->core, s->data, len, &err));
        ck_assert_ptr_nonnull(err);
        g_error_free(err);
        assert_reset_state(b);
        sim_free(b);
    }
    g_byte_array_free(s, true);
}
END_TEST

START_TEST(test_load_corrupted)
{
    GByteArray *s = rich_stream();
    int loaded = 0;

    for (guint pos = 0; pos < s->len; pos++) {
        for (int bit = 0; bit < 8; bit += 3) {
            SimGuest *b = sim_new(0);
            uint8_t *copy = g_memdup2(s->data, s->len);

            devices(b, 3);
            copy[pos] ^= 1u << bit;
            if (vmbc_load(b->core, copy, s->len, NULL)) {
                loaded++;
                sim_check(b);
                /* the loaded state must survive a reset, too */
                vmbc_reset(b->core);
                sim_check(b);
            } else {
                assert_reset_state(b);
            }
            g_free(copy);
            sim_free(b);
        }
    }
    ck_assert_int_gt(loaded, 0);    /* e.g. PFN or user_def bits */
    g_byte_array_free(s, true);
}
END_TEST

START_TEST(test_load_rejects)
{
    GByteArray *s = rich_stream();
    SimGuest *b = sim_new(0);
    GError *err = NULL;
    uint8_t *copy;

    devices(b, 3);
    ck_assert_uint_le(s->len, vmbc_save_max_len(b->core));
    /* magic, version */
    copy = g_memdup2(s->data, s->len);
    copy[0] ^= 1;
    ck_assert(!vmbc_load(b->core, copy, s->len, &err));
    g_clear_error(&err);
    memcpy(copy, s->data, s->len);
    copy[4] = 2;
    ck_assert(!vmbc_load(b->core, copy, s->len, &err));
    g_clear_error(&err);
    /* trailing garbage */
    g_free(copy);
    copy = g_malloc(s->len + 4);
    memcpy(copy, s->data, s->len);
    memset(copy + s->len, 0, 4);
    ck_assert(!vmbc_load(b->core, copy, s->len + 4, &err));
    g_clear_error(&err);
    g_free(copy);
    assert_reset_state(b);
    /* a real load, then a second one is refused (not reset) */
    ck_assert(vmbc_load(b->core, s->data, s->len, &err));
    ck_assert(!vmbc_load(b->core, s->data, s->len, &err));
    ck_assert(g_error_matches(err, VMBC_ERROR, VMBC_ERROR_BUSY));
    g_clear_error(&err);
    sim_free(b);
    g_byte_array_free(s, true);
}
END_TEST

/* Hand-made inconsistent streams. */
static void put32(GByteArray *b, uint32_t v)
{
    g_byte_array_append(b, (uint8_t *)&v, 4);
}

START_TEST(test_load_inconsistent)
{
    SimGuest *b = sim_new(0);
    GByteArray *s = g_byte_array_new();
    GError *err = NULL;

    /* CONN claiming 5.3 with msg_conn_id 1 */
    put32(s, 0x43424d56);
    put32(s, 1);
    put32(s, 0x4e4e4f43);       /* CONN */
    put32(s, 48);
    put32(s, VMBC_CONN_READY);
    put32(s, VMBW_VERSION_IRON);
    put32(s, 0);
    put32(s, 2);
    put32(s, 1);
    for (int i = 0; i < 6; i++) {
        put32(s, 0);
    }
    put32(s, 1);
    put32(s, 0x5154554f);       /* OUTQ */
    put32(s, 4);
    put32(s, 0);
    put32(s, 0x20444e45);       /* END */
    put32(s, 0);
    ck_assert(!vmbc_load(b->core, s->data, s->len, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "msg_conn_id"));
    g_clear_error(&err);
    /* fix it: loads */
    memcpy(s->data + 16 + 16, &(uint32_t){4}, 4);
    ck_assert_msg(vmbc_load(b->core, s->data, s->len, &err), "%s",
                  err ? err->message : "");
    sim_check(b);
    g_byte_array_free(s, true);
    sim_free(b);
}
END_TEST

/*
 * A stream whose channels take every relid leaves none for a device
 * channel the destination has and the stream does not: the load is
 * refused and the device's channel stays as it was.
 */
START_TEST(test_load_no_relid_for_device)
{
    SimGuest *a = sim_new(0), *b = sim_new(0);
    GByteArray *s = g_byte_array_new();
    GError *err = NULL;
    VmbcOfferParams p;
    VmbcChannel *mine, *again;
    int marker;

    for (uint32_t i = 0; i < VMBW_MAX_RELIDS - 1; i++) {
        p = sim_params(5000 + i, 1, 0);
        ck_assert_ptr_nonnull(vmbc_offer(a->core, &p, NULL));
    }
    vmbc_save(a->core, s);
    p = sim_params(4999, 1, 0);
    p.dev_opaque = &marker;
    mine = vmbc_offer(b->core, &p, NULL);
    ck_assert_ptr_nonnull(mine);
    ck_assert(!vmbc_load(b->core, s->data, s->len, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "relid"));
    g_clear_error(&err);
    ck_assert_ptr_eq(vmbc_chan_by_relid(b->core, vmbc_chan_relid(mine)),
                     mine);
    ck_assert_ptr_eq(vmbc_chan_get_opaque(mine), &marker);
    ck_assert_uint_eq(sim_nchan(b), 1);
    sim_check(b);

    /* One channel fewer in the stream: the device channel finds a relid. */
    vmbc_rescind(vmbc_chan_by_relid(a->core, 1));
    g_byte_array_set_size(s, 0);
    vmbc_save(a->core, s);
    ck_assert_msg(vmbc_load(b->core, s->data, s->len, &err), "%s",
                  err ? err->message : "");
    again = NULL;
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        VmbcChannel *c = vmbc_chan_by_relid(b->core, r);

        if (c && vmbc_chan_get_opaque(c) == &marker) {
            again = c;
        }
    }
    ck_assert_ptr_eq(again, mine);
    ck_assert_uint_eq(sim_nchan(b), VMBW_MAX_RELIDS - 1);
    sim_check(b);
    /* the bound a loader checks a stream's length against */
    g_byte_array_set_size(s, 0);
    vmbc_save(b->core, s);
    ck_assert_uint_le(s->len, vmbc_save_max_len(b->core));
    ck_assert_uint_lt(vmbc_save_max_len(b->core), 64u << 20);
    g_byte_array_free(s, true);
    sim_free(a);
    sim_free(b);
}
END_TEST

/* ---- forward compatibility: sections a loader does not know ------------ */

#define TAG_OPT_XTRA 0x61727478u    /* "xtra": lower case, optional */
#define TAG_REQ_XTRA 0x41525458u    /* "XTRA": upper case, required */

/* Offset of section number n (0: CONN) of a well-formed stream. */
static guint nth_section(const GByteArray *s, int n)
{
    guint off = 8;

    while (n-- > 0) {
        uint32_t len;

        memcpy(&len, s->data + off + 4, 4);
        off += 8 + GUINT32_FROM_LE(len);
        ck_assert_uint_le(off, s->len);
    }
    return off;
}

/* Copy of 's' with a section (tag, declared length, payload) at 'at'. */
static GByteArray *with_section(const GByteArray *s, guint at, uint32_t tag,
                                uint32_t declared, const void *payload,
                                uint32_t len)
{
    GByteArray *o = g_byte_array_new();

    g_byte_array_append(o, s->data, at);
    put32(o, GUINT32_TO_LE(tag));
    put32(o, GUINT32_TO_LE(declared));
    g_byte_array_append(o, payload, len);
    g_byte_array_append(o, s->data + at, s->len - at);
    return o;
}

/*
 * Unknown optional sections (after CONN, between the channel sections,
 * before END) are skipped and counted; the rest of the stream loads as
 * if they were not there.
 */
START_TEST(test_load_skips_unknown_optional)
{
    GByteArray *s = rich_stream(), *x, *y, *again = g_byte_array_new();
    uint8_t junk[300];
    SimGuest *b = sim_new(0);
    GError *err = NULL;

    for (guint i = 0; i < sizeof(junk); i++) {
        junk[i] = i * 7;
    }
    /* after CONN, before END, between the first two channels */
    x = with_section(s, nth_section(s, 1), TAG_OPT_XTRA, sizeof(junk), junk,
                     sizeof(junk));
    y = with_section(x, x->len - 8, TAG_OPT_XTRA, 0, NULL, 0);
    g_byte_array_free(x, true);
    x = with_section(y, nth_section(y, 3), 0x7a7a7a7au /* "zzzz" */, 3,
                     "abc", 3);
    devices(b, 3);
    ck_assert_msg(vmbc_load(b->core, x->data, x->len, &err), "%s",
                  err ? err->message : "");
    sim_check(b);
    ck_assert_uint_eq(vmbc_counters(b->core)->load_sections_skipped, 3);
    /* the known state is all there: it saves to the original stream */
    vmbc_save(b->core, again);
    ck_assert_uint_eq(again->len, s->len);
    ck_assert_mem_eq(again->data, s->data, s->len);
    g_byte_array_free(again, true);
    g_byte_array_free(x, true);
    g_byte_array_free(y, true);
    g_byte_array_free(s, true);
    sim_free(b);
}
END_TEST

/* An unknown required section refuses the load, naming the section. */
START_TEST(test_load_refuses_unknown_required)
{
    GByteArray *s = rich_stream(), *x;
    SimGuest *b = sim_new(0);
    GError *err = NULL;
    uint32_t v = 1;

    devices(b, 3);
    x = with_section(s, s->len - 8, TAG_REQ_XTRA, 4, &v, 4);
    ck_assert(!vmbc_load(b->core, x->data, x->len, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "unknown required section"));
    ck_assert_ptr_nonnull(strstr(err->message, "0x41525458"));
    g_clear_error(&err);
    ck_assert_uint_eq(vmbc_counters(b->core)->load_sections_skipped, 0);
    assert_reset_state(b);
    g_byte_array_free(x, true);
    /* also when it comes first, before CONN */
    x = with_section(s, 8, TAG_REQ_XTRA, 0, NULL, 0);
    ck_assert(!vmbc_load(b->core, x->data, x->len, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "unknown required section"));
    g_clear_error(&err);
    assert_reset_state(b);
    g_byte_array_free(x, true);
    g_byte_array_free(s, true);
    sim_free(b);
}
END_TEST

/*
 * An optional section's length is still checked: one running past the
 * stream's end, or swallowing END, refuses the load; a skipped section
 * that counted in a refused load leaves no trace in the counters.
 */
START_TEST(test_load_optional_bad_length)
{
    GByteArray *s = rich_stream(), *x;
    /* past the end, exactly to the end (END swallowed), into END */
    static const uint32_t declared[] = { 0xffffffffu, 0x80000000u, 25, 24,
                                         20, 17 };
    uint8_t pad[16] = { 0 };
    SimGuest *b = sim_new(0);
    GError *err = NULL;

    devices(b, 3);
    for (guint i = 0; i < G_N_ELEMENTS(declared); i++) {
        /* before END: 16 payload bytes, then END's 8 */
        x = with_section(s, s->len - 8, TAG_OPT_XTRA, declared[i], pad,
                         sizeof(pad));
        ck_assert_msg(!vmbc_load(b->core, x->data, x->len, &err),
                      "declared %u", declared[i]);
        g_clear_error(&err);
        assert_reset_state(b);
        g_byte_array_free(x, true);
    }
    /* cut inside the optional section's payload */
    x = with_section(s, s->len - 8, TAG_OPT_XTRA, 16, pad, sizeof(pad));
    for (guint cut = s->len - 8; cut < x->len; cut++) {
        ck_assert(!vmbc_load(b->core, x->data, cut, &err));
        g_clear_error(&err);
        assert_reset_state(b);
    }
    /* a refused stream that skipped a section first */
    x->data[16] ^= 0xff;                    /* CONN's state */
    ck_assert(!vmbc_load(b->core, x->data, x->len, &err));
    g_clear_error(&err);
    ck_assert_uint_eq(vmbc_counters(b->core)->load_sections_skipped, 0);
    x->data[16] ^= 0xff;
    ck_assert(vmbc_load(b->core, x->data, x->len, &err));
    ck_assert_uint_eq(vmbc_counters(b->core)->load_sections_skipped, 1);
    g_byte_array_free(x, true);
    g_byte_array_free(s, true);
    sim_free(b);
}
END_TEST

/*
 * A stream written by format 1 before optional sections existed: 6.0
 * connection (FEAT), an open channel with its ring GPADL, a second GPADL,
 * a rescinded channel and its RESCIND still queued.  It must keep loading,
 * and the state it gives must save to the same bytes.
 */
static const uint8_t golden_v1[] = {
#include "save-golden-v1.inc"
};

static SimGuest *golden_state(void)
{
    SimGuest *sg = ready(3, VMBW_VERSION_COPPER);

    sim_open_channel(sg, 1);
    ck_assert_uint_eq(sim_gpadl(sg, 2, 3, NULL), 0);
    sg->slot_busy = true;
    vmbc_rescind(vmbc_chan_by_relid(sg->core, 3));
    return sg;
}

static void dump_stream(const GByteArray *s)
{
    for (guint i = 0; i < s->len; i++) {
        fprintf(stderr, "0x%02x,%s", s->data[i], i % 12 == 11 ? "\n" : " ");
    }
    fprintf(stderr, "\n");
}

START_TEST(test_load_golden_v1)
{
    SimGuest *a = golden_state(), *b = sim_new(0);
    GByteArray *s = g_byte_array_new();
    GError *err = NULL;
    VmbcConnInfo ci;

    /* today's writer still writes exactly this */
    vmbc_save(a->core, s);
    if (s->len != sizeof(golden_v1) ||
        memcmp(s->data, golden_v1, s->len)) {
        dump_stream(s);
        ck_abort_msg("vmbc_save() no longer writes the format 1 stream");
    }
    g_byte_array_set_size(s, 0);
    sim_free(a);

    devices(b, 3);
    ck_assert_msg(vmbc_load(b->core, golden_v1, sizeof(golden_v1), &err),
                  "%s", err ? err->message : "");
    sim_check(b);
    vmbc_conn_info(b->core, &ci);
    ck_assert_int_eq(ci.state, VMBC_CONN_READY);
    ck_assert_uint_eq(ci.version, VMBW_VERSION_COPPER);
    ck_assert_uint_eq(ci.n_gpadls, 2);
    ck_assert_uint_eq(ci.out_queue_len, 1);
    ck_assert_int_eq(vmbc_chan_state(vmbc_chan_by_relid(b->core, 1)),
                     VMBC_CHAN_OPEN);
    ck_assert_uint_eq(vmbc_counters(b->core)->load_sections_skipped, 0);
    vmbc_save(b->core, s);
    ck_assert_uint_eq(s->len, sizeof(golden_v1));
    ck_assert_mem_eq(s->data, golden_v1, s->len);
    g_byte_array_free(s, true);
    sim_free(b);
}
END_TEST

/*
 * A queued OFFERCHANNEL goes to the guest as it is: one whose relid or
 * connection id is not one the core gives is refused.
 */
START_TEST(test_load_outq_offer_checked)
{
    SimGuest *a = sim_new(0), *b = sim_new(0);
    GByteArray *s = g_byte_array_new();
    GError *err = NULL;
    VmbWireHdr h;
    guint outq = 0, msg;
    uint32_t v;

    devices(a, 3);
    devices(b, 3);
    sim_connect(a, VMBW_VERSION_IRON);
    a->slot_busy = true;
    sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
    ck_assert_uint_eq(sim_send(a, &h, sizeof(h)), 0);
    vmbc_save(a->core, s);
    for (int n = 0; !outq; n++) {
        guint off = nth_section(s, n);

        if (!memcmp(s->data + off, "OUTQ", 4)) {
            outq = off;
        }
    }
    msg = outq + 8 + 4 + 12;            /* count, then vp, sint, len */
    memcpy(&v, s->data + msg, 4);
    ck_assert_uint_eq(v, VMBW_MSG_OFFERCHANNEL);
    for (int bad = 0; bad < 3; bad++) {
        uint8_t *copy = g_memdup2(s->data, s->len);

        v = bad == 0 ? 0 : bad == 1 ? VMBW_MAX_RELIDS : 2;
        if (bad < 2) {
            memcpy(copy + msg + 184, &v, 4);        /* child_relid */
        } else {
            v = VMBC_CHAN_CONN_ID_BASE + 2;
            memcpy(copy + msg + 192, &v, 4);        /* connection_id */
        }
        ck_assert(!vmbc_load(b->core, copy, s->len, &err));
        ck_assert_ptr_nonnull(strstr(err->message, "OFFERCHANNEL"));
        g_clear_error(&err);
        assert_reset_state(b);
        g_free(copy);
    }
    ck_assert_msg(vmbc_load(b->core, s->data, s->len, &err), "%s",
                  err ? err->message : "");
    g_byte_array_free(s, true);
    sim_free(a);
    sim_free(b);
}
END_TEST

static Suite *save_suite(void)
{
    Suite *s = suite_create("vmbus-core-save");
    TCase *tc = tcase_create("save");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_save_disconnected);
    tcase_add_test(tc, test_save_connected_not_ready);
    tcase_add_test(tc, test_save_open_channels);
    tcase_add_test(tc, test_save_mid_gpadl);
    tcase_add_test(tc, test_save_queued_messages);
    tcase_add_test(tc, test_save_rescinded);
    tcase_add_test(tc, test_save_unclaimed);
    tcase_add_test(tc, test_save_new_device_on_target);
    tcase_add_test(tc, test_save_monitor);
    tcase_add_test(tc, test_save_win7);
    tcase_add_test(tc, test_save_hibernation);
    tcase_add_test(tc, test_save_tl);
    tcase_add_test(tc, test_save_cycles);
    tcase_add_test(tc, test_save_modify);
    tcase_add_test(tc, test_load_truncated);
    tcase_add_test(tc, test_load_corrupted);
    tcase_add_test(tc, test_load_rejects);
    tcase_add_test(tc, test_load_inconsistent);
    tcase_add_test(tc, test_load_no_relid_for_device);
    tcase_add_test(tc, test_load_skips_unknown_optional);
    tcase_add_test(tc, test_load_refuses_unknown_required);
    tcase_add_test(tc, test_load_optional_bad_length);
    tcase_add_test(tc, test_load_golden_v1);
    tcase_add_test(tc, test_load_outq_offer_checked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sim_run_suite(save_suite());
}
