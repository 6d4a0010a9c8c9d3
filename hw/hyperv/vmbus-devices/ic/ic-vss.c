/*
 * Hyper-V Volume Shadow Copy (backup) integration service (hv-vss): negotiation only
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

#define TYPE_HV_VSS "hv-vss"
OBJECT_DECLARE_SIMPLE_TYPE(HvVss, HV_VSS)

struct HvVss {
    VMBusIC parent_obj;
};

static const uint32_t fw_versions[] = { VMBIC_VERSION(3, 0) };
static const uint32_t msg_versions[] = { VMBIC_VERSION(5, 0) };

static const VMStateDescription vmstate_vss = {
    .name = "hv-vss",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HvVss),
        VMSTATE_END_OF_LIST()
    },
};

static void vss_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *k = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse("35fa2e29-ea23-4236-96ae-3a6ebacba440", &vdc->classid);
    dc->vmsd = &vmstate_vss;
    dc->desc = "Hyper-V VSS (backup) integration service: negotiation only";
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    k->service = "vss";
    k->msg_type = VMBIC_MSG_VSS;
    k->fw_versions = fw_versions;
    k->n_fw_versions = ARRAY_SIZE(fw_versions);
    k->msg_versions = msg_versions;
    k->n_msg_versions = ARRAY_SIZE(msg_versions);
}

static const TypeInfo vss_type_info = {
    .name = TYPE_HV_VSS,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HvVss),
    .class_init = vss_class_init,
};

static void vss_register_types(void)
{
    type_register_static(&vss_type_info);
}

type_init(vss_register_types)
