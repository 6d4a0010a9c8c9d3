/*
 * Hyper-V heartbeat integration service (hv-heartbeat)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Every `interval` ms of guest run time the host sends the sequence
 * number the guest last returned; the guest answers it plus one.  QMP
 * query-vmbus-ic shows the sequence, the number of beats, the wall-clock
 * time of the last one and whether the guest stalled (no beat for three
 * intervals of its run time while the service was up).
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "ic.h"
#include "trace.h"

#define TYPE_HV_HEARTBEAT "hv-heartbeat"
OBJECT_DECLARE_SIMPLE_TYPE(HvHeartbeat, HV_HEARTBEAT)

/* heartbeat_msg_data: u64 seq_num, u32 reserved[8] */
#define HB_PAYLOAD 40
#define HB_STALL_INTERVALS 3

struct HvHeartbeat {
    VMBusIC parent_obj;

    uint32_t interval_ms;       /* property */
    uint64_t seq;               /* the guest's last answer */
    uint64_t sent_seq;
    uint64_t beats;
    int64_t last_beat_wall_ms;  /* 0: none */
    int64_t last_beat_ms;       /* QEMU_CLOCK_VIRTUAL, or ready time */
    QEMUTimer *timer;
};

static const uint32_t hb_fw[] = { VMBIC_VERSION(3, 0), VMBIC_VERSION(1, 0) };
static const uint32_t hb_msg[] = { VMBIC_VERSION(3, 0), VMBIC_VERSION(1, 0) };

static bool hb_get_stalled(Object *obj, Error **errp);

static void hb_arm(HvHeartbeat *hb)
{
    timer_mod(hb->timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
              hb->interval_ms);
}

static void hb_send(HvHeartbeat *hb)
{
    VMBusIC *ic = VMBUS_IC(hb);
    uint8_t p[HB_PAYLOAD] = { 0 };

    if (!vmbus_ic_can_send(ic)) {
        return;
    }
    vmbic_st64(p, hb->seq);
    if (vmbus_ic_send(ic, p, sizeof(p)) == 0) {
        hb->sent_seq = hb->seq;
    }
}

static void hb_timer_cb(void *opaque)
{
    HvHeartbeat *hb = opaque;

    if (VMBUS_IC(hb)->state != VMBIC_STATE_READY) {
        return;
    }
    hb_send(hb);
    hb_arm(hb);
}

static void hb_ready(VMBusIC *ic)
{
    HvHeartbeat *hb = HV_HEARTBEAT(ic);

    hb->last_beat_ms = qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL);
    hb_send(hb);
    hb_arm(hb);
}

static void hb_response(VMBusIC *ic, const VmbicHdr *h,
                        const uint8_t *p, uint32_t len)
{
    HvHeartbeat *hb = HV_HEARTBEAT(ic);
    uint64_t seq;

    if (!h) {
        return;
    }
    if (len < 8) {
        vmbus_ic_guest_error(ic, "heartbeat answer of %u bytes", len);
        return;
    }
    seq = vmbic_ld64(p);
    if (h->status != VMBIC_S_OK || seq != hb->sent_seq + 1) {
        vmbus_ic_guest_error(ic, "heartbeat answer %" PRIu64 " status 0x%x "
                             "to %" PRIu64, seq, h->status, hb->sent_seq);
        return;
    }
    hb->seq = seq;
    hb->beats++;
    hb->last_beat_wall_ms = vmbus_ic_wall_ms();
    hb->last_beat_ms = qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL);
    trace_vmbic_heartbeat(DEVICE(ic)->id ?: "", seq);
}

static void hb_stop(VMBusIC *ic)
{
    timer_del(HV_HEARTBEAT(ic)->timer);
}

static void hb_query(VMBusIC *ic, VmbusIcInfo *info)
{
    HvHeartbeat *hb = HV_HEARTBEAT(ic);
    VmbusIcHeartbeatInfo *i = g_new0(VmbusIcHeartbeatInfo, 1);
    int64_t age = qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) - hb->last_beat_ms;

    i->sequence = hb->seq;
    i->beats = hb->beats;
    i->interval = hb->interval_ms;
    i->last_beat = hb->last_beat_wall_ms;
    i->age = ic->state == VMBIC_STATE_READY ? age : 0;
    i->stalled = hb_get_stalled(OBJECT(hb), NULL);
    info->heartbeat = i;
}

static void hb_realize(VMBusDevice *vdev, Error **errp)
{
    HvHeartbeat *hb = HV_HEARTBEAT(vdev);

    if (hb->interval_ms < 100 || hb->interval_ms > 3600000) {
        error_setg(errp, "interval must be 100 .. 3600000 ms");
        return;
    }
    hb->timer = timer_new_ms(QEMU_CLOCK_VIRTUAL, hb_timer_cb, hb);
}

static void hb_unrealize(VMBusDevice *vdev)
{
    HvHeartbeat *hb = HV_HEARTBEAT(vdev);

    timer_free(hb->timer);
    hb->timer = NULL;
}

static int hb_post_load(void *opaque, int version_id)
{
    HvHeartbeat *hb = opaque;

    if (VMBUS_IC(hb)->state == VMBIC_STATE_READY) {
        hb_arm(hb);
    }
    return 0;
}

static const VMStateDescription vmstate_hv_heartbeat = {
    .name = "hv-heartbeat",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = hb_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HvHeartbeat),
        VMSTATE_UINT64(seq, HvHeartbeat),
        VMSTATE_UINT64(sent_seq, HvHeartbeat),
        VMSTATE_UINT64(beats, HvHeartbeat),
        VMSTATE_INT64(last_beat_wall_ms, HvHeartbeat),
        VMSTATE_INT64(last_beat_ms, HvHeartbeat),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hb_properties[] = {
    DEFINE_PROP_UINT32("interval", HvHeartbeat, interval_ms, 2000),
};

static bool hb_get_stalled(Object *obj, Error **errp)
{
    HvHeartbeat *hb = HV_HEARTBEAT(obj);

    return VMBUS_IC(hb)->state == VMBIC_STATE_READY &&
           qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) - hb->last_beat_ms >
           (int64_t)HB_STALL_INTERVALS * hb->interval_ms;
}

static void hb_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *k = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse("57164f39-9115-4e78-ab55-382f3bd5422d", &vdc->classid);
    vdc->vmdev_realize = hb_realize;
    vdc->vmdev_unrealize = hb_unrealize;
    dc->vmsd = &vmstate_hv_heartbeat;
    dc->desc = "Hyper-V heartbeat integration service";
    device_class_set_props(dc, hb_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    dc->hotpluggable = true;
    vmbus_ic_class_add_u64(klass, "beats", offsetof(HvHeartbeat, beats));
    vmbus_ic_class_add_u64(klass, "sequence", offsetof(HvHeartbeat, seq));
    object_class_property_add_bool(klass, "stalled", hb_get_stalled, NULL);
    k->service = "heartbeat";
    k->msg_type = VMBIC_MSG_HEARTBEAT;
    k->fw_versions = hb_fw;
    k->n_fw_versions = ARRAY_SIZE(hb_fw);
    k->msg_versions = hb_msg;
    k->n_msg_versions = ARRAY_SIZE(hb_msg);
    k->ready = hb_ready;
    k->response = hb_response;
    k->stop = hb_stop;
    k->query = hb_query;
}

static const TypeInfo hb_type_info = {
    .name = TYPE_HV_HEARTBEAT,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HvHeartbeat),
    .class_init = hb_class_init,
};

static void hb_register_types(void)
{
    type_register_static(&hb_type_info);
}

type_init(hb_register_types)
