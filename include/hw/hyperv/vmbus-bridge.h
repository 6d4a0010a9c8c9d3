/*
 * The vmbus-bridge device: the guest-visible VMBus (ACPI node, SynIC glue)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_HYPERV_VMBUS_BRIDGE_H
#define HW_HYPERV_VMBUS_BRIDGE_H

#include "hw/sysbus.h"
#include "hw/hyperv/vmbus.h"
#include "qom/object.h"

#define TYPE_VMBUS_BRIDGE "vmbus-bridge"

typedef struct VMBusBridge VMBusBridge;
DECLARE_INSTANCE_CHECKER(VMBusBridge, VMBUS_BRIDGE, TYPE_VMBUS_BRIDGE)

typedef struct VMBusHost VMBusHost;

/*
 * What QEMU's board code reads is public (irq, for ACPI); the rest of
 * the bridge's state is private to hw/hyperv/vmbus/ (VMBusHost).
 */
struct VMBusBridge {
    SysBusDevice parent_obj;

    uint8_t irq;
    VMBus *bus;
    VMBusHost *host;

    /* Properties (see the bridge's property list). */
    uint32_t max_version;
    uint64_t gpadl_quota;
    uint64_t mmio_size;
    uint64_t mmio_base;
    uint64_t mmio_low_size;
    uint64_t mmio_low_base;
    bool monitor;
    uint16_t monitor_latency;
};

static inline VMBusBridge *vmbus_bridge_find(void)
{
    return VMBUS_BRIDGE(object_resolve_path_type("", TYPE_VMBUS_BRIDGE, NULL));
}

typedef struct Aml Aml;
/* The ACPI nodes of the bridge: module device VMOD (_CRS with the MMIO
 * windows) holding the VMBus node VMBS (_CRS with the IRQ). */
Aml *vmbus_bridge_build_aml(VMBusBridge *bridge);

#endif
