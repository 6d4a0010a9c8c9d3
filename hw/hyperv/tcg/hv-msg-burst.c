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
 * Two SINT routes ("lanes") post concurrently, so the slot is found
 * busy on nearly every round.  Each message is a VMBus message (type HV_MESSAGE_VMBUS) whose payload
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

/*
 * Two lanes (two SINT routes, each with its own staging area) post
 * concurrently, so two messages reach the vCPU's work queue together
 * and the second finds the slot taken: the busy-slot path is hit on
 * every round, not only when the guest happens to be slow.
 */
#define BURST_LANES 2

typedef struct BurstLane {
    struct HvMsgBurst *b;
    HvSintRoute *route;
    QEMUBH *bh;
    bool busy;          /* a message of this lane is being posted */
} BurstLane;

struct HvMsgBurst {
    DeviceState parent_obj;

    uint32_t vp, sint, msgtype;
    bool aeoi_hint;
    uint32_t to_post, delivered, retries, errors;
    BurstLane lane[BURST_LANES];
};

static bool burst_busy(HvMsgBurst *b)
{
    int i;

    for (i = 0; i < BURST_LANES; i++) {
        if (b->lane[i].busy) {
            return true;
        }
    }
    return b->to_post != 0;
}

static void burst_stop(HvMsgBurst *b)
{
    int i;

    b->to_post = 0;
    for (i = 0; i < BURST_LANES; i++) {
        b->lane[i].busy = false;
        if (b->lane[i].route) {
            hyperv_sint_route_unref(b->lane[i].route);
            b->lane[i].route = NULL;
        }
    }
}

/*
 * BH: (re)post this lane's message.  Not from the callback: the staging
 * area is released only after the callback returns.
 */
static void burst_post(void *opaque)
{
    BurstLane *l = opaque;
    HvMsgBurst *b = l->b;
    struct hyperv_message msg = {};
    int r;

    if (!l->route) {
        return;
    }
    if (!l->busy) {
        if (!b->to_post) {
            return;
        }
        b->to_post--;
        l->busy = true;
    }
    msg.header.message_type = HV_MESSAGE_VMBUS;
    msg.header.payload_size = 8;        /* struct vmbus_channel_message_header */
    stl_le_p(msg.payload, b->msgtype);
    r = hyperv_post_msg(l->route, &msg);
    if (r == -EAGAIN) {
        qemu_bh_schedule(l->bh);        /* staging area still in use */
    } else if (r < 0) {
        b->errors++;
        l->busy = false;
    }
}

static void burst_cb(void *data, int status)
{
    BurstLane *l = data;
    HvMsgBurst *b = l->b;

    trace_hvtcg_burst_cb(b->to_post, status);
    if (status == -EAGAIN) {
        b->retries++;                   /* slot was busy; guest did EOM */
    } else {
        if (status < 0) {
            b->errors++;
        } else {
            b->delivered++;
        }
        l->busy = false;
    }
    if (l->busy || b->to_post) {
        qemu_bh_schedule(l->bh);
    }
}

static void burst_set_count(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    HvMsgBurst *b = HV_MSG_BURST(obj);
    uint32_t count;
    int i;

    if (!visit_type_uint32(v, name, &count, errp)) {
        return;
    }
    if (burst_busy(b)) {
        error_setg(errp, "a burst is in progress");
        return;
    }
    if (!count) {
        return;
    }
    for (i = 0; i < BURST_LANES; i++) {
        BurstLane *l = &b->lane[i];

        if (!l->route) {
            l->route = hyperv_sint_route_new(b->vp, b->sint, burst_cb, l);
            if (!l->route) {
                error_setg(errp, "no SynIC on VP %u", b->vp);
                burst_stop(b);
                return;
            }
        }
    }
    b->to_post = count;
    for (i = 0; i < BURST_LANES; i++) {
        qemu_bh_schedule(b->lane[i].bh);
    }
}

static void burst_get_u32(Object *obj, Visitor *v, const char *name,
                          void *opaque, Error **errp)
{
    uint32_t val = *(uint32_t *)opaque;

    visit_type_uint32(v, name, &val, errp);
}

static bool burst_get_busy(Object *obj, Error **errp)
{
    return burst_busy(HV_MSG_BURST(obj));
}

static void burst_reset(void *opaque)
{
    burst_stop(opaque);
}

static void burst_realize(DeviceState *dev, Error **errp)
{
    HvMsgBurst *b = HV_MSG_BURST(dev);
    int i;

    if (b->sint >= HV_SINT_COUNT) {
        error_setg(errp, "sint must be below %d", HV_SINT_COUNT);
        return;
    }
    for (i = 0; i < BURST_LANES; i++) {
        b->lane[i].b = b;
        b->lane[i].bh = qemu_bh_new(burst_post, &b->lane[i]);
    }
    qemu_register_reset(burst_reset, b);
    if (!b->aeoi_hint) {
        hyperv_tcg_test_hide_aeoi_hint(true);
    }
}

static void burst_unrealize(DeviceState *dev)
{
    HvMsgBurst *b = HV_MSG_BURST(dev);

    int i;

    qemu_unregister_reset(burst_reset, b);
    burst_stop(b);
    for (i = 0; i < BURST_LANES; i++) {
        qemu_bh_delete(b->lane[i].bh);
    }
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
