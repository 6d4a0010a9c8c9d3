/*
 * VMBus host protocol core: connection, dispatcher, delivery, signalling
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Implements the host side of the VMBus control plane for protocol
 * versions 0.13, 1.1, 2.4, 3.0, 4.0, 4.1, 5.0, 5.1, 5.2, 5.3 and 6.0 (see
 * vmbus-core.h for the threading and hostile-guest rules).  This file
 * holds the core object, the outgoing message queue, the message
 * dispatcher (one table), the connection state machine (INITIATE_CONTACT,
 * REQUESTOFFERS, UNLOAD), guest notification (SIEF, pre-2.4 interrupt
 * page, monitor-page polling), introspection and the invariant checker.
 * Channels live in chan.c, GPADLs in gpadl.c, save/restore in save.c.
 */

#include <stdarg.h>
#include <stdio.h>

#include "core-priv.h"

/* ---- Versions ---------------------------------------------------------- */

static const uint32_t vmbc_versions[] = {
    VMBW_VERSION_WS2008, VMBW_VERSION_WIN7, VMBW_VERSION_WIN8,
    VMBW_VERSION_WIN8_1, VMBW_VERSION_WIN10, VMBW_VERSION_WIN10_RS3_0,
    VMBW_VERSION_WIN10_RS3_1, VMBW_VERSION_WIN10_RS4,
    VMBW_VERSION_WIN10_RS5, VMBW_VERSION_IRON, VMBW_VERSION_COPPER,
};

bool vmbc_version_known(uint32_t version)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vmbc_versions); i++) {
        if (vmbc_versions[i] == version) {
            return true;
        }
    }
    return false;
}

/* ---- Logging ----------------------------------------------------------- */

void vmbc_trace(VmbcCore *core, const char *event, const char *fmt, ...)
{
    va_list ap;
    char buf[256];

    if (!core->ops->trace || (core->ops->trace_enabled &&
                               !core->ops->trace_enabled(core->opaque))) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    core->ops->trace(core->opaque, event, "%s", buf);
}

/*
 * Every refusal of guest input goes through here: counts it by condition
 * and against the message being dispatched, and hands it to the glue's
 * guest_error op (which traces and logs it per condition).
 */
void vmbc_guest_error(VmbcCore *core, VmbcFault fault, const char *fmt, ...)
{
    va_list ap;
    char buf[256];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    core->counters.guest_errors++;
    if ((unsigned)fault < VMBC_FAULT_COUNT) {
        core->counters.faults[fault]++;
    }
    if (core->dispatching) {
        core->counters.refused[core->cur_type]++;
    }
    if (core->ops->guest_error) {
        core->ops->guest_error(core->opaque, fault, "%s", buf);
    }
}

/* ---- Names -------------------------------------------------------------- */

const char *vmbc_conn_state_name(VmbcConnState s)
{
    static const char *const names[VMBC_CONN_STATE_COUNT] = {
        [VMBC_CONN_DISCONNECTED] = "disconnected",
        [VMBC_CONN_CONNECTED] = "connected",
        [VMBC_CONN_READY] = "ready",
    };
    return (unsigned)s < VMBC_CONN_STATE_COUNT ? names[s] : "?";
}

const char *vmbc_chan_state_name(VmbcChanState s)
{
    static const char *const names[VMBC_CHAN_STATE_COUNT] = {
        [VMBC_CHAN_CLOSED] = "closed",
        [VMBC_CHAN_OPEN] = "open",
        [VMBC_CHAN_RESCINDED] = "rescinded",
    };
    return (unsigned)s < VMBC_CHAN_STATE_COUNT ? names[s] : "?";
}

G_DEFINE_QUARK(vmbc-error-quark, vmbc_error)

/* ---- Creation ----------------------------------------------------------- */

VmbcCore *vmbc_new(const VmbcConfig *cfg, GError **errp)
{
    VmbcCore *core;
    const VmbcOps *ops = cfg->ops;

    if (!ops || !ops->post_msg || !ops->signal_event || !ops->read_gpa ||
        !ops->write_gpa || !ops->timer_mod || !ops->timer_del ||
        !ops->now_ns || !ops->vp_exists) {
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                    "vmbus core: mandatory ops missing");
        return NULL;
    }
    if (cfg->max_version && !vmbc_version_known(cfg->max_version)) {
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                    "vmbus core: unsupported max version %u.%u",
                    VMBW_VERSION_MAJOR(cfg->max_version),
                    VMBW_VERSION_MINOR(cfg->max_version));
        return NULL;
    }
    core = g_new0(VmbcCore, 1);
    core->ops = ops;
    core->opaque = cfg->opaque;
    core->max_version = cfg->max_version ? cfg->max_version
                                         : VMBC_DEFAULT_MAX_VERSION;
    core->gpadl_quota = cfg->gpadl_quota_bytes ? cfg->gpadl_quota_bytes
                                               : VMBC_DEFAULT_GPADL_QUOTA;
    core->gpadl_max = cfg->gpadl_max_count ? cfg->gpadl_max_count
                                           : VMBC_DEFAULT_GPADL_COUNT;
    core->out_max = cfg->out_queue_max ? cfg->out_queue_max
                                       : VMBC_DEFAULT_OUT_QUEUE;
    core->next_relid = 1;
    core->relid_memory = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                               (GDestroyNotify)g_bytes_unref,
                                               NULL);
    core->by_key = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                         (GDestroyNotify)g_bytes_unref, NULL);
    core->gpadls = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_queue_init(&core->out);
    core->conn.msg_sint = VMBW_MESSAGE_SINT;
    return core;
}

static void vmbc_out_clear(VmbcCore *core)
{
    VmbcOutMsg *o;

    while ((o = g_queue_pop_head(&core->out))) {
        g_free(o);
    }
}

void vmbc_free(VmbcCore *core)
{
    if (!core) {
        return;
    }
    vmbc_gpadl_free_all(core);
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        if (core->by_relid[r]) {
            vmbc_chan_free(core->by_relid[r], false);
        }
    }
    vmbc_out_clear(core);
    g_hash_table_destroy(core->gpadls);
    g_hash_table_destroy(core->by_key);
    g_hash_table_destroy(core->relid_memory);
    g_free(core);
}

/* ---- Outgoing messages -------------------------------------------------- */

/* Post queued messages in order until the guest's slot is busy. */
static void vmbc_out_flush(VmbcCore *core)
{
    VmbcOutMsg *o;

    if (core->flushing) {
        return;     /* slot_freed called from inside post_msg */
    }
    core->flushing = true;
    while ((o = g_queue_peek_head(&core->out))) {
        int r = core->ops->post_msg(core->opaque, o->vp, o->sint,
                                    VMBW_HV_MESSAGE_TYPE, o->data, o->len);
        if (r == -EAGAIN) {
            break;
        }
        g_queue_pop_head(&core->out);
        if (r < 0) {
            core->counters.out_dropped++;
            vmbc_trace(core, "vmbc_post_drop", "type %u vp %u err %d",
                       vmbc_le32(((VmbWireHdr *)o->data)->msgtype), o->vp, r);
        }
        g_free(o);
    }
    core->flushing = false;
}

static void vmbc_send_to(VmbcCore *core, uint32_t vp, uint32_t sint,
                         const void *msg, size_t len)
{
    VmbcOutMsg *o;
    uint32_t type = vmbc_le32(((const VmbWireHdr *)msg)->msgtype);

    g_assert(len <= VMBW_MAX_PAYLOAD);   /* host-built messages only */
    if (g_queue_get_length(&core->out) >= core->out_max) {
        /* The guest is not draining its slot yet floods us. */
        core->counters.out_dropped++;
        vmbc_guest_error(core, VMBC_FAULT_QUEUE_FULL,
                         "outgoing queue full, %s dropped",
                         vmbc_msg_name(type));
        return;
    }
    if (type < VMBW_MSG_COUNT) {
        core->counters.out[type]++;
    }
    o = g_new(VmbcOutMsg, 1);
    o->vp = vp;
    o->sint = sint;
    o->len = len;
    memcpy(o->data, msg, len);
    vmbc_trace(core, "vmbc_send", "%s vp %u len %zu", vmbc_msg_name(type),
               vp, len);
    g_queue_push_tail(&core->out, o);
    vmbc_out_flush(core);
}

void vmbc_send(VmbcCore *core, const void *msg, size_t len)
{
    vmbc_send_to(core, core->conn.target_vcpu, core->conn.msg_sint, msg, len);
}

void vmbc_msg_slot_freed(VmbcCore *core)
{
    vmbc_out_flush(core);
}

bool vmbc_vp_valid(VmbcCore *core, uint32_t vp)
{
    return core->ops->vp_exists(core->opaque, vp);
}

static void vmbc_set_conn_state(VmbcCore *core, VmbcConnState s)
{
    if (core->conn.state != s) {
        vmbc_trace(core, "vmbc_conn_state", "%s -> %s",
                   vmbc_conn_state_name(core->conn.state),
                   vmbc_conn_state_name(s));
        core->conn.state = s;
        if (core->ops->conn_state_changed) {
            core->ops->conn_state_changed(core->opaque);
        }
    }
}

/* ---- Offers ------------------------------------------------------------- */

void vmbc_send_offer(VmbcCore *core, VmbcChannel *chan)
{
    VmbWireOfferChannel o;
    const VmbcOfferParams *p = &chan->params;

    memset(&o, 0, sizeof(o));
    o.hdr.msgtype = GUINT32_TO_LE(VMBW_MSG_OFFERCHANNEL);
    o.if_type = p->class_id;
    o.if_instance = p->instance_id;
    o.chn_flags = GUINT16_TO_LE(p->flags);
    o.mmio_megabytes = GUINT16_TO_LE(p->mmio_megabytes);
    memcpy(o.user_def, p->user_def, sizeof(o.user_def));
    o.sub_channel_index = GUINT16_TO_LE(p->subchannel_index);
    o.child_relid = GUINT32_TO_LE(chan->relid);
    if (chan->has_monitor) {
        o.monitorid = chan->monitor_id;
        o.monitor_allocated = 1;
    }
    o.is_dedicated_interrupt = GUINT16_TO_LE(p->dedicated_interrupt ? 1 : 0);
    o.connection_id = GUINT32_TO_LE(chan->connection_id);
    chan->offered = true;
    vmbc_monitor_publish(core, chan);
    vmbc_send(core, &o, sizeof(o));
}

/* ---- Connection messages ---------------------------------------------- */

/*
 * Forget everything the guest owns: open state, GPADLs, pages, queued
 * messages, and the channels that exist only for one connection
 * (auto-rescind subchannels, hv_sock, rescinded-but-unreleased ones).
 * Device offers stay, to be offered again on the next REQUESTOFFERS.
 */
void vmbc_drop_guest_state(VmbcCore *core)
{
    if (core->monitor_timer_armed) {
        core->ops->timer_del(core->opaque, VMBC_TIMER_MONITOR);
        core->monitor_timer_armed = false;
    }
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        VmbcChannel *chan = core->by_relid[r];

        if (!chan) {
            continue;
        }
        if (chan->state == VMBC_CHAN_OPEN) {
            vmbc_chan_do_close(chan);
        }
        if (chan->state == VMBC_CHAN_RESCINDED ||
            chan->params.rescind_on_close || chan->tl_channel) {
            vmbc_chan_free(chan, true);
            continue;
        }
        chan->offered = false;
        chan->target_vp = 0;
    }
    vmbc_gpadl_free_all(core);
    vmbc_out_clear(core);       /* stale: the guest forgets them too */
    core->monitor_fault = false;
    core->conn.version = 0;
    core->conn.features = 0;
    core->conn.target_vcpu = 0;
    core->conn.msg_sint = VMBW_MESSAGE_SINT;
    core->conn.msg_conn_id = 0;
    core->conn.interrupt_page = 0;
    core->conn.monitor_page1 = 0;
    core->conn.monitor_page2 = 0;
    vmbc_set_conn_state(core, VMBC_CONN_DISCONNECTED);
}

void vmbc_reset(VmbcCore *core)
{
    vmbc_trace(core, "vmbc_reset", "state %s",
               vmbc_conn_state_name(core->conn.state));
    vmbc_drop_guest_state(core);
}

static bool vmbc_page_gpa_ok(uint64_t gpa)
{
    return (gpa & (VMBW_PAGE_SIZE - 1)) == 0;
}

static void vmbc_h_initiate(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    const VmbWireInitiateContact *ic = (const void *)m->bytes;
    VmbWireVersionResponse2 r2;
    VmbWireVersionResponse *r = &r2.base;
    uint32_t version = vmbc_le32(ic->vmbus_version_requested);
    uint32_t asked = 0;
    uint32_t vcpu = vmbc_le32(ic->target_vcpu);
    uint32_t sint = VMBW_MESSAGE_SINT;
    uint64_t int_page = 0;
    uint64_t mon1 = vmbc_le64(ic->monitor_page1);
    uint64_t mon2 = vmbc_le64(ic->monitor_page2);
    const char *why = NULL;
    bool guest_fault = true;
    uint32_t reply_vp = vcpu;

    if (core->conn.state != VMBC_CONN_DISCONNECTED) {
        /* A new kernel (kdump, kexec without unload) or a confused
         * guest: start from scratch before answering. */
        vmbc_trace(core, "vmbc_implicit_reset", "version %u.%u",
                   VMBW_VERSION_MAJOR(core->conn.version),
                   VMBW_VERSION_MINOR(core->conn.version));
        vmbc_drop_guest_state(core);
    }

    if (version >= VMBW_VERSION_WIN10_RS3_1) {
        sint = ic->msg_sint;
    } else {
        int_page = vmbc_le64(ic->interrupt_page);
    }
    if (version >= VMBW_VERSION_COPPER) {
        /* Below 6.0 these bytes are reserved: ignored, as Hyper-V does. */
        asked = vmbc_le32(ic->feature_flags);
    }

    if (!vmbc_version_known(version) || version > core->max_version) {
        why = "version not supported";
        guest_fault = false;        /* normal: the guest walks down */
    } else if (!vmbc_vp_valid(core, vcpu)) {
        why = "target_vcpu does not exist";
    } else if (version >= VMBW_VERSION_WIN10_RS3_1 && sint > 15) {
        why = "msg_sint out of range";
    } else if (version >= VMBW_VERSION_WIN10_RS3_1 && ic->msg_vtl != 0) {
        why = "msg_vtl not 0";
    } else if (version < VMBW_VERSION_WIN8 &&
               (!int_page || !vmbc_page_gpa_ok(int_page))) {
        why = "bad interrupt page";
    } else if (!vmbc_page_gpa_ok(mon1) || !vmbc_page_gpa_ok(mon2)) {
        why = "monitor page not page aligned";
    }

    memset(&r2, 0, sizeof(r2));
    r->hdr.msgtype = GUINT32_TO_LE(VMBW_MSG_VERSION_RESPONSE);
    if (why) {
        if (guest_fault) {
            vmbc_guest_error(core, VMBC_FAULT_CONTACT,
                             "INITIATE_CONTACT %u.%u refused: %s",
                             VMBW_VERSION_MAJOR(version),
                             VMBW_VERSION_MINOR(version), why);
        } else {
            vmbc_trace(core, "vmbc_version_refused", "%u.%u",
                       VMBW_VERSION_MAJOR(version),
                       VMBW_VERSION_MINOR(version));
        }
        /* Answer anyway so the guest does not wait forever; if its VP
         * does not exist, VP 0 is the best guess. */
        if (!vmbc_vp_valid(core, reply_vp)) {
            reply_vp = 0;
            if (!vmbc_vp_valid(core, 0)) {
                return;
            }
        }
        if (sint > 15) {
            sint = VMBW_MESSAGE_SINT;
        }
        /* A refusal is the 16-byte form at every version. */
        vmbc_send_to(core, reply_vp, sint, r, sizeof(*r));
        return;
    }

    core->conn.version = version;
    /* Unknown and not granted features are not an error: the guest
     * learns what it got from supported_features. */
    core->conn.features = asked & VMBC_GRANTABLE_FEATURES;
    if (asked != core->conn.features) {
        vmbc_trace(core, "vmbc_features_not_granted",
                   "asked 0x%x granted 0x%x", asked, core->conn.features);
    }
    core->conn.target_vcpu = vcpu;
    core->conn.msg_sint = sint;
    core->conn.msg_conn_id = version >= VMBW_VERSION_WIN10_RS3_1
                             ? VMBW_CONN_ID_MESSAGE_4 : VMBW_CONN_ID_MESSAGE;
    core->conn.interrupt_page = version < VMBW_VERSION_WIN8 ? int_page : 0;
    core->conn.monitor_page1 = mon1;
    core->conn.monitor_page2 = mon2;
    vmbc_set_conn_state(core, VMBC_CONN_CONNECTED);

    r->version_supported = 1;
    r->connection_state = 0;
    r->msg_conn_id = GUINT32_TO_LE(core->conn.msg_conn_id);
    if (version >= VMBW_VERSION_COPPER) {
        r2.supported_features = GUINT32_TO_LE(core->conn.features);
        vmbc_send(core, &r2, sizeof(r2));
    } else {
        vmbc_send(core, r, sizeof(*r));
    }
}

static void vmbc_h_request_offers(VmbcCore *core, const VmbcMsgBuf *m,
                                  uint32_t len)
{
    VmbWireAllOffersDelivered done;

    vmbc_set_conn_state(core, VMBC_CONN_READY);
    /* Relid order: equal to creation order unless relids were reused. */
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        VmbcChannel *chan = core->by_relid[r];

        if (chan && chan->state != VMBC_CHAN_RESCINDED && !chan->offered) {
            vmbc_send_offer(core, chan);
        }
    }
    memset(&done, 0, sizeof(done));
    done.msgtype = GUINT32_TO_LE(VMBW_MSG_ALLOFFERS_DELIVERED);
    vmbc_send(core, &done, sizeof(done));
}

static void vmbc_h_unload(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    VmbWireUnloadResponse r;
    uint32_t vp = core->conn.target_vcpu;
    uint32_t sint = core->conn.msg_sint;

    vmbc_drop_guest_state(core);
    memset(&r, 0, sizeof(r));
    r.msgtype = GUINT32_TO_LE(VMBW_MSG_UNLOAD_RESPONSE);
    vmbc_send_to(core, vp, sint, &r, sizeof(r));
}

static void vmbc_h_unsupported(VmbcCore *core, const VmbcMsgBuf *m,
                               uint32_t len)
{
    vmbc_guest_error(core, VMBC_FAULT_MSG_STATE, "%s not supported",
                     vmbc_msg_name(vmbc_le32(m->hdr.msgtype)));
}

/* ---- Dispatcher ----------------------------------------------------------- */

typedef void VmbcHandler(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len);

typedef struct VmbcMsgDesc {
    const char *name;
    uint32_t min_len;           /* bytes incl. the 8-byte header */
    uint32_t min_version;
    uint32_t states;            /* bitmask of VmbcConnState */
    VmbcHandler *handler;       /* NULL: host->guest type */
    uint32_t features;          /* 6.0 feature flags it needs granted */
} VmbcMsgDesc;

#define S_DISC  (1u << VMBC_CONN_DISCONNECTED)
#define S_CONN  (1u << VMBC_CONN_CONNECTED)
#define S_READY (1u << VMBC_CONN_READY)
#define S_UP    (S_CONN | S_READY)
#define S_ANY   (S_DISC | S_CONN | S_READY)

static const VmbcMsgDesc vmbc_msg_table[VMBW_MSG_COUNT] = {
    [VMBW_MSG_INVALID] = { "INVALID", 8, 0, 0, NULL },
    [VMBW_MSG_OFFERCHANNEL] = {
        "OFFERCHANNEL", sizeof(VmbWireOfferChannel), 0, 0, NULL },
    [VMBW_MSG_RESCIND_CHANNELOFFER] = {
        "RESCIND_CHANNELOFFER", sizeof(VmbWireRelid), 0, 0, NULL },
    [VMBW_MSG_REQUESTOFFERS] = {
        "REQUESTOFFERS", sizeof(VmbWireHdr), 0, S_CONN,
        vmbc_h_request_offers },
    [VMBW_MSG_ALLOFFERS_DELIVERED] = {
        "ALLOFFERS_DELIVERED", sizeof(VmbWireHdr), 0, 0, NULL },
    [VMBW_MSG_OPENCHANNEL] = {
        "OPENCHANNEL", sizeof(VmbWireOpenChannel), 0, S_UP, vmbc_h_open },
    [VMBW_MSG_OPENCHANNEL_RESULT] = {
        "OPENCHANNEL_RESULT", sizeof(VmbWireOpenResult), 0, 0, NULL },
    [VMBW_MSG_CLOSECHANNEL] = {
        "CLOSECHANNEL", sizeof(VmbWireRelid), 0, S_UP, vmbc_h_close },
    [VMBW_MSG_GPADL_HEADER] = {
        "GPADL_HEADER", VMBW_GPADL_HEADER_FIXED + sizeof(VmbWireGpaRange), 0,
        S_UP, vmbc_h_gpadl_header },
    [VMBW_MSG_GPADL_BODY] = {
        "GPADL_BODY", VMBW_GPADL_BODY_FIXED, 0, S_UP, vmbc_h_gpadl_body },
    [VMBW_MSG_GPADL_CREATED] = {
        "GPADL_CREATED", sizeof(VmbWireGpadlCreated), 0, 0, NULL },
    [VMBW_MSG_GPADL_TEARDOWN] = {
        "GPADL_TEARDOWN", sizeof(VmbWireGpadlTeardown), 0, S_UP,
        vmbc_h_gpadl_teardown },
    [VMBW_MSG_GPADL_TORNDOWN] = {
        "GPADL_TORNDOWN", sizeof(VmbWireGpadlTorndown), 0, 0, NULL },
    [VMBW_MSG_RELID_RELEASED] = {
        "RELID_RELEASED", sizeof(VmbWireRelid), 0, S_UP,
        vmbc_h_relid_released },
    [VMBW_MSG_INITIATE_CONTACT] = {
        "INITIATE_CONTACT", sizeof(VmbWireInitiateContact), 0, S_ANY,
        vmbc_h_initiate },
    [VMBW_MSG_VERSION_RESPONSE] = {
        "VERSION_RESPONSE", sizeof(VmbWireVersionResponse), 0, 0, NULL },
    [VMBW_MSG_UNLOAD] = {
        "UNLOAD", sizeof(VmbWireHdr), 0, S_UP, vmbc_h_unload },
    [VMBW_MSG_UNLOAD_RESPONSE] = {
        "UNLOAD_RESPONSE", sizeof(VmbWireHdr), 0, 0, NULL },
    [VMBW_MSG_OPEN_RESERVED_CHANNEL] = {
        "OPEN_RESERVED_CHANNEL", sizeof(VmbWireOpenReservedChannel),
        VMBW_VERSION_WIN10, S_UP, vmbc_h_unsupported },
    [VMBW_MSG_CLOSE_RESERVED_CHANNEL] = {
        "CLOSE_RESERVED_CHANNEL", sizeof(VmbWireCloseReservedChannel),
        VMBW_VERSION_WIN10, S_UP, vmbc_h_unsupported },
    [VMBW_MSG_CLOSE_RESERVED_RESPONSE] = {
        "CLOSE_RESERVED_RESPONSE", sizeof(VmbWireRelid), 0, 0, NULL },
    [VMBW_MSG_TL_CONNECT_REQUEST] = {
        "TL_CONNECT_REQUEST", sizeof(VmbWireTlConnectRequest),
        VMBW_VERSION_WIN10, S_UP, vmbc_h_tl_connect },
    [VMBW_MSG_MODIFYCHANNEL] = {
        "MODIFYCHANNEL", sizeof(VmbWireModifyChannel),
        VMBW_VERSION_WIN10_RS3_0, S_UP, vmbc_h_modify },
    [VMBW_MSG_TL_CONNECT_RESULT] = {
        "TL_CONNECT_RESULT", sizeof(VmbWireTlConnectResult), 0, 0, NULL },
    [VMBW_MSG_MODIFYCHANNEL_RESPONSE] = {
        "MODIFYCHANNEL_RESPONSE", sizeof(VmbWireModifyChannelResponse), 0, 0,
        NULL },
    /*
     * 6.0 messages that need a feature this host never grants
     * (VMBC_GRANTABLE_FEATURES): refused at every version.
     */
    [VMBW_MSG_MODIFY_CONNECTION] = {
        "MODIFY_CONNECTION", sizeof(VmbWireModifyConnection),
        VMBW_VERSION_COPPER, S_UP, vmbc_h_unsupported,
        VMBW_FEATURE_MODIFY_CONNECTION },
    [VMBW_MSG_MODIFY_CONNECTION_RESPONSE] = {
        "MODIFY_CONNECTION_RESPONSE",
        sizeof(VmbWireModifyConnectionResponse), 0, 0, NULL },
    [VMBW_MSG_PAUSE] = {
        "PAUSE", sizeof(VmbWireHdr), VMBW_VERSION_COPPER, S_UP,
        vmbc_h_unsupported, VMBW_FEATURE_PAUSE_RESUME },
    [VMBW_MSG_PAUSE_RESPONSE] = {
        "PAUSE_RESPONSE", sizeof(VmbWireHdr), 0, 0, NULL },
    [VMBW_MSG_RESUME] = {
        "RESUME", sizeof(VmbWireHdr), VMBW_VERSION_COPPER, S_UP,
        vmbc_h_unsupported, VMBW_FEATURE_PAUSE_RESUME },
};

const char *vmbc_msg_name(uint32_t msgtype)
{
    return msgtype < VMBW_MSG_COUNT ? vmbc_msg_table[msgtype].name
                                    : "UNKNOWN";
}

static bool vmbc_msg_conn_id_valid(const VmbcCore *core, uint32_t id)
{
    return id == VMBW_CONN_ID_MESSAGE ||
           (id == VMBW_CONN_ID_MESSAGE_4 &&
            __atomic_load_n(&core->max_version, __ATOMIC_RELAXED) >=
            VMBW_VERSION_WIN10_RS3_1);
}

bool vmbc_set_max_version(VmbcCore *core, uint32_t version)
{
    if (version && !vmbc_version_known(version)) {
        return false;
    }
    /* Read by vmbc_post_message_check() on vCPU threads. */
    __atomic_store_n(&core->max_version,
                     version ? version : VMBC_DEFAULT_MAX_VERSION,
                     __ATOMIC_RELAXED);
    vmbc_trace(core, "vmbc_max_version", "0x%x", core->max_version);
    return true;
}

uint32_t vmbc_get_max_version(const VmbcCore *core)
{
    return __atomic_load_n(&core->max_version, __ATOMIC_RELAXED);
}

uint32_t vmbc_post_message_check(const VmbcCore *core, uint32_t connection_id,
                                 uint32_t msg_type, uint32_t len)
{
    /* Reads only configuration fixed at creation: safe on any thread. */
    if (!vmbc_msg_conn_id_valid(core, connection_id)) {
        return VMBW_HV_STATUS_INVALID_CONNECTION_ID;
    }
    if (msg_type != VMBW_HV_MESSAGE_TYPE || len > VMBW_MAX_PAYLOAD) {
        return VMBW_HV_STATUS_INVALID_PARAMETER;
    }
    return VMBW_HV_STATUS_SUCCESS;
}

void vmbc_handle_message(VmbcCore *core, uint32_t connection_id,
                         const void *payload, size_t len)
{
    VmbcMsgBuf m;
    const VmbcMsgDesc *d;
    uint32_t type;

    /* 1. copy into a zero-padded private buffer */
    if (len > VMBW_MAX_PAYLOAD || !payload) {
        core->counters.in_bad_type++;
        vmbc_guest_error(core, VMBC_FAULT_MSG_MALFORMED,
                         "message of %zu bytes (max %u)", len,
                         VMBW_MAX_PAYLOAD);
        return;
    }
    memset(&m, 0, sizeof(m));
    memcpy(m.bytes, payload, len);

    /* 2. validate */
    if (!vmbc_msg_conn_id_valid(core, connection_id)) {
        core->counters.in_bad_type++;
        vmbc_guest_error(core, VMBC_FAULT_MSG_MALFORMED,
                         "message on connection id %u",
                         connection_id);
        return;
    }
    if (len < sizeof(VmbWireHdr)) {
        core->counters.in_bad_type++;
        vmbc_guest_error(core, VMBC_FAULT_MSG_MALFORMED,
                         "message of %zu bytes has no header", len);
        return;
    }
    type = vmbc_le32(m.hdr.msgtype);
    if (type >= VMBW_MSG_COUNT) {
        core->counters.in_bad_type++;
        vmbc_guest_error(core, VMBC_FAULT_MSG_MALFORMED,
                         "unknown message type %u", type);
        return;
    }
    d = &vmbc_msg_table[type];
    core->counters.in[type]++;
    core->cur_type = type;
    core->dispatching = true;
    vmbc_trace(core, "vmbc_recv", "%s len %zu state %s", d->name, len,
               vmbc_conn_state_name(core->conn.state));
    if (!d->handler) {
        vmbc_guest_error(core, VMBC_FAULT_MSG_MALFORMED,
                         "%s is a host->guest message", d->name);
    } else if (len < d->min_len) {
        vmbc_guest_error(core, VMBC_FAULT_MSG_MALFORMED,
                         "%s too short: %zu < %u", d->name, len,
                         d->min_len);
    } else if (d->min_version &&
               (core->conn.state == VMBC_CONN_DISCONNECTED ||
                core->conn.version < d->min_version)) {
        vmbc_guest_error(core, VMBC_FAULT_MSG_STATE,
                         "%s needs version %u.%u", d->name,
                         VMBW_VERSION_MAJOR(d->min_version),
                         VMBW_VERSION_MINOR(d->min_version));
    } else if ((core->conn.features & d->features) != d->features) {
        vmbc_guest_error(core, VMBC_FAULT_MSG_STATE,
                         "%s needs feature 0x%x, not granted",
                         d->name, d->features);
    } else if (!(d->states & (1u << core->conn.state))) {
        vmbc_guest_error(core, VMBC_FAULT_MSG_STATE, "%s in state %s", d->name,
                         vmbc_conn_state_name(core->conn.state));
    } else {
        /* 3. dispatch */
        d->handler(core, &m, (uint32_t)len);
    }
    core->dispatching = false;
}

/* ---- Guest notification ---------------------------------------------- */

static int vmbc_atomic32(VmbcCore *core, uint64_t gpa, VmbcAtomicOp op,
                         uint32_t val, uint32_t *old)
{
    uint32_t cur, nv;

    if (core->ops->atomic32) {
        return core->ops->atomic32(core->opaque, gpa, op, val, old);
    }
    if (core->ops->read_gpa(core->opaque, gpa, &cur, 4)) {
        return -EFAULT;
    }
    cur = GUINT32_FROM_LE(cur);
    nv = op == VMBC_ATOMIC_OR ? (cur | val) : val;
    nv = GUINT32_TO_LE(nv);
    if (core->ops->write_gpa(core->opaque, gpa, &nv, 4)) {
        return -EFAULT;
    }
    *old = cur;
    return 0;
}

void vmbc_channel_notify_guest(VmbcChannel *chan)
{
    VmbcCore *core = chan->core;
    uint32_t old;

    if (chan->state != VMBC_CHAN_OPEN) {
        return;
    }
    if (core->conn.version >= VMBW_VERSION_WIN8) {
        core->ops->signal_event(core->opaque, chan->target_vp,
                                core->conn.msg_sint, chan->relid);
        return;
    }
    /* Pre-2.4: bit relid in the host->guest half, then event flag 0. */
    if (vmbc_atomic32(core, core->conn.interrupt_page +
                      VMBW_INT_PAGE_RECV_OFFSET + (chan->relid / 32) * 4,
                      VMBC_ATOMIC_OR, 1u << (chan->relid % 32), &old)) {
        vmbc_guest_error(core, VMBC_FAULT_GUEST_PAGE,
                         "interrupt page 0x%" G_GINT64_MODIFIER "x "
                         "not accessible", core->conn.interrupt_page);
        return;
    }
    core->ops->signal_event(core->opaque, chan->target_vp,
                            core->conn.msg_sint, 0);
}

static void vmbc_chan_notify_host(VmbcCore *core, VmbcChannel *chan)
{
    if (core->ops->chan_notify) {
        core->ops->chan_notify(core->opaque, chan);
    }
}

/* Pre-2.4 shared event: scan and clear the guest->host half. */
static void vmbc_scan_interrupt_page(VmbcCore *core)
{
    uint32_t words[VMBW_MAX_RELIDS / 32];
    uint32_t max_relid = 0, nwords;
    uint64_t base = core->conn.interrupt_page + VMBW_INT_PAGE_SEND_OFFSET;

    for (uint32_t r = VMBW_MAX_RELIDS - 1; r > 0; r--) {
        if (core->by_relid[r]) {
            max_relid = r;
            break;
        }
    }
    nwords = max_relid / 32 + 1;
    if (core->ops->read_gpa(core->opaque, base, words, nwords * 4)) {
        vmbc_guest_error(core, VMBC_FAULT_GUEST_PAGE,
                         "interrupt page not accessible");
        return;
    }
    for (uint32_t w = 0; w < nwords; w++) {
        uint32_t bits;

        if (!words[w]) {
            continue;
        }
        if (vmbc_atomic32(core, base + w * 4, VMBC_ATOMIC_XCHG, 0, &bits)) {
            return;
        }
        while (bits) {
            uint32_t b = __builtin_ctz(bits);
            uint32_t relid = w * 32 + b;
            VmbcChannel *chan = relid ? core->by_relid[relid] : NULL;

            bits &= bits - 1;
            if (chan && chan->state == VMBC_CHAN_OPEN) {
                vmbc_chan_notify_host(core, chan);
            }
        }
    }
}

uint32_t vmbc_signal_event_check(const VmbcCore *core, uint32_t connection_id)
{
    if (connection_id == VMBW_CONN_ID_EVENT ||
        (connection_id > VMBC_CHAN_CONN_ID_BASE &&
         connection_id < VMBC_CHAN_CONN_ID_BASE + VMBW_MAX_RELIDS)) {
        return VMBW_HV_STATUS_SUCCESS;
    }
    return VMBW_HV_STATUS_INVALID_CONNECTION_ID;
}

uint32_t vmbc_signal_event(VmbcCore *core, uint32_t connection_id)
{
    VmbcChannel *chan;

    if (connection_id == VMBW_CONN_ID_EVENT) {
        if (core->conn.state == VMBC_CONN_DISCONNECTED ||
            core->conn.version >= VMBW_VERSION_WIN8 ||
            !core->conn.interrupt_page) {
            vmbc_guest_error(core, VMBC_FAULT_SIGNAL,
                             "shared event signalled at version "
                             "%u.%u", VMBW_VERSION_MAJOR(core->conn.version),
                             VMBW_VERSION_MINOR(core->conn.version));
            return VMBW_HV_STATUS_SUCCESS;
        }
        vmbc_scan_interrupt_page(core);
        return VMBW_HV_STATUS_SUCCESS;
    }
    if (vmbc_signal_event_check(core, connection_id)) {
        vmbc_trace(core, "vmbc_signal_bad_id", "0x%x", connection_id);
        return VMBW_HV_STATUS_INVALID_CONNECTION_ID;
    }
    chan = core->by_relid[connection_id - VMBC_CHAN_CONN_ID_BASE];
    if (!chan || chan->state != VMBC_CHAN_OPEN) {
        /* A racing close is legitimate: trace only. */
        vmbc_trace(core, "vmbc_signal_not_open", "0x%x", connection_id);
        return VMBW_HV_STATUS_INVALID_CONNECTION_ID;
    }
    vmbc_chan_notify_host(core, chan);
    return VMBW_HV_STATUS_SUCCESS;
}

/* ---- Monitor pages ----------------------------------------------------- */

static uint16_t vmbc_chan_latency(const VmbcChannel *chan)
{
    return chan->params.monitor_latency ? chan->params.monitor_latency
                                        : 1000;    /* 100 us */
}

/* Write the channel's monitor parameter and latency into both pages. */
void vmbc_monitor_publish(VmbcCore *core, VmbcChannel *chan)
{
    uint64_t pages[2] = { core->conn.monitor_page1, core->conn.monitor_page2 };
    uint32_t g = chan->monitor_id / VMBW_MONITOR_PER_GROUP;
    uint32_t o = chan->monitor_id % VMBW_MONITOR_PER_GROUP;

    if (!chan->has_monitor) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        VmbWireMonitorParameter p;
        uint16_t lat = GUINT16_TO_LE(vmbc_chan_latency(chan));

        if (!pages[i]) {
            continue;
        }
        memset(&p, 0, sizeof(p));
        p.connection_id = GUINT32_TO_LE(chan->connection_id);
        if (core->ops->write_gpa(core->opaque, pages[i] +
                offsetof(VmbWireMonitorPage, parameter) +
                (g * VMBW_MONITOR_PER_GROUP + o) * sizeof(p), &p, sizeof(p)) ||
            core->ops->write_gpa(core->opaque, pages[i] +
                offsetof(VmbWireMonitorPage, latency) +
                (g * VMBW_MONITOR_PER_GROUP + o) * 2, &lat, 2)) {
            vmbc_guest_error(core, VMBC_FAULT_GUEST_PAGE,
                             "monitor page %d not accessible", i + 1);
        }
    }
}

/* (Re)arm or stop the polling timer after a channel opened or closed. */
void vmbc_monitor_update(VmbcCore *core)
{
    int64_t interval = 0;

    if (core->conn.monitor_page2 && !core->monitor_fault) {
        for (uint32_t id = 0; id < VMBW_MONITOR_IDS; id++) {
            VmbcChannel *chan = core->by_monitor[id];
            int64_t lat;

            if (!chan || chan->state != VMBC_CHAN_OPEN) {
                continue;
            }
            lat = MAX((int64_t)vmbc_chan_latency(chan) * 100, 10000);
            if (!interval || lat < interval) {
                interval = lat;
            }
        }
    }
    core->monitor_interval_ns = interval;
    if (!interval) {
        if (core->monitor_timer_armed) {
            core->ops->timer_del(core->opaque, VMBC_TIMER_MONITOR);
            core->monitor_timer_armed = false;
        }
        return;
    }
    if (!core->monitor_timer_armed) {
        core->monitor_timer_armed = true;
        core->ops->timer_mod(core->opaque, VMBC_TIMER_MONITOR,
                             core->ops->now_ns(core->opaque) + interval);
    }
}

static void vmbc_monitor_poll(VmbcCore *core)
{
    uint32_t want[VMBW_MONITOR_GROUPS] = { 0 };

    for (uint32_t id = 0; id < VMBW_MONITOR_IDS; id++) {
        VmbcChannel *chan = core->by_monitor[id];

        if (chan && chan->state == VMBC_CHAN_OPEN) {
            want[id / 32] |= 1u << (id % 32);
        }
    }
    for (uint32_t g = 0; g < VMBW_MONITOR_GROUPS; g++) {
        uint64_t gpa = core->conn.monitor_page2 +
                       offsetof(VmbWireMonitorPage, trigger_group) + g * 8;
        uint32_t cur, bits;

        if (!want[g]) {
            continue;
        }
        if (core->ops->read_gpa(core->opaque, gpa, &cur, 4)) {
            /* Once, not at every poll: polling stops until reconnect. */
            vmbc_guest_error(core, VMBC_FAULT_GUEST_PAGE,
                             "monitor page 2 not accessible, "
                             "monitored channels will not be polled");
            core->monitor_fault = true;
            return;
        }
        if (!(GUINT32_FROM_LE(cur) & want[g])) {
            continue;
        }
        /* Clear all pending bits: those of closed channels mean nothing. */
        if (vmbc_atomic32(core, gpa, VMBC_ATOMIC_XCHG, 0, &bits)) {
            core->monitor_fault = true;
            return;
        }
        bits &= want[g];
        while (bits) {
            uint32_t b = __builtin_ctz(bits);
            VmbcChannel *chan = core->by_monitor[g * 32 + b];

            bits &= bits - 1;
            if (chan && chan->state == VMBC_CHAN_OPEN) {
                vmbc_chan_notify_host(core, chan);
            }
        }
    }
}

void vmbc_timer_fired(VmbcCore *core, VmbcTimer timer)
{
    if (timer != VMBC_TIMER_MONITOR || !core->monitor_timer_armed) {
        return;
    }
    core->monitor_timer_armed = false;
    if (core->conn.state != VMBC_CONN_DISCONNECTED && core->conn.monitor_page2) {
        vmbc_monitor_poll(core);
    }
    vmbc_monitor_update(core);
}

/* ---- Introspection ------------------------------------------------------ */

void vmbc_conn_info(const VmbcCore *core, VmbcConnInfo *info)
{
    memset(info, 0, sizeof(*info));
    info->state = core->conn.state;
    info->version = core->conn.version;
    info->features = core->conn.features;
    info->target_vcpu = core->conn.target_vcpu;
    info->msg_sint = core->conn.msg_sint;
    info->msg_conn_id = core->conn.msg_conn_id;
    info->interrupt_page = core->conn.interrupt_page;
    info->monitor_page1 = core->conn.monitor_page1;
    info->monitor_page2 = core->conn.monitor_page2;
    info->n_channels = core->n_channels;
    info->n_gpadls = g_hash_table_size(core->gpadls);
    info->gpadl_bytes = core->gpadl_bytes;
    info->out_queue_len = g_queue_get_length((GQueue *)&core->out);
}

const VmbcCounters *vmbc_counters(const VmbcCore *core)
{
    return &core->counters;
}

void vmbc_foreach_channel(VmbcCore *core,
                          bool (*fn)(VmbcChannel *chan, void *arg), void *arg)
{
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        if (core->by_relid[r] && !fn(core->by_relid[r], arg)) {
            return;
        }
    }
}

static gint vmbc_cmp_u32(gconstpointer a, gconstpointer b)
{
    uint32_t x = GPOINTER_TO_UINT(*(gconstpointer const *)a);
    uint32_t y = GPOINTER_TO_UINT(*(gconstpointer const *)b);

    return x < y ? -1 : x > y;
}

void vmbc_foreach_gpadl(VmbcCore *core,
                        bool (*fn)(VmbcGpadl *gpadl, void *arg), void *arg)
{
    guint n;
    gpointer *keys = g_hash_table_get_keys_as_array(core->gpadls, &n);

    qsort(keys, n, sizeof(gpointer), (int (*)(const void *, const void *))
          vmbc_cmp_u32);
    for (guint i = 0; i < n; i++) {
        VmbcGpadl *g = g_hash_table_lookup(core->gpadls, keys[i]);

        if (g && !fn(g, arg)) {
            break;
        }
    }
    g_free(keys);
}

/* ---- GUID helpers ------------------------------------------------------- */

bool vmbc_guid_parse(const char *str, VmbWireGuid *guid)
{
    /* Text order of the 16 bytes -> wire byte index. */
    static const int pos[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
                                 8, 9, 10, 11, 12, 13, 14, 15 };
    int n = 0;

    if (!str || strlen(str) != 36) {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (str[i] != '-') {
                return false;
            }
            continue;
        }
        if (!g_ascii_isxdigit(str[i]) || !g_ascii_isxdigit(str[i + 1])) {
            return false;
        }
        guid->b[pos[n++]] = (g_ascii_xdigit_value(str[i]) << 4) |
                            g_ascii_xdigit_value(str[i + 1]);
        i++;
    }
    return n == 16;
}

void vmbc_guid_format(const VmbWireGuid *g, char *buf)
{
    const uint8_t *b = g->b;

    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x", b[3], b[2], b[1], b[0], b[5], b[4],
             b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- Invariants ------------------------------------------------------- */

#define INV(cond, msg) do { if (!(cond)) { *reason = (msg); return false; } } \
    while (0)

bool vmbc_check_invariants(const VmbcCore *core, const char **reason)
{
    const char *dummy;
    uint32_t nchan = 0, nmon = 0;
    uint64_t bytes = 0;
    GHashTableIter it;
    gpointer k, v;
    bool up = core->conn.state != VMBC_CONN_DISCONNECTED;

    if (!reason) {
        reason = &dummy;
    }
    INV((unsigned)core->conn.state < VMBC_CONN_STATE_COUNT, "conn state");
    if (up) {
        /* (max_version may have been lowered since: vmbc_set_max_version) */
        INV(vmbc_version_known(core->conn.version), "version");
        INV(core->conn.msg_conn_id ==
            (core->conn.version >= VMBW_VERSION_WIN10_RS3_1 ? 4u : 1u),
            "msg_conn_id");
        INV(core->conn.msg_sint <= 15, "msg_sint");
        INV(core->conn.version < VMBW_VERSION_WIN8 ||
            !core->conn.interrupt_page, "interrupt page at >= 2.4");
        INV(!(core->conn.features & ~VMBC_GRANTABLE_FEATURES) &&
            (core->conn.version >= VMBW_VERSION_COPPER ||
             !core->conn.features), "feature flags");
    } else {
        INV(core->conn.version == 0 && core->conn.features == 0 &&
            core->conn.msg_conn_id == 0 &&
            !core->conn.interrupt_page && !core->conn.monitor_page1 &&
            !core->conn.monitor_page2, "disconnected but connection data");
        INV(g_hash_table_size(core->gpadls) == 0, "GPADLs while disconnected");
        INV(!core->monitor_timer_armed, "monitor timer while disconnected");
    }
    INV(core->by_relid[0] == NULL, "relid 0 used");
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        const VmbcChannel *c = core->by_relid[r];

        if (!c) {
            continue;
        }
        nchan++;
        INV(c->relid == r, "relid mismatch");
        INV(c->core == core, "channel core");
        INV(c->connection_id == VMBC_CHAN_CONN_ID_BASE + r, "connection id");
        INV(!(c->params.flags & VMBC_OFFER_FLAGS_FORBIDDEN),
            "confidential offer flags");
        INV((unsigned)c->state < VMBC_CHAN_STATE_COUNT, "chan state");
        if (!up) {
            INV(!c->offered && c->state == VMBC_CHAN_CLOSED,
                "channel state while disconnected");
        }
        if (c->offered) {
            INV(core->conn.state == VMBC_CONN_READY, "offered before READY");
        }
        if (c->state == VMBC_CHAN_OPEN) {
            INV(c->offered, "open but not offered");
            INV(c->ring_gpadl && c->ring_gpadl->relid == r &&
                c->ring_gpadl->state == VMBC_GPADL_COMPLETE &&
                c->ring_gpadl->pins > 0, "open without pinned ring GPADL");
            INV(g_hash_table_lookup(core->gpadls,
                GUINT_TO_POINTER(c->ring_gpadl->handle)) == c->ring_gpadl,
                "ring GPADL not in table");
            INV(c->ring_split >= 2 &&
                c->ring_split + 2 <= c->ring_gpadl->npfns, "ring split");
        } else {
            INV(!c->ring_gpadl, "ring GPADL while not open");
        }
        if (c->state == VMBC_CHAN_RESCINDED) {
            INV(c->gpadls == NULL, "rescinded channel owns GPADLs");
        }
        if (c->has_monitor) {
            nmon++;
            INV(c->monitor_id < VMBW_MONITOR_IDS &&
                core->by_monitor[c->monitor_id] == c, "monitor id map");
        }
        for (GList *l = c->gpadls; l; l = l->next) {
            const VmbcGpadl *g = l->data;

            INV(g->relid == r && g->chan_link == l, "channel GPADL list");
        }
    }
    INV(nchan == core->n_channels, "channel count");
    for (uint32_t id = 0; id < VMBW_MONITOR_IDS; id++) {
        if (core->by_monitor[id]) {
            nmon--;
            INV(core->by_monitor[id]->monitor_id == id &&
                core->by_monitor[id]->has_monitor, "monitor back map");
        }
    }
    INV(nmon == 0, "monitor count");

    g_hash_table_iter_init(&it, core->gpadls);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const VmbcGpadl *g = v;
        const VmbcChannel *c;
        uint32_t pfns = 0;

        INV(GPOINTER_TO_UINT(k) == g->handle, "GPADL key");
        INV((unsigned)g->state < VMBC_GPADL_STATE_COUNT, "GPADL state");
        c = g->relid < VMBW_MAX_RELIDS ? core->by_relid[g->relid] : NULL;
        INV((c && g->chan_link && g->chan_link->data == g) ||
            (!g->chan_link && g->state == VMBC_GPADL_FAILED),
            "GPADL without owner channel");
        bytes += g->quota_bytes;
        INV(g->npfns <= g->pfn_cap, "GPADL pfn capacity");
        INV(g->quota_bytes == (uint64_t)g->npfns * VMBW_PAGE_SIZE +
            (uint64_t)g->pfns_left * VMBW_PAGE_SIZE, "GPADL quota");
        for (uint32_t i = 0; i < g->ranges_done; i++) {
            INV(g->ranges[i].pfn_start == pfns, "range pfn start");
            pfns += g->ranges[i].npfns;
        }
        if (g->state == VMBC_GPADL_COMPLETE) {
            INV(g->ranges_done == g->rangecount && g->pfns_left == 0 &&
                pfns == g->npfns, "complete GPADL counts");
        }
        if (g->state == VMBC_GPADL_FAILED) {
            INV(g->npfns == 0 && g->quota_bytes == 0 && g->pins == 0,
                "failed GPADL holds resources");
        }
    }
    INV(bytes == core->gpadl_bytes, "GPADL quota sum");
    INV(core->gpadl_bytes <= core->gpadl_quota, "GPADL quota exceeded");
    INV(g_hash_table_size(core->gpadls) <= core->gpadl_max, "GPADL count");
    INV(g_queue_get_length((GQueue *)&core->out) <= core->out_max,
        "outgoing queue bound");
    INV(!core->monitor_timer_armed || core->monitor_interval_ns > 0,
        "monitor timer without interval");
    return true;
}
