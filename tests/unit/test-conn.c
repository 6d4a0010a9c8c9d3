/*
 * Unit tests: VMBus core connection, delivery, signalling and wire format
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <string.h>

#include "simguest.h"

static const uint32_t all_versions[] = {
    VMBW_VERSION_WS2008, VMBW_VERSION_WIN7, VMBW_VERSION_WIN8,
    VMBW_VERSION_WIN8_1, VMBW_VERSION_WIN10, VMBW_VERSION_WIN10_RS3_0,
    VMBW_VERSION_WIN10_RS3_1, VMBW_VERSION_WIN10_RS4,
    VMBW_VERSION_WIN10_RS5, VMBW_VERSION_IRON, VMBW_VERSION_COPPER,
};

/* Connect at each version, with a channel offered and opened. */
START_TEST(test_connect_each_version)
{
    uint32_t v = all_versions[_i];
    SimGuest *sg = sim_new(0);
    VmbcConnInfo ci;

    sim_offer(sg, 1, 1, 0);
    sim_connect(sg, v);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_int_eq(ci.state, VMBC_CONN_CONNECTED);
    ck_assert_uint_eq(ci.version, v);
    ck_assert_uint_eq(ci.msg_conn_id, v >= VMBW_VERSION_WIN10_RS3_1 ? 4 : 1);
    ck_assert_uint_eq(ci.interrupt_page, v < VMBW_VERSION_WIN8 ?
                      SIM_INT_PAGE : 0);
    ck_assert_int_eq(sim_request_offers(sg), 1);
    sim_open_channel(sg, 1);
    ck_assert_int_eq(sg->n_open, 1);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_int_eq(ci.state, VMBC_CONN_READY);
    ck_assert_uint_eq(ci.n_gpadls, 1);
    sim_free(sg);
}
END_TEST

/* Linux's walk from 6.0 (6.19 and later) against every configured
 * maximum. */
START_TEST(test_linux_walk_capped)
{
    uint32_t max = all_versions[_i];
    SimGuest *sg = sim_new(max);
    uint32_t got = sim_linux_connect_from(sg, VMBW_VERSION_COPPER, true);

    ck_assert_uint_eq(got, max);
    {
        /* attempts that reached the core: all >= max, minus the 5.x ones
         * refused at the hypercall with status 18 when max < 5.0 */
        uint64_t n = 0;

        for (size_t i = 0; i < G_N_ELEMENTS(all_versions); i++) {
            uint32_t v = all_versions[i];

            if (v >= max && (max >= VMBW_VERSION_WIN10_RS3_1 ||
                             v < VMBW_VERSION_WIN10_RS3_1)) {
                n++;
            }
        }
        ck_assert_uint_eq(vmbc_counters(sg->core)->in[14], n);
        ck_assert_uint_eq(sg->msg_conn_id,
                          max >= VMBW_VERSION_WIN10_RS3_1 ? 4 : 1);
    }
    /* version refusals are normal, not guest errors */
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_conn_id_4_rules)
{
    SimGuest *sg = sim_new(VMBW_VERSION_WIN10_RS3_0);

    ck_assert_uint_eq(vmbc_post_message_check(sg->core, 4, 1, 40),
                      VMBW_HV_STATUS_INVALID_CONNECTION_ID);
    ck_assert_uint_eq(vmbc_post_message_check(sg->core, 1, 1, 40), 0);
    sim_free(sg);
    sg = sim_new(VMBW_VERSION_WIN10_RS3_1);
    ck_assert_uint_eq(vmbc_post_message_check(sg->core, 4, 1, 40), 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_post_check_statuses)
{
    SimGuest *sg = sim_new(0);
    static const uint32_t bad_ids[] = { 0, 2, 3, 5, 0x2001, 0xffffffff };

    for (size_t i = 0; i < G_N_ELEMENTS(bad_ids); i++) {
        ck_assert_uint_eq(vmbc_post_message_check(sg->core, bad_ids[i], 1, 8),
                          VMBW_HV_STATUS_INVALID_CONNECTION_ID);
    }
    ck_assert_uint_eq(vmbc_post_message_check(sg->core, 1, 2, 8),
                      VMBW_HV_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(vmbc_post_message_check(sg->core, 1, 0, 8),
                      VMBW_HV_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(vmbc_post_message_check(sg->core, 1, 1, 241),
                      VMBW_HV_STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(vmbc_post_message_check(sg->core, 1, 1, 240), 0);
    ck_assert_uint_eq(vmbc_signal_event_check(sg->core, 2), 0);
    ck_assert_uint_eq(vmbc_signal_event_check(sg->core, 0x2001), 0);
    ck_assert_uint_eq(vmbc_signal_event_check(sg->core, 0x2000), 18);
    ck_assert_uint_eq(vmbc_signal_event_check(sg->core, 3), 18);
    sim_free(sg);
}
END_TEST

START_TEST(test_max_51_refuses_higher)
{
    SimGuest *sg = sim_new(VMBW_VERSION_WIN10_RS4);
    SimMsg *m;

    ck_assert_uint_eq(sim_initiate(sg, VMBW_VERSION_IRON, 0, false), 0);
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(((VmbWireVersionResponse *)m->data)->version_supported,
                      0);
    g_free(m);
    ck_assert_uint_eq(sim_linux_connect(sg, false), VMBW_VERSION_WIN10_RS4);
    ck_assert_uint_eq(sg->msg_conn_id, 4);
    sim_free(sg);
}
END_TEST

START_TEST(test_unknown_versions)
{
    static const uint32_t bad[] = { VMBW_VERSION(3, 5), VMBW_VERSION(6, 1),
                                    VMBW_VERSION(7, 0), VMBW_VERSION(5, 4),
                                    0, 0xffffffff, VMBW_VERSION(2, 0) };
    SimGuest *sg = sim_new(0);

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        SimMsg *m;

        ck_assert_uint_eq(sim_initiate(sg, bad[i], 0, false), 0);
        m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
        ck_assert_uint_eq(
            ((VmbWireVersionResponse *)m->data)->version_supported, 0);
        ck_assert_uint_eq(((VmbWireVersionResponse *)m->data)->msg_conn_id,
                          0);
        ck_assert_uint_eq(m->len, sizeof(VmbWireVersionResponse));
        g_free(m);
    }
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_free(sg);
}
END_TEST

START_TEST(test_bad_target_vcpu)
{
    SimGuest *sg = sim_new(0);
    SimMsg *m;

    ck_assert_uint_eq(sim_initiate(sg, VMBW_VERSION_IRON, 77, false), 0);
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(m->vp, 0);    /* fallback VP */
    ck_assert_uint_eq(((VmbWireVersionResponse *)m->data)->version_supported,
                      0);
    g_free(m);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_free(sg);
}
END_TEST

START_TEST(test_target_vcpu_honoured)
{
    SimGuest *sg = sim_new(0);
    SimMsg *m;

    ck_assert_uint_eq(sim_initiate(sg, VMBW_VERSION_WIN10, 3, false), 0);
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(m->vp, 3);
    g_free(m);
    sim_offer(sg, 1, 1, 0);
    sim_request_offers(sg);
    sim_free(sg);
}
END_TEST

START_TEST(test_bad_sint_vtl_pages)
{
    SimGuest *sg = sim_new(0);
    VmbWireInitiateContact ic;
    SimMsg *m;

    memset(&ic, 0, sizeof(ic));
    sim_hdr(&ic, VMBW_MSG_INITIATE_CONTACT);
    ic.vmbus_version_requested = VMBW_VERSION_IRON;
    ic.msg_sint = 16;
    sim_post(sg, 4, &ic, sizeof(ic));
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(((VmbWireVersionResponse *)m->data)->version_supported,
                      0);
    g_free(m);
    ic.msg_sint = 2;
    ic.msg_vtl = 1;
    sim_post(sg, 4, &ic, sizeof(ic));
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(((VmbWireVersionResponse *)m->data)->version_supported,
                      0);
    g_free(m);
    ic.msg_vtl = 0;
    ic.monitor_page2 = 0x1234;
    sim_post(sg, 4, &ic, sizeof(ic));
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(((VmbWireVersionResponse *)m->data)->version_supported,
                      0);
    g_free(m);
    /* 1.1 without an interrupt page */
    memset(&ic, 0, sizeof(ic));
    sim_hdr(&ic, VMBW_MSG_INITIATE_CONTACT);
    ic.vmbus_version_requested = VMBW_VERSION_WIN7;
    sim_post(sg, 1, &ic, sizeof(ic));
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(((VmbWireVersionResponse *)m->data)->version_supported,
                      0);
    g_free(m);
    ck_assert_int_eq(sg->n_guest_errors, 4);
    sim_free(sg);
}
END_TEST

START_TEST(test_msg_sint_used)
{
    SimGuest *sg = sim_new(0);
    VmbWireInitiateContact ic;
    SimMsg *m;

    memset(&ic, 0, sizeof(ic));
    sim_hdr(&ic, VMBW_MSG_INITIATE_CONTACT);
    ic.vmbus_version_requested = VMBW_VERSION_IRON;
    ic.msg_sint = 5;
    ic.target_vcpu = 1;
    sim_post(sg, 4, &ic, sizeof(ic));
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(m->sint, 5);
    ck_assert_uint_eq(m->vp, 1);
    g_free(m);
    sim_free(sg);
}
END_TEST

START_TEST(test_implicit_reset)
{
    SimGuest *sg = sim_new(0);
    VmbcConnInfo ci;

    sim_offer(sg, 1, 1, 0);
    sim_offer(sg, 2, 2, 0);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    ck_assert_uint_eq(sim_gpadl(sg, 2, 3, NULL), 0);
    /* kdump kernel: contact again without unload */
    sim_kexec(sg);
    sim_connect(sg, VMBW_VERSION_IRON);
    ck_assert_int_eq(sg->n_close, 1);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.n_gpadls, 0);
    ck_assert_uint_eq(ci.n_channels, 2);
    ck_assert_int_eq(sim_request_offers(sg), 2);
    sim_open_channel(sg, 1);    /* handle 0xE1E10 again */
    ck_assert_ptr_nonnull(vmbc_gpadl_find(sg->core, SIM_FIRST_GPADL));
    sim_free(sg);
}
END_TEST

START_TEST(test_unload)
{
    SimGuest *sg = sim_new(0);
    VmbcConnInfo ci;
    int changed;

    sim_offer(sg, 1, 1, 0);
    sim_offer(sg, 1, 1, 1);     /* subchannel */
    sim_connect(sg, VMBW_VERSION_WIN10);
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    sim_open_channel(sg, 2);
    changed = sg->n_conn_changed;
    sim_unload(sg);
    ck_assert_int_gt(sg->n_conn_changed, changed);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_int_eq(ci.state, VMBC_CONN_DISCONNECTED);
    ck_assert_uint_eq(ci.n_gpadls, 0);
    ck_assert_uint_eq(ci.n_channels, 1);     /* subchannel dropped */
    ck_assert_int_eq(sg->n_close, 2);
    ck_assert_int_eq(sg->n_released, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_unload_disconnected_refused)
{
    SimGuest *sg = sim_new(0);
    VmbWireHdr h;

    sim_hdr(&h, VMBW_MSG_UNLOAD);
    sim_post(sg, 1, &h, sizeof(h));
    sim_expect_none(sg);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    ck_assert_uint_eq(vmbc_counters(sg->core)->refused[VMBW_MSG_UNLOAD], 1);
    sim_free(sg);
}
END_TEST

/* 20 kexec cycles: handles restart at 0xE1E10, relids stay. */
START_TEST(test_unload_reconnect_cycles)
{
    SimGuest *sg = sim_new(0);
    uint32_t relid_a, relid_b;
    VmbcChannel *a = sim_offer(sg, 10, 1, 0);
    VmbcChannel *b = sim_offer(sg, 11, 1, 0);

    relid_a = vmbc_chan_relid(a);
    relid_b = vmbc_chan_relid(b);
    for (int cycle = 0; cycle < 20; cycle++) {
        uint32_t h;

        ck_assert_uint_eq(sim_linux_connect(sg, false), VMBW_VERSION_IRON);
        ck_assert_int_eq(sim_request_offers(sg), 2);
        ck_assert(sg->chans[relid_a].present && sg->chans[relid_b].present);
        ck_assert_uint_eq(sim_gpadl(sg, relid_a, 8, &h), 0);
        ck_assert_uint_eq(h, SIM_FIRST_GPADL);
        ck_assert_uint_eq(sim_open(sg, relid_a, h, 4, 0), 0);
        sim_open_channel(sg, relid_b);
        sim_unload(sg);
        sim_kexec(sg);
    }
    ck_assert_int_eq(sg->n_open, 40);
    ck_assert_int_eq(sg->n_close, 40);
    sim_free(sg);
}
END_TEST

/* Busy slot: messages wait in order and flow one per EOM. */
START_TEST(test_busy_slot_ordering)
{
    SimGuest *sg = sim_new(0);
    VmbWireHdr h;
    int offers = 0;
    SimMsg *m;
    uint32_t last_relid = 0;

    for (uint32_t i = 0; i < 50; i++) {
        sim_offer(sg, 100 + i, i, 0);
    }
    sim_connect(sg, VMBW_VERSION_IRON);
    sg->slot_busy = true;
    sg->one_at_a_time = true;
    sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
    sim_send(sg, &h, sizeof(h));
    ck_assert_uint_eq(sim_inbox_len(sg), 0);
    for (;;) {
        sim_free_slot(sg);
        m = sim_pop(sg);
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_eq(sim_inbox_len(sg), 0);    /* one per EOM */
        if (m->hdr.msgtype == VMBW_MSG_ALLOFFERS_DELIVERED) {
            g_free(m);
            break;
        }
        ck_assert_uint_eq(m->hdr.msgtype, VMBW_MSG_OFFERCHANNEL);
        ck_assert_uint_gt(((VmbWireOfferChannel *)m->data)->child_relid,
                          last_relid);
        last_relid = ((VmbWireOfferChannel *)m->data)->child_relid;
        sim_apply(sg, m);
        g_free(m);
        offers++;
    }
    ck_assert_int_eq(offers, 50);
    sim_free(sg);
}
END_TEST

START_TEST(test_out_queue_bound)
{
    VmbcConfig cfg = { .out_queue_max = 4 };
    SimGuest *sg = sim_new_cfg(&cfg);
    VmbWireHdr h;

    for (uint32_t i = 0; i < 10; i++) {
        sim_offer(sg, 100 + i, i, 0);
    }
    sim_connect(sg, VMBW_VERSION_IRON);
    sg->slot_busy = true;
    sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
    sim_send(sg, &h, sizeof(h));
    ck_assert_uint_eq(vmbc_counters(sg->core)->out_dropped, 7);
    sim_free_slot(sg);
    ck_assert_uint_eq(sim_inbox_len(sg), 4);
    sim_free(sg);
}
END_TEST

START_TEST(test_post_error_drops)
{
    SimGuest *sg = sim_new(0);

    sim_offer(sg, 1, 1, 0);
    sim_connect(sg, VMBW_VERSION_IRON);
    /* e.g. the guest disabled its SIMP: the glue drops (as Hyper-V) */
    sg->post_error = -EINVAL;
    {
        VmbWireHdr h;

        sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
        sim_send(sg, &h, sizeof(h));
    }
    ck_assert_uint_eq(vmbc_counters(sg->core)->out_dropped, 2);
    sim_expect_none(sg);
    sg->post_error = 0;
    vmbc_rescind(vmbc_chan_by_relid(sg->core, 1));
    sim_free(sg);
}
END_TEST

/* SIEF signalling (>= 2.4) and HvSignalEvent on channel ids. */
START_TEST(test_signal_win8)
{
    SimGuest *sg = sim_new(0);
    VmbcChannel *c = sim_offer(sg, 1, 1, 0);
    SimEvent *e;

    sim_connect(sg, VMBW_VERSION_WIN8);
    sim_request_offers(sg);
    /* not open yet: notify is a no-op, signal refused */
    vmbc_channel_notify_guest(c);
    ck_assert_uint_eq(sg->events->len, 0);
    ck_assert_uint_eq(sim_signal(sg, vmbc_chan_connection_id(c)), 18);
    sim_open_channel(sg, 1);
    vmbc_channel_notify_guest(c);
    ck_assert_uint_eq(sg->events->len, 1);
    e = &g_array_index(sg->events, SimEvent, 0);
    ck_assert_uint_eq(e->vp, 0);
    ck_assert_uint_eq(e->sint, 2);
    ck_assert_uint_eq(e->flag, 1);
    ck_assert_uint_eq(sim_signal(sg, VMBC_CHAN_CONN_ID_BASE + 1), 0);
    ck_assert_int_eq(sg->n_notify, 1);
    ck_assert_uint_eq(sim_signal(sg, VMBC_CHAN_CONN_ID_BASE + 9), 18);
    ck_assert_uint_eq(sim_signal(sg, 77), 18);
    /* shared event id 2 at 2.4 is a guest error, not a crash */
    ck_assert_uint_eq(sim_signal(sg, 2), 0);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    sim_free(sg);
}
END_TEST

/* Pre-2.4 interrupt page at 1.1. */
START_TEST(test_interrupt_page_win7)
{
    SimGuest *sg = sim_new(0);
    VmbcChannel *c;
    uint32_t w;
    SimEvent *e;

    for (int i = 0; i < 40; i++) {
        sim_offer(sg, 1, i, 0);
    }
    c = vmbc_chan_by_relid(sg->core, 35);
    sim_connect(sg, VMBW_VERSION_WIN7);
    sim_request_offers(sg);
    sim_open_channel(sg, 35);
    sim_open_channel(sg, 3);
    vmbc_channel_notify_guest(c);
    memcpy(&w, sg->mem + SIM_INT_PAGE + 4, 4);
    ck_assert_uint_eq(w, 1u << 3);
    e = &g_array_index(sg->events, SimEvent, 0);
    ck_assert_uint_eq(e->flag, 0);
    /* guest -> host: bits 35 and 3 in the second half, plus a closed 7 */
    w = (1u << 3) | (1u << 7);
    memcpy(sg->mem + SIM_INT_PAGE + 2048, &w, 4);
    w = 1u << 3;
    memcpy(sg->mem + SIM_INT_PAGE + 2048 + 4, &w, 4);
    ck_assert_uint_eq(sim_signal(sg, 2), 0);
    ck_assert_int_eq(sg->n_notify, 2);
    memcpy(&w, sg->mem + SIM_INT_PAGE + 2048, 4);
    ck_assert_uint_eq(w, 0);
    memcpy(&w, sg->mem + SIM_INT_PAGE + 2052, 4);
    ck_assert_uint_eq(w, 0);
    /* channel ids are not used below 2.4, but harmless */
    sim_free(sg);
}
END_TEST

START_TEST(test_interrupt_page_unmapped)
{
    SimGuest *sg = sim_new(0);
    VmbWireInitiateContact ic;
    VmbcChannel *c = sim_offer(sg, 1, 1, 0);
    SimMsg *m;

    memset(&ic, 0, sizeof(ic));
    sim_hdr(&ic, VMBW_MSG_INITIATE_CONTACT);
    ic.vmbus_version_requested = VMBW_VERSION_WS2008;
    ic.interrupt_page = 0x7000000000ull;   /* outside guest RAM */
    sim_post(sg, 1, &ic, sizeof(ic));
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    g_free(m);
    sg->version = VMBW_VERSION_WS2008;
    sg->msg_conn_id = 1;
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    vmbc_channel_notify_guest(c);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    sim_signal(sg, 2);
    ck_assert_int_eq(sg->n_guest_errors, 2);
    sim_free(sg);
}
END_TEST

/* Monitor pages: parameters published, pending bits polled by timer. */
START_TEST(test_monitor_page)
{
    SimGuest *sg = sim_new(0);
    VmbcOfferParams p = sim_params(5, 5, 0);
    VmbcChannel *c, *d;
    VmbWireMonitorPage *mp2 = (void *)(sg->mem + SIM_MON_PAGE2);
    VmbWireMonitorPage *mp1 = (void *)(sg->mem + SIM_MON_PAGE1);
    uint32_t id;

    sim_offer(sg, 1, 1, 0);
    p.monitor_allocated = true;
    p.monitor_latency = 500;        /* 50 us */
    c = vmbc_offer(sg->core, &p, NULL);
    p = sim_params(6, 6, 0);
    p.monitor_allocated = true;
    d = vmbc_offer(sg->core, &p, NULL);
    sim_connect(sg, VMBW_VERSION_WIN10);
    sim_request_offers(sg);
    ck_assert(sg->chans[2].offer.monitor_allocated);
    id = sg->chans[2].offer.monitorid;
    ck_assert_uint_eq(sg->chans[3].offer.monitorid, id + 1);
    ck_assert_uint_eq(mp2->parameter[id / 32][id % 32].connection_id,
                      vmbc_chan_connection_id(c));
    ck_assert_uint_eq(mp1->parameter[id / 32][id % 32].connection_id,
                      vmbc_chan_connection_id(c));
    ck_assert_uint_eq(mp2->latency[id / 32][id % 32], 500);
    ck_assert(!sg->timer_armed[VMBC_TIMER_MONITOR]);
    sim_open_channel(sg, 2);
    ck_assert(sg->timer_armed[VMBC_TIMER_MONITOR]);
    ck_assert_int_eq(sg->timer_expire[VMBC_TIMER_MONITOR], 50000);
    /* guest signals by setting its pending bit, no hypercall */
    mp2->trigger_group[id / 32].pending |= 1u << (id % 32);
    sim_advance(sg, 60000);
    ck_assert_int_eq(sg->n_notify, 1);
    ck_assert_uint_eq(sg->last_notify_relid, 2);
    ck_assert_uint_eq(mp2->trigger_group[id / 32].pending, 0);
    ck_assert(sg->timer_armed[VMBC_TIMER_MONITOR]);
    /* pending bit of the closed channel d: cleared, not delivered */
    mp2->trigger_group[0].pending |= 1u << (vmbc_chan_params(d) ? id + 1 : 0);
    sim_advance(sg, 60000);
    ck_assert_int_eq(sg->n_notify, 1);
    sim_advance(sg, 1000000);
    ck_assert_int_eq(sg->n_notify, 1);
    sim_close_channel(sg, 2);
    ck_assert(!sg->timer_armed[VMBC_TIMER_MONITOR]);
    sim_free(sg);
}
END_TEST

START_TEST(test_monitor_without_pages)
{
    SimGuest *sg = sim_new(0);
    VmbcOfferParams p = sim_params(5, 5, 0);

    p.monitor_allocated = true;
    vmbc_offer(sg->core, &p, NULL);
    ck_assert_uint_eq(sim_initiate(sg, VMBW_VERSION_IRON, 0, false), 0);
    sim_drain(sg);
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    ck_assert(!sg->timer_armed[VMBC_TIMER_MONITOR]);
    sim_free(sg);
}
END_TEST

START_TEST(test_machine_reset)
{
    SimGuest *sg = sim_new(0);
    VmbcConnInfo ci;

    sim_offer(sg, 1, 1, 0);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    sg->slot_busy = true;
    vmbc_rescind(vmbc_chan_by_relid(sg->core, 1));
    vmbc_reset(sg->core);
    sim_check(sg);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_int_eq(ci.state, VMBC_CONN_DISCONNECTED);
    ck_assert_uint_eq(ci.out_queue_len, 0);
    ck_assert_uint_eq(ci.n_channels, 0);    /* rescinded one is gone */
    ck_assert_int_eq(sg->n_released, 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_counters_and_info)
{
    SimGuest *sg = sim_new(0);
    const VmbcCounters *k = vmbc_counters(sg->core);
    VmbcConnInfo ci;

    sim_offer(sg, 1, 1, 0);
    sim_connect(sg, VMBW_VERSION_WIN10_RS5);
    sim_request_offers(sg);
    ck_assert_uint_eq(k->in[VMBW_MSG_INITIATE_CONTACT], 1);
    ck_assert_uint_eq(k->in[VMBW_MSG_REQUESTOFFERS], 1);
    ck_assert_uint_eq(k->out[VMBW_MSG_OFFERCHANNEL], 1);
    ck_assert_uint_eq(k->out[VMBW_MSG_ALLOFFERS_DELIVERED], 1);
    ck_assert_uint_eq(k->out[VMBW_MSG_VERSION_RESPONSE], 1);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.target_vcpu, 0);
    ck_assert_uint_eq(ci.msg_sint, 2);
    ck_assert_uint_eq(ci.monitor_page1, SIM_MON_PAGE1);
    ck_assert_uint_eq(ci.monitor_page2, SIM_MON_PAGE2);
    ck_assert_str_eq(vmbc_conn_state_name(ci.state), "ready");
    ck_assert_str_eq(vmbc_msg_name(VMBW_MSG_GPADL_BODY), "GPADL_BODY");
    ck_assert_str_eq(vmbc_msg_name(99), "UNKNOWN");
    ck_assert_str_eq(vmbc_chan_state_name(VMBC_CHAN_OPEN), "open");
    sim_free(sg);
}
END_TEST

START_TEST(test_guid_helpers)
{
    static const VmbWireGuid netvsc = VMBW_GUID_INIT(0xf8615163, 0xdf3e,
        0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e);
    VmbWireGuid g;
    char buf[37];

    ck_assert(vmbc_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0e", &g));
    ck_assert_mem_eq(g.b, netvsc.b, 16);
    ck_assert_uint_eq(g.b[0], 0x63);
    ck_assert_uint_eq(g.b[3], 0xf8);
    ck_assert_uint_eq(g.b[4], 0x3e);
    ck_assert_uint_eq(g.b[8], 0x91);
    vmbc_guid_format(&g, buf);
    ck_assert_str_eq(buf, "f8615163-df3e-46c5-913f-f2d2f965ed0e");
    ck_assert(!vmbc_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0", &g));
    ck_assert(!vmbc_guid_parse("f8615163xdf3e-46c5-913f-f2d2f965ed0e", &g));
    ck_assert(!vmbc_guid_parse("g8615163-df3e-46c5-913f-f2d2f965ed0e", &g));
    ck_assert(!vmbc_guid_parse(NULL, &g));
}
END_TEST

/* Golden bytes of what Linux parses. */
START_TEST(test_wire_golden)
{
    SimGuest *sg = sim_new(0);
    VmbcOfferParams p = sim_params(0x11223344, 0x55667788, 3);
    SimMsg *m;
    static const uint8_t vr[16] = { 15, 0, 0, 0, 0, 0, 0, 0,
                                    1, 0, 0, 0, 4, 0, 0, 0 };

    p.flags = 0x2000;
    p.mmio_megabytes = 8;
    p.user_def[0] = 0xAB;
    p.user_def[119] = 0xCD;
    p.dedicated_interrupt = true;
    ck_assert_uint_eq(sim_initiate(sg, VMBW_VERSION_IRON, 0, false), 0);
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(m->len, 16);
    ck_assert_mem_eq(m->data, vr, 16);
    g_free(m);
    vmbc_offer(sg->core, &p, NULL);
    {
        VmbWireHdr h;

        sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
        sim_post(sg, 4, &h, sizeof(h));
    }
    m = sim_expect(sg, VMBW_MSG_OFFERCHANNEL);
    ck_assert_uint_eq(m->len, 196);
    ck_assert_uint_eq(m->data[8], 0x44);
    ck_assert_uint_eq(m->data[24], 0x88);
    ck_assert_uint_eq(m->data[56] | m->data[57] << 8, 0x2000);
    ck_assert_uint_eq(m->data[58], 8);
    ck_assert_uint_eq(m->data[60], 0xAB);
    ck_assert_uint_eq(m->data[179], 0xCD);
    ck_assert_uint_eq(m->data[180], 3);
    ck_assert_uint_eq(m->data[184], 1);
    ck_assert_uint_eq(m->data[189], 0);
    ck_assert_uint_eq(m->data[190], 1);
    ck_assert_uint_eq(m->data[192] | m->data[193] << 8, 0x2001);
    g_free(m);
    m = sim_expect(sg, VMBW_MSG_ALLOFFERS_DELIVERED);
    ck_assert_uint_eq(m->len, 8);
    g_free(m);
    sim_free(sg);
}
END_TEST

START_TEST(test_new_config_errors)
{
    VmbcConfig cfg = { 0 };
    GError *err = NULL;

    ck_assert_ptr_null(vmbc_new(&cfg, &err));
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    {
        SimGuest *sg = sim_new(0);

        cfg = sg->cfg;
        cfg.max_version = VMBW_VERSION(4, 5);
        ck_assert_ptr_null(vmbc_new(&cfg, &err));
        ck_assert(g_error_matches(err, VMBC_ERROR, VMBC_ERROR_INVALID));
        g_clear_error(&err);
        sim_free(sg);
    }
}
END_TEST

/* ---- 6.0 (Copper) -------------------------------------------------------- */

/* Golden bytes of the 6.0 answer: the 16 bytes Linux reads, then
 * supported_features 0. */
START_TEST(test_copper_response_golden)
{
    SimGuest *sg = sim_new(0);
    SimMsg *m;
    VmbcConnInfo ci;
    static const uint8_t vr[20] = { 15, 0, 0, 0, 0, 0, 0, 0,
                                    1, 0, 0, 0, 4, 0, 0, 0,
                                    0, 0, 0, 0 };

    ck_assert_uint_eq(vmbc_get_max_version(sg->core), VMBW_VERSION_COPPER);
    ck_assert_uint_eq(sim_initiate(sg, VMBW_VERSION_COPPER, 0, true), 0);
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(m->len, 20);
    ck_assert_uint_eq(m->sint, VMBW_MESSAGE_SINT);
    ck_assert_mem_eq(m->data, vr, 20);
    g_free(m);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_int_eq(ci.state, VMBC_CONN_CONNECTED);
    ck_assert_uint_eq(ci.version, 0x60000);
    ck_assert_uint_eq(ci.msg_conn_id, 4);
    ck_assert_uint_eq(ci.features, 0);
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_check(sg);
    sim_free(sg);
}
END_TEST

/*
 * A guest asking for 6.0 features (a confidential Linux asks for 0x10,
 * others may ask for anything): connected at 6.0, nothing granted, no
 * guest error, and the offers carry no confidential flag.
 */
START_TEST(test_copper_features_not_granted)
{
    static const uint32_t asks[] = {
        VMBW_FEATURE_CONFIDENTIAL_CHANNELS, VMBW_FEATURE_MODIFY_CONNECTION |
        VMBW_FEATURE_PAUSE_RESUME, 0xff, 0xffffffff,
    };
    uint32_t ask = asks[_i];
    SimGuest *sg = sim_new(0);
    VmbcConnInfo ci;

    sim_offer(sg, 1, 1, 0);
    sim_offer(sg, 2, 2, 0);
    sg->ask_features = ask;
    ck_assert_uint_eq(sim_linux_connect_from(sg, VMBW_VERSION_COPPER, false),
                      VMBW_VERSION_COPPER);
    ck_assert_uint_eq(sg->granted_features, 0);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.features, 0);
    ck_assert_int_eq(sim_request_offers(sg), 2);
    for (uint32_t r = 1; r <= 2; r++) {
        ck_assert(sg->chans[r].present);
        ck_assert_uint_eq(sg->chans[r].offer.chn_flags &
                          (VMBW_OFFER_FLAG_CONFIDENTIAL_RING_BUFFER |
                           VMBW_OFFER_FLAG_CONFIDENTIAL_EXT_MEMORY), 0);
    }
    sim_open_channel(sg, 1);
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_check(sg);
    sim_free(sg);
}
END_TEST

/* Below 6.0 bytes 20..23 of INITIATE_CONTACT are reserved: ignored. */
START_TEST(test_feature_bytes_ignored_below_copper)
{
    SimGuest *sg = sim_new(0);
    VmbWireInitiateContact ic;
    VmbcConnInfo ci;
    SimMsg *m;

    memset(&ic, 0, sizeof(ic));
    sim_hdr(&ic, VMBW_MSG_INITIATE_CONTACT);
    ic.vmbus_version_requested = VMBW_VERSION_IRON;
    ic.msg_sint = VMBW_MESSAGE_SINT;
    ic.feature_flags = 0xffffffff;
    ck_assert_uint_eq(sim_post(sg, 4, &ic, sizeof(ic)), 0);
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(m->len, 16);
    ck_assert_uint_eq(((VmbWireVersionResponse *)m->data)->version_supported,
                      1);
    g_free(m);
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.version, VMBW_VERSION_IRON);
    ck_assert_uint_eq(ci.features, 0);
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_free(sg);
}
END_TEST

/*
 * max-version below 6.0: 6.0 is refused with the 16-byte answer, not as
 * a guest error, and Linux 6.19 walks down to 5.3; the Debian 6.1/6.12
 * walk from 5.3 meets the default 6.0 host at 5.3.
 */
START_TEST(test_copper_capped)
{
    SimGuest *sg = sim_new(VMBW_VERSION_IRON);
    SimMsg *m;

    sg->ask_features = VMBW_FEATURE_CONFIDENTIAL_CHANNELS;
    ck_assert_uint_eq(sim_initiate(sg, VMBW_VERSION_COPPER, 0, true), 0);
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    ck_assert_uint_eq(m->len, 16);
    ck_assert_uint_eq(((VmbWireVersionResponse *)m->data)->version_supported,
                      0);
    g_free(m);
    ck_assert_uint_eq(sim_linux_connect_from(sg, VMBW_VERSION_COPPER, false),
                      VMBW_VERSION_IRON);
    ck_assert_uint_eq(sg->msg_conn_id, 4);
    ck_assert_int_eq(sim_request_offers(sg), 0);
    ck_assert_int_eq(sg->n_guest_errors, 0);
    sim_free(sg);

    /* Lowered at run time (QMP): the next contact walks down. */
    sg = sim_new(0);
    ck_assert(vmbc_set_max_version(sg->core, VMBW_VERSION_IRON));
    ck_assert_uint_eq(sim_linux_connect_from(sg, VMBW_VERSION_COPPER, false),
                      VMBW_VERSION_IRON);
    ck_assert(vmbc_set_max_version(sg->core, 0));
    ck_assert_uint_eq(vmbc_get_max_version(sg->core), VMBW_VERSION_COPPER);
    sim_unload(sg);
    ck_assert_uint_eq(sim_linux_connect_from(sg, VMBW_VERSION_COPPER, false),
                      VMBW_VERSION_COPPER);
    ck_assert(!vmbc_set_max_version(sg->core, VMBW_VERSION(6, 1)));
    sim_free(sg);

    /* A 6.1 / 6.12 guest against the default host. */
    sg = sim_new(0);
    ck_assert_uint_eq(sim_linux_connect(sg, false), VMBW_VERSION_IRON);
    ck_assert_uint_eq(vmbc_counters(sg->core)->in[VMBW_MSG_INITIATE_CONTACT],
                      1);
    sim_free(sg);

    /* hv_vmbus.max_version=0x50003 on a 6.19 guest: 6.0 never asked. */
    sg = sim_new(0);
    ck_assert_uint_eq(sim_linux_connect_from(sg, VMBW_VERSION_IRON, false),
                      VMBW_VERSION_IRON);
    sim_free(sg);
}
END_TEST

/*
 * 25..29 at 6.0: the guest->host ones need a feature never granted, the
 * host->guest ones are never accepted; each is refused, counted, and
 * answered with nothing.
 */
START_TEST(test_copper_messages_refused)
{
    static const struct {
        uint32_t type, len;
        const char *why;
    } msgs[] = {
        { VMBW_MSG_MODIFY_CONNECTION, 24, "needs feature 0x4" },
        { VMBW_MSG_MODIFY_CONNECTION_RESPONSE, 12, "host->guest" },
        { VMBW_MSG_PAUSE, 8, "needs feature 0x20" },
        { VMBW_MSG_PAUSE_RESPONSE, 8, "host->guest" },
        { VMBW_MSG_RESUME, 8, "needs feature 0x20" },
    };
    SimGuest *sg = sim_new(0);
    const VmbcCounters *k = vmbc_counters(sg->core);

    sim_offer(sg, 1, 1, 0);
    sg->ask_features = 0xffffffff;
    sim_connect(sg, VMBW_VERSION_COPPER);
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(msgs); i++) {
        uint8_t buf[VMBW_MAX_PAYLOAD];
        int errs = sg->n_guest_errors;

        memset(buf, 0, sizeof(buf));
        sim_hdr(buf, msgs[i].type);
        ck_assert_uint_eq(sim_send(sg, buf, msgs[i].len), 0);
        ck_assert_int_eq(sg->n_guest_errors, errs + 1);
        ck_assert_uint_eq(k->refused[msgs[i].type], 1);
        ck_assert_msg(strstr(sg->last_error, msgs[i].why), "%s: %s",
                      vmbc_msg_name(msgs[i].type), sg->last_error);
        sim_expect_none(sg);
    }
    /* the connection is untouched */
    ck_assert_int_eq(sg->n_close, 0);
    sim_close_channel(sg, 1);
    sim_check(sg);
    sim_free(sg);
}
END_TEST

/* Hibernation at 6.0: resume negotiates 6.0 again, offers complete. */
START_TEST(test_copper_suspend_resume)
{
    SimGuest *sg = sim_new(0);
    const VmbcCounters *k = vmbc_counters(sg->core);

    sim_offer(sg, 1, 1, 0);
    sim_offer(sg, 2, 2, 0);
    sim_connect(sg, VMBW_VERSION_COPPER);
    ck_assert_int_eq(sim_request_offers(sg), 2);
    sim_open_channel(sg, 1);
    for (int i = 0; i < 3; i++) {
        VmbcConnInfo ci;

        sim_suspend(sg);
        sim_resume(sg);
        vmbc_conn_info(sg->core, &ci);
        ck_assert_uint_eq(ci.version, VMBW_VERSION_COPPER);
        ck_assert_int_eq(ci.state, VMBC_CONN_READY);
    }
    /* one ALLOFFERS_DELIVERED per REQUESTOFFERS */
    ck_assert_uint_eq(k->out[VMBW_MSG_ALLOFFERS_DELIVERED],
                      k->in[VMBW_MSG_REQUESTOFFERS]);
    ck_assert_uint_eq(k->in[VMBW_MSG_REQUESTOFFERS], 4);
    sim_free(sg);
}
END_TEST

/* Devices cannot offer confidential channels. */
START_TEST(test_confidential_offer_refused)
{
    SimGuest *sg = sim_new(0);
    GError *err = NULL;

    for (uint16_t f = VMBW_OFFER_FLAG_CONFIDENTIAL_RING_BUFFER;
         f <= VMBW_OFFER_FLAG_CONFIDENTIAL_EXT_MEMORY; f <<= 1) {
        VmbcOfferParams p = sim_params(7, f, 0);

        p.flags = f | VMBW_OFFER_FLAG_ENUMERATE_DEVICE_INTERFACE;
        ck_assert_ptr_null(vmbc_offer(sg->core, &p, &err));
        ck_assert(g_error_matches(err, VMBC_ERROR, VMBC_ERROR_INVALID));
        g_clear_error(&err);
    }
    ck_assert_uint_eq(sim_nchan(sg), 0);
    sim_free(sg);
}
END_TEST

/* Offset of the first section with this tag in a save stream, or -1. */
static int stream_find(const GByteArray *s, uint32_t tag)
{
    uint32_t off = 8;

    while (off + 8 <= s->len) {
        uint32_t t, len;

        memcpy(&t, s->data + off, 4);
        memcpy(&len, s->data + off + 4, 4);
        if (t == tag) {
            return (int)off;
        }
        off += 8 + len;
    }
    return -1;
}

#define TAG_CONN 0x4e4e4f43u        /* "CONN" */
#define TAG_FEAT 0x54414546u        /* "FEAT" */

static bool load_into(const GByteArray *s, uint32_t max, const char *want)
{
    SimGuest *b = sim_new(max);
    GError *err = NULL;
    bool ok;

    sim_offer(b, 1, 1, 0);
    sim_offer(b, 2, 2, 0);
    ok = vmbc_load(b->core, s->data, s->len, &err);
    if (want) {
        ck_assert(!ok);
        ck_assert_msg(strstr(err->message, want), "%s", err->message);
        g_clear_error(&err);
    } else {
        ck_assert_msg(ok, "%s", err ? err->message : "");
        sim_check(b);
    }
    sim_free(b);
    return ok;
}

/*
 * Save / load at 6.0: the FEAT section is there exactly at 6.0 and is
 * validated; a 6.0 stream does not load into a host capped at 5.3; a
 * queued 20-byte VERSION_RESPONSE survives.
 */
START_TEST(test_copper_save_load)
{
    SimGuest *sg = sim_new(0);
    GByteArray *s = g_byte_array_new(), *s2 = g_byte_array_new();
    SimGuest *b;
    GError *err = NULL;
    int feat, conn;
    uint32_t v;

    sim_offer(sg, 1, 1, 0);
    sim_offer(sg, 2, 2, 0);
    sim_connect(sg, VMBW_VERSION_COPPER);
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    vmbc_save(sg->core, s);
    feat = stream_find(s, TAG_FEAT);
    ck_assert_int_gt(feat, 0);
    memcpy(&v, s->data + feat + 4, 4);
    ck_assert_uint_eq(v, 4);
    memcpy(&v, s->data + feat + 8, 4);
    ck_assert_uint_eq(v, 0);

    /* round trip: same bytes */
    b = sim_new(0);
    sim_offer(b, 1, 1, 0);
    sim_offer(b, 2, 2, 0);
    ck_assert_msg(vmbc_load(b->core, s->data, s->len, &err), "%s",
                  err ? err->message : "");
    sim_check(b);
    vmbc_save(b->core, s2);
    ck_assert_uint_eq(s2->len, s->len);
    ck_assert_mem_eq(s2->data, s->data, s->len);
    {
        VmbcConnInfo ci;

        vmbc_conn_info(b->core, &ci);
        ck_assert_uint_eq(ci.version, VMBW_VERSION_COPPER);
        ck_assert_int_eq(ci.state, VMBC_CONN_READY);
    }
    sim_free(b);

    load_into(s, VMBW_VERSION_IRON, "version 0x60000 not allowed");

    /* granted flags this host cannot grant */
    v = VMBW_FEATURE_CONFIDENTIAL_CHANNELS;
    memcpy(s->data + feat + 8, &v, 4);
    load_into(s, 0, "not granted");
    v = 0;
    memcpy(s->data + feat + 8, &v, 4);
    load_into(s, 0, NULL);

    /* FEAT missing at 6.0 */
    g_byte_array_remove_range(s, feat, 12);
    load_into(s, 0, "FEAT missing");
    /* FEAT twice */
    g_byte_array_set_size(s2, 0);
    vmbc_save(sg->core, s2);
    {
        static const uint32_t extra[3] = { TAG_FEAT, 4, 0 };

        feat = stream_find(s2, TAG_FEAT);
        ck_assert_int_gt(feat, 0);
        g_byte_array_set_size(s, 0);
        g_byte_array_append(s, s2->data, feat);
        g_byte_array_append(s, (const uint8_t *)extra, 12);
        g_byte_array_append(s, s2->data + feat, s2->len - feat);
        load_into(s, 0, "duplicate FEAT");
    }
    sim_free(sg);

    /* at 5.3: no FEAT (the stream older builds read), and one is refused */
    sg = sim_new(0);
    sim_offer(sg, 1, 1, 0);
    sim_offer(sg, 2, 2, 0);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    g_byte_array_set_size(s2, 0);
    vmbc_save(sg->core, s2);
    ck_assert_int_lt(stream_find(s2, TAG_FEAT), 0);
    load_into(s2, VMBW_VERSION_IRON, NULL);
    conn = stream_find(s2, TAG_CONN);
    ck_assert_int_eq(conn, 8);
    memcpy(&v, s2->data + conn + 4, 4);
    {
        static const uint32_t extra[3] = { TAG_FEAT, 4, 0 };
        uint32_t at = conn + 8 + v;

        g_byte_array_set_size(s, 0);
        g_byte_array_append(s, s2->data, at);
        g_byte_array_append(s, (const uint8_t *)extra, 12);
        g_byte_array_append(s, s2->data + at, s2->len - at);
        load_into(s, 0, "FEAT present");
    }
    sim_free(sg);

    /* the 20-byte answer still queued (slot busy) at save time */
    sg = sim_new(0);
    sg->slot_busy = true;
    ck_assert_uint_eq(sim_initiate(sg, VMBW_VERSION_COPPER, 0, true), 0);
    sim_expect_none(sg);
    g_byte_array_set_size(s, 0);
    vmbc_save(sg->core, s);
    {
        /* the core never queues a 20-byte refusal or granted features */
        int outq = stream_find(s, 0x5154554fu);         /* "OUTQ" */
        uint32_t at = outq + 8 + 4 + 12;                /* first message */

        ck_assert_int_gt(outq, 0);
        ck_assert_uint_eq(s->data[at], VMBW_MSG_VERSION_RESPONSE);
        ck_assert_uint_eq(s->data[at + 8], 1);
        s->data[at + 8] = 0;
        load_into(s, 0, "6.0 VERSION_RESPONSE");
        s->data[at + 8] = 1;
        s->data[at + 16] = VMBW_FEATURE_PAUSE_RESUME;
        load_into(s, 0, "6.0 VERSION_RESPONSE");
        s->data[at + 16] = 0;
    }
    b = sim_new(0);
    ck_assert_msg(vmbc_load(b->core, s->data, s->len, &err), "%s",
                  err ? err->message : "");
    sim_free_slot(b);
    {
        SimMsg *m = sim_expect(b, VMBW_MSG_VERSION_RESPONSE);

        ck_assert_uint_eq(m->len, 20);
        g_free(m);
    }
    sim_free(b);
    sim_free(sg);
    g_byte_array_free(s, true);
    g_byte_array_free(s2, true);
}
END_TEST

static Suite *conn_suite(void)
{
    Suite *s = suite_create("vmbus-core-conn");
    TCase *tc = tcase_create("conn");

    tcase_add_loop_test(tc, test_connect_each_version, 0,
                        G_N_ELEMENTS(all_versions));
    tcase_add_loop_test(tc, test_linux_walk_capped, 0,
                        G_N_ELEMENTS(all_versions));
    tcase_add_test(tc, test_conn_id_4_rules);
    tcase_add_test(tc, test_post_check_statuses);
    tcase_add_test(tc, test_max_51_refuses_higher);
    tcase_add_test(tc, test_unknown_versions);
    tcase_add_test(tc, test_bad_target_vcpu);
    tcase_add_test(tc, test_target_vcpu_honoured);
    tcase_add_test(tc, test_bad_sint_vtl_pages);
    tcase_add_test(tc, test_msg_sint_used);
    tcase_add_test(tc, test_implicit_reset);
    tcase_add_test(tc, test_unload);
    tcase_add_test(tc, test_unload_disconnected_refused);
    tcase_add_test(tc, test_unload_reconnect_cycles);
    tcase_add_test(tc, test_busy_slot_ordering);
    tcase_add_test(tc, test_out_queue_bound);
    tcase_add_test(tc, test_post_error_drops);
    tcase_add_test(tc, test_signal_win8);
    tcase_add_test(tc, test_interrupt_page_win7);
    tcase_add_test(tc, test_interrupt_page_unmapped);
    tcase_add_test(tc, test_monitor_page);
    tcase_add_test(tc, test_monitor_without_pages);
    tcase_add_test(tc, test_machine_reset);
    tcase_add_test(tc, test_counters_and_info);
    tcase_add_test(tc, test_guid_helpers);
    tcase_add_test(tc, test_wire_golden);
    tcase_add_test(tc, test_new_config_errors);
    tcase_add_test(tc, test_copper_response_golden);
    tcase_add_loop_test(tc, test_copper_features_not_granted, 0, 4);
    tcase_add_test(tc, test_feature_bytes_ignored_below_copper);
    tcase_add_test(tc, test_copper_capped);
    tcase_add_test(tc, test_copper_messages_refused);
    tcase_add_test(tc, test_copper_suspend_resume);
    tcase_add_test(tc, test_confidential_offer_refused);
    tcase_add_test(tc, test_copper_save_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sim_run_suite(conn_suite());
}
