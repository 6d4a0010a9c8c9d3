/*
 * VMBus host introspection: QMP query-vmbus and HMP info vmbus
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmbus-host.h"
#include "qapi/qapi-types-vmbus-host.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qobject/qdict.h"
#include "hw/sysbus.h"
#include "hw/qdev-core.h"
#include "hw/hyperv/vmbus-fault.h"
#include "vmbus-priv.h"

static char *vmbus_version_str(uint32_t v)
{
    return v ? g_strdup_printf("%u.%u", VMBW_VERSION_MAJOR(v),
                               VMBW_VERSION_MINOR(v))
             : g_strdup("");
}

static VmbusRingInfo *vmbus_ring_info(const VmbRing *r)
{
    VmbusRingInfo *ri = g_new0(VmbusRingInfo, 1);

    ri->write_index = ldl_le_p(r->hdr + VMBR_HDR_WRITE_INDEX);
    ri->read_index = ldl_le_p(r->hdr + VMBR_HDR_READ_INDEX);
    ri->interrupt_mask = ldl_le_p(r->hdr + VMBR_HDR_INTERRUPT_MASK);
    ri->pending_send_size = ldl_le_p(r->hdr + VMBR_HDR_PENDING_SEND_SZ);
    ri->data_size = r->size;
    ri->packets = r->stats.packets;
    ri->broken = vmbr_is_broken(r);
    return ri;
}

typedef struct VmbusQueryCtx {
    VmbusChannelInfoList **chan_tail;
    VmbusGpadlInfoList **gpadl_tail;
} VmbusQueryCtx;

static bool vmbus_query_chan(VmbcChannel *cc, void *arg)
{
    VmbusQueryCtx *ctx = arg;
    const VmbcOfferParams *p = vmbc_chan_params(cc);
    VMBusChannel *chan = vmbc_chan_get_opaque(cc);
    VmbusChannelInfo *ci = g_new0(VmbusChannelInfo, 1);
    char guid[40];

    ci->relid = vmbc_chan_relid(cc);
    if (chan) {
        ci->device = object_get_canonical_path(OBJECT(chan->dev));
        ci->notifications = chan->notifications;
    }
    vmbc_guid_format(&p->class_id, guid);
    ci->class_id = g_strdup(guid);
    vmbc_guid_format(&p->instance_id, guid);
    ci->instance_id = g_strdup(guid);
    ci->subchannel = p->subchannel_index;
    ci->state = g_strdup(vmbc_chan_state_name(vmbc_chan_state(cc)));
    ci->offered = vmbc_chan_offered(cc);
    ci->target_vp = vmbc_chan_target_vp(cc);
    ci->connection_id = vmbc_chan_connection_id(cc);
    if (vmbc_chan_state(cc) == VMBC_CHAN_OPEN && vmbc_chan_ring_gpadl(cc)) {
        ci->has_ring_gpadl = true;
        ci->ring_gpadl = vmbc_gpadl_handle(vmbc_chan_ring_gpadl(cc));
    }
    if (chan && chan->is_open) {
        ci->guest_to_host = vmbus_ring_info(&chan->rings.out);
        ci->host_to_guest = vmbus_ring_info(&chan->rings.in);
    }
    QAPI_LIST_APPEND(ctx->chan_tail, ci);
    return true;
}

static bool vmbus_query_gpadl(VmbcGpadl *gp, void *arg)
{
    VmbusQueryCtx *ctx = arg;
    VmbusGpadlInfo *gi = g_new0(VmbusGpadlInfo, 1);

    gi->handle = vmbc_gpadl_handle(gp);
    gi->relid = vmbc_gpadl_relid(gp);
    gi->bytes = vmbc_gpadl_bytes(gp);
    gi->complete = vmbc_gpadl_complete(gp);
    QAPI_LIST_APPEND(ctx->gpadl_tail, gi);
    return true;
}

VmbusInfo *qmp_query_vmbus(Error **errp)
{
    VMBusBridge *bridge = vmbus_bridge_find();
    VmbusInfo *info;
    VmbusQueryCtx ctx;
    VmbcConnInfo ci;
    const VmbcCounters *cnt;
    VmbusFaultCountList **fault_tail;

    if (!bridge || !bridge->host || !bridge->host->core) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "no vmbus-bridge");
        return NULL;
    }
    vmbc_conn_info(bridge->host->core, &ci);
    info = g_new0(VmbusInfo, 1);
    info->state = g_strdup(vmbc_conn_state_name(ci.state));
    info->version = vmbus_version_str(ci.version);
    /* as in force: vmbus-set-max-version may have changed it */
    info->max_version = vmbus_version_str(
        vmbc_get_max_version(bridge->host->core));
    info->target_vcpu = ci.target_vcpu;
    info->message_connection_id = ci.msg_conn_id;
    ctx.chan_tail = &info->channels;
    ctx.gpadl_tail = &info->gpadls;
    vmbc_foreach_channel(bridge->host->core, vmbus_query_chan, &ctx);
    vmbc_foreach_gpadl(bridge->host->core, vmbus_query_gpadl, &ctx);
    cnt = vmbc_counters(bridge->host->core);
    for (int i = 0; i < VMBW_MSG_COUNT; i++) {
        info->messages_in += cnt->in[i];
        info->messages_refused += cnt->refused[i];
        info->messages_out += cnt->out[i];
    }
    info->messages_in += cnt->in_bad_type;
    info->guest_errors = cnt->guest_errors;
    fault_tail = &info->faults;
    for (int f = 0; f < VMBUS_FAULT__MAX; f++) {
        VmbusFaultCount *fc = g_new0(VmbusFaultCount, 1);

        fc->condition = g_strdup(vmbus_fault_name(f));
        fc->count = vmbus_fault_count(f);
        QAPI_LIST_APPEND(fault_tail, fc);
    }
    info->faults_suppressed = vmbus_fault_suppressed();
    return info;
}

static void hmp_ring(Monitor *mon, const char *name, VmbusRingInfo *r)
{
    monitor_printf(mon, "      %s: write %u read %u mask %u pending %u "
                   "size %u packets %" PRIu64 "%s\n", name, r->write_index,
                   r->read_index, r->interrupt_mask, r->pending_send_size,
                   r->data_size, r->packets, r->broken ? " BROKEN" : "");
}

/* Each device on the bus, with the lines its class adds. */
static void hmp_devices(Monitor *mon)
{
    VMBusBridge *bridge = vmbus_bridge_find();
    BusChild *kid;

    if (!bridge || !bridge->bus) {
        return;
    }
    QTAILQ_FOREACH(kid, &BUS(bridge->bus)->children, sibling) {
        VMBusDevice *vdev = VMBUS_DEVICE(kid->child);
        VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(vdev);
        g_autofree char *path = object_get_canonical_path(OBJECT(vdev));

        monitor_printf(mon, "  device %s (%s)\n",
                       DEVICE(vdev)->id ? DEVICE(vdev)->id : path,
                       object_get_typename(OBJECT(vdev)));
        if (vdc->hmp_info) {
            vdc->hmp_info(vdev, mon);
        }
    }
}

void hmp_info_vmbus(Monitor *mon, const QDict *qdict)
{
    Error *err = NULL;
    g_autoptr(VmbusInfo) info = qmp_query_vmbus(&err);

    if (hmp_handle_error(mon, err)) {
        return;
    }
    monitor_printf(mon, "VMBus: %s, version %s (max %s), target vcpu %u, "
                   "message connection %u\n", info->state,
                   *info->version ? info->version : "-", info->max_version,
                   info->target_vcpu, info->message_connection_id);
    monitor_printf(mon, "  messages in %" PRIu64 " (refused %" PRIu64
                   "), out %" PRIu64 ", guest errors %" PRIu64 "\n",
                   info->messages_in, info->messages_refused,
                   info->messages_out, info->guest_errors);
    monitor_printf(mon, "  guest faults (%" PRIu64 " not logged):",
                   info->faults_suppressed);
    for (VmbusFaultCountList *l = info->faults; l; l = l->next) {
        if (l->value->count) {
            monitor_printf(mon, " %s %" PRIu64, l->value->condition,
                           l->value->count);
        }
    }
    monitor_printf(mon, "\n");
    for (VmbusChannelInfoList *l = info->channels; l; l = l->next) {
        VmbusChannelInfo *c = l->value;

        monitor_printf(mon, "  relid %u: %s%s class %s instance %s sub %u "
                       "vp %u conn %u notifications %" PRIu64 "%s%s\n",
                       c->relid, c->state, c->offered ? "" : " (not offered)",
                       c->class_id, c->instance_id, c->subchannel,
                       c->target_vp, c->connection_id, c->notifications,
                       c->device ? " device " : "", c->device ? c->device : "");
        if (c->guest_to_host) {
            hmp_ring(mon, "guest->host", c->guest_to_host);
        }
        if (c->host_to_guest) {
            hmp_ring(mon, "host->guest", c->host_to_guest);
        }
    }
    for (VmbusGpadlInfoList *l = info->gpadls; l; l = l->next) {
        monitor_printf(mon, "  gpadl 0x%x: relid %u, %" PRIu64 " bytes%s\n",
                       l->value->handle, l->value->relid, l->value->bytes,
                       l->value->complete ? "" : " (incomplete)");
    }
    hmp_devices(mon);
}

/* ---- test-bench commands ------------------------------------------------ */

static VMBusHost *vmbus_qmp_host(Error **errp)
{
    VMBusBridge *bridge = vmbus_bridge_find();

    if (!bridge || !bridge->host || !bridge->host->core) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "no vmbus-bridge");
        return NULL;
    }
    return bridge->host;
}

static VMBusDevice *vmbus_qmp_device(const char *id, Error **errp)
{
    DeviceState *dev = qdev_find_recursive(sysbus_get_default(), id);
    Object *obj = dev ? OBJECT(dev) : object_resolve_path(id, NULL);

    if (!obj || !object_dynamic_cast(obj, TYPE_VMBUS_DEVICE)) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND,
                  "no VMBus device '%s'", id);
        return NULL;
    }
    return VMBUS_DEVICE(obj);
}

void qmp_vmbus_set_max_version(const char *version, Error **errp)
{
    VMBusHost *h = vmbus_qmp_host(errp);
    unsigned major, minor;
    uint32_t v = 0;

    if (!h) {
        return;
    }
    if (strcmp(version, "default")) {
        if (sscanf(version, "%u.%u", &major, &minor) != 2 ||
            major > 0xffff || minor > 0xffff) {
            error_setg(errp, "'%s' is not major.minor", version);
            return;
        }
        v = VMBW_VERSION(major, minor);
    }
    if (!vmbc_set_max_version(h->core, v)) {
        error_setg(errp, "%s is not a VMBus version (0.13, 1.1, 2.4, 3.0, "
                   "4.0, 4.1, 5.0, 5.1, 5.2, 5.3, 6.0)", version);
    }
}

void qmp_vmbus_rescind(const char *id, Error **errp)
{
    VMBusDevice *vdev = vmbus_qmp_host(errp) ? vmbus_qmp_device(id, errp)
                                             : NULL;

    if (vdev) {
        vmbus_device_rescind(vdev);
    }
}

void qmp_vmbus_reoffer(const char *id, Error **errp)
{
    VMBusDevice *vdev = vmbus_qmp_host(errp) ? vmbus_qmp_device(id, errp)
                                             : NULL;

    if (vdev) {
        vmbus_device_reoffer(vdev, errp);
    }
}

void qmp_x_vmbus_delay_messages(uint32_t milliseconds, Error **errp)
{
    VMBusHost *h = vmbus_qmp_host(errp);

    if (h) {
        h->delay_ms = milliseconds;
    }
}
