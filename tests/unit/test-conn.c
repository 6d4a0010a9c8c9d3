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
    VMBW_VERSION_WIN10_RS5, VMBW_VERSION_IRON,
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

/* Linux's walk from 5.3 against every configured maximum. */
START_TEST(test_linux_walk_capped)
{
    uint32_t max = all_versions[_i];
    SimGuest *sg = sim_new(max);
    uint32_t got = sim_linux_connect(sg, true);

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
    static const uint32_t bad[] = { VMBW_VERSION(3, 5), VMBW_VERSION_COPPER,
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
        g_free(m);
    }
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
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sim_run_suite(conn_suite());
}
