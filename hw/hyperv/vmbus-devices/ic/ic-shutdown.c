/*
 * Hyper-V shutdown integration service (hv-shutdown)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The host asks the guest to shut down, reboot or hibernate (optionally
 * "forced"); the guest answers with a status (0: it will).  Requests come
 * from QMP vmbus-shutdown and, with powerdown=on (the default), from
 * system_powerdown: QEMU's powerdown notifiers run in order and the ACPI
 * power button is pressed as well, so a guest that handles either acts.
 * Each answer is reported by the event VMBUS_SHUTDOWN_RESPONSE and in
 * query-vmbus-ic.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmbus-dev-ic.h"
#include "qapi/qapi-events-vmbus-dev-ic.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "system/runstate.h"
#include "qapi/visitor.h"
#include "ic.h"
#include "trace.h"

#define TYPE_HV_SHUTDOWN "hv-shutdown"
OBJECT_DECLARE_SIMPLE_TYPE(HvShutdown, HV_SHUTDOWN)

/* shutdown_msg_data: u32 reason_code, u32 timeout_seconds, u32 flags,
 * u8 display_message[2048] */
#define SD_PAYLOAD (12 + 2048)
#define SD_FLAG_FORCE 1

struct HvShutdown {
    VMBusIC parent_obj;

    bool powerdown;             /* property: route system_powerdown */
    uint32_t timeout_s;         /* property: timeout_seconds sent */
    Notifier powerdown_notifier;
    /* the last request and its answer */
    bool pending;
    bool has_last;
    uint32_t last_action;       /* VmbusShutdownAction */
    bool last_force;
    bool has_status;
    uint32_t last_status;
    uint64_t sent;
};

static const uint32_t sd_fw[] = { VMBIC_VERSION(3, 0), VMBIC_VERSION(1, 0) };
static const uint32_t sd_msg[] = {
    VMBIC_VERSION(3, 2), VMBIC_VERSION(3, 1), VMBIC_VERSION(3, 0),
    VMBIC_VERSION(1, 0),
};

static uint32_t sd_flags(VmbusShutdownAction action, bool force)
{
    uint32_t f = action == VMBUS_SHUTDOWN_ACTION_REBOOT ? 2 :
                 action == VMBUS_SHUTDOWN_ACTION_HIBERNATE ? 4 : 0;

    return f | (force ? SD_FLAG_FORCE : 0);
}

static int sd_request(HvShutdown *sd, VmbusShutdownAction action, bool force,
                      Error **errp)
{
    VMBusIC *ic = VMBUS_IC(sd);
    g_autofree uint8_t *p = g_malloc0(SD_PAYLOAD);
    uint32_t flags = sd_flags(action, force);
    int ret;

    if (ic->state != VMBIC_STATE_READY) {
        error_setg(errp, "The guest's shutdown service is not connected "
                   "(state %s)", vmbus_ic_state_name(ic->state));
        return -ENOTCONN;
    }
    if (action == VMBUS_SHUTDOWN_ACTION_HIBERNATE &&
        ic->msg_version < VMBIC_VERSION(3, 2)) {
        error_setg(errp, "The guest's shutdown service (version %u.%u) "
                   "does not take hibernate requests",
                   VMBIC_VERSION_MAJOR(ic->msg_version),
                   VMBIC_VERSION_MINOR(ic->msg_version));
        return -ENOTSUP;
    }
    vmbic_st32(p + 4, sd->timeout_s);
    vmbic_st32(p + 8, flags);
    ret = vmbus_ic_send(ic, p, SD_PAYLOAD);
    if (ret) {
        error_setg(errp, "Cannot send the shutdown request: %s",
                   ret == -EBUSY ? "a request is outstanding" :
                   strerror(-ret));
        return ret;
    }
    trace_vmbic_shutdown_request(DEVICE(sd)->id ?: "", flags);
    sd->pending = true;
    sd->has_last = true;
    sd->last_action = action;
    sd->last_force = force;
    sd->has_status = false;
    sd->sent++;
    return 0;
}

static void sd_response(VMBusIC *ic, const VmbicHdr *h,
                        const uint8_t *p, uint32_t len)
{
    HvShutdown *sd = HV_SHUTDOWN(ic);
    g_autofree char *path = object_get_canonical_path(OBJECT(sd));

    if (!sd->pending) {
        return;
    }
    sd->pending = false;
    if (!h) {
        return;     /* timed out or malformed: no answer to report */
    }
    sd->has_status = true;
    sd->last_status = h->status;
    trace_vmbic_shutdown_response(DEVICE(sd)->id ?: "", h->status);
    qapi_event_send_vmbus_shutdown_response(path, sd->last_action,
                                            sd->last_force, h->status,
                                            h->status == VMBIC_S_OK);
}

static void sd_powerdown(Notifier *n, void *opaque)
{
    HvShutdown *sd = container_of(n, HvShutdown, powerdown_notifier);
    Error *err = NULL;

    if (!sd->powerdown || VMBUS_IC(sd)->state != VMBIC_STATE_READY) {
        return;     /* the ACPI power button alone */
    }
    if (sd_request(sd, VMBUS_SHUTDOWN_ACTION_SHUTDOWN, false, &err)) {
        warn_report_err(err);
    }
}

static void sd_stop(VMBusIC *ic)
{
    HV_SHUTDOWN(ic)->pending = false;
}

static void sd_query(VMBusIC *ic, VmbusIcInfo *info)
{
    HvShutdown *sd = HV_SHUTDOWN(ic);
    VmbusIcShutdownInfo *i = g_new0(VmbusIcShutdownInfo, 1);

    i->powerdown = sd->powerdown;
    i->requests = sd->sent;
    i->pending = sd->pending;
    i->has_last_action = sd->has_last;
    i->last_action = sd->last_action;
    i->has_last_force = sd->has_last;
    i->last_force = sd->last_force;
    i->has_last_status = sd->has_status;
    i->last_status = sd->last_status;
    info->shutdown = i;
}

static void sd_realize(VMBusDevice *vdev, Error **errp)
{
    HvShutdown *sd = HV_SHUTDOWN(vdev);

    sd->powerdown_notifier.notify = sd_powerdown;
    qemu_register_powerdown_notifier(&sd->powerdown_notifier);
}

static void sd_unrealize(VMBusDevice *vdev)
{
    notifier_remove(&HV_SHUTDOWN(vdev)->powerdown_notifier);
}

static int sd_post_load(void *opaque, int version_id)
{
    HvShutdown *sd = opaque;

    if (sd->last_action >= VMBUS_SHUTDOWN_ACTION__MAX) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_hv_shutdown = {
    .name = "hv-shutdown",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = sd_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HvShutdown),
        VMSTATE_BOOL(pending, HvShutdown),
        VMSTATE_BOOL(has_last, HvShutdown),
        VMSTATE_UINT32(last_action, HvShutdown),
        VMSTATE_BOOL(last_force, HvShutdown),
        VMSTATE_BOOL(has_status, HvShutdown),
        VMSTATE_UINT32(last_status, HvShutdown),
        VMSTATE_UINT64(sent, HvShutdown),
        VMSTATE_END_OF_LIST()
    },
};

static const Property sd_properties[] = {
    DEFINE_PROP_BOOL("powerdown", HvShutdown, powerdown, true),
    DEFINE_PROP_UINT32("timeout", HvShutdown, timeout_s, 0),
};

/* -1: no answer yet to the last request */
static void sd_get_last_status(Object *obj, Visitor *v, const char *name,
                               void *opaque, Error **errp)
{
    HvShutdown *sd = HV_SHUTDOWN(obj);
    int64_t val = sd->has_status ? sd->last_status : -1;

    visit_type_int64(v, name, &val, errp);
}

static void sd_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *k = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse("0e0b6031-5213-4934-818b-38d90ced39db", &vdc->classid);
    vdc->vmdev_realize = sd_realize;
    vdc->vmdev_unrealize = sd_unrealize;
    dc->vmsd = &vmstate_hv_shutdown;
    dc->desc = "Hyper-V shutdown integration service";
    device_class_set_props(dc, sd_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    object_class_property_add(klass, "last-status", "int64",
                              sd_get_last_status, NULL, NULL, NULL);
    k->service = "shutdown";
    k->msg_type = VMBIC_MSG_SHUTDOWN;
    k->fw_versions = sd_fw;
    k->n_fw_versions = ARRAY_SIZE(sd_fw);
    k->msg_versions = sd_msg;
    k->n_msg_versions = ARRAY_SIZE(sd_msg);
    k->response = sd_response;
    k->stop = sd_stop;
    k->query = sd_query;
}

static const TypeInfo sd_type_info = {
    .name = TYPE_HV_SHUTDOWN,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HvShutdown),
    .class_init = sd_class_init,
};

static void sd_register_types(void)
{
    type_register_static(&sd_type_info);
}

type_init(sd_register_types)

void qmp_vmbus_shutdown(const char *device, VmbusShutdownAction action,
                        bool has_force, bool force, Error **errp)
{
    VMBusIC *ic = vmbus_ic_find(device, TYPE_HV_SHUTDOWN, errp);

    if (ic) {
        sd_request(HV_SHUTDOWN(ic), action, has_force && force, errp);
    }
}
