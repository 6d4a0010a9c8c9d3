/*
 * Hyper-V integration components: the VMBus device base class
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * One channel, one request at a time.  The host opens the conversation
 * with NEGOTIATE once the guest opened the channel, then the service
 * (subclass) sends requests; each answer is copied out of the ring,
 * checked against the outstanding request (packet transaction id, ICMSG
 * type and transaction id, RESPONSE flag, sizes) and only then handed to
 * the service.  When the guest closes the channel the bus cold-resets the
 * device; reset brings it back to CLOSED, ready to be opened again.
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/qmp/qerror.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands-vmbus-dev-ic.h"
#include "qom/object.h"
#include "migration/vmstate.h"
#include "hw/qdev-properties.h"
#include "qapi/visitor.h"
#include "hw/hyperv/vmbus-fault.h"
#include "ic.h"
#include "trace.h"


const char *vmbus_ic_state_name(uint32_t state)
{
    switch (state) {
    case VMBIC_STATE_CLOSED: return "closed";
    case VMBIC_STATE_NEGOTIATING: return "negotiating";
    case VMBIC_STATE_READY: return "ready";
    case VMBIC_STATE_REFUSED: return "refused";
    }
    return "invalid";
}

int64_t vmbus_ic_wall_ms(void)
{
    return g_get_real_time() / 1000;
}

static const char *ic_name(VMBusIC *ic)
{
    DeviceState *d = DEVICE(ic);

    return d->id ? d->id : object_get_typename(OBJECT(ic));
}

static int64_t now_ms(void)
{
    return qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL);
}

void vmbus_ic_guest_error(VMBusIC *ic, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ic->guest_errors++;
    vmbus_guest_fault(OBJECT(ic), VMBUS_FAULT_IC_PROTOCOL, "%s (%s): %s",
                      object_get_typename(OBJECT(ic)), ic_name(ic), msg);
}

static VMBusChannel *ic_chan(VMBusIC *ic)
{
    return vmbus_device_channel(VMBUS_DEVICE(ic), 0);
}

static void ic_expire(VMBusIC *ic)
{
    VMBusICClass *k = VMBUS_IC_GET_CLASS(ic);

    if (ic->busy && now_ms() - ic->busy_since_ms > VMBIC_REQUEST_TIMEOUT_MS) {
        trace_vmbic_timeout(ic_name(ic), vmbic_msg_type_name(ic->busy_type));
        ic->busy = false;
        ic->timeouts++;
        if (ic->busy_type != VMBIC_MSG_NEGOTIATE && k->response) {
            k->response(ic, NULL, NULL, 0);
        }
    }
}

bool vmbus_ic_can_send(VMBusIC *ic)
{
    ic_expire(ic);
    return ic->state == VMBIC_STATE_READY && !ic->busy;
}

static int ic_send_packet(VMBusIC *ic, uint8_t *buf, uint32_t len,
                          uint16_t type, uint8_t tid)
{
    VMBusChannel *chan = ic_chan(ic);
    uint64_t trans_id = ++ic->next_trans_id;
    int ret;

    if (!chan || !vmbus_channel_is_open(chan)) {
        return -ENOTCONN;
    }
    ret = vmbus_channel_reserve(chan, 0, len);
    if (ret == 0) {
        ssize_t n = vmbus_channel_send(chan, VMBUS_PACKET_DATA_INBAND,
                                       NULL, 0, buf, len, false, trans_id);
        ret = n < 0 ? n : 0;
    }
    trace_vmbic_send(ic_name(ic), vmbic_msg_type_name(type), len, trans_id,
                     ret);
    if (ret == 0) {
        ic->busy = true;
        ic->busy_type = type;
        ic->busy_tid = tid;
        ic->busy_trans_id = trans_id;
        ic->busy_since_ms = now_ms();
        ic->requests++;
    }
    return ret;
}

int vmbus_ic_send(VMBusIC *ic, const void *payload, uint32_t len)
{
    VMBusICClass *k = VMBUS_IC_GET_CLASS(ic);
    VmbicHdr h = {
        .fw_version = ic->fw_version,
        .msg_version = ic->msg_version,
        .type = k->msg_type,
        .tid = ic->next_tid++,
        .flags = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_REQUEST,
    };
    g_autofree uint8_t *buf = g_malloc(VMBIC_HDR_SIZE + len);
    size_t n;

    ic_expire(ic);
    if (ic->state != VMBIC_STATE_READY) {
        return -ENOTCONN;
    }
    if (ic->busy) {
        return -EBUSY;
    }
    n = vmbic_build(buf, VMBIC_HDR_SIZE + len, &h, payload, len);
    if (!n) {
        return -EMSGSIZE;
    }
    return ic_send_packet(ic, buf, n, k->msg_type, h.tid);
}

static void ic_send_negotiate(VMBusIC *ic)
{
    VMBusICClass *k = VMBUS_IC_GET_CLASS(ic);
    uint8_t buf[VMBIC_HDR_SIZE + VMBIC_NEGOTIATE_SIZE +
                4 * 2 * VMBIC_NEGOTIATE_MAX_VERSIONS];
    uint8_t tid = ic->next_tid++;
    size_t n = vmbic_build_negotiate(buf, sizeof(buf), tid,
                                     k->fw_versions, k->n_fw_versions,
                                     k->msg_versions, k->n_msg_versions);
    int ret;

    if (!n) {
        return;
    }
    ret = ic_send_packet(ic, buf, n, VMBIC_MSG_NEGOTIATE, tid);
    if (ret == -ENOSPC) {
        timer_mod(ic->start_timer, now_ms() + 10);
    }
}

static void ic_start_timer_cb(void *opaque)
{
    VMBusIC *ic = opaque;

    ic_expire(ic);
    if (ic->state == VMBIC_STATE_NEGOTIATING && !ic->busy) {
        ic_send_negotiate(ic);
    }
}

static void ic_refuse(VMBusIC *ic, const char *why)
{
    trace_vmbic_refused(ic_name(ic), why);
    ic->state = VMBIC_STATE_REFUSED;
}

static void ic_handle(VMBusIC *ic, VMBusChanReq *req)
{
    VMBusICClass *k = VMBUS_IC_GET_CLASS(ic);
    const uint8_t *buf = req->msg;
    uint32_t len = req->msglen;
    VmbicHdr h;
    VmbicError err;

    if (req->pkt_type != VMBUS_PACKET_DATA_INBAND) {
        vmbus_ic_guest_error(ic, "packet type %u, not inband data",
                             req->pkt_type);
        return;
    }
    if (!ic->busy) {
        vmbus_ic_guest_error(ic, "unsolicited packet (%u bytes)", len);
        return;
    }
    if (req->transaction_id != ic->busy_trans_id) {
        vmbus_ic_guest_error(ic, "transaction 0x%" PRIx64 ", expected 0x%"
                             PRIx64, req->transaction_id, ic->busy_trans_id);
        return;
    }
    /* This packet answers the outstanding request, good or bad. */
    ic->busy = false;

    if (ic->busy_type == VMBIC_MSG_NEGOTIATE) {
        uint32_t fw, msg;
        char fws[16], msgs[16];

        err = vmbic_parse_negotiate(buf, len, ic->busy_tid,
                                    k->fw_versions, k->n_fw_versions,
                                    k->msg_versions, k->n_msg_versions,
                                    &fw, &msg);
        if (err == VMBIC_ERR_NO_MATCH) {
            ic_refuse(ic, "the guest speaks none of the offered versions");
            return;
        }
        if (err) {
            vmbus_ic_guest_error(ic, "NEGOTIATE answer: %s",
                                 vmbic_strerror(err));
            ic_refuse(ic, vmbic_strerror(err));
            return;
        }
        ic->responses++;
        ic->fw_version = fw;
        ic->msg_version = msg;
        ic->state = VMBIC_STATE_READY;
        vmbic_version_str(fw, fws, sizeof(fws));
        vmbic_version_str(msg, msgs, sizeof(msgs));
        trace_vmbic_negotiated(ic_name(ic), fws, msgs);
        if (k->ready) {
            k->ready(ic);
        }
        return;
    }

    err = vmbic_check_response(buf, len, ic->busy_type, ic->busy_tid, &h);
    if (err) {
        vmbus_ic_guest_error(ic, "%s answer: %s",
                             vmbic_msg_type_name(ic->busy_type),
                             vmbic_strerror(err));
        if (k->response) {
            k->response(ic, NULL, NULL, 0);
        }
        return;
    }
    ic->responses++;
    ic->last_status = h.status;
    trace_vmbic_response(ic_name(ic), vmbic_msg_type_name(h.type), len,
                         h.status);
    if (k->response) {
        k->response(ic, &h, buf + VMBIC_HDR_SIZE, len - VMBIC_HDR_SIZE);
    }
}

/* Packets read per run of the notify handler; the rest in a later run. */
#define VMBIC_NOTIFY_BUDGET 64

static void ic_notify(VMBusChannel *chan)
{
    VMBusIC *ic = VMBUS_IC(vmbus_channel_device(chan));
    VMBusICClass *k = VMBUS_IC_GET_CLASS(ic);
    VMBusChanReq *req;
    unsigned n = 0;

    if (vmbus_channel_recv_start(chan) == 0) {
        while (n < VMBIC_NOTIFY_BUDGET &&
               (req = vmbus_channel_recv_peek(chan, sizeof(*req)))) {
            ic_handle(ic, req);
            vmbus_free_req(req);
            vmbus_channel_recv_pop(chan);
            n++;
        }
        vmbus_channel_recv_done(chan);
        /* A guest may fill a big ring with junk: let the main loop run,
         * then go on from a bottom half. */
        if (n == VMBIC_NOTIFY_BUDGET && vmbus_channel_recv_pending(chan)) {
            vmbus_channel_notify_host(chan);
        }
    }
    if (ic->state == VMBIC_STATE_NEGOTIATING && !ic->busy) {
        ic_send_negotiate(ic);
    } else if (vmbus_ic_can_send(ic) && k->kick) {
        k->kick(ic);
    }
}

static void ic_stop(VMBusIC *ic)
{
    VMBusICClass *k = VMBUS_IC_GET_CLASS(ic);

    timer_del(ic->start_timer);
    ic->state = VMBIC_STATE_CLOSED;
    ic->busy = false;
    ic->fw_version = 0;
    ic->msg_version = 0;
    if (k->stop) {
        k->stop(ic);
    }
}

static int ic_open_channel(VMBusChannel *chan)
{
    VMBusIC *ic = VMBUS_IC(vmbus_channel_device(chan));

    trace_vmbic_open(ic_name(ic), VMBUS_IC_GET_CLASS(ic)->service);
    ic_stop(ic);
    ic->state = VMBIC_STATE_NEGOTIATING;
    /* After OPENCHANNEL_RESULT has gone out, as Hyper-V does. */
    timer_mod(ic->start_timer, now_ms() + 1);
    return 0;
}

static void ic_close_channel(VMBusChannel *chan)
{
    VMBusIC *ic = VMBUS_IC(vmbus_channel_device(chan));

    trace_vmbic_close(ic_name(ic), VMBUS_IC_GET_CLASS(ic)->service);
    ic_stop(ic);
}

static void ic_vmdev_reset(VMBusDevice *vdev)
{
    ic_stop(VMBUS_IC(vdev));
}

static uint16_t ic_num_channels(VMBusDevice *vdev)
{
    return 1;
}

static void ic_instance_init(Object *obj)
{
    VMBusIC *ic = VMBUS_IC(obj);

    ic->start_timer = timer_new_ms(QEMU_CLOCK_VIRTUAL, ic_start_timer_cb, ic);
}

static void ic_instance_finalize(Object *obj)
{
    VMBusIC *ic = VMBUS_IC(obj);

    timer_free(ic->start_timer);
}

static int ic_post_load(void *opaque, int version_id)
{
    VMBusIC *ic = opaque;

    if (ic->state > VMBIC_STATE_REFUSED) {
        return -EINVAL;
    }
    if (ic->state == VMBIC_STATE_NEGOTIATING && !ic->busy) {
        timer_mod(ic->start_timer, now_ms() + 1);
    }
    return 0;
}

const VMStateDescription vmstate_vmbus_ic = {
    .name = "vmbus-host-ic",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ic_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(parent_obj, VMBusIC, 0, vmstate_vmbus_dev, VMBusDevice),
        VMSTATE_UINT32(state, VMBusIC),
        VMSTATE_UINT32(fw_version, VMBusIC),
        VMSTATE_UINT32(msg_version, VMBusIC),
        VMSTATE_BOOL(busy, VMBusIC),
        VMSTATE_UINT16(busy_type, VMBusIC),
        VMSTATE_UINT8(busy_tid, VMBusIC),
        VMSTATE_UINT64(busy_trans_id, VMBusIC),
        VMSTATE_INT64(busy_since_ms, VMBusIC),
        VMSTATE_UINT8(next_tid, VMBusIC),
        VMSTATE_UINT64(next_trans_id, VMBusIC),
        VMSTATE_UINT64(requests, VMBusIC),
        VMSTATE_UINT64(responses, VMBusIC),
        VMSTATE_UINT64(timeouts, VMBusIC),
        VMSTATE_UINT64(guest_errors, VMBusIC),
        VMSTATE_UINT32(last_status, VMBusIC),
        VMSTATE_END_OF_LIST()
    },
};

static void ic_get_u64(Object *obj, Visitor *v, const char *name,
                       void *opaque, Error **errp)
{
    uint64_t val = *(uint64_t *)((char *)obj + (uintptr_t)opaque);

    visit_type_uint64(v, name, &val, errp);
}

void vmbus_ic_class_add_u64(ObjectClass *oc, const char *name, size_t offset)
{
    object_class_property_add(oc, name, "uint64", ic_get_u64, NULL, NULL,
                              (void *)(uintptr_t)offset);
}

static char *ic_get_state(Object *obj, Error **errp)
{
    return g_strdup(vmbus_ic_state_name(VMBUS_IC(obj)->state));
}

static void ic_hmp_info(VMBusDevice *vdev, Monitor *mon)
{
    VMBusIC *ic = VMBUS_IC(vdev);

    monitor_printf(mon, "    %s, framework %u.%u, message %u.%u, requests %"
                   PRIu64 ", responses %" PRIu64 ", timeouts %" PRIu64
                   ", guest errors %" PRIu64 ", last status 0x%x%s\n",
                   vmbus_ic_state_name(ic->state),
                   ic->fw_version >> 16, ic->fw_version & 0xffff,
                   ic->msg_version >> 16, ic->msg_version & 0xffff,
                   ic->requests, ic->responses, ic->timeouts,
                   ic->guest_errors, ic->last_status,
                   ic->busy ? ", request outstanding" : "");
}

static void ic_class_init(ObjectClass *klass, void *data)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);

    object_class_property_add_str(klass, "state", ic_get_state, NULL);
    vmbus_ic_class_add_u64(klass, "requests", offsetof(VMBusIC, requests));
    vmbus_ic_class_add_u64(klass, "responses", offsetof(VMBusIC, responses));
    vmbus_ic_class_add_u64(klass, "guest-errors",
                           offsetof(VMBusIC, guest_errors));

    vdc->one_per_bus = true;
    vdc->vmdev_reset = ic_vmdev_reset;
    vdc->num_channels = ic_num_channels;
    vdc->open_channel = ic_open_channel;
    vdc->close_channel = ic_close_channel;
    vdc->chan_notify_cb = ic_notify;
    vdc->hmp_info = ic_hmp_info;
}

static const TypeInfo vmbus_ic_type_info = {
    .name = TYPE_VMBUS_IC,
    .parent = TYPE_VMBUS_DEVICE,
    .abstract = true,
    .instance_size = sizeof(VMBusIC),
    .instance_init = ic_instance_init,
    .instance_finalize = ic_instance_finalize,
    .class_size = sizeof(VMBusICClass),
    .class_init = ic_class_init,
};

static void vmbus_ic_register_types(void)
{
    type_register_static(&vmbus_ic_type_info);
}

type_init(vmbus_ic_register_types)

/* ---- QMP ---------------------------------------------------------------- */

VMBusIC *vmbus_ic_find(const char *device, const char *type, Error **errp)
{
    bool ambiguous = false;
    Object *obj;

    if (device) {
        obj = object_resolve_path_type(device, type, &ambiguous);
        if (!obj && !ambiguous) {
            g_autofree char *p = g_strdup_printf("/machine/peripheral/%s",
                                                 device);
            obj = object_resolve_path_type(p, type, NULL);
        }
        if (!obj) {
            error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND,
                      "No %s device '%s'", type, device);
            return NULL;
        }
    } else {
        obj = object_resolve_path_type("", type, &ambiguous);
        if (ambiguous) {
            error_setg(errp, "More than one %s device: name one with "
                       "'device'", type);
            return NULL;
        }
        if (!obj) {
            error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND,
                      "No %s device", type);
            return NULL;
        }
    }
    return VMBUS_IC(obj);
}

static int ic_query_one(Object *obj, void *opaque)
{
    VmbusIcInfoList ***tail = opaque;
    VMBusIC *ic = (VMBusIC *)object_dynamic_cast(obj, TYPE_VMBUS_IC);
    VMBusICClass *k;
    VmbusIcInfo *info;
    char v[16];

    if (!ic) {
        return 0;
    }
    k = VMBUS_IC_GET_CLASS(ic);
    ic_expire(ic);
    info = g_new0(VmbusIcInfo, 1);
    info->device = object_get_canonical_path(obj);
    info->service = g_strdup(k->service);
    info->state = g_strdup(vmbus_ic_state_name(ic->state));
    vmbic_version_str(ic->fw_version, v, sizeof(v));
    info->framework_version = g_strdup(ic->fw_version ? v : "");
    vmbic_version_str(ic->msg_version, v, sizeof(v));
    info->message_version = g_strdup(ic->msg_version ? v : "");
    info->requests = ic->requests;
    info->responses = ic->responses;
    info->timeouts = ic->timeouts;
    info->guest_errors = ic->guest_errors;
    info->last_status = ic->last_status;
    info->busy = ic->busy;
    if (k->query) {
        k->query(ic, info);
    }
    QAPI_LIST_APPEND(*tail, info);
    return 0;
}

VmbusIcInfoList *qmp_query_vmbus_ic(const char *device, Error **errp)
{
    VmbusIcInfoList *list = NULL, **tail = &list;

    if (device) {
        VMBusIC *ic = vmbus_ic_find(device, TYPE_VMBUS_IC, errp);

        if (ic) {
            ic_query_one(OBJECT(ic), &tail);
        }
        return list;
    }
    object_child_foreach_recursive(object_get_root(), ic_query_one, &tail);
    return list;
}
