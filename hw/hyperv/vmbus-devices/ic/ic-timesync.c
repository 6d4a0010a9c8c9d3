/*
 * Hyper-V time synchronization integration service (hv-timesync)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Like Hyper-V: a SYNC sample (which Linux applies at once with
 * do_settimeofday64) when the channel comes up, then a SAMPLE every
 * `interval` ms of guest run time.  A SYNC is also sent after the VM
 * resumes running (`cont` after a stop, the end of an incoming
 * migration) and whenever the guest reopens the channel (module reload,
 * resume from hibernation).  Host time is QEMU_CLOCK_HOST (the host's
 * wall clock, -rtc base= is not applied), in 100 ns units since
 * 1601-01-01.
 *
 * Message version 4.0 carries the guest's reference time of the sample;
 * we offer 3.0 and 1.0, whose payload has no reference time: the guest
 * takes its own reference counter on arrival, which needs no access to
 * the accelerator's reference clock.
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "system/runstate.h"
#include "ic.h"
#include "trace.h"

#define TYPE_HV_TIMESYNC "hv-timesync"
OBJECT_DECLARE_SIMPLE_TYPE(HvTimesync, HV_TIMESYNC)

/* ictimesync_data: u64 parenttime, u64 childtime, u64 roundtriptime,
 * u8 flags */
#define TS_PAYLOAD 25
#define TS_FLAG_SYNC 1
#define TS_FLAG_SAMPLE 2
/* 100 ns units between 1601-01-01 and 1970-01-01 */
#define TS_EPOCH_DELTA 116444736000000000ULL

struct HvTimesync {
    VMBusIC parent_obj;

    uint32_t interval_ms;       /* property */
    bool sync_pending;
    uint64_t samples;
    uint64_t syncs;
    int64_t last_sync_wall_ms;
    QEMUTimer *timer;
    VMChangeStateEntry *vmstate_entry;
};

static const uint32_t ts_fw[] = { VMBIC_VERSION(3, 0), VMBIC_VERSION(1, 0) };
static const uint32_t ts_msg[] = { VMBIC_VERSION(3, 0), VMBIC_VERSION(1, 0) };

static uint64_t ts_host_time(void)
{
    return TS_EPOCH_DELTA + qemu_clock_get_ns(QEMU_CLOCK_HOST) / 100;
}

static void ts_arm(HvTimesync *ts, int64_t delay_ms)
{
    timer_mod(ts->timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + delay_ms);
}

/* Send the next sample if the channel is free; true if sent. */
static bool ts_send(HvTimesync *ts)
{
    VMBusIC *ic = VMBUS_IC(ts);
    uint8_t p[TS_PAYLOAD] = { 0 };
    uint8_t flags = ts->sync_pending ? TS_FLAG_SYNC : TS_FLAG_SAMPLE;
    uint64_t t = ts_host_time();

    if (!vmbus_ic_can_send(ic)) {
        return false;
    }
    vmbic_st64(p, t);
    p[24] = flags;
    if (vmbus_ic_send(ic, p, sizeof(p))) {
        return false;
    }
    trace_vmbic_timesync(DEVICE(ts)->id ?: "", flags, t);
    if (flags & TS_FLAG_SYNC) {
        ts->sync_pending = false;
        ts->syncs++;
        ts->last_sync_wall_ms = vmbus_ic_wall_ms();
    } else {
        ts->samples++;
    }
    return true;
}

static void ts_timer_cb(void *opaque)
{
    HvTimesync *ts = opaque;

    if (VMBUS_IC(ts)->state != VMBIC_STATE_READY) {
        return;
    }
    ts_send(ts);
    ts_arm(ts, ts->interval_ms);
}

static void ts_ready(VMBusIC *ic)
{
    HvTimesync *ts = HV_TIMESYNC(ic);

    ts->sync_pending = true;
    ts_send(ts);
    ts_arm(ts, ts->interval_ms);
}

static void ts_kick(VMBusIC *ic)
{
    HvTimesync *ts = HV_TIMESYNC(ic);

    if (ts->sync_pending) {
        ts_send(ts);
    }
}

static void ts_response(VMBusIC *ic, const VmbicHdr *h,
                        const uint8_t *p, uint32_t len)
{
    /* Linux echoes the sample; nothing to learn from it. */
}

static void ts_stop(VMBusIC *ic)
{
    timer_del(HV_TIMESYNC(ic)->timer);
}

static void ts_vm_state(void *opaque, bool running, RunState state)
{
    HvTimesync *ts = opaque;

    if (!running) {
        return;
    }
    /* After a stop, a migration or a resume: correct the guest's clock. */
    ts->sync_pending = true;
    if (VMBUS_IC(ts)->state == VMBIC_STATE_READY) {
        ts_arm(ts, 1);
    }
}

static void ts_query(VMBusIC *ic, VmbusIcInfo *info)
{
    HvTimesync *ts = HV_TIMESYNC(ic);
    VmbusIcTimesyncInfo *i = g_new0(VmbusIcTimesyncInfo, 1);

    i->interval = ts->interval_ms;
    i->samples = ts->samples;
    i->syncs = ts->syncs;
    i->last_sync = ts->last_sync_wall_ms;
    i->sync_pending = ts->sync_pending;
    info->timesync = i;
}

static void ts_realize(VMBusDevice *vdev, Error **errp)
{
    HvTimesync *ts = HV_TIMESYNC(vdev);

    if (ts->interval_ms < 100 || ts->interval_ms > 3600000) {
        error_setg(errp, "interval must be 100 .. 3600000 ms");
        return;
    }
    ts->timer = timer_new_ms(QEMU_CLOCK_VIRTUAL, ts_timer_cb, ts);
    ts->vmstate_entry = qemu_add_vm_change_state_handler(ts_vm_state, ts);
}

static void ts_unrealize(VMBusDevice *vdev)
{
    HvTimesync *ts = HV_TIMESYNC(vdev);

    qemu_del_vm_change_state_handler(ts->vmstate_entry);
    timer_free(ts->timer);
    ts->timer = NULL;
}

static int ts_post_load(void *opaque, int version_id)
{
    HvTimesync *ts = opaque;

    /* The destination's clock is not the source's: SYNC once it runs. */
    ts->sync_pending = true;
    if (VMBUS_IC(ts)->state == VMBIC_STATE_READY) {
        ts_arm(ts, 1);
    }
    return 0;
}

static const VMStateDescription vmstate_hv_timesync = {
    .name = "hv-timesync",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ts_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HvTimesync),
        VMSTATE_BOOL(sync_pending, HvTimesync),
        VMSTATE_UINT64(samples, HvTimesync),
        VMSTATE_UINT64(syncs, HvTimesync),
        VMSTATE_INT64(last_sync_wall_ms, HvTimesync),
        VMSTATE_END_OF_LIST()
    },
};

static const Property ts_properties[] = {
    DEFINE_PROP_UINT32("interval", HvTimesync, interval_ms, 5000),
};

static void ts_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *k = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse("9527e630-d0ae-497b-adce-e80ab0175caf", &vdc->classid);
    vdc->vmdev_realize = ts_realize;
    vdc->vmdev_unrealize = ts_unrealize;
    dc->vmsd = &vmstate_hv_timesync;
    dc->desc = "Hyper-V time synchronization integration service";
    device_class_set_props(dc, ts_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    vmbus_ic_class_add_u64(klass, "syncs", offsetof(HvTimesync, syncs));
    vmbus_ic_class_add_u64(klass, "samples", offsetof(HvTimesync, samples));
    k->service = "timesync";
    k->msg_type = VMBIC_MSG_TIMESYNC;
    k->fw_versions = ts_fw;
    k->n_fw_versions = ARRAY_SIZE(ts_fw);
    k->msg_versions = ts_msg;
    k->n_msg_versions = ARRAY_SIZE(ts_msg);
    k->ready = ts_ready;
    k->response = ts_response;
    k->kick = ts_kick;
    k->stop = ts_stop;
    k->query = ts_query;
}

static const TypeInfo ts_type_info = {
    .name = TYPE_HV_TIMESYNC,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HvTimesync),
    .class_init = ts_class_init,
};

static void ts_register_types(void)
{
    type_register_static(&ts_type_info);
}

type_init(ts_register_types)
