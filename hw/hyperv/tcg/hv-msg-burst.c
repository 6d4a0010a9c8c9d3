/*
 * x-hv-msg-burst: a test-only device that posts a burst of SynIC
 * messages to one vCPU's SINT, to exercise the busy-slot path
 * (message pending flag, guest EOM, redelivery) that normal VMBus
 * traffic reaches only by chance.
 *
 *   -device x-hv-msg-burst,id=burst[,vp=0][,sint=2][,msgtype=4]
 *   qom-set /machine/peripheral/burst count N    start a burst of N
 *   qom-get /machine/peripheral/burst delivered  messages put in the slot
 *   qom-get /machine/peripheral/burst retries    posts that found the slot
 *                                     busy and were retried after EOM
 *   qom-get /machine/peripheral/burst errors     posts that failed
 *   qom-get /machine/peripheral/burst busy       a burst is in progress
 *
 * Each message is a VMBus message (type HV_MESSAGE_VMBUS) whose payload
 * is a bare VMBus header with msgtype @msgtype; the default 4
 * (CHANNELMSG_ALLOFFERS_DELIVERED) is ignored by Linux, so the guest's
 * VMBus state is not disturbed.  Messages go through QEMU's SynIC
 * (hyperv_post_msg), the same path as the VMBus bridge's.  Not
 * migrated; do not reset the machine during a burst.
 *
 * aeoi-hint=off (TCG only) hides HV_DEPRECATING_AEOI_RECOMMENDED from
 * CPUID 0x40000004, so Linux programs SINT2 with auto-EOI and the
 * auto-EOI emulation of hyperv-tcg.c is what keeps the guest alive.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qom/object.h"
#include "hw/qdev-properties.h"
#include "system/reset.h"
#include "cpu.h"
#include "hw/hyperv/hyperv.h"
#include "hw/hyperv/hyperv-tcg.h"
#include "trace.h"

#define TYPE_HV_MSG_BURST "x-hv-msg-burst"
OBJECT_DECLARE_SIMPLE_TYPE(HvMsgBurst, HV_MSG_BURST)

struct HvMsgBurst {
    DeviceState parent_obj;

    uint32_t vp, sint, msgtype;
    bool aeoi_hint;
    uint32_t remaining, delivered, retries, errors;
    HvSintRoute *route;
    QEMUBH *bh;
};

static void burst_stop(HvMsgBurst *b)
{
    b->remaining = 0;
    if (b->route) {
        hyperv_sint_route_unref(b->route);
        b->route = NULL;
    }
}

/* BH: post the next message (not from the callback: the staging area is
 * released only after it returns). */
static void burst_post(void *opaque)
{
    HvMsgBurst *b = opaque;
    struct hyperv_message msg = {};
    int r;

    if (!b->remaining || !b->route) {
        return;
    }
    msg.header.message_type = HV_MESSAGE_VMBUS;
    msg.header.payload_size = 8;        /* struct vmbus_channel_message_header */
    stl_le_p(msg.payload, b->msgtype);
    r = hyperv_post_msg(b->route, &msg);
    if (r == -EAGAIN) {
        qemu_bh_schedule(b->bh);        /* staging area still in use */
    } else if (r < 0) {
        b->errors++;
        burst_stop(b);
    }
}

static void burst_cb(void *data, int status)
{
    HvMsgBurst *b = data;

    trace_hvtcg_burst_cb(b->remaining, status);
    if (status == -EAGAIN) {
        b->retries++;                   /* slot was busy; guest did EOM */
    } else if (status < 0) {
        b->errors++;
        b->remaining = 0;
    } else {
        b->delivered++;
        b->remaining--;
    }
    if (b->remaining) {
        qemu_bh_schedule(b->bh);
    }
}

static void burst_set_count(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    HvMsgBurst *b = HV_MSG_BURST(obj);
    uint32_t count;

    if (!visit_type_uint32(v, name, &count, errp)) {
        return;
    }
    if (b->remaining) {
        error_setg(errp, "a burst is in progress");
        return;
    }
    if (b->sint >= HV_SINT_COUNT) {
        error_setg(errp, "sint must be below %d", HV_SINT_COUNT);
        return;
    }
    if (!count) {
        return;
    }
    if (!b->route) {
        b->route = hyperv_sint_route_new(b->vp, b->sint, burst_cb, b);
        if (!b->route) {
            error_setg(errp, "no SynIC on VP %u", b->vp);
            return;
        }
    }
    b->remaining = count;
    qemu_bh_schedule(b->bh);
}

static void burst_get_u32(Object *obj, Visitor *v, const char *name,
                          void *opaque, Error **errp)
{
    uint32_t val = *(uint32_t *)opaque;

    visit_type_uint32(v, name, &val, errp);
}

static bool burst_get_busy(Object *obj, Error **errp)
{
    return HV_MSG_BURST(obj)->remaining != 0;
}

static void burst_reset(void *opaque)
{
    burst_stop(opaque);
}

static void burst_realize(DeviceState *dev, Error **errp)
{
    HvMsgBurst *b = HV_MSG_BURST(dev);

    if (b->sint >= HV_SINT_COUNT) {
        error_setg(errp, "sint must be below %d", HV_SINT_COUNT);
        return;
    }
    b->bh = qemu_bh_new(burst_post, b);
    qemu_register_reset(burst_reset, b);
    if (!b->aeoi_hint) {
        hyperv_tcg_test_hide_aeoi_hint(true);
    }
}

static void burst_unrealize(DeviceState *dev)
{
    HvMsgBurst *b = HV_MSG_BURST(dev);

    qemu_unregister_reset(burst_reset, b);
    burst_stop(b);
    qemu_bh_delete(b->bh);
}

static void burst_init(Object *obj)
{
    HvMsgBurst *b = HV_MSG_BURST(obj);

    object_property_add(obj, "count", "uint32", NULL, burst_set_count,
                        NULL, NULL);
    object_property_add(obj, "delivered", "uint32", burst_get_u32, NULL,
                        NULL, &b->delivered);
    object_property_add(obj, "retries", "uint32", burst_get_u32, NULL,
                        NULL, &b->retries);
    object_property_add(obj, "errors", "uint32", burst_get_u32, NULL,
                        NULL, &b->errors);
    object_property_add_bool(obj, "busy", burst_get_busy, NULL);
}

static const Property burst_props[] = {
    DEFINE_PROP_UINT32("vp", HvMsgBurst, vp, 0),
    DEFINE_PROP_UINT32("sint", HvMsgBurst, sint, 2),    /* VMBus's SINT */
    /* CHANNELMSG_ALLOFFERS_DELIVERED: ignored by Linux */
    DEFINE_PROP_UINT32("msgtype", HvMsgBurst, msgtype, 4),
    DEFINE_PROP_BOOL("aeoi-hint", HvMsgBurst, aeoi_hint, true),
};

static void burst_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = burst_realize;
    dc->unrealize = burst_unrealize;
    dc->desc = "test only: bursts of SynIC messages";
    device_class_set_props(dc, burst_props);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo burst_info = {
    .name = TYPE_HV_MSG_BURST,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(HvMsgBurst),
    .instance_init = burst_init,
    .class_init = burst_class_init,
};

static void burst_register(void)
{
    type_register_static(&burst_info);
}

type_init(burst_register)
