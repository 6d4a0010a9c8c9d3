/*
 * Simulated Linux VMBus guest driving the VMBus core in unit tests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The guest side follows Linux's drivers/hv (vmbus_connection fields,
 * version walk, GPADL handle numbering, suspend/resume counters) so the
 * scenarios exercise the core the way a Debian kernel does.  The fake
 * host and the raw messages are tests/common/simvm.c's; here every step
 * is checked with Check assertions.
 */

#include <string.h>

#include "simguest.h"

/* ---- life cycle -------------------------------------------------------- */

static void check_fail(const char *msg)
{
    ck_abort_msg("%s", msg);
}

SimGuest *sim_new_cfg(const VmbcConfig *cfg)
{
    SimGuest *sg = g_new(SimGuest, 1);

    sim_fail_hook = check_fail;
    sim_init(sg, cfg, SIM_MEM_SIZE, true);
    sg->check_always = true;
    sg->check_writes = true;
    sg->next_gpadl_handle = SIM_FIRST_GPADL;
    sim_check(sg);
    return sg;
}

SimGuest *sim_new(uint32_t max_version)
{
    VmbcConfig cfg = { .max_version = max_version };

    return sim_new_cfg(&cfg);
}

void sim_free(SimGuest *sg)
{
    sim_check(sg);
    sim_fini(sg);
    g_free(sg);
}

void sim_check(SimGuest *sg)
{
    sim_check_at(sg, "a step");
}

/* ---- host -> guest ------------------------------------------------------- */

uint32_t sim_inbox_len(SimGuest *sg)
{
    return g_queue_get_length(&sg->inbox);
}

SimMsg *sim_expect(SimGuest *sg, uint32_t type)
{
    SimMsg *m = sim_pop(sg);

    ck_assert_msg(m != NULL, "expected %s, inbox empty", vmbc_msg_name(type));
    ck_assert_msg(m->hdr.msgtype == type, "expected %s, got %s",
                  vmbc_msg_name(type), vmbc_msg_name(m->hdr.msgtype));
    return m;
}

void sim_expect_none(SimGuest *sg)
{
    SimMsg *m = g_queue_peek_head(&sg->inbox);

    ck_assert_msg(m == NULL, "unexpected %s",
                  m ? vmbc_msg_name(m->hdr.msgtype) : "");
}

/* Linux's minimum payload sizes per message type it handles. */
static uint32_t linux_min_len(uint32_t type)
{
    switch (type) {
    case VMBW_MSG_OFFERCHANNEL: return 196;
    case VMBW_MSG_RESCIND_CHANNELOFFER: return 12;
    case VMBW_MSG_ALLOFFERS_DELIVERED: return 0;
    case VMBW_MSG_OPENCHANNEL_RESULT: return 20;
    case VMBW_MSG_GPADL_CREATED: return 20;
    case VMBW_MSG_GPADL_TORNDOWN: return 12;
    case VMBW_MSG_VERSION_RESPONSE: return 16;
    case VMBW_MSG_UNLOAD_RESPONSE: return 0;
    case VMBW_MSG_MODIFYCHANNEL_RESPONSE: return 16;
    default: return 0;
    }
}

void sim_apply(SimGuest *sg, const SimMsg *m)
{
    uint32_t type = m->hdr.msgtype;

    /* Every host message must satisfy Linux's size table. */
    ck_assert_uint_ge(m->len, linux_min_len(type));
    ck_assert_uint_eq(m->sint, VMBW_MESSAGE_SINT);
    switch (type) {
    case VMBW_MSG_OFFERCHANNEL: {
        const VmbWireOfferChannel *o = (const void *)m->data;
        uint32_t relid = o->child_relid;

        ck_assert(relid > 0 && relid < VMBW_MAX_RELIDS);
        ck_assert_msg(!sg->chans[relid].present,
                      "relid %u offered while still in use", relid);
        ck_assert_uint_eq(o->connection_id, VMBC_CHAN_CONN_ID_BASE + relid);
        memset(&sg->chans[relid], 0, sizeof(SimChan));
        sg->chans[relid].present = true;
        sg->chans[relid].offer = *o;
        if (o->sub_channel_index || (o->chn_flags & 0x2000)) {
            sg->nr_chan_close_on_suspend++;
        }
        break;
    }
    case VMBW_MSG_RESCIND_CHANNELOFFER: {
        const VmbWireRelid *r = (const void *)m->data;

        ck_assert(sg->chans[r->child_relid].present);
        sg->chans[r->child_relid].rescinded = true;
        if (sg->chans[r->child_relid].offer.sub_channel_index ||
            (sg->chans[r->child_relid].offer.chn_flags & 0x2000)) {
            sg->nr_chan_close_on_suspend--;
        }
        break;
    }
    case VMBW_MSG_VERSION_RESPONSE: {
        const VmbWireVersionResponse *v = (const void *)m->data;

        /* Linux reads 16 bytes; the model also notes the 6.0 field. */
        sg->granted_features = 0;
        if (m->len >= sizeof(VmbWireVersionResponse2)) {
            sg->granted_features =
                ((const VmbWireVersionResponse2 *)m->data)->supported_features;
        }
        if (v->version_supported) {
            sg->conn_state = 2;
            if (sg->version >= VMBW_VERSION_WIN10_RS3_1) {
                sg->msg_conn_id = v->msg_conn_id;
            }
        }
        break;
    }
    case VMBW_MSG_UNLOAD_RESPONSE:
        sg->conn_state = 0;
        break;
    default:
        break;
    }
}

void sim_drain(SimGuest *sg)
{
    SimMsg *m;

    while ((m = sim_pop(sg))) {
        sim_apply(sg, m);
        g_free(m);
    }
}

/* ---- Linux-like helpers ------------------------------------------------- */

uint32_t sim_initiate(SimGuest *sg, uint32_t version, uint32_t vcpu,
                      bool with_pages)
{
    return sim_initiate_pages(sg, version, vcpu,
                              with_pages ? SIM_MON_PAGE1 : 0,
                              with_pages ? SIM_MON_PAGE2 : 0, SIM_INT_PAGE);
}

uint32_t sim_linux_connect_from(SimGuest *sg, uint32_t top, bool try_old)
{
    static const uint32_t walk[] = {
        VMBW_VERSION_COPPER,
        VMBW_VERSION_IRON, VMBW_VERSION_WIN10_RS5, VMBW_VERSION_WIN10_RS4,
        VMBW_VERSION_WIN10_RS3_1, VMBW_VERSION_WIN10_RS3_0,
        VMBW_VERSION_WIN10, VMBW_VERSION_WIN8_1, VMBW_VERSION_WIN8,
        VMBW_VERSION_WIN7, VMBW_VERSION_WS2008,
    };
    size_t n = try_old ? G_N_ELEMENTS(walk) : G_N_ELEMENTS(walk) - 2;

    for (size_t i = 0; i < n; i++) {
        uint32_t st;

        if (walk[i] > top) {
            continue;
        }
        st = sim_initiate(sg, walk[i], 0, true);
        SimMsg *m;

        if (st == VMBW_HV_STATUS_INVALID_CONNECTION_ID) {
            ck_assert_uint_ge(walk[i], VMBW_VERSION_WIN10_RS3_1);
            sim_expect_none(sg);
            continue;
        }
        ck_assert_uint_eq(st, 0);
        m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
        sim_apply(sg, m);
        g_free(m);
        if (sg->conn_state == 2) {
            return walk[i];
        }
    }
    sg->conn_state = 0;
    return 0;
}

uint32_t sim_linux_connect(SimGuest *sg, bool try_old)
{
    return sim_linux_connect_from(sg, VMBW_VERSION_IRON, try_old);
}

void sim_connect(SimGuest *sg, uint32_t version)
{
    SimMsg *m;
    const VmbWireVersionResponse *v;

    ck_assert_uint_eq(sim_initiate(sg, version, 0, true), 0);
    m = sim_expect(sg, VMBW_MSG_VERSION_RESPONSE);
    v = (const void *)m->data;
    ck_assert_uint_eq(v->version_supported, 1);
    if (version >= VMBW_VERSION_COPPER) {
        ck_assert_uint_eq(m->len, sizeof(VmbWireVersionResponse2));
        ck_assert_uint_eq(((const VmbWireVersionResponse2 *)
                           m->data)->supported_features, 0);
    } else {
        ck_assert_uint_eq(m->len, sizeof(VmbWireVersionResponse));
    }
    ck_assert_uint_eq(v->msg_conn_id,
                      version >= VMBW_VERSION_WIN10_RS3_1 ? 4 : 1);
    sim_apply(sg, m);
    g_free(m);
}

int sim_request_offers(SimGuest *sg)
{
    VmbWireHdr h;
    SimMsg *m;
    int n = 0;

    sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
    ck_assert_uint_eq(sim_send(sg, &h, sizeof(h)), 0);
    while ((m = sim_pop(sg))) {
        uint32_t t = m->hdr.msgtype;

        sim_apply(sg, m);
        g_free(m);
        if (t == VMBW_MSG_ALLOFFERS_DELIVERED) {
            return n;
        }
        ck_assert_uint_eq(t, VMBW_MSG_OFFERCHANNEL);
        n++;
    }
    ck_abort_msg("no ALLOFFERS_DELIVERED");
    return -1;
}

uint32_t sim_gpadl(SimGuest *sg, uint32_t relid, uint32_t npages,
                   uint32_t *handle)
{
    uint32_t h = sg->next_gpadl_handle++;
    SimMsg *m;
    const VmbWireGpadlCreated *c;
    uint32_t st;

    ck_assert_uint_eq(sim_gpadl_post(sg, relid, h, npages, 0x1000 + h), 0);
    m = sim_expect(sg, VMBW_MSG_GPADL_CREATED);
    c = (const void *)m->data;
    ck_assert_uint_eq(c->child_relid, relid);
    ck_assert_uint_eq(c->gpadl, h);
    st = c->creation_status;
    g_free(m);
    if (handle) {
        *handle = h;
    }
    return st;
}

uint32_t sim_open(SimGuest *sg, uint32_t relid, uint32_t gpadl,
                  uint32_t split, uint32_t vp)
{
    SimMsg *m;
    const VmbWireOpenResult *r;
    uint32_t st;

    ck_assert_uint_eq(sim_open_post(sg, relid, gpadl, split, vp), 0);
    m = sim_expect(sg, VMBW_MSG_OPENCHANNEL_RESULT);
    r = (const void *)m->data;
    ck_assert_uint_eq(r->child_relid, relid);
    ck_assert_uint_eq(r->openid, relid);
    st = r->status;
    g_free(m);
    if (!st && relid < VMBW_MAX_RELIDS) {
        sg->chans[relid].open = true;
        sg->chans[relid].ring_gpadl = gpadl;
    }
    return st;
}

void sim_open_channel(SimGuest *sg, uint32_t relid)
{
    uint32_t h;

    ck_assert_uint_eq(sim_gpadl(sg, relid, 8, &h), 0);
    ck_assert_uint_eq(sim_open(sg, relid, h, 4, 0), 0);
}

uint32_t sim_teardown(SimGuest *sg, uint32_t relid, uint32_t gpadl)
{
    VmbWireGpadlTeardown t;

    memset(&t, 0, sizeof(t));
    sim_hdr(&t, VMBW_MSG_GPADL_TEARDOWN);
    t.child_relid = relid;
    t.gpadl = gpadl;
    return sim_send(sg, &t, sizeof(t));
}

void sim_close_channel(SimGuest *sg, uint32_t relid)
{
    VmbWireRelid c;
    SimMsg *m;

    memset(&c, 0, sizeof(c));
    sim_hdr(&c, VMBW_MSG_CLOSECHANNEL);
    c.child_relid = relid;
    ck_assert_uint_eq(sim_send(sg, &c, sizeof(c)), 0);
    sg->chans[relid].open = false;
    /* A subchannel / hv_sock channel gets rescinded right away. */
    m = g_queue_peek_head(&sg->inbox);
    if (m && m->hdr.msgtype == VMBW_MSG_RESCIND_CHANNELOFFER) {
        sim_apply(sg, m);
        g_free(sim_pop(sg));
    }
    if (!sg->chans[relid].rescinded) {
        ck_assert_uint_eq(sim_teardown(sg, relid, sg->chans[relid].ring_gpadl),
                          0);
        m = sim_expect(sg, VMBW_MSG_GPADL_TORNDOWN);
        ck_assert_uint_eq(((VmbWireGpadlTorndown *)m->data)->gpadl,
                          sg->chans[relid].ring_gpadl);
        g_free(m);
    }
    sg->chans[relid].ring_gpadl = 0;
}

void sim_relid_released(SimGuest *sg, uint32_t relid)
{
    VmbWireRelid c;

    memset(&c, 0, sizeof(c));
    sim_hdr(&c, VMBW_MSG_RELID_RELEASED);
    c.child_relid = relid;
    ck_assert_uint_eq(sim_send(sg, &c, sizeof(c)), 0);
    memset(&sg->chans[relid], 0, sizeof(SimChan));
}

void sim_unload(SimGuest *sg)
{
    VmbWireHdr h;
    SimMsg *m;

    sg->conn_state = 0;         /* Linux: xchg to DISCONNECTED first */
    sim_hdr(&h, VMBW_MSG_UNLOAD);
    ck_assert_uint_eq(sim_send(sg, &h, sizeof(h)), 0);
    m = sim_expect(sg, VMBW_MSG_UNLOAD_RESPONSE);
    ck_assert_uint_eq(m->vp, 0);
    g_free(m);
    sim_expect_none(sg);
}

void sim_kexec(SimGuest *sg)
{
    memset(sg->chans, 0, sizeof(sg->chans));
    sg->next_gpadl_handle = SIM_FIRST_GPADL;
    sg->msg_conn_id = 0;
    sg->conn_state = 0;
    sg->version = 0;
    sg->nr_chan_close_on_suspend = 0;
    sg->nr_chan_fixup_on_resume = 0;
}

void sim_suspend(SimGuest *sg)
{
    /* 1. drivers close their channels (subchannels first) */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
            SimChan *c = &sg->chans[r];
            bool sub = c->offer.sub_channel_index != 0 ||
                       (c->offer.chn_flags & 0x2000);

            if (c->present && c->open && !c->rescinded &&
                (pass == 0) == sub) {
                sim_close_channel(sg, r);
            }
        }
    }
    sim_drain(sg);
    /* 2. released relids of rescinded channels (the guest's RELID) */
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        if (sg->chans[r].present && sg->chans[r].rescinded) {
            sim_relid_released(sg, r);
        }
    }
    ck_assert_int_eq(sg->nr_chan_close_on_suspend, 0);
    /* 3. primaries: remember instance, invalidate relid */
    sg->n_suspended = 0;
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        SimChan *c = &sg->chans[r];

        if (c->present && !(c->offer.chn_flags & 0x2000) &&
            !c->offer.sub_channel_index) {
            sg->suspended[sg->n_suspended] = c->offer.if_instance;
            sg->suspended_relid[sg->n_suspended++] = r;
            sg->nr_chan_fixup_on_resume++;
        }
    }
    memset(sg->chans, 0, sizeof(sg->chans));
    sim_unload(sg);
}

void sim_resume(SimGuest *sg)
{
    uint32_t version = sg->version;

    sim_connect(sg, version);
    sim_request_offers(sg);
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        SimChan *c = &sg->chans[r];

        if (!c->present || c->offer.sub_channel_index) {
            continue;
        }
        for (uint32_t i = 0; i < sg->n_suspended; i++) {
            if (!memcmp(&sg->suspended[i], &c->offer.if_instance, 16)) {
                ck_assert_uint_eq(sg->suspended_relid[i], r);
                sg->nr_chan_fixup_on_resume--;
            }
        }
    }
    ck_assert_int_eq(sg->nr_chan_fixup_on_resume, 0);
}

void sim_advance(SimGuest *sg, int64_t ns)
{
    int64_t end = sg->now + ns;

    for (;;) {
        int64_t next = end;
        int which = -1;

        for (int t = 0; t < VMBC_TIMER_COUNT; t++) {
            if (sg->timer_armed[t] && sg->timer_expire[t] <= next) {
                next = sg->timer_expire[t];
                which = t;
            }
        }
        if (which < 0) {
            break;
        }
        sg->now = MAX(sg->now, next);
        sg->timer_armed[which] = false;
        vmbc_timer_fired(sg->core, which);
        sim_check(sg);
    }
    sg->now = end;
}

VmbcOfferParams sim_params(uint32_t cls, uint32_t inst, uint16_t sub)
{
    VmbcOfferParams p;

    memset(&p, 0, sizeof(p));
    memcpy(p.class_id.b, &cls, 4);
    p.class_id.b[15] = 0xc1;
    memcpy(p.instance_id.b, &inst, 4);
    p.instance_id.b[15] = 0x1e;
    p.subchannel_index = sub;
    return p;
}

VmbcChannel *sim_offer(SimGuest *sg, uint32_t cls, uint32_t inst,
                       uint16_t sub)
{
    VmbcOfferParams p = sim_params(cls, inst, sub);
    GError *err = NULL;
    VmbcChannel *c = vmbc_offer(sg->core, &p, &err);

    ck_assert_msg(c, "offer: %s", err ? err->message : "?");
    sim_check(sg);
    return c;
}

int sim_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

