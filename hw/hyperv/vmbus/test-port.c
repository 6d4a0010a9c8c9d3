/*
 * vmbus-test-port: a test-only device that lets a qtest act as the guest's
 * SynIC user (enable pages, post messages, signal events, EOM)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Under -accel qtest there is no CPU to run the guest's hypercalls, so this
 * device does what the guest's vCPUs would: it gives every vCPU a SynIC
 * (when none has one yet), and exposes a small MMIO register block at
 * 'addr' (default VMBUS_TEST_PORT_ADDR) through which a qtest
 *   - enables a VP's SynIC with message and event-flag page addresses,
 *   - posts HvPostMessage input that it wrote into guest RAM,
 *   - signals an event connection (HvSignalEvent, fast form),
 *   - writes EOM for a VP,
 *   - takes and drops a GPADL reference of a channel as its device would
 *     (vmbus_get_gpadl / vmbus_put_gpadl),
 * and reads the hypercall status back.  Messages and event flags then
 * appear in the pages the qtest reads, exactly as the guest would see
 * them.  Create it before vmbus-bridge on the command line.
 *
 * Registers (32-bit, little-endian):
 *   0x00 CMD     write: run command        0x04 VP
 *   0x08 ARG0_LO 0x0c ARG0_HI              0x10 ARG1_LO  0x14 ARG1_HI
 *   0x18 RESULT  read: status of the last command
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/qdev-core.h"
#include "system/qtest.h"
#include "hw/qdev-properties.h"
#include "hw/core/cpu.h"
#include "hw/hyperv/hyperv.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "qom/object.h"
#include "vmbus-priv.h"

#define TYPE_VMBUS_TEST_PORT "vmbus-test-port"
OBJECT_DECLARE_SIMPLE_TYPE(VMBusTestPort, VMBUS_TEST_PORT)

#define VMBUS_TEST_PORT_ADDR    0xfe000000ULL
#define VMBUS_TEST_PORT_SIZE    0x20

enum {
    VTP_CMD = 0x00,
    VTP_VP = 0x04,
    VTP_ARG0_LO = 0x08,
    VTP_ARG0_HI = 0x0c,
    VTP_ARG1_LO = 0x10,
    VTP_ARG1_HI = 0x14,
    VTP_RESULT = 0x18,
};

enum {
    VTP_CMD_SYNIC_ENABLE = 1,   /* VP; ARG0 = SIMP GPA, ARG1 = SIEFP GPA */
    VTP_CMD_POST_MESSAGE = 2,   /* ARG0 = GPA of the hypercall input */
    VTP_CMD_SIGNAL_EVENT = 3,   /* ARG0 = connection id (fast form) */
    VTP_CMD_EOM = 4,            /* VP */
    VTP_CMD_SYNIC_DISABLE = 5,  /* VP */
    VTP_CMD_GPADL_GET = 6,      /* ARG0 = relid, ARG1 = GPADL handle */
    VTP_CMD_GPADL_PUT = 7,      /* drop the reference GPADL_GET took */
};

struct VMBusTestPort {
    DeviceState parent_obj;
    MemoryRegion mmio;
    uint64_t addr;
    uint32_t vp;
    uint64_t arg0, arg1;
    uint32_t result;
    VMBusGpadl *gpadl;          /* held by GPADL_GET */
};

/* What a device does with a GPADL handle from the guest: 0 = held. */
static uint32_t vtp_gpadl_get(VMBusTestPort *s)
{
    VMBusBridge *bridge = vmbus_bridge_find();
    VmbcChannel *cc;
    VMBusChannel *chan;

    if (s->gpadl || !bridge || !bridge->host->core) {
        return 1;
    }
    cc = vmbc_chan_by_relid(bridge->host->core, s->arg0);
    chan = cc ? vmbc_chan_get_opaque(cc) : NULL;
    if (!chan) {
        return 1;
    }
    s->gpadl = vmbus_get_gpadl(chan, s->arg1);
    return s->gpadl ? 0 : 1;
}

static void vtp_run(VMBusTestPort *s, uint32_t cmd)
{
    CPUState *cs = qemu_get_cpu(s->vp);

    switch (cmd) {
    case VTP_CMD_SYNIC_ENABLE:
        if (!cs) {
            s->result = HV_STATUS_INVALID_PARAMETER;
            return;
        }
        hyperv_synic_update(cs, true, s->arg0, s->arg1);
        s->result = HV_STATUS_SUCCESS;
        break;
    case VTP_CMD_SYNIC_DISABLE:
        if (!cs) {
            s->result = HV_STATUS_INVALID_PARAMETER;
            return;
        }
        hyperv_synic_update(cs, false, 0, 0);
        s->result = HV_STATUS_SUCCESS;
        break;
    case VTP_CMD_POST_MESSAGE:
        s->result = hyperv_hcall_post_message(s->arg0, false);
        break;
    case VTP_CMD_SIGNAL_EVENT:
        s->result = hyperv_hcall_signal_event(s->arg0, true);
        break;
    case VTP_CMD_GPADL_GET:
        s->result = vtp_gpadl_get(s);
        break;
    case VTP_CMD_GPADL_PUT:
        vmbus_put_gpadl(s->gpadl);
        s->gpadl = NULL;
        s->result = 0;
        break;
    case VTP_CMD_EOM:
        if (!cs) {
            s->result = HV_STATUS_INVALID_PARAMETER;
            return;
        }
        hyperv_synic_eom(cs);
        s->result = HV_STATUS_SUCCESS;
        break;
    default:
        s->result = HV_STATUS_INVALID_HYPERCALL_CODE;
        break;
    }
}

static uint64_t vtp_read(void *opaque, hwaddr addr, unsigned size)
{
    VMBusTestPort *s = opaque;

    switch (addr) {
    case VTP_VP:
        return s->vp;
    case VTP_RESULT:
        return s->result;
    default:
        return 0;
    }
}

static void vtp_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    VMBusTestPort *s = opaque;

    switch (addr) {
    case VTP_CMD:
        vtp_run(s, val);
        break;
    case VTP_VP:
        s->vp = val;
        break;
    case VTP_ARG0_LO:
        s->arg0 = deposit64(s->arg0, 0, 32, val);
        break;
    case VTP_ARG0_HI:
        s->arg0 = deposit64(s->arg0, 32, 32, val);
        break;
    case VTP_ARG1_LO:
        s->arg1 = deposit64(s->arg1, 0, 32, val);
        break;
    case VTP_ARG1_HI:
        s->arg1 = deposit64(s->arg1, 32, 32, val);
        break;
    default:
        break;
    }
}

static const MemoryRegionOps vtp_ops = {
    .read = vtp_read,
    .write = vtp_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 4, .max_access_size = 4 },
};

static void vtp_realize(DeviceState *dev, Error **errp)
{
    VMBusTestPort *s = VMBUS_TEST_PORT(dev);
    CPUState *cs;

    if (!qtest_enabled()) {
        error_setg(errp, "%s is for qtests only (-accel qtest)",
                   TYPE_VMBUS_TEST_PORT);
        return;
    }
    if (!hyperv_is_synic_enabled()) {
        CPU_FOREACH(cs) {
            hyperv_synic_add(cs);
        }
    }
    memory_region_init_io(&s->mmio, OBJECT(dev), &vtp_ops, s,
                          TYPE_VMBUS_TEST_PORT, VMBUS_TEST_PORT_SIZE);
    memory_region_add_subregion(get_system_memory(), s->addr, &s->mmio);
}

static const Property vtp_props[] = {
    DEFINE_PROP_UINT64("addr", VMBusTestPort, addr, VMBUS_TEST_PORT_ADDR),
};

static void vtp_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = vtp_realize;
    dc->desc = "VMBus qtest port (test only)";
    dc->user_creatable = true;
    device_class_set_props(dc, vtp_props);
}

static const TypeInfo vtp_type_info = {
    .name = TYPE_VMBUS_TEST_PORT,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(VMBusTestPort),
    .class_init = vtp_class_init,
};

static void vtp_register_types(void)
{
    type_register_static(&vtp_type_info);
}

type_init(vtp_register_types)
