/*
 * Hyper-V file copy integration service (hv-fcopy): negotiation only
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The guest's driver binds and negotiates its versions; the host never
 * sends a request, so the guest has nothing to do and stays quiet.
 * Anything the guest sends on its own is refused as unsolicited
 * (vmbus_guest_fault: ic_protocol).
 */

#include "qemu/osdep.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "ic.h"

#define TYPE_HV_FCOPY "hv-fcopy"
OBJECT_DECLARE_SIMPLE_TYPE(HvFcopy, HV_FCOPY)

struct HvFcopy {
    VMBusIC parent_obj;
};

static const uint32_t fw_versions[] = { VMBIC_VERSION(3, 0) };
static const uint32_t msg_versions[] = { VMBIC_VERSION(1, 1) };

static const VMStateDescription vmstate_fcopy = {
    .name = "hv-fcopy",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HvFcopy),
        VMSTATE_END_OF_LIST()
    },
};

static void fcopy_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *k = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse("34d14be3-dee4-41c8-9ae7-6b174977c192", &vdc->classid);
    dc->vmsd = &vmstate_fcopy;
    dc->desc = "Hyper-V file copy integration service: negotiation only";
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    k->service = "fcopy";
    k->msg_type = VMBIC_MSG_FCOPY;
    k->fw_versions = fw_versions;
    k->n_fw_versions = ARRAY_SIZE(fw_versions);
    k->msg_versions = msg_versions;
    k->n_msg_versions = ARRAY_SIZE(msg_versions);
}

static const TypeInfo fcopy_type_info = {
    .name = TYPE_HV_FCOPY,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HvFcopy),
    .class_init = fcopy_class_init,
};

static void fcopy_register_types(void)
{
    type_register_static(&fcopy_type_info);
}

type_init(fcopy_register_types)
