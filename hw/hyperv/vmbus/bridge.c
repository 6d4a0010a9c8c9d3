/*
 * vmbus-bridge: the guest-visible VMBus, our protocol core wired to
 * QEMU's SynIC (KVM or our TCG path), guest memory, timers and ACPI
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Threads.  HvPostMessage reaches vmbus_host_post_msg_handler() on a vCPU
 * thread: without the BQL under KVM, with it under our TCG path.  That
 * handler only asks the core for the hypercall status (a thread-safe,
 * read-only check), copies the message into rx_queue under rx_lock and
 * schedules rx_bh.  Everything else (the core, channels, devices) runs in
 * the main loop with the BQL held; the core itself is single-threaded.
 *
 * Host -> guest messages go through QEMU's staged SynIC message path, one
 * at a time: while one is in flight the core's post_msg gets -EAGAIN and
 * keeps its queue; the staging callback (slot written, or slot busy and
 * then freed by the guest's EOM) lets the core continue.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/acpi/aml-build.h"
#include "hw/i386/acpi-build.h"
#include "hw/i386/pc.h"
#include "hw/i386/x86.h"
#include "qemu/units.h"
#include "migration/vmstate.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "hw/core/cpu.h"
#include "hw/hyperv/vmbus-fault.h"
#include "vmbus-priv.h"
#include "trace.h"

/* ---- guest errors and traces ---------------------------------------- */

/* The core's refusals go to the one guest-fault reporter. */
static void G_GNUC_PRINTF(3, 4)
vmbus_host_guest_error(void *opaque, VmbcFault fault, const char *fmt, ...)
{
    VMBusHost *h = opaque;
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vmbus_guest_fault(h->bridge ? OBJECT(h->bridge) : NULL,
                      vmbus_fault_from_core(fault), "%s", msg);
}

static void G_GNUC_PRINTF(3, 4)
vmbus_host_trace(void *opaque, const char *event, const char *fmt, ...)
{
    va_list ap;
    char buf[256];

    if (!trace_event_get_state_backends(TRACE_VMBHOST_CORE)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    trace_vmbhost_core(event, buf);
}

/* ---- SINT routes ------------------------------------------------------ */

static void vmbus_host_msg_cb(void *data, int status);

/*
 * Routes are made lazily (under KVM a route made before the guest
 * enables its SynIC would never deliver) and dropped when the guest
 * disconnects or the machine resets.  Message routes (with a staging
 * callback) are kept apart from event routes.
 */
static HvSintRoute *vmbus_host_route(VMBusHost *h, uint32_t vp, uint32_t sint,
                                     bool for_msg)
{
    uint32_t key_sint = sint | (for_msg ? 0x100 : 0);
    VMBusRoute r;

    for (guint i = 0; i < h->routes->len; i++) {
        VMBusRoute *e = &g_array_index(h->routes, VMBusRoute, i);
        if (e->vp == vp && e->sint == key_sint) {
            return e->route;
        }
    }
    r.vp = vp;
    r.sint = key_sint;
    r.route = hyperv_sint_route_new(vp, sint,
                                    for_msg ? vmbus_host_msg_cb : NULL,
                                    for_msg ? h : NULL);
    if (!r.route) {
        return NULL;
    }
    g_array_append_val(h->routes, r);
    return r.route;
}

static void vmbus_host_drop_routes(VMBusHost *h)
{
    for (guint i = 0; i < h->routes->len; i++) {
        hyperv_sint_route_unref(g_array_index(h->routes, VMBusRoute, i).route);
    }
    g_array_set_size(h->routes, 0);
}

/* ---- ops: messages and events ----------------------------------------- */

static int vmbus_host_post_msg(void *opaque, uint32_t vp, uint32_t sint,
                               uint32_t msg_type, const void *payload,
                               size_t len)
{
    VMBusHost *h = opaque;
    HvSintRoute *route;
    int ret;

    if (h->msg_inflight) {
        return -EAGAIN;
    }
    if (len > HV_MESSAGE_PAYLOAD_SIZE) {
        return -EINVAL;
    }
    route = vmbus_host_route(h, vp, sint, true);
    if (!route) {
        trace_vmbhost_post_msg_noroute(vp, sint);
        return -ENXIO;
    }
    memset(&h->inflight, 0, sizeof(h->inflight));
    h->inflight.header.message_type = msg_type;
    h->inflight.header.payload_size = len;
    memcpy(h->inflight.payload, payload, len);
    if (h->delay_ms) {
        /* Test bench: the message waits before it is staged. */
        h->msg_inflight = true;
        h->inflight_vp = vp;
        h->inflight_sint = sint;
        h->inflight_status = -EAGAIN;
        timer_mod(h->delay_timer,
                  qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + h->delay_ms);
        return 0;
    }
    ret = hyperv_post_msg(route, &h->inflight);
    if (ret) {
        return ret == -EAGAIN ? -EAGAIN : -EIO;
    }
    h->msg_inflight = true;
    h->inflight_vp = vp;
    h->inflight_sint = sint;
    trace_vmbhost_post_msg(vp, sint, len);
    return 0;
}

/*
 * Staging callback (main loop): 0 = written into the slot; -EAGAIN = the
 * slot was busy, msg_pending was set, and the guest's EOM has just freed
 * it, so post the same message again; anything else = dropped (e.g. the
 * guest's SIMP is disabled, as Hyper-V drops it).  QEMU frees its staging
 * area only after this callback returns, so the next post happens in a
 * bottom half.
 */
static void vmbus_host_msg_cb(void *data, int status)
{
    VMBusHost *h = data;

    if (!h->msg_inflight) {
        return;
    }
    trace_vmbhost_post_msg_done(h->inflight_vp, h->inflight_sint, status);
    h->inflight_status = status;
    qemu_bh_schedule(h->post_bh);
}

static void vmbus_host_post_bh(void *opaque)
{
    VMBusHost *h = opaque;
    HvSintRoute *route;

    if (!h->msg_inflight) {
        return;
    }
    if (h->inflight_status == -EAGAIN) {
        route = vmbus_host_route(h, h->inflight_vp, h->inflight_sint, true);
        if (route && hyperv_post_msg(route, &h->inflight) == 0) {
            return;
        }
    }
    h->msg_inflight = false;
    vmbc_msg_slot_freed(h->core);
}

static void vmbus_host_signal_event(void *opaque, uint32_t vp, uint32_t sint,
                                    uint32_t flag)
{
    VMBusHost *h = opaque;
    HvSintRoute *route = vmbus_host_route(h, vp, sint, false);

    if (!route) {
        trace_vmbhost_post_msg_noroute(vp, sint);
        return;
    }
    hyperv_set_event_flag(route, flag);
}

static int vmbus_host_read_gpa(void *opaque, uint64_t gpa, void *buf,
                               size_t len)
{
    return address_space_read(&address_space_memory, gpa,
                              MEMTXATTRS_UNSPECIFIED, buf, len) == MEMTX_OK
           ? 0 : -EFAULT;
}

static int vmbus_host_write_gpa(void *opaque, uint64_t gpa, const void *buf,
                                size_t len)
{
    return address_space_write(&address_space_memory, gpa,
                               MEMTXATTRS_UNSPECIFIED, buf, len) == MEMTX_OK
           ? 0 : -EFAULT;
}

static int vmbus_host_atomic32(void *opaque, uint64_t gpa, VmbcAtomicOp op,
                               uint32_t val, uint32_t *old)
{
    hwaddr len = 4;
    uint32_t *p;

    if (gpa & 3) {
        return -EFAULT;
    }
    p = address_space_map(&address_space_memory, gpa, &len, true,
                          MEMTXATTRS_UNSPECIFIED);
    if (!p || len < 4) {
        if (p) {
            address_space_unmap(&address_space_memory, p, len, true, 0);
        }
        return -EFAULT;
    }
    switch (op) {
    case VMBC_ATOMIC_OR:
        *old = le32_to_cpu(qatomic_fetch_or(p, cpu_to_le32(val)));
        break;
    case VMBC_ATOMIC_XCHG:
    default:
        *old = le32_to_cpu(qatomic_xchg(p, cpu_to_le32(val)));
        break;
    }
    address_space_unmap(&address_space_memory, p, len, true, 4);
    return 0;
}

static void vmbus_host_timer_cb(void *opaque)
{
    VMBusHostTimer *t = opaque;

    vmbc_timer_fired(t->host->core, t->which);
}

static void vmbus_host_timer_mod(void *opaque, VmbcTimer timer,
                                 int64_t expire_ns)
{
    VMBusHost *h = opaque;

    if (timer < VMBC_TIMER_COUNT) {
        timer_mod(h->timers[timer], expire_ns);
    }
}

static void vmbus_host_timer_del(void *opaque, VmbcTimer timer)
{
    VMBusHost *h = opaque;

    if (timer < VMBC_TIMER_COUNT) {
        timer_del(h->timers[timer]);
    }
}

static int64_t vmbus_host_now_ns(void *opaque)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static bool vmbus_host_vp_exists(void *opaque, uint32_t vp)
{
    CPUState *cs = qemu_get_cpu(vp);

    return cs && hyperv_vp_index(cs) == vp;
}

static int vmbus_host_chan_open(void *opaque, VmbcChannel *cc)
{
    return vmbus_chan_open_hook(opaque, cc);
}

static void vmbus_host_chan_close(void *opaque, VmbcChannel *cc)
{
    vmbus_chan_close_hook(opaque, cc);
}

static void vmbus_host_chan_notify(void *opaque, VmbcChannel *cc)
{
    vmbus_chan_notify_hook(opaque, cc);
}

static void vmbus_host_chan_released(void *opaque, VmbcChannel *cc)
{
    vmbus_chan_released_hook(opaque, cc);
}

static uint32_t vmbus_host_tl_connect(void *opaque,
                                      const VmbWireGuid *endpoint,
                                      const VmbWireGuid *service,
                                      void **chan_opaque)
{
    return vmbus_bus_tl_connect(opaque, endpoint, service, chan_opaque);
}

static void vmbus_host_conn_state_changed(void *opaque)
{
    VMBusHost *h = opaque;
    VmbcConnInfo info;

    vmbc_conn_info(h->core, &info);
    trace_vmbhost_conn_state(vmbc_conn_state_name(info.state), info.version);
    if (info.state == VMBC_CONN_DISCONNECTED && !h->msg_inflight) {
        /* The guest may disable its SynIC now (unload, kexec). */
        vmbus_host_drop_routes(h);
    }
}

const VmbcOps vmbus_host_ops = {
    .post_msg = vmbus_host_post_msg,
    .signal_event = vmbus_host_signal_event,
    .read_gpa = vmbus_host_read_gpa,
    .write_gpa = vmbus_host_write_gpa,
    .atomic32 = vmbus_host_atomic32,
    .timer_mod = vmbus_host_timer_mod,
    .timer_del = vmbus_host_timer_del,
    .now_ns = vmbus_host_now_ns,
    .vp_exists = vmbus_host_vp_exists,
    .chan_open = vmbus_host_chan_open,
    .chan_close = vmbus_host_chan_close,
    .chan_notify = vmbus_host_chan_notify,
    .chan_released = vmbus_host_chan_released,
    .tl_connect = vmbus_host_tl_connect,
    .conn_state_changed = vmbus_host_conn_state_changed,
    .trace = vmbus_host_trace,
    .guest_error = vmbus_host_guest_error,
};

/* ---- guest -> host ------------------------------------------------------ */

/* vCPU thread; see the comment at the top of the file. */
static uint16_t vmbus_host_post_msg_handler(
    const struct hyperv_post_message_input *gmsg, void *data)
{
    VMBusHost *h = data;
    struct hyperv_post_message_input msg;
    VMBusRxMsg *m;
    uint32_t status;

    memcpy(&msg, gmsg, sizeof(msg));     /* the guest may change it */
    status = vmbc_post_message_check(h->core, msg.connection_id,
                                     msg.message_type, msg.payload_size);
    if (status != HV_STATUS_SUCCESS) {
        trace_vmbhost_post_msg_refused(msg.connection_id, msg.message_type,
                                       msg.payload_size, status);
        return status;
    }

    qemu_mutex_lock(&h->rx_lock);
    if (g_queue_get_length(&h->rx_queue) >= VMBUS_HOST_RX_QUEUE_MAX) {
        qemu_mutex_unlock(&h->rx_lock);
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }
    m = g_new(VMBusRxMsg, 1);
    m->connection_id = msg.connection_id;
    m->len = msg.payload_size;
    memcpy(m->payload, msg.payload, m->len);
    g_queue_push_tail(&h->rx_queue, m);
    qemu_mutex_unlock(&h->rx_lock);
    qemu_bh_schedule(h->rx_bh);
    return HV_STATUS_SUCCESS;
}

static void vmbus_host_rx_bh(void *opaque)
{
    VMBusHost *h = opaque;
    VMBusRxMsg *m;

    for (;;) {
        qemu_mutex_lock(&h->rx_lock);
        m = g_queue_pop_head(&h->rx_queue);
        qemu_mutex_unlock(&h->rx_lock);
        if (!m) {
            break;
        }
        trace_vmbhost_rx_msg(m->connection_id, m->len);
        vmbc_handle_message(h->core, m->connection_id, m->payload, m->len);
        g_free(m);
    }
}

static void vmbus_host_flush_rx(VMBusHost *h)
{
    VMBusRxMsg *m;

    qemu_mutex_lock(&h->rx_lock);
    while ((m = g_queue_pop_head(&h->rx_queue))) {
        g_free(m);
    }
    qemu_mutex_unlock(&h->rx_lock);
}

static void vmbus_host_legacy_event(EventNotifier *n)
{
    VMBusHost *h = container_of(n, VMBusHost, legacy_notifier);

    if (event_notifier_test_and_clear(n)) {
        vmbc_signal_event(h->core, VMBW_CONN_ID_EVENT);
    }
}

/* ---- device ------------------------------------------------------------ */

static void vmbus_bridge_realize(DeviceState *dev, Error **errp)
{
    VMBusBridge *bridge = VMBUS_BRIDGE(dev);
    VMBusHost *h = bridge->host;
    VmbcConfig cfg = { 0 };
    bool ambiguous = false;
    g_autoptr(GError) gerr = NULL;

    object_resolve_path_type("", TYPE_VMBUS_BRIDGE, &ambiguous);
    if (ambiguous) {
        error_setg(errp, "there can be at most one %s in the system",
                   TYPE_VMBUS_BRIDGE);
        return;
    }
    if (!hyperv_is_synic_enabled()) {
        error_setg(errp, "%s needs the Hyper-V SynIC: add "
                   "hv-vpindex=on,hv-synic=on to -cpu (under KVM the host "
                   "kernel must offer Hyper-V SynIC support)",
                   TYPE_VMBUS_BRIDGE);
        return;
    }
    if (bridge->max_version && !vmbc_version_known(bridge->max_version)) {
        error_setg(errp, "%s: max-version 0x%x is not a VMBus version "
                   "(e.g. 0x60000 for 6.0, 0x50003 for 5.3)",
                   TYPE_VMBUS_BRIDGE, bridge->max_version);
        return;
    }

    if (!vmbus_bridge_place_windows(bridge, errp)) {
        return;
    }

    h->bridge = bridge;
    h->max_version = bridge->max_version;
    h->gpadl_quota = bridge->gpadl_quota;
    cfg.ops = &vmbus_host_ops;
    cfg.opaque = h;
    cfg.max_version = h->max_version;
    cfg.gpadl_quota_bytes = h->gpadl_quota;
    h->core = vmbc_new(&cfg, &gerr);
    if (!h->core) {
        error_setg(errp, "%s: %s", TYPE_VMBUS_BRIDGE, gerr->message);
        return;
    }

    qemu_mutex_init(&h->rx_lock);
    g_queue_init(&h->rx_queue);
    h->rx_bh = qemu_bh_new(vmbus_host_rx_bh, h);
    h->post_bh = qemu_bh_new(vmbus_host_post_bh, h);
    h->delay_timer = timer_new_ms(QEMU_CLOCK_REALTIME, vmbus_host_post_bh, h);
    h->routes = g_array_new(false, true, sizeof(VMBusRoute));
    for (int i = 0; i < VMBC_TIMER_COUNT; i++) {
        h->timer_ctx[i].host = h;
        h->timer_ctx[i].which = i;
        h->timers[i] = timer_new_ns(QEMU_CLOCK_VIRTUAL, vmbus_host_timer_cb,
                                    &h->timer_ctx[i]);
    }

    if (hyperv_set_msg_handler(VMBW_CONN_ID_MESSAGE,
                               vmbus_host_post_msg_handler, h)) {
        error_setg(errp, "%s: message connection %u is taken",
                   TYPE_VMBUS_BRIDGE, VMBW_CONN_ID_MESSAGE);
        return;
    }
    /* Connection 4 (5.0 and later) is always registered: the core answers
     * INVALID_CONNECTION_ID on it while max-version is below 5.0, which
     * QMP can change at run time. */
    if (hyperv_set_msg_handler(VMBW_CONN_ID_MESSAGE_4,
                               vmbus_host_post_msg_handler, h)) {
        error_setg(errp, "%s: message connection %u is taken",
                   TYPE_VMBUS_BRIDGE, VMBW_CONN_ID_MESSAGE_4);
        return;
    }
    if (!event_notifier_init(&h->legacy_notifier, false)) {
        event_notifier_set_handler(&h->legacy_notifier,
                                   vmbus_host_legacy_event);
        h->legacy_registered =
            !hyperv_set_event_flag_handler(VMBW_CONN_ID_EVENT,
                                           &h->legacy_notifier);
    }

    bridge->bus = VMBUS(qbus_new(TYPE_VMBUS, dev, "vmbus"));
    bridge->bus->bridge = bridge;
    qbus_set_bus_hotplug_handler(BUS(bridge->bus));
}

static void vmbus_bridge_instance_init(Object *obj)
{
    VMBusBridge *bridge = VMBUS_BRIDGE(obj);

    bridge->host = g_new0(VMBusHost, 1);
}

static void vmbus_bridge_reset_hold(Object *obj, ResetType type)
{
    VMBusBridge *bridge = VMBUS_BRIDGE(obj);
    VMBusHost *h = bridge->host;

    if (!h->core) {
        return;
    }
    vmbus_host_flush_rx(h);
    vmbc_reset(h->core);
    timer_del(h->delay_timer);
    h->msg_inflight = false;
    /* Before the SynICs reset: they insist that no route is left. */
    vmbus_host_drop_routes(h);
}

/* ---- migration ---------------------------------------------------------- */

static bool vmbus_ring_saved_fresh(const VmbRingSaved *s)
{
    return s->error == VMBR_ERR_NONE && !s->flags &&
           s->priv_index == s->pub_index;
}

/* Rings whose state a fresh map on the destination would not restore:
 * latched broken, pending_send_sz set by us, a read not yet published. */
static bool vmbus_bridge_save_rings_one(VmbcChannel *cc, void *arg)
{
    VMBusChannel *chan = vmbc_chan_get_opaque(cc);
    GArray *a = arg;
    VMBusRingMig m = { .relid = vmbc_chan_relid(cc) };

    if (!chan || !chan->is_open) {
        return true;
    }
    vmbr_save(&chan->rings.out, &m.out);
    vmbr_save(&chan->rings.in, &m.in);
    if (!vmbus_ring_saved_fresh(&m.out) || !vmbus_ring_saved_fresh(&m.in)) {
        g_array_append_val(a, m);
    }
    return true;
}

static void vmbus_host_free_mig(VMBusHost *h)
{
    g_free(h->mig_buf);
    h->mig_buf = NULL;
    h->mig_len = 0;
    g_free(h->mig_rings);
    h->mig_rings = NULL;
    h->mig_nrings = 0;
}

static int vmbus_bridge_pre_save(void *opaque)
{
    VMBusHost *h = VMBUS_BRIDGE(opaque)->host;
    GByteArray *ba = g_byte_array_new();
    GArray *rings = g_array_new(false, false, sizeof(VMBusRingMig));

    vmbus_host_rx_bh(h);            /* no message left behind in the queue */
    vmbus_host_free_mig(h);
    vmbc_save(h->core, ba);
    h->mig_len = ba->len;
    h->mig_buf = g_byte_array_free(ba, false);
    vmbc_foreach_channel(h->core, vmbus_bridge_save_rings_one, rings);
    h->mig_nrings = rings->len;
    h->mig_rings = (VMBusRingMig *)g_array_free(rings, false);
    return 0;
}

static int vmbus_bridge_post_save(void *opaque)
{
    vmbus_host_free_mig(VMBUS_BRIDGE(opaque)->host);
    return 0;
}

static int vmbus_bridge_pre_load(void *opaque)
{
    VMBusBridge *bridge = VMBUS_BRIDGE(opaque);

    vmbus_host_free_mig(bridge->host);
    /* Start from the reset state the core's loader expects. */
    vmbus_bridge_reset_hold(OBJECT(bridge), RESET_TYPE_COLD);
    return 0;
}

/* After the rings were mapped afresh: what the source knew of them. */
static int vmbus_host_load_rings(VMBusHost *h)
{
    for (int32_t i = 0; i < h->mig_nrings; i++) {
        const VMBusRingMig *m = &h->mig_rings[i];
        VmbcChannel *cc = vmbc_chan_by_relid(h->core, m->relid);
        VMBusChannel *chan = cc ? vmbc_chan_get_opaque(cc) : NULL;

        if (!chan || !chan->is_open) {
            error_report("vmbus-bridge: ring state for channel %u, which is "
                         "not open", m->relid);
            return -EINVAL;
        }
        /* VMBR_CORRUPT leaves the ring latched broken: that is its state. */
        if (vmbr_load(&chan->rings.out, &m->out) == VMBR_INVALID ||
            vmbr_load(&chan->rings.in, &m->in) == VMBR_INVALID) {
            error_report("vmbus-bridge: bad ring state for channel %u",
                         m->relid);
            return -EINVAL;
        }
        if (m->out.error != VMBR_ERR_NONE || m->in.error != VMBR_ERR_NONE) {
            chan->ring_broken_reported = true;  /* the source reported it */
        }
    }
    return 0;
}

static bool vmbus_bridge_remap_one(VmbcChannel *cc, void *arg)
{
    VMBusChannel *chan = vmbc_chan_get_opaque(cc);
    int *ret = arg;

    if (chan && vmbc_chan_state(cc) == VMBC_CHAN_OPEN) {
        chan->core = cc;
        if (vmbus_channel_remap(chan) < 0) {
            *ret = -EINVAL;
            return false;
        }
    }
    return true;
}

/* The staged message is posted again at load: check what the stream says. */
static bool vmbus_host_inflight_ok(VMBusHost *h)
{
    if (!h->msg_inflight) {
        return true;
    }
    if (h->inflight_sint >= HV_SINT_COUNT ||
        !vmbus_host_vp_exists(h, h->inflight_vp) ||
        h->inflight.header.message_type != HV_MESSAGE_VMBUS ||
        h->inflight.header.payload_size > HV_MESSAGE_PAYLOAD_SIZE) {
        error_report("vmbus-bridge: bad in-flight message in the stream "
                     "(vp %u sint %u type 0x%x size %u)", h->inflight_vp,
                     h->inflight_sint, h->inflight.header.message_type,
                     h->inflight.header.payload_size);
        return false;
    }
    return true;
}

static int vmbus_bridge_post_load(void *opaque, int version_id)
{
    VMBusHost *h = VMBUS_BRIDGE(opaque)->host;
    g_autoptr(GError) gerr = NULL;
    int ret = 0;

    if (!vmbus_host_inflight_ok(h)) {
        h->msg_inflight = false;
        ret = -EINVAL;
    } else if (!vmbc_load(h->core, h->mig_buf, h->mig_len, &gerr)) {
        error_report("vmbus-bridge: cannot load VMBus state: %s",
                     gerr->message);
        ret = -EINVAL;
    } else {
        vmbus_host_rebind_chan_notifiers(h);
        vmbc_foreach_channel(h->core, vmbus_bridge_remap_one, &ret);
        if (!ret) {
            ret = vmbus_host_load_rings(h);
        }
    }
    vmbus_host_free_mig(h);
    if (!ret && h->msg_inflight) {
        /* The staged message was lost with the old process: post again. */
        HvSintRoute *route = vmbus_host_route(h, h->inflight_vp,
                                              h->inflight_sint, true);
        if (!route || hyperv_post_msg(route, &h->inflight)) {
            h->msg_inflight = false;
        }
    }
    return ret;
}

/* Bound the core's blob length from the stream before it is allocated. */
static bool vmbus_host_mig_len_ok(void *opaque, int version_id)
{
    VMBusHost *h = opaque;

    return h->core && h->mig_len <= vmbc_save_max_len(h->core);
}

static const VMStateDescription vmstate_vmbus_ring_saved = {
    .name = "vmbus-host/ring",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(role, VmbRingSaved),
        VMSTATE_UINT32(priv_index, VmbRingSaved),
        VMSTATE_UINT32(pub_index, VmbRingSaved),
        VMSTATE_UINT32(flags, VmbRingSaved),
        VMSTATE_UINT32(error, VmbRingSaved),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_vmbus_ring_mig = {
    .name = "vmbus-host/chan-rings",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(relid, VMBusRingMig),
        VMSTATE_STRUCT(out, VMBusRingMig, 1, vmstate_vmbus_ring_saved,
                       VmbRingSaved),
        VMSTATE_STRUCT(in, VMBusRingMig, 1, vmstate_vmbus_ring_saved,
                       VmbRingSaved),
        VMSTATE_END_OF_LIST()
    },
};

static bool vmbus_host_rings_needed(void *opaque)
{
    return ((VMBusHost *)opaque)->mig_nrings > 0;
}

static bool vmbus_host_nrings_ok(void *opaque, int version_id)
{
    VMBusHost *h = opaque;

    return h->mig_nrings >= 0 && h->mig_nrings < VMBW_MAX_RELIDS;
}

/* Only when some ring has more to say than its header (older QEMUs
 * then still take the stream). */
static const VMStateDescription vmstate_vmbus_host_rings = {
    .name = "vmbus-host/core/rings",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = vmbus_host_rings_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_INT32(mig_nrings, VMBusHost),
        VMSTATE_VALIDATE("mig_nrings", vmbus_host_nrings_ok),
        VMSTATE_STRUCT_VARRAY_ALLOC(mig_rings, VMBusHost, mig_nrings, 1,
                                    vmstate_vmbus_ring_mig, VMBusRingMig),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_vmbus_host = {
    .name = "vmbus-host/core",
    .version_id = 1,
    .minimum_version_id = 1,
    .subsections = (const VMStateDescription * const []) {
        &vmstate_vmbus_host_rings,
        NULL
    },
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(mig_len, VMBusHost),
        VMSTATE_VALIDATE("mig_len", vmbus_host_mig_len_ok),
        VMSTATE_VBUFFER_ALLOC_UINT32(mig_buf, VMBusHost, 0, NULL, mig_len),
        VMSTATE_BOOL(msg_inflight, VMBusHost),
        VMSTATE_UINT32(inflight_vp, VMBusHost),
        VMSTATE_UINT32(inflight_sint, VMBusHost),
        VMSTATE_UINT32(inflight.header.message_type, VMBusHost),
        VMSTATE_UINT8(inflight.header.payload_size, VMBusHost),
        VMSTATE_UINT8_ARRAY(inflight.payload, VMBusHost,
                            HV_MESSAGE_PAYLOAD_SIZE),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Section name and version differ from QEMU's own VMBus ("vmbus-bridge"
 * holding "vmbus"), so a stream from it is refused, never misparsed.
 */
static const VMStateDescription vmstate_vmbus_bridge = {
    .name = "vmbus-host-bridge",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = vmbus_bridge_pre_save,
    .post_save = vmbus_bridge_post_save,
    .pre_load = vmbus_bridge_pre_load,
    .post_load = vmbus_bridge_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_POINTER(host, VMBusBridge, vmstate_vmbus_host,
                               VMBusHost),
        VMSTATE_END_OF_LIST()
    },
};

static const Property vmbus_bridge_props[] = {
    DEFINE_PROP_UINT8("irq", VMBusBridge, irq, 7),
    /* Highest protocol version offered; 0 = the newest we speak (6.0). */
    DEFINE_PROP_UINT32("max-version", VMBusBridge, max_version, 0),
    /* Per-VM GPADL quota in bytes; 0 = Hyper-V's 1280 MiB. */
    DEFINE_PROP_SIZE("gpadl-quota", VMBusBridge, gpadl_quota, 0),
    /* MMIO window in the ACPI _CRS (for devices with mmio_megabytes). */
    DEFINE_PROP_SIZE("mmio-size", VMBusBridge, mmio_size, 512 * MiB),
    /* Its guest-physical base; 0 = above the 64-bit PCI hole. */
    DEFINE_PROP_UINT64("mmio-base", VMBusBridge, mmio_base, 0),
    /* Optional window below 4 GiB: off unless both are given. */
    DEFINE_PROP_SIZE("mmio-low-size", VMBusBridge, mmio_low_size, 0),
    DEFINE_PROP_UINT64("mmio-low-base", VMBusBridge, mmio_low_base, 0),
    /* Offer device channels with monitor_allocated: the guest then signals
     * through the monitor page (polled every monitor-latency, in 100 ns
     * units; 0 = 100 us) instead of HvSignalEvent. */
    DEFINE_PROP_BOOL("monitor", VMBusBridge, monitor, false),
    DEFINE_PROP_UINT16("monitor-latency", VMBusBridge, monitor_latency, 0),
};

static void vmbus_bridge_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    dc->realize = vmbus_bridge_realize;
    dc->desc = "Hyper-V VMBus (host side)";
    dc->user_creatable = true;
    dc->hotpluggable = false;
    dc->vmsd = &vmstate_vmbus_bridge;
    device_class_set_props(dc, vmbus_bridge_props);
    rc->phases.hold = vmbus_bridge_reset_hold;
    set_bit(DEVICE_CATEGORY_BRIDGE, dc->categories);
}

static const TypeInfo vmbus_bridge_type_info = {
    .name = TYPE_VMBUS_BRIDGE,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(VMBusBridge),
    .instance_init = vmbus_bridge_instance_init,
    .class_init = vmbus_bridge_class_init,
};

static void vmbus_bridge_register_types(void)
{
    type_register_static(&vmbus_bridge_type_info);
}

type_init(vmbus_bridge_register_types)
