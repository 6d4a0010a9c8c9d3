/*
 * Simulated VM around the VMBus core: fake host ops, fake guest RAM, raw
 * guest messages
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simvm.h"

void (*sim_fail_hook)(const char *msg);

void sim_fail(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (sim_fail_hook) {
        sim_fail_hook(buf);
    }
    fprintf(stderr, "\n*** FUZZ FINDING: %s\n", buf);
    abort();
}

void sim_check_at(SimGuest *sg, const char *where)
{
    const char *why = NULL;

    if (!vmbc_check_invariants(sg->core, &why)) {
        sim_fail("invariant violated after %s: %s", where, why ? why : "?");
    }
}

bool sim_chance(SimGuest *sg, uint8_t pct)
{
    uint64_t x = sg->rng;

    if (!pct) {
        return false;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sg->rng = x;
    return (uint32_t)(x >> 11) % 100 < pct;
}

/* ---- ops ---------------------------------------------------------------- */

/* Size of a host->guest message of this type (0: not one the host sends). */
static size_t host_msg_size(uint32_t type)
{
    switch (type) {
    case VMBW_MSG_OFFERCHANNEL: return sizeof(VmbWireOfferChannel);
    case VMBW_MSG_RESCIND_CHANNELOFFER: return sizeof(VmbWireRelid);
    case VMBW_MSG_ALLOFFERS_DELIVERED: return sizeof(VmbWireHdr);
    case VMBW_MSG_OPENCHANNEL_RESULT: return sizeof(VmbWireOpenResult);
    case VMBW_MSG_GPADL_CREATED: return sizeof(VmbWireGpadlCreated);
    case VMBW_MSG_GPADL_TORNDOWN: return sizeof(VmbWireGpadlTorndown);
    case VMBW_MSG_VERSION_RESPONSE: return sizeof(VmbWireVersionResponse);
    case VMBW_MSG_UNLOAD_RESPONSE: return sizeof(VmbWireHdr);
    case VMBW_MSG_TL_CONNECT_RESULT: return sizeof(VmbWireTlConnectResult);
    case VMBW_MSG_MODIFYCHANNEL_RESPONSE:
        return sizeof(VmbWireModifyChannelResponse);
    default: return 0;
    }
}

/* Is len the size of a host->guest message of this type? */
static bool host_msg_size_ok(uint32_t type, size_t len)
{
    if (type == VMBW_MSG_VERSION_RESPONSE) {
        /* the 20-byte form answers an accepted 6.0 contact */
        return len == sizeof(VmbWireVersionResponse) ||
               len == sizeof(VmbWireVersionResponse2);
    }
    return host_msg_size(type) == len;
}

static int op_post_msg(void *opaque, uint32_t vp, uint32_t sint,
                       uint32_t msg_type, const void *payload, size_t len)
{
    SimGuest *sg = opaque;
    VmbWireHdr h;
    SimMsg *m;
    uint32_t type;

    if (msg_type != VMBW_HV_MESSAGE_TYPE || len < sizeof(h) ||
        len > VMBW_MAX_PAYLOAD || !payload) {
        sim_fail("post_msg: type %u len %zu", msg_type, len);
    }
    memcpy(&h, payload, sizeof(h));
    type = GUINT32_FROM_LE(h.msgtype);
    if (type >= VMBW_MSG_COUNT || !host_msg_size_ok(type, len)) {
        sim_fail("post_msg: host message type %u len %zu", type, len);
    }
    if (type == VMBW_MSG_VERSION_RESPONSE &&
        len == sizeof(VmbWireVersionResponse2)) {
        VmbWireVersionResponse2 r;

        memcpy(&r, payload, sizeof(r));
        if (!r.base.version_supported ||
            (GUINT32_FROM_LE(r.supported_features) &
             ~VMBC_GRANTABLE_FEATURES)) {
            sim_fail("VERSION_RESPONSE 6.0: supported %u features 0x%x",
                     r.base.version_supported,
                     GUINT32_FROM_LE(r.supported_features));
        }
    }
    if (vp >= sg->nvps || sint > 15) {
        sim_fail("post_msg: %s to vp %u sint %u", vmbc_msg_name(type), vp,
                 sint);
    }
    if (type == VMBW_MSG_OFFERCHANNEL) {
        VmbWireOfferChannel o;

        memcpy(&o, payload, sizeof(o));
        if (o.child_relid == 0 || o.child_relid >= VMBW_MAX_RELIDS ||
            o.connection_id != VMBC_CHAN_CONN_ID_BASE + o.child_relid) {
            sim_fail("OFFERCHANNEL relid %u conn id 0x%x", o.child_relid,
                     o.connection_id);
        }
        if (GUINT16_FROM_LE(o.chn_flags) & VMBC_OFFER_FLAGS_FORBIDDEN) {
            sim_fail("OFFERCHANNEL relid %u confidential flags 0x%x",
                     o.child_relid, GUINT16_FROM_LE(o.chn_flags));
        }
    }
    if (sg->slot_busy) {
        return -EAGAIN;
    }
    if (sg->post_error) {
        return sg->post_error;
    }
    if (sim_chance(sg, sg->drop_pct)) {
        return -ENODEV;
    }
    m = g_new0(SimMsg, 1);
    m->vp = vp;
    m->sint = sint;
    m->len = len;
    memcpy(m->data, payload, len);
    g_queue_push_tail(&sg->inbox, m);
    if (sg->keep_max && g_queue_get_length(&sg->inbox) > sg->keep_max) {
        g_free(g_queue_pop_head(&sg->inbox));
    }
    sg->n_posted++;
    sg->n_by_type[type]++;
    if (sg->one_at_a_time || sim_chance(sg, sg->busy_pct)) {
        sg->slot_busy = true;
    }
    return 0;
}

static void op_signal_event(void *opaque, uint32_t vp, uint32_t sint,
                            uint32_t flag)
{
    SimGuest *sg = opaque;
    SimEvent e = { vp, sint, flag };

    if (vp >= sg->nvps || sint > 15 || flag >= VMBW_MAX_RELIDS) {
        sim_fail("signal_event vp %u sint %u flag %u", vp, sint, flag);
    }
    sg->n_events++;
    g_array_append_val(sg->events, e);
    if (sg->keep_max && sg->events->len > sg->keep_max) {
        g_array_remove_index(sg->events, 0);
    }
}

/* Is [gpa, gpa+len) inside one of the guest's pages for the core? */
static bool write_allowed(SimGuest *sg, uint64_t gpa, size_t len)
{
    VmbcConnInfo ci;
    uint64_t pages[3];

    if (!sg->check_writes) {
        return true;
    }
    vmbc_conn_info(sg->core, &ci);
    pages[0] = ci.monitor_page1;
    pages[1] = ci.monitor_page2;
    pages[2] = ci.interrupt_page;
    for (int i = 0; i < 3; i++) {
        if (pages[i] && gpa >= pages[i] && len <= VMBW_PAGE_SIZE &&
            gpa - pages[i] <= VMBW_PAGE_SIZE - len) {
            return true;
        }
    }
    return false;
}

static bool mem_range_ok(SimGuest *sg, uint64_t gpa, size_t len)
{
    return gpa < sg->mem_size && len <= sg->mem_size - gpa;
}

static int op_read_gpa(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    SimGuest *sg = opaque;

    if (!mem_range_ok(sg, gpa, len) || sim_chance(sg, sg->fault_pct)) {
        return -EFAULT;
    }
    memcpy(buf, sg->mem + gpa, len);
    return 0;
}

static int op_write_gpa(void *opaque, uint64_t gpa, const void *buf,
                        size_t len)
{
    SimGuest *sg = opaque;

    if (!write_allowed(sg, gpa, len)) {
        sim_fail("write_gpa 0x%" G_GINT64_MODIFIER "x+%zu outside the "
                 "guest's pages", gpa, len);
    }
    if (!mem_range_ok(sg, gpa, len) || sim_chance(sg, sg->fault_pct)) {
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

    if ((gpa & 3) || !write_allowed(sg, gpa, 4)) {
        sim_fail("atomic32 at 0x%" G_GINT64_MODIFIER "x", gpa);
    }
    if (op != VMBC_ATOMIC_OR && op != VMBC_ATOMIC_XCHG) {
        sim_fail("atomic32 op %d", op);
    }
    if (!mem_range_ok(sg, gpa, 4) || sim_chance(sg, sg->fault_pct)) {
        return -EFAULT;
    }
    memcpy(&cur, sg->mem + gpa, 4);
    *old = GUINT32_FROM_LE(cur);
    cur = GUINT32_TO_LE(op == VMBC_ATOMIC_OR ? (*old | val) : val);
    memcpy(sg->mem + gpa, &cur, 4);
    return 0;
}

static void op_timer_mod(void *opaque, VmbcTimer t, int64_t expire)
{
    SimGuest *sg = opaque;

    if ((unsigned)t >= VMBC_TIMER_COUNT) {
        sim_fail("timer_mod %d", t);
    }
    if (expire < sg->now) {
        sim_fail("timer_mod into the past");
    }
    sg->timer_armed[t] = true;
    sg->timer_expire[t] = expire;
}

static void op_timer_del(void *opaque, VmbcTimer t)
{
    SimGuest *sg = opaque;

    if ((unsigned)t >= VMBC_TIMER_COUNT) {
        sim_fail("timer_del %d", t);
    }
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
    VmbcGpadl *g = vmbc_chan_ring_gpadl(chan);
    uint32_t relid = vmbc_chan_relid(chan);

    if (!g || !vmbc_gpadl_complete(g) || vmbc_chan_state(chan) !=
        VMBC_CHAN_OPEN || vmbc_chan_target_vp(chan) >= sg->nvps ||
        vmbc_chan_ring_split(chan) < 2 ||
        vmbc_chan_ring_split(chan) + 2 > vmbc_gpadl_pfn_count(g)) {
        sim_fail("chan_open relid %u with a bad ring", relid);
    }
    sg->n_open++;
    if (sg->open_status) {
        return sg->open_status;
    }
    if (sg->device_pins) {
        if (sg->pinned[relid]) {
            sim_fail("chan_open relid %u: already pinned", relid);
        }
        vmbc_gpadl_pin(g);
        sg->pinned[relid] = g;
    }
    return 0;
}

static void op_chan_close(void *opaque, VmbcChannel *chan)
{
    SimGuest *sg = opaque;
    uint32_t relid = vmbc_chan_relid(chan);

    if (vmbc_chan_state(chan) != VMBC_CHAN_OPEN) {
        sim_fail("chan_close relid %u not open", relid);
    }
    sg->n_close++;
    if (sg->pinned[relid]) {
        VmbcGpadl *g = sg->pinned[relid];

        sg->pinned[relid] = NULL;
        vmbc_gpadl_unpin(g);
    }
}

static void op_chan_notify(void *opaque, VmbcChannel *chan)
{
    SimGuest *sg = opaque;

    if (vmbc_chan_state(chan) != VMBC_CHAN_OPEN) {
        sim_fail("chan_notify relid %u not open", vmbc_chan_relid(chan));
    }
    sg->n_notify++;
    sg->notified[vmbc_chan_relid(chan)]++;
    sg->last_notify_relid = vmbc_chan_relid(chan);
}

static void op_chan_released(void *opaque, VmbcChannel *chan)
{
    SimGuest *sg = opaque;
    uint32_t relid = vmbc_chan_relid(chan);
    VmbcOfferParams p = *vmbc_chan_params(chan);

    if (vmbc_chan_by_relid(sg->core, relid) == chan) {
        sim_fail("chan_released relid %u still registered", relid);
    }
    if (sg->pinned[relid]) {
        sim_fail("chan_released relid %u still pinned", relid);
    }
    sg->n_released++;
    g_array_append_val(sg->released, relid);
    if (sg->keep_max && sg->released->len > sg->keep_max) {
        g_array_remove_index(sg->released, 0);
    }
    if (sg->reoffer_subchannels && p.subchannel_index &&
        !(p.flags & VMBW_OFFER_FLAG_TLNPI_PROVIDER) &&
        sg->n_released % 4 == 1) {
        /* A device replacing its subchannel (allowed re-entry). */
        vmbc_offer(sg->core, &p, NULL);
    }
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
    static int on = -1;
    va_list ap;

    if (on < 0) {
        on = getenv("VMBC_TRACE") || getenv("FZ_TRACE");
    }
    if (!on) {
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

/* ---- life cycle ---------------------------------------------------------- */

void sim_init(SimGuest *sg, const VmbcConfig *cfg, size_t mem_size,
              bool atomic32)
{
    GError *err = NULL;

    memset(sg, 0, sizeof(*sg));
    sg->cfg = *cfg;
    sg->ops = sim_ops;
    if (!atomic32) {
        sg->ops.atomic32 = NULL;
    }
    sg->cfg.ops = &sg->ops;
    sg->cfg.opaque = sg;
    sg->nvps = 4;
    sg->mem_size = mem_size;
    sg->mem = g_malloc0(mem_size);
    sg->rng = 1;
    g_queue_init(&sg->inbox);
    sg->events = g_array_new(false, false, sizeof(SimEvent));
    sg->released = g_array_new(false, false, sizeof(uint32_t));
    sg->core = vmbc_new(&sg->cfg, &err);
    if (!sg->core) {
        sim_fail("vmbc_new: %s", err ? err->message : "?");
    }
}

void sim_fini(SimGuest *sg)
{
    SimMsg *m;

    vmbc_free(sg->core);
    sg->core = NULL;
    while ((m = g_queue_pop_head(&sg->inbox))) {
        g_free(m);
    }
    g_array_free(sg->events, true);
    g_array_free(sg->released, true);
    g_free(sg->mem);
    sg->mem = NULL;
}

/* ---- traffic ------------------------------------------------------------- */

uint32_t sim_post(SimGuest *sg, uint32_t conn_id, const void *msg,
                  uint32_t len)
{
    uint32_t st = vmbc_post_message_check(sg->core, conn_id,
                                          VMBW_HV_MESSAGE_TYPE, len);

    if (st == VMBW_HV_STATUS_SUCCESS) {
        vmbc_handle_message(sg->core, conn_id, msg, len);
    }
    if (sg->check_always) {
        sim_check_at(sg, "post");
    }
    return st;
}

uint32_t sim_send(SimGuest *sg, const void *msg, uint32_t len)
{
    return sim_post(sg, sg->msg_conn_id ? sg->msg_conn_id : 1, msg, len);
}

uint32_t sim_signal(SimGuest *sg, uint32_t conn_id)
{
    uint32_t st = vmbc_signal_event(sg->core, conn_id);

    if (sg->check_always) {
        sim_check_at(sg, "signal");
    }
    return st;
}

SimMsg *sim_pop(SimGuest *sg)
{
    return g_queue_pop_head(&sg->inbox);
}

const SimMsg *sim_last_msg(SimGuest *sg, uint32_t type)
{
    for (GList *l = sg->inbox.tail; l; l = l->prev) {
        const SimMsg *m = l->data;

        if (GUINT32_FROM_LE(m->hdr.msgtype) == type) {
            return m;
        }
    }
    return NULL;
}

void sim_free_slot(SimGuest *sg)
{
    sg->slot_busy = false;
    vmbc_msg_slot_freed(sg->core);
    if (sg->check_always) {
        sim_check_at(sg, "slot freed");
    }
}

uint32_t sim_nchan(SimGuest *sg)
{
    VmbcConnInfo ci;

    vmbc_conn_info(sg->core, &ci);
    return ci.n_channels;
}

/* ---- message builders ---------------------------------------------------- */

void sim_hdr(void *msg, uint32_t type)
{
    VmbWireHdr *h = msg;

    h->msgtype = type;
    h->padding = 0;
}

uint32_t sim_initiate_pages(SimGuest *sg, uint32_t version, uint32_t vcpu,
                            uint64_t mon1, uint64_t mon2, uint64_t int_page)
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
        ic.interrupt_page = int_page;
    }
    if (version >= VMBW_VERSION_COPPER) {
        ic.feature_flags = sg->ask_features;
    }
    ic.monitor_page1 = mon1;
    ic.monitor_page2 = mon2;
    sg->version = version;
    sg->msg_conn_id = conn;
    sg->conn_state = 1;
    return sim_post(sg, conn, &ic, sizeof(ic));
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

uint32_t sim_open_post(SimGuest *sg, uint32_t relid, uint32_t gpadl,
                       uint32_t split, uint32_t vp)
{
    VmbWireOpenChannel o;

    memset(&o, 0, sizeof(o));
    sim_hdr(&o, VMBW_MSG_OPENCHANNEL);
    o.child_relid = relid;
    o.openid = relid;
    o.ringbuffer_gpadlhandle = gpadl;
    o.target_vp = vp;
    o.downstream_ringbuffer_pageoffset = split;
    return sim_send(sg, &o, sizeof(o));
}
