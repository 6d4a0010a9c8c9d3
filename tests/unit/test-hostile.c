/*
 * Unit tests: VMBus core against a hostile guest (bad sizes, states, floods)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "simguest.h"

/* Types a guest may send, with the minimum length the core requires. */
static const struct {
    uint32_t type, min;
} guest_types[] = {
    { VMBW_MSG_REQUESTOFFERS, 8 }, { VMBW_MSG_OPENCHANNEL, 148 },
    { VMBW_MSG_CLOSECHANNEL, 12 }, { VMBW_MSG_GPADL_HEADER, 28 },
    { VMBW_MSG_GPADL_BODY, 16 }, { VMBW_MSG_GPADL_TEARDOWN, 16 },
    { VMBW_MSG_RELID_RELEASED, 12 }, { VMBW_MSG_INITIATE_CONTACT, 40 },
    { VMBW_MSG_UNLOAD, 8 }, { VMBW_MSG_OPEN_RESERVED_CHANNEL, 28 },
    { VMBW_MSG_CLOSE_RESERVED_CHANNEL, 20 },
    { VMBW_MSG_TL_CONNECT_REQUEST, 40 }, { VMBW_MSG_MODIFYCHANNEL, 16 },
    { VMBW_MSG_MODIFY_CONNECTION, 24 }, { VMBW_MSG_PAUSE, 8 },
    { VMBW_MSG_RESUME, 8 },
};

static const uint32_t host_types[] = {
    VMBW_MSG_INVALID, VMBW_MSG_OFFERCHANNEL, VMBW_MSG_RESCIND_CHANNELOFFER,
    VMBW_MSG_ALLOFFERS_DELIVERED, VMBW_MSG_OPENCHANNEL_RESULT,
    VMBW_MSG_GPADL_CREATED, VMBW_MSG_GPADL_TORNDOWN,
    VMBW_MSG_VERSION_RESPONSE, VMBW_MSG_UNLOAD_RESPONSE,
    VMBW_MSG_CLOSE_RESERVED_RESPONSE, VMBW_MSG_TL_CONNECT_RESULT,
    VMBW_MSG_MODIFYCHANNEL_RESPONSE, VMBW_MSG_MODIFY_CONNECTION_RESPONSE,
    VMBW_MSG_PAUSE_RESPONSE,
};

static SimGuest *ready(void)
{
    SimGuest *sg = sim_new(0);

    sim_offer(sg, 1, 1, 0);
    sim_offer(sg, 2, 2, 0);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    sim_open_channel(sg, 1);
    return sg;
}

/* One byte short of the minimum: refused before any handler. */
START_TEST(test_every_type_short)
{
    SimGuest *sg = ready();
    uint8_t buf[VMBW_MAX_PAYLOAD];
    uint32_t t = guest_types[_i].type;
    const VmbcCounters *k = vmbc_counters(sg->core);
    uint64_t before = k->refused[t], bad = k->in_bad_type;

    memset(buf, 0x5a, sizeof(buf));
    sim_hdr(buf, t);
    sim_send(sg, buf, guest_types[_i].min - 1);
    if (guest_types[_i].min == 8) {
        /* not even a header: refused before the type is known */
        ck_assert_uint_eq(k->in_bad_type, bad + 1);
    } else {
        ck_assert_uint_eq(k->refused[t], before + 1);
    }
    sim_expect_none(sg);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    sim_free(sg);
}
END_TEST

/* Full 240 bytes of garbage after a valid type: never a crash. */
START_TEST(test_every_type_long_garbage)
{
    SimGuest *sg = ready();
    uint8_t buf[VMBW_MAX_PAYLOAD];
    GRand *r = g_rand_new_with_seed(_i);

    for (int rep = 0; rep < 50; rep++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            buf[i] = g_rand_int(r);
        }
        sim_hdr(buf, guest_types[_i].type);
        sim_send(sg, buf, sizeof(buf));
        while (sim_inbox_len(sg)) {
            g_free(sim_pop(sg));
        }
    }
    g_rand_free(r);
    sim_free(sg);
}
END_TEST

START_TEST(test_every_type_disconnected)
{
    SimGuest *sg = sim_new(0);
    uint8_t buf[VMBW_MAX_PAYLOAD];
    uint32_t t = guest_types[_i].type;

    sim_offer(sg, 1, 1, 0);
    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, t);
    ((uint32_t *)buf)[2] = 1;
    sim_post(sg, 1, buf, sizeof(buf));
    if (t == VMBW_MSG_INITIATE_CONTACT) {
        sim_drain(sg);      /* version 1 is unknown: supported=0 */
        ck_assert_int_eq(sg->n_guest_errors, 0);
    } else {
        sim_expect_none(sg);
        ck_assert_int_eq(sg->n_guest_errors, 1);
        ck_assert_uint_eq(vmbc_counters(sg->core)->refused[t], 1);
    }
    sim_free(sg);
}
END_TEST

START_TEST(test_host_types_from_guest)
{
    SimGuest *sg = ready();
    uint8_t buf[VMBW_MAX_PAYLOAD];

    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, host_types[_i]);
    sim_send(sg, buf, sizeof(buf));
    sim_expect_none(sg);
    ck_assert_int_eq(sg->n_guest_errors, 1);
    ck_assert_uint_eq(vmbc_counters(sg->core)->refused[host_types[_i]], 1);
    sim_free(sg);
}
END_TEST

START_TEST(test_unknown_types_and_sizes)
{
    SimGuest *sg = ready();
    uint8_t buf[VMBW_MAX_PAYLOAD + 16];
    static const uint32_t types[] = { 30, 31, 255, 0x80000000u, 0xffffffffu };

    memset(buf, 0, sizeof(buf));
    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        sim_hdr(buf, types[i]);
        sim_send(sg, buf, 8);
    }
    ck_assert_uint_eq(vmbc_counters(sg->core)->in_bad_type, 5);
    /* no header at all */
    vmbc_handle_message(sg->core, 1, buf, 0);
    vmbc_handle_message(sg->core, 1, buf, 7);
    /* bigger than a SynIC message (the glue should refuse earlier) */
    vmbc_handle_message(sg->core, 1, buf, VMBW_MAX_PAYLOAD + 1);
    vmbc_handle_message(sg->core, 1, NULL, 8);
    /* wrong connection id */
    sim_hdr(buf, VMBW_MSG_REQUESTOFFERS);
    vmbc_handle_message(sg->core, 7, buf, 8);
    sim_check(sg);
    ck_assert_int_eq(sg->n_guest_errors, 10);
    /* all of them malformed messages, by condition */
    ck_assert_uint_eq(vmbc_counters(sg->core)->faults[VMBC_FAULT_MSG_MALFORMED],
                      10);
    sim_expect_none(sg);
    sim_free(sg);
}
END_TEST

START_TEST(test_wrong_version)
{
    SimGuest *sg = sim_new(0);
    uint8_t buf[VMBW_MAX_PAYLOAD];

    sim_offer(sg, 1, 1, 0);
    sim_connect(sg, VMBW_VERSION_WIN8_1);
    sim_request_offers(sg);
    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, VMBW_MSG_MODIFYCHANNEL);
    sim_send(sg, buf, 16);
    sim_hdr(buf, VMBW_MSG_TL_CONNECT_REQUEST);
    sim_send(sg, buf, 40);
    sim_hdr(buf, VMBW_MSG_OPEN_RESERVED_CHANNEL);
    sim_send(sg, buf, 28);
    sim_hdr(buf, VMBW_MSG_PAUSE);
    sim_send(sg, buf, 8);
    ck_assert_int_eq(sg->n_guest_errors, 4);
    /* valid messages, wrong version: the state condition, nothing else */
    ck_assert_uint_eq(vmbc_counters(sg->core)->faults[VMBC_FAULT_MSG_STATE], 4);
    ck_assert_uint_eq(vmbc_counters(sg->core)->faults[VMBC_FAULT_MSG_MALFORMED],
                      0);
    sim_expect_none(sg);
    sim_free(sg);
}
END_TEST

/* Bad relids / handles for every message that carries them. */
START_TEST(test_bad_ids)
{
    static const uint32_t relids[] = { 0, 2, 3, 2047, 2048, 0x10000,
                                       0xffffffff };
    SimGuest *sg = ready();

    for (size_t i = 0; i < G_N_ELEMENTS(relids); i++) {
        uint8_t buf[VMBW_MAX_PAYLOAD];
        uint32_t r = relids[i];

        memset(buf, 0, sizeof(buf));
        sim_hdr(buf, VMBW_MSG_CLOSECHANNEL);
        ((uint32_t *)buf)[2] = r;
        sim_send(sg, buf, 12);
        sim_hdr(buf, VMBW_MSG_RELID_RELEASED);
        sim_send(sg, buf, 12);
        sim_hdr(buf, VMBW_MSG_MODIFYCHANNEL);
        sim_send(sg, buf, 16);
        sim_drain(sg);
        sim_hdr(buf, VMBW_MSG_GPADL_TEARDOWN);
        ((uint32_t *)buf)[3] = r;
        sim_send(sg, buf, 16);
        sim_drain(sg);
        if (r != 2) {
            ck_assert_uint_ne(sim_open(sg, r, SIM_FIRST_GPADL, 4, 0), 0);
        }
    }
    ck_assert_int_eq(vmbc_chan_state(vmbc_chan_by_relid(sg->core, 1)),
                     VMBC_CHAN_OPEN);
    sim_free(sg);
}
END_TEST

/* Random messages with mostly-valid fields: invariants after each. */
START_TEST(test_fuzz)
{
    SimGuest *sg = sim_new(0);
    GRand *r = g_rand_new_with_seed(1234 + _i);

    sg->quiet = true;
    for (int i = 0; i < 6; i++) {
        VmbcOfferParams p = sim_params(i, i, i % 3);

        p.monitor_allocated = i & 1;
        vmbc_offer(sg->core, &p, NULL);
    }
    for (int n = 0; n < 20000; n++) {
        uint8_t buf[VMBW_MAX_PAYLOAD];
        uint32_t *w = (uint32_t *)buf;
        uint32_t t = g_rand_int_range(r, 0, 32);
        uint32_t len = g_rand_boolean(r) ? VMBW_MAX_PAYLOAD
                       : (uint32_t)g_rand_int_range(r, 0, VMBW_MAX_PAYLOAD + 1);

        for (size_t i = 0; i < sizeof(buf) / 4; i++) {
            switch (g_rand_int_range(r, 0, 4)) {
            case 0: w[i] = g_rand_int_range(r, 0, 8); break;
            case 1: w[i] = SIM_FIRST_GPADL + g_rand_int_range(r, 0, 8); break;
            case 2: w[i] = g_rand_int(r); break;
            default: w[i] = 0;
            }
        }
        if (t == VMBW_MSG_INITIATE_CONTACT && g_rand_int_range(r, 0, 4)) {
            w[2] = VMBW_VERSION_WIN10 + g_rand_int_range(r, 0, 2);
            w[3] = 0;
            w[4] = g_rand_boolean(r) ? 2 : SIM_INT_PAGE;
            w[5] = 0;
            w[6] = SIM_MON_PAGE1;
            w[8] = SIM_MON_PAGE2;
        }
        if (t == VMBW_MSG_GPADL_HEADER) {
            buf[18] = g_rand_int_range(r, 0, 3);
            buf[19] = 0;
        }
        sim_hdr(buf, t);
        sim_post(sg, g_rand_boolean(r) ? 1 : 4, buf, MAX(len, 8));
        switch (g_rand_int_range(r, 0, 16)) {
        case 1: sg->slot_busy = !sg->slot_busy; break;
        case 2: sim_free_slot(sg); break;
        case 3: sim_signal(sg, VMBC_CHAN_CONN_ID_BASE +
                                g_rand_int_range(r, 0, 10)); break;
        case 4: sim_signal(sg, 2); break;
        case 5: sim_advance(sg, 200000); break;
        case 6: {
            VmbcChannel *c = vmbc_chan_by_relid(sg->core,
                                                1 + g_rand_int_range(r, 0, 6));

            if (c) {
                vmbc_channel_notify_guest(c);
                sim_check(sg);
            }
            break;
        }
        case 7:
            if (g_rand_int_range(r, 0, 50) == 0) {
                vmbc_reset(sg->core);
                sim_check(sg);
            }
            break;
        default:
            break;
        }
        {
            SimMsg *m;

            while ((m = sim_pop(sg))) {
                g_free(m);
            }
        }
    }
    g_rand_free(r);
    sim_free(sg);
}
END_TEST

/* Save/load in the middle of the fuzz: the stream must reload. */
START_TEST(test_fuzz_save)
{
    SimGuest *sg = sim_new(0);
    GRand *r = g_rand_new_with_seed(99 + _i);

    for (int i = 0; i < 4; i++) {
        sim_offer(sg, i, i, 0);
    }
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    for (int n = 0; n < 2000; n++) {
        uint8_t buf[VMBW_MAX_PAYLOAD];
        uint32_t *w = (uint32_t *)buf;

        for (size_t i = 0; i < sizeof(buf) / 4; i++) {
            w[i] = g_rand_boolean(r) ? (uint32_t)g_rand_int_range(r, 0, 6)
                   : SIM_FIRST_GPADL + g_rand_int_range(r, 0, 4);
        }
        sim_hdr(buf, g_rand_int_range(r, 3, 14));
        sim_send(sg, buf, g_rand_int_range(r, 8, VMBW_MAX_PAYLOAD + 1));
        while (sim_inbox_len(sg)) {
            g_free(sim_pop(sg));
        }
        if (n % 100 == 0) {
            GByteArray *s = g_byte_array_new();
            SimGuest *b = sim_new(0);
            GError *err = NULL;

            vmbc_save(sg->core, s);
            for (int i = 0; i < 4; i++) {
                sim_offer(b, i, i, 0);
            }
            ck_assert_msg(vmbc_load(b->core, s->data, s->len, &err), "%s",
                          err ? err->message : "");
            sim_check(b);
            sim_free(b);
            g_byte_array_free(s, true);
        }
    }
    g_rand_free(r);
    sim_free(sg);
}
END_TEST

/* Flood of refused GPADL headers: memory stays bounded. */
START_TEST(test_gpadl_flood)
{
    VmbcConfig cfg = { .gpadl_max_count = 64 };
    SimGuest *sg = sim_new_cfg(&cfg);
    VmbcConnInfo ci;

    sim_offer(sg, 1, 1, 0);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    for (uint32_t i = 0; i < 10000; i++) {
        uint8_t buf[VMBW_MAX_PAYLOAD];
        VmbWireGpadlHeader *h = (void *)buf;

        memset(buf, 0, sizeof(buf));
        sim_hdr(buf, VMBW_MSG_GPADL_HEADER);
        h->child_relid = 1 + (i & 1);       /* half have a bad relid */
        h->gpadl = 1 + i;
        h->range_buflen = 8 + 8 * 1000;
        h->rangecount = i % 3 ? 1 : 65535;
        h->range0.byte_count = 1000 * 4096;
        h->range0.byte_offset = i % 5 ? 0 : 5000;
        sim_send(sg, buf, sizeof(buf));
        while (sim_inbox_len(sg)) {
            g_free(sim_pop(sg));
        }
    }
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_le(ci.n_gpadls, 64);
    sim_free(sg);
}
END_TEST

/* Many ranges, each charged: rangecount 65535 of one page each. */
START_TEST(test_max_rangecount)
{
    SimGuest *sg = sim_new(0);
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlBody *b = (void *)buf;
    VmbWireGpadlHeader *h = (void *)buf;
    uint32_t words = 65535 * 2, sent = 0;
    SimMsg *m;

    sim_offer(sg, 1, 1, 0);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    memset(buf, 0, sizeof(buf));
    sim_hdr(buf, VMBW_MSG_GPADL_HEADER);
    h->child_relid = 1;
    h->gpadl = 5;
    h->range_buflen = (uint16_t)(words * 8);
    h->rangecount = 65535;
    h->range0.byte_count = 1;
    h->pfn[0] = 1;
    sim_send(sg, buf, 20 + 16);
    sent = 2;
    while (sent < words) {
        uint32_t n = MIN(28, words - sent);

        memset(buf, 0, sizeof(buf));
        sim_hdr(buf, VMBW_MSG_GPADL_BODY);
        b->gpadl = 5;
        for (uint32_t i = 0; i < n; i++) {
            b->pfn[i] = ((sent + i) & 1) ? 7 : 1;   /* range hdr: 1 byte */
        }
        sim_send(sg, buf, 16 + 8 * n);
        sent += n;
    }
    m = sim_expect(sg, VMBW_MSG_GPADL_CREATED);
    ck_assert_uint_eq(((VmbWireGpadlCreated *)m->data)->creation_status, 0);
    g_free(m);
    ck_assert_uint_eq(vmbc_gpadl_range_count(vmbc_gpadl_find(sg->core, 5)),
                      65535);
    sim_free(sg);
}
END_TEST

/* A guest that never frees its slot but keeps asking. */
START_TEST(test_reply_flood_busy_slot)
{
    VmbcConfig cfg = { .out_queue_max = 100 };
    SimGuest *sg = sim_new_cfg(&cfg);
    VmbcConnInfo ci;

    sim_offer(sg, 1, 1, 0);
    sim_connect(sg, VMBW_VERSION_IRON);
    sim_request_offers(sg);
    sg->slot_busy = true;
    for (int i = 0; i < 5000; i++) {
        uint8_t buf[VMBW_MAX_PAYLOAD];

        memset(buf, 0, sizeof(buf));
        sim_hdr(buf, VMBW_MSG_OPENCHANNEL);
        ((uint32_t *)buf)[2] = 9;
        sim_send(sg, buf, 148);
    }
    vmbc_conn_info(sg->core, &ci);
    ck_assert_uint_eq(ci.out_queue_len, 100);
    ck_assert_uint_eq(vmbc_counters(sg->core)->out_dropped, 4900);
    sim_free_slot(sg);
    ck_assert_uint_eq(sim_inbox_len(sg), 100);
    sim_free(sg);
}
END_TEST

START_TEST(test_initiate_storm)
{
    SimGuest *sg = sim_new(VMBW_VERSION_WIN10);
    GRand *r = g_rand_new_with_seed(7);

    sim_offer(sg, 1, 1, 0);
    for (int i = 0; i < 2000; i++) {
        VmbWireInitiateContact ic;

        memset(&ic, 0, sizeof(ic));
        sim_hdr(&ic, VMBW_MSG_INITIATE_CONTACT);
        ic.vmbus_version_requested = g_rand_boolean(r)
            ? VMBW_VERSION(g_rand_int_range(r, 0, 6), g_rand_int_range(r, 0, 14))
            : g_rand_int(r);
        ic.target_vcpu = g_rand_int_range(r, 0, 6);
        ic.interrupt_page = g_rand_boolean(r) ? SIM_INT_PAGE : g_rand_int(r);
        ic.monitor_page1 = g_rand_boolean(r) ? SIM_MON_PAGE1 : g_rand_int(r);
        ic.monitor_page2 = g_rand_boolean(r) ? 0 : 0x7000000000ull;
        sim_post(sg, 1, &ic, sizeof(ic));
        if (g_rand_boolean(r)) {
            VmbWireHdr h;

            sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
            sim_post(sg, 1, &h, sizeof(h));
        }
        while (sim_inbox_len(sg)) {
            g_free(sim_pop(sg));
        }
    }
    g_rand_free(r);
    sim_free(sg);
}
END_TEST

/* Monitor page outside guest RAM: guest error, no crash. */
START_TEST(test_monitor_page_unmapped)
{
    SimGuest *sg = sim_new(0);
    VmbcOfferParams p = sim_params(1, 1, 0);
    VmbWireInitiateContact ic;

    p.monitor_allocated = true;
    vmbc_offer(sg->core, &p, NULL);
    memset(&ic, 0, sizeof(ic));
    sim_hdr(&ic, VMBW_MSG_INITIATE_CONTACT);
    ic.vmbus_version_requested = VMBW_VERSION_IRON;
    ic.msg_sint = 2;
    ic.monitor_page1 = 0x7000000000ull;
    ic.monitor_page2 = 0x7000001000ull;
    sim_post(sg, 4, &ic, sizeof(ic));
    sim_drain(sg);
    sg->msg_conn_id = 4;
    sg->version = VMBW_VERSION_IRON;
    sim_request_offers(sg);
    ck_assert_int_eq(sg->n_guest_errors, 2);
    sim_open_channel(sg, 1);
    sim_advance(sg, 1000000);
    ck_assert_int_eq(sg->n_guest_errors, 3);    /* once, then no polling */
    ck_assert(!sg->timer_armed[VMBC_TIMER_MONITOR]);
    sim_free(sg);
}
END_TEST

START_TEST(test_signal_storm)
{
    SimGuest *sg = ready();
    GRand *r = g_rand_new_with_seed(3);

    for (int i = 0; i < 10000; i++) {
        vmbc_signal_event(sg->core, g_rand_int(r));
        vmbc_signal_event(sg->core, VMBC_CHAN_CONN_ID_BASE +
                          g_rand_int_range(r, 0, 4096));
    }
    g_rand_free(r);
    sim_check(sg);
    sim_free(sg);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("vmbus-core-hostile");
    TCase *tc = tcase_create("hostile");

    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, test_every_type_short, 0,
                        G_N_ELEMENTS(guest_types));
    tcase_add_loop_test(tc, test_every_type_long_garbage, 0,
                        G_N_ELEMENTS(guest_types));
    tcase_add_loop_test(tc, test_every_type_disconnected, 0,
                        G_N_ELEMENTS(guest_types));
    tcase_add_loop_test(tc, test_host_types_from_guest, 0,
                        G_N_ELEMENTS(host_types));
    tcase_add_test(tc, test_unknown_types_and_sizes);
    tcase_add_test(tc, test_wrong_version);
    tcase_add_test(tc, test_bad_ids);
    tcase_add_loop_test(tc, test_fuzz, 0, 4);
    tcase_add_loop_test(tc, test_fuzz_save, 0, 2);
    tcase_add_test(tc, test_gpadl_flood);
    tcase_add_test(tc, test_max_rangecount);
    tcase_add_test(tc, test_reply_flood_busy_slot);
    tcase_add_test(tc, test_initiate_storm);
    tcase_add_test(tc, test_monitor_page_unmapped);
    tcase_add_test(tc, test_signal_storm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sim_run_suite(hostile_suite());
}
