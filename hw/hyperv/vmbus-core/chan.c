/*
 * VMBus host protocol core: channels (offer, rescind, open, close, modify, hv_sock)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Channel lifecycle, as Hyper-V runs it for Linux guests:
 *
 *   vmbc_offer() -> CLOSED (offered at REQUESTOFFERS, or at once after it)
 *   OPENCHANNEL  -> OPEN (ring GPADL pinned)      -> OPENCHANNEL_RESULT
 *   CLOSECHANNEL -> CLOSED; subchannels and hv_sock channels are then
 *                   rescinded (Linux frees them only on rescind, and its
 *                   hibernation waits for that)
 *   vmbc_rescind() -> RESCINDED (GPADLs dropped) -> RESCIND_CHANNELOFFER
 *   RELID_RELEASED -> freed; only now may the relid be given out again.
 *   RELID_RELEASED on a CLOSED channel never rescinded: the guest dropped
 *                   the offer (not offered until the next connection).
 */

#include "core-priv.h"

#define VMBC_RELID_MEMORY_MAX   4096u

GBytes *vmbc_chan_key(const VmbWireGuid *cls, const VmbWireGuid *inst,
                      uint16_t subidx)
{
    uint8_t k[34];

    memcpy(k, cls->b, 16);
    memcpy(k + 16, inst->b, 16);
    k[32] = subidx & 0xff;
    k[33] = subidx >> 8;
    return g_bytes_new(k, sizeof(k));
}

VmbcChannel *vmbc_chan_find_key(VmbcCore *core, const VmbWireGuid *cls,
                                const VmbWireGuid *inst, uint16_t subidx)
{
    GBytes *key = vmbc_chan_key(cls, inst, subidx);
    VmbcChannel *chan = g_hash_table_lookup(core->by_key, key);

    g_bytes_unref(key);
    return chan;
}

/* Remember a primary device channel's relid so a re-created offer of
 * the same device gets it back. */
void vmbc_relid_remember(VmbcCore *core, const VmbcChannel *chan)
{
    if (chan->tl_channel || chan->params.rescind_on_close ||
        g_hash_table_size(core->relid_memory) >= VMBC_RELID_MEMORY_MAX) {
        return;
    }
    g_hash_table_replace(core->relid_memory,
                         vmbc_chan_key(&chan->params.class_id,
                                       &chan->params.instance_id,
                                       chan->params.subchannel_index),
                         GUINT_TO_POINTER(chan->relid));
}

/* Returns 0 when all 2047 relids are taken. */
uint32_t vmbc_relid_alloc(VmbcCore *core, const VmbcOfferParams *p)
{
    GBytes *key = vmbc_chan_key(&p->class_id, &p->instance_id,
                                p->subchannel_index);
    uint32_t r = GPOINTER_TO_UINT(g_hash_table_lookup(core->relid_memory,
                                                      key));

    g_bytes_unref(key);
    if (r && r < VMBW_MAX_RELIDS && !core->by_relid[r]) {
        return r;
    }
    /* Creation order: a cursor that only wraps when it reaches the end. */
    for (uint32_t i = 0; i < VMBW_MAX_RELIDS - 1; i++) {
        r = core->next_relid;
        core->next_relid = r + 1 < VMBW_MAX_RELIDS ? r + 1 : 1;
        if (!core->by_relid[r]) {
            return r;
        }
    }
    return 0;
}

VmbcChannel *vmbc_chan_create(VmbcCore *core, const VmbcOfferParams *p,
                              uint32_t relid)
{
    VmbcChannel *chan = g_new0(VmbcChannel, 1);

    chan->core = core;
    chan->params = *p;
    if (p->subchannel_index || (p->flags & VMBW_OFFER_FLAG_TLNPI_PROVIDER)) {
        chan->params.rescind_on_close = true;
    }
    chan->relid = relid;
    chan->connection_id = VMBC_CHAN_CONN_ID_BASE + relid;
    chan->state = VMBC_CHAN_CLOSED;
    chan->seq = core->next_seq++;
    if (p->monitor_allocated) {
        for (uint32_t id = 0; id < VMBW_MONITOR_IDS; id++) {
            if (!core->by_monitor[id]) {
                chan->monitor_id = id;
                chan->has_monitor = true;
                core->by_monitor[id] = chan;
                break;
            }
        }
    }
    core->by_relid[relid] = chan;
    g_hash_table_replace(core->by_key,
                         vmbc_chan_key(&p->class_id, &p->instance_id,
                                       p->subchannel_index), chan);
    core->n_channels++;
    return chan;
}

VmbcChannel *vmbc_offer(VmbcCore *core, const VmbcOfferParams *params,
                        GError **errp)
{
    VmbcChannel *chan;
    uint32_t relid;

    if (params->flags & VMBC_OFFER_FLAGS_FORBIDDEN) {
        /* Confidential channels need a feature this host never grants. */
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                    "vmbus: offer flags 0x%x are reserved for confidential "
                    "channels", params->flags & VMBC_OFFER_FLAGS_FORBIDDEN);
        return NULL;
    }
    if (vmbc_chan_find_key(core, &params->class_id, &params->instance_id,
                           params->subchannel_index)) {
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_EXISTS,
                    "vmbus: channel %u of this class/instance already "
                    "offered", params->subchannel_index);
        return NULL;
    }
    relid = vmbc_relid_alloc(core, params);
    if (!relid) {
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_NO_SPACE,
                    "vmbus: all %u channel ids in use", VMBW_MAX_RELIDS - 1);
        return NULL;
    }
    chan = vmbc_chan_create(core, params, relid);
    vmbc_trace(core, "vmbc_offer", "relid %u sub %u flags 0x%x", relid,
               params->subchannel_index, params->flags);
    if (core->conn.state == VMBC_CONN_READY) {
        vmbc_send_offer(core, chan);     /* hot-plug */
    }
    return chan;
}

void vmbc_chan_do_close(VmbcChannel *chan)
{
    VmbcCore *core = chan->core;
    VmbcGpadl *ring = chan->ring_gpadl;

    if (chan->state != VMBC_CHAN_OPEN) {
        return;
    }
    if (core->ops->chan_close) {
        core->ops->chan_close(core->opaque, chan);
    }
    chan->state = VMBC_CHAN_CLOSED;
    chan->ring_gpadl = NULL;
    chan->ring_split = 0;
    if (ring) {
        vmbc_gpadl_unpin(ring);
    }
    vmbc_monitor_update(core);
}

void vmbc_chan_free(VmbcChannel *chan, bool notify)
{
    VmbcCore *core = chan->core;
    GBytes *key;

    vmbc_gpadl_release_chan(chan);
    vmbc_relid_remember(core, chan);
    key = vmbc_chan_key(&chan->params.class_id, &chan->params.instance_id,
                        chan->params.subchannel_index);
    if (g_hash_table_lookup(core->by_key, key) == chan) {
        g_hash_table_remove(core->by_key, key);
    }
    g_bytes_unref(key);
    if (chan->has_monitor && core->by_monitor[chan->monitor_id] == chan) {
        core->by_monitor[chan->monitor_id] = NULL;
    }
    core->by_relid[chan->relid] = NULL;
    core->n_channels--;
    /* Unlinked first: the device may offer a replacement right away. */
    if (notify && core->ops->chan_released) {
        core->ops->chan_released(core->opaque, chan);
    }
    g_free(chan);
}

void vmbc_rescind(VmbcChannel *chan)
{
    VmbcCore *core = chan->core;
    VmbWireRescindOffer m;

    if (chan->state == VMBC_CHAN_RESCINDED) {
        return;
    }
    vmbc_trace(core, "vmbc_rescind", "relid %u offered %d", chan->relid,
               chan->offered);
    if (!chan->offered) {
        vmbc_chan_free(chan, true);
        return;
    }
    vmbc_chan_do_close(chan);
    /* The guest will not tear these down: Linux skips GPADL_TEARDOWN on
     * a rescinded channel. */
    vmbc_gpadl_release_chan(chan);
    chan->state = VMBC_CHAN_RESCINDED;
    memset(&m, 0, sizeof(m));
    m.hdr.msgtype = GUINT32_TO_LE(VMBW_MSG_RESCIND_CHANNELOFFER);
    m.child_relid = GUINT32_TO_LE(chan->relid);
    vmbc_send(core, &m, sizeof(m));
}

/* ---- Accessors ---------------------------------------------------------- */

VmbcCore *vmbc_chan_core(const VmbcChannel *chan) { return chan->core; }
void *vmbc_chan_get_opaque(const VmbcChannel *chan)
{
    return chan->params.dev_opaque;
}
void vmbc_chan_set_opaque(VmbcChannel *chan, void *dev_opaque)
{
    chan->params.dev_opaque = dev_opaque;
}
uint32_t vmbc_chan_relid(const VmbcChannel *chan) { return chan->relid; }
uint32_t vmbc_chan_connection_id(const VmbcChannel *chan)
{
    return chan->connection_id;
}
VmbcChanState vmbc_chan_state(const VmbcChannel *chan) { return chan->state; }
bool vmbc_chan_offered(const VmbcChannel *chan) { return chan->offered; }
const VmbcOfferParams *vmbc_chan_params(const VmbcChannel *chan)
{
    return &chan->params;
}
uint32_t vmbc_chan_target_vp(const VmbcChannel *chan)
{
    return chan->target_vp;
}
VmbcGpadl *vmbc_chan_ring_gpadl(const VmbcChannel *chan)
{
    return chan->ring_gpadl;
}
uint32_t vmbc_chan_ring_split(const VmbcChannel *chan)
{
    return chan->ring_split;
}
const uint8_t *vmbc_chan_open_userdata(const VmbcChannel *chan)
{
    return chan->open_userdata;
}
VmbcChannel *vmbc_chan_by_relid(VmbcCore *core, uint32_t relid)
{
    return relid && relid < VMBW_MAX_RELIDS ? core->by_relid[relid] : NULL;
}

/* A channel the guest may address: known, offered, not rescinded. */
static VmbcChannel *vmbc_guest_chan(VmbcCore *core, uint32_t relid)
{
    VmbcChannel *chan = vmbc_chan_by_relid(core, relid);

    return chan && chan->offered && chan->state != VMBC_CHAN_RESCINDED
           ? chan : NULL;
}

/* ---- Guest messages ----------------------------------------------------- */

static void vmbc_send_open_result(VmbcCore *core, uint32_t relid,
                                  uint32_t openid, uint32_t status)
{
    VmbWireOpenResult r;

    memset(&r, 0, sizeof(r));
    r.hdr.msgtype = GUINT32_TO_LE(VMBW_MSG_OPENCHANNEL_RESULT);
    r.child_relid = GUINT32_TO_LE(relid);
    r.openid = GUINT32_TO_LE(openid);
    r.status = GUINT32_TO_LE(status);
    vmbc_send(core, &r, sizeof(r));
}

/* Usable as a ring: every range whole pages, >= 2 pages per direction. */
static bool vmbc_ring_layout_ok(const VmbcGpadl *g, uint32_t split)
{
    for (uint32_t i = 0; i < g->rangecount; i++) {
        const VmbcRange *r = &g->ranges[i];

        if (r->byte_offset || r->byte_count % VMBW_PAGE_SIZE ||
            r->byte_count / VMBW_PAGE_SIZE != r->npfns) {
            return false;
        }
    }
    return split >= 2 && split <= g->npfns && g->npfns - split >= 2;
}

void vmbc_h_open(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    const VmbWireOpenChannel *o = (const void *)m->bytes;
    uint32_t relid = vmbc_le32(o->child_relid);
    uint32_t openid = vmbc_le32(o->openid);
    uint32_t handle = vmbc_le32(o->ringbuffer_gpadlhandle);
    uint32_t vp = vmbc_le32(o->target_vp);
    uint32_t split = vmbc_le32(o->downstream_ringbuffer_pageoffset);
    VmbcChannel *chan = vmbc_guest_chan(core, relid);
    VmbcGpadl *g = vmbc_gpadl_find(core, handle);
    const char *why = NULL;
    uint32_t status = VMBW_STATUS_INVALID_PARAMETER;
    int r;

    if (!chan) {
        why = "unknown relid";
    } else if (chan->state != VMBC_CHAN_CLOSED) {
        why = "channel not closed";
        status = VMBW_STATUS_INVALID_DEVICE_STATE;
    } else if (!g || g->relid != relid) {
        why = "ring GPADL unknown or owned by another channel";
    } else if (g->state != VMBC_GPADL_COMPLETE || g->teardown_pending) {
        why = "ring GPADL not complete";
    } else if (!vmbc_ring_layout_ok(g, split)) {
        why = "bad ring layout / split";
    } else if (!vmbc_vp_valid(core, vp)) {
        why = "target_vp does not exist";
    }
    if (why) {
        vmbc_guest_error(core, VMBC_FAULT_CHANNEL,
                         "OPENCHANNEL relid %u gpadl 0x%x refused: %s",
                         relid, handle, why);
        vmbc_send_open_result(core, relid, openid, status);
        return;
    }

    chan->ring_gpadl = g;
    chan->ring_split = split;
    chan->target_vp = vp;
    chan->open_id = openid;
    memcpy(chan->open_userdata, o->userdata, sizeof(chan->open_userdata));
    vmbc_gpadl_pin(g);
    chan->state = VMBC_CHAN_OPEN;
    r = core->ops->chan_open ? core->ops->chan_open(core->opaque, chan) : 0;
    if (r) {
        vmbc_trace(core, "vmbc_open_refused_by_device", "relid %u status %d",
                   relid, r);
        chan->state = VMBC_CHAN_CLOSED;
        chan->ring_gpadl = NULL;
        chan->ring_split = 0;
        vmbc_gpadl_unpin(g);
        vmbc_send_open_result(core, relid, openid,
                              r < 0 ? VMBW_STATUS_UNSUCCESSFUL : (uint32_t)r);
        return;
    }
    vmbc_trace(core, "vmbc_open", "relid %u gpadl 0x%x vp %u split %u",
               relid, handle, vp, split);
    vmbc_send_open_result(core, relid, openid, VMBW_STATUS_SUCCESS);
    vmbc_monitor_update(core);
}

void vmbc_h_close(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    const VmbWireCloseChannel *c = (const void *)m->bytes;
    uint32_t relid = vmbc_le32(c->child_relid);
    VmbcChannel *chan = vmbc_chan_by_relid(core, relid);

    if (chan && chan->state == VMBC_CHAN_RESCINDED) {
        /* The guest's driver closes what we just rescinded: fine. */
        vmbc_trace(core, "vmbc_close_rescinded", "relid %u", relid);
        return;
    }
    if (!chan || !chan->offered || chan->state != VMBC_CHAN_OPEN) {
        vmbc_guest_error(core, VMBC_FAULT_CHANNEL,
                         "CLOSECHANNEL relid %u: not open", relid);
        return;
    }
    vmbc_trace(core, "vmbc_close", "relid %u", relid);
    vmbc_chan_do_close(chan);
    if (chan->params.rescind_on_close) {
        vmbc_rescind(chan);
    }
}

void vmbc_h_relid_released(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    const VmbWireRelidReleased *c = (const void *)m->bytes;
    uint32_t relid = vmbc_le32(c->child_relid);
    VmbcChannel *chan = vmbc_chan_by_relid(core, relid);

    if (chan && chan->offered && chan->state == VMBC_CHAN_CLOSED) {
        /*
         * The guest dropped an offer it could not use (Linux does when it
         * fails to add the device), as Hyper-V takes it: its GPADLs go
         * without an answer and the offer returns on the next connection.
         * Subchannels and hv_sock channels are not offered again: they
         * go now, as at unload.
         */
        vmbc_trace(core, "vmbc_relid_dropped", "relid %u", relid);
        if (chan->params.rescind_on_close || chan->tl_channel) {
            vmbc_chan_free(chan, true);
            return;
        }
        vmbc_gpadl_release_chan(chan);
        chan->offered = false;
        chan->target_vp = 0;
        return;
    }
    if (!chan || chan->state != VMBC_CHAN_RESCINDED) {
        vmbc_guest_error(core, VMBC_FAULT_CHANNEL,
                         "RELID_RELEASED relid %u: %s", relid,
                         chan && chan->offered ? "channel open"
                                               : "not offered");
        return;
    }
    vmbc_trace(core, "vmbc_relid_released", "relid %u", relid);
    vmbc_chan_free(chan, true);
}

void vmbc_h_modify(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    const VmbWireModifyChannel *mc = (const void *)m->bytes;
    uint32_t relid = vmbc_le32(mc->child_relid);
    uint32_t vp = vmbc_le32(mc->target_vp);
    VmbcChannel *chan = vmbc_guest_chan(core, relid);
    uint32_t status = VMBW_STATUS_SUCCESS;

    if (!chan) {
        vmbc_guest_error(core, VMBC_FAULT_CHANNEL,
                         "MODIFYCHANNEL relid %u: unknown", relid);
        status = VMBW_STATUS_INVALID_PARAMETER;
    } else if (chan->state != VMBC_CHAN_OPEN) {
        vmbc_guest_error(core, VMBC_FAULT_CHANNEL,
                         "MODIFYCHANNEL relid %u: not open", relid);
        status = VMBW_STATUS_INVALID_DEVICE_STATE;
    } else if (!vmbc_vp_valid(core, vp)) {
        vmbc_guest_error(core, VMBC_FAULT_CHANNEL,
                         "MODIFYCHANNEL relid %u: no VP %u", relid, vp);
        status = VMBW_STATUS_INVALID_PARAMETER;
    } else {
        vmbc_trace(core, "vmbc_modify", "relid %u vp %u -> %u", relid,
                   chan->target_vp, vp);
        chan->target_vp = vp;
    }
    if (core->conn.version >= VMBW_VERSION_IRON) {
        VmbWireModifyChannelResponse r;

        memset(&r, 0, sizeof(r));
        r.hdr.msgtype = GUINT32_TO_LE(VMBW_MSG_MODIFYCHANNEL_RESPONSE);
        r.child_relid = GUINT32_TO_LE(relid);
        r.status = GUINT32_TO_LE(status);
        vmbc_send(core, &r, sizeof(r));
    }
}

static void vmbc_send_tl_result(VmbcCore *core, const VmbWireGuid *ep,
                                const VmbWireGuid *svc, uint32_t status)
{
    VmbWireTlConnectResult r;

    memset(&r, 0, sizeof(r));
    r.hdr.msgtype = GUINT32_TO_LE(VMBW_MSG_TL_CONNECT_RESULT);
    r.endpoint_id = *ep;
    r.service_id = *svc;
    r.status = GUINT32_TO_LE(status);
    vmbc_send(core, &r, sizeof(r));
}

void vmbc_h_tl_connect(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    const VmbWireTlConnectRequest *t = (const void *)m->bytes;
    VmbWireGuid ep = t->guest_endpoint_id;
    VmbWireGuid svc = t->host_service_id;
    VmbcOfferParams p;
    VmbcChannel *chan;
    void *dev = NULL;
    uint32_t status, relid;

    if (vmbc_chan_find_key(core, &svc, &ep, 0)) {
        vmbc_guest_error(core, VMBC_FAULT_CHANNEL,
                         "TL_CONNECT_REQUEST for a live endpoint");
        vmbc_send_tl_result(core, &ep, &svc, VMBW_STATUS_CONNECTION_REFUSED);
        return;
    }
    memset(&p, 0, sizeof(p));
    p.class_id = svc;
    p.instance_id = ep;
    relid = vmbc_relid_alloc(core, &p);
    if (!relid) {
        vmbc_trace(core, "vmbc_tl_no_relid", "%s", "");
        vmbc_send_tl_result(core, &ep, &svc,
                            VMBW_STATUS_INSUFFICIENT_RESOURCES);
        return;
    }
    status = core->ops->tl_connect
             ? core->ops->tl_connect(core->opaque, &ep, &svc, &dev)
             : VMBW_STATUS_CONNECTION_REFUSED;
    if (status) {
        vmbc_trace(core, "vmbc_tl_refused", "status 0x%x", status);
        vmbc_send_tl_result(core, &ep, &svc, status);
        return;
    }
    if (core->by_relid[relid]) {
        /* tl_connect offered something itself: pick another relid. */
        relid = vmbc_relid_alloc(core, &p);
        if (!relid) {
            vmbc_send_tl_result(core, &ep, &svc,
                                VMBW_STATUS_INSUFFICIENT_RESOURCES);
            return;
        }
    }
    p.flags = VMBW_OFFER_FLAG_TLNPI_PROVIDER |
              VMBW_OFFER_FLAG_NAMED_PIPE_MODE |
              VMBW_OFFER_FLAG_ENUMERATE_DEVICE_INTERFACE;
    /* user_def: pipe type byte (0), is_for_guest_accept = 0 */
    p.rescind_on_close = true;
    p.dev_opaque = dev;
    chan = vmbc_chan_create(core, &p, relid);
    chan->tl_channel = true;
    vmbc_trace(core, "vmbc_tl_offer", "relid %u", relid);
    if (core->conn.state == VMBC_CONN_READY) {
        vmbc_send_offer(core, chan);
    }
}
