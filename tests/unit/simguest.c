/*
 * Simulated Linux VMBus guest driving the VMBus core in unit tests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The guest side follows Linux's drivers/hv (vmbus_connection fields,
 * version walk, GPADL handle numbering, suspend/resume counters) so the
 * scenarios exercise the core the way a Debian kernel does.  The ops
 * record every effect the core produces.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simguest.h"

/* ---- ops ---------------------------------------------------------------- */

static int op_post_msg(void *opaque, uint32_t vp, uint32_t sint,
                       uint32_t msg_type, const void *payload, size_t len)
{
    SimGuest *sg = opaque;
    SimMsg *m;

    ck_assert_uint_eq(msg_type, 1);
    ck_assert_uint_le(len, VMBW_MAX_PAYLOAD);
    ck_assert_uint_ge(len, 8);
    if (sg->slot_busy) {
        return -EAGAIN;
    }
    if (sg->post_error) {
        return sg->post_error;
    }
    m = g_new0(SimMsg, 1);
    m->vp = vp;
    m->sint = sint;
    m->len = len;
    memcpy(m->data, payload, len);
    g_queue_push_tail(&sg->inbox, m);
    if (sg->one_at_a_time) {
        sg->slot_busy = true;
    }
    return 0;
}

static void op_signal_event(void *opaque, uint32_t vp, uint32_t sint,
                            uint32_t flag)
{
    SimGuest *sg = opaque;
    SimEvent e = { vp, sint, flag };

    ck_assert_uint_lt(vp, sg->nvps);
    g_array_append_val(sg->events, e);
}

static int op_read_gpa(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    SimGuest *sg = opaque;

    if (gpa >= SIM_MEM_SIZE || len > SIM_MEM_SIZE - gpa) {
        return -EFAULT;
    }
    memcpy(buf, sg->mem + gpa, len);
    return 0;
}

static int op_write_gpa(void *opaque, uint64_t gpa, const void *buf,
                        size_t len)
{
    SimGuest *sg = opaque;

    if (gpa >= SIM_MEM_SIZE || len > SIM_MEM_SIZE - gpa) {
        return -EFAULT;
    }
    memcpy(sg->mem + gpa, buf, len);
    return 0;
}

static int op_atomic32(void *opaque, uint64_t gpa, VmbcAtomicOp op,
                       uint32_t val, uint32_t *old)
{
    SimGuest *sg = opaque;
    uint32_t cur;

    if (gpa >= SIM_MEM_SIZE - 4 || (gpa & 3)) {
        return -EFAULT;
    }
    memcpy(&cur, sg->mem + gpa, 4);
    *old = cur;
    cur = op == VMBC_ATOMIC_OR ? (cur | val) : val;
    memcpy(sg->mem + gpa, &cur, 4);
    return 0;
}

static void op_timer_mod(void *opaque, VmbcTimer t, int64_t expire)
{
    SimGuest *sg = opaque;

    ck_assert_int_lt(t, VMBC_TIMER_COUNT);
    sg->timer_armed[t] = true;
    sg->timer_expire[t] = expire;
}

static void op_timer_del(void *opaque, VmbcTimer t)
{
    SimGuest *sg = opaque;

    sg->timer_armed[t] = false;
}

static int64_t op_now_ns(void *opaque)
{
    return ((SimGuest *)opaque)->now;
}

static bool op_vp_exists(void *opaque, uint32_t vp)
{
    return vp < ((SimGuest *)opaque)->nvps;
}

static int op_chan_open(void *opaque, VmbcChannel *chan)
{
    SimGuest *sg = opaque;

    ck_assert(vmbc_chan_ring_gpadl(chan) != NULL);
    sg->n_open++;
    return sg->open_status;
}

static void op_chan_close(void *opaque, VmbcChannel *chan)
{
    ((SimGuest *)opaque)->n_close++;
}

static void op_chan_notify(void *opaque, VmbcChannel *chan)
{
    SimGuest *sg = opaque;

    sg->n_notify++;
    sg->last_notify_relid = vmbc_chan_relid(chan);
}

static void op_chan_released(void *opaque, VmbcChannel *chan)
{
    SimGuest *sg = opaque;
    uint32_t relid = vmbc_chan_relid(chan);

    sg->n_released++;
    g_array_append_val(sg->released, relid);
}

static uint32_t op_tl_connect(void *opaque, const VmbWireGuid *ep,
                              const VmbWireGuid *svc, void **chan_opaque)
{
    SimGuest *sg = opaque;

    sg->n_tl++;
    *chan_opaque = sg->tl_dev;
    return sg->tl_status;
}

static void op_conn_state_changed(void *opaque)
{
    ((SimGuest *)opaque)->n_conn_changed++;
}

static void G_GNUC_PRINTF(3, 4)
op_trace(void *opaque, const char *event, const char *fmt, ...)
{
    va_list ap;

    if (!getenv("VMBC_TRACE")) {
        return;
    }
    va_start(ap, fmt);
    fprintf(stderr, "  [%s] ", event);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void G_GNUC_PRINTF(3, 4)
op_guest_error(void *opaque, VmbcFault fault, const char *fmt, ...)
{
    SimGuest *sg = opaque;
    va_list ap;

    sg->n_guest_errors++;
    va_start(ap, fmt);
    vsnprintf(sg->last_error, sizeof(sg->last_error), fmt, ap);
    va_end(ap);
}

static const VmbcOps sim_ops = {
    .post_msg = op_post_msg,
    .signal_event = op_signal_event,
    .read_gpa = op_read_gpa,
    .write_gpa = op_write_gpa,
    .atomic32 = op_atomic32,
    .timer_mod = op_timer_mod,
    .timer_del = op_timer_del,
    .now_ns = op_now_ns,
    .vp_exists = op_vp_exists,
    .chan_open = op_chan_open,
    .chan_close = op_chan_close,
    .chan_notify = op_chan_notify,
    .chan_released = op_chan_released,
    .tl_connect = op_tl_connect,
    .conn_state_changed = op_conn_state_changed,
    .trace = op_trace,
    .guest_error = op_guest_error,
};

/* ---- life cycle -------------------------------------------------------- */

SimGuest *sim_new_cfg(const VmbcConfig *cfg)
{
    SimGuest *sg = g_new0(SimGuest, 1);
    GError *err = NULL;

    sg->cfg = *cfg;
    sg->ops = sim_ops;          /* per guest, so a test can swap hooks */
    sg->cfg.ops = &sg->ops;
    sg->cfg.opaque = sg;
    sg->nvps = 4;
    g_queue_init(&sg->inbox);
    sg->events = g_array_new(false, false, sizeof(SimEvent));
    sg->released = g_array_new(false, false, sizeof(uint32_t));
    sg->mem = g_malloc0(SIM_MEM_SIZE);
    sg->next_gpadl_handle = SIM_FIRST_GPADL;
    sg->core = vmbc_new(&sg->cfg, &err);
    ck_assert_msg(sg->core, "vmbc_new: %s", err ? err->message : "?");
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
    SimMsg *m;

    sim_check(sg);
    vmbc_free(sg->core);
    while ((m = g_queue_pop_head(&sg->inbox))) {
        g_free(m);
    }
    g_array_free(sg->events, true);
    g_array_free(sg->released, true);
    g_free(sg->mem);
    g_free(sg);
}

void sim_check(SimGuest *sg)
{
    const char *why = NULL;

    ck_assert_msg(vmbc_check_invariants(sg->core, &why), "invariant: %s",
                  why ? why : "?");
}

/* ---- traffic ------------------------------------------------------------- */

uint32_t sim_post(SimGuest *sg, uint32_t conn_id, const void *msg,
                  uint32_t len)
{
    uint32_t st = vmbc_post_message_check(sg->core, conn_id, 1, len);

    if (st == VMBW_HV_STATUS_SUCCESS) {
        vmbc_handle_message(sg->core, conn_id, msg, len);
    }
    sim_check(sg);
    return st;
}

uint32_t sim_send(SimGuest *sg, const void *msg, uint32_t len)
{
    return sim_post(sg, sg->msg_conn_id ? sg->msg_conn_id : 1, msg, len);
}

uint32_t sim_signal(SimGuest *sg, uint32_t conn_id)
{
    uint32_t st = vmbc_signal_event(sg->core, conn_id);

    sim_check(sg);
    return st;
}

uint32_t sim_inbox_len(SimGuest *sg)
{
    return g_queue_get_length(&sg->inbox);
}

SimMsg *sim_pop(SimGuest *sg)
{
    return g_queue_pop_head(&sg->inbox);
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

void sim_free_slot(SimGuest *sg)
{
    sg->slot_busy = false;
    vmbc_msg_slot_freed(sg->core);
    sim_check(sg);
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

void sim_hdr(void *msg, uint32_t type)
{
    VmbWireHdr *h = msg;

    h->msgtype = type;
    h->padding = 0;
}

uint32_t sim_initiate(SimGuest *sg, uint32_t version, uint32_t vcpu,
                      bool with_pages)
{
    VmbWireInitiateContact ic;
    uint32_t conn = version >= VMBW_VERSION_WIN10_RS3_1 ? 4 : 1;

    memset(&ic, 0, sizeof(ic));
    sim_hdr(&ic, VMBW_MSG_INITIATE_CONTACT);
    ic.vmbus_version_requested = version;
    ic.target_vcpu = vcpu;
    if (version >= VMBW_VERSION_WIN10_RS3_1) {
        ic.msg_sint = VMBW_MESSAGE_SINT;
    } else {
        ic.interrupt_page = SIM_INT_PAGE;
    }
    if (version >= VMBW_VERSION_COPPER) {
        ic.feature_flags = sg->ask_features;
    }
    if (with_pages) {
        ic.monitor_page1 = SIM_MON_PAGE1;
        ic.monitor_page2 = SIM_MON_PAGE2;
    }
    sg->version = version;
    sg->msg_conn_id = conn;
    sg->conn_state = 1;
    return sim_post(sg, conn, &ic, sizeof(ic));
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

uint32_t sim_gpadl_post(SimGuest *sg, uint32_t relid, uint32_t handle,
                        uint32_t npages, uint64_t base_pfn)
{
    union {
        VmbWireGpadlHeader h;
        VmbWireGpadlBody b;
        uint8_t raw[VMBW_MAX_PAYLOAD];
    } u;
    uint32_t first = MIN(npages, VMBW_GPADL_HEADER_MAX_PFNS);
    uint32_t done, st;

    memset(&u, 0, sizeof(u));
    sim_hdr(&u, VMBW_MSG_GPADL_HEADER);
    u.h.child_relid = relid;
    u.h.gpadl = handle;
    /* Linux: u16, truncated for large buffers. */
    u.h.range_buflen = (uint16_t)(8 + 8 * npages);
    u.h.rangecount = 1;
    u.h.range0.byte_count = npages * VMBW_PAGE_SIZE;
    u.h.range0.byte_offset = 0;
    for (uint32_t i = 0; i < first; i++) {
        u.h.pfn[i] = base_pfn + i;
    }
    st = sim_send(sg, &u, 28 + 8 * first);
    if (st) {
        return st;
    }
    for (done = first; done < npages;) {
        uint32_t n = MIN(npages - done, VMBW_GPADL_BODY_MAX_PFNS);

        memset(&u, 0, sizeof(u));
        sim_hdr(&u, VMBW_MSG_GPADL_BODY);
        u.b.gpadl = handle;
        for (uint32_t i = 0; i < n; i++) {
            u.b.pfn[i] = base_pfn + done + i;
        }
        st = sim_send(sg, &u, 16 + 8 * n);
        if (st) {
            return st;
        }
        done += n;
    }
    return 0;
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
    VmbWireOpenChannel o;
    SimMsg *m;
    const VmbWireOpenResult *r;
    uint32_t st;

    memset(&o, 0, sizeof(o));
    sim_hdr(&o, VMBW_MSG_OPENCHANNEL);
    o.child_relid = relid;
    o.openid = relid;
    o.ringbuffer_gpadlhandle = gpadl;
    o.target_vp = vp;
    o.downstream_ringbuffer_pageoffset = split;
    ck_assert_uint_eq(sim_send(sg, &o, sizeof(o)), 0);
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

uint32_t sim_nchan(SimGuest *sg)
{
    VmbcConnInfo ci;

    vmbc_conn_info(sg->core, &ci);
    return ci.n_channels;
}
