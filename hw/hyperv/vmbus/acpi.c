/*
 * vmbus-bridge: the ACPI nodes and the guest MMIO windows
 *
 * Hyper-V's layout: a module device \_SB.VMOD (_HID "ACPI0004") whose
 * _CRS holds the MMIO ranges VMBus devices may claim, and the VMBus node
 * VMBS under it with only its IRQ in _CRS.  Linux gathers the windows by
 * walking the _CRS of VMBS's ancestors until one yields a memory range;
 * kernels before 6.6 dereference the ACPI root handle if no ancestor
 * does, so a window in VMOD is what lets 5.x kernels boot at all.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "hw/acpi/aml-build.h"
#include "hw/i386/acpi-build.h"
#include "hw/i386/pc.h"
#include "hw/i386/x86.h"
#include "hw/pci/pcie_host.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "vmbus-priv.h"
#include "trace.h"

/* Fixed x86 platform ranges that may not be mapped yet at realize. */
static const struct {
    uint64_t base, size;
    const char *what;
} vmbus_fixed_ranges[] = {
    { 0xfec00000, 0x1000, "the IOAPIC" },
    { 0xfed00000, 0x400, "the HPET" },
    { 0xfed40000, 0x5000, "the TPM" },
    { 0xfee00000, 1 * MiB, "the local APICs" },
};

static bool ranges_overlap64(uint64_t a, uint64_t alen,
                             uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

static uint64_t pci_host_prop(Object *host, const char *name)
{
    if (!host || !object_property_find(host, name)) {
        return 0;
    }
    return object_property_get_uint(host, name, NULL);
}

/*
 * A window may overlap nothing the machine has: RAM, firmware and device
 * MMIO mapped so far, the fixed platform ranges, and the PCI host's
 * windows (32-bit hole, 64-bit hole, ECAM), which firmware fills later.
 */
static bool vmbus_window_check(const char *prop, uint64_t base, uint64_t size,
                               Error **errp)
{
    Object *host = acpi_get_i386_pci_host();
    struct {
        uint64_t base, size;
        const char *what;
    } busy[ARRAY_SIZE(vmbus_fixed_ranges) + 3];
    MemoryRegionSection sec;
    size_t i, n = 0;
    uint64_t h0, h1;

    if (base + size < base) {
        error_setg(errp, "%s: %s window 0x%" PRIx64 "+0x%" PRIx64
                   " wraps around", TYPE_VMBUS_BRIDGE, prop, base, size);
        return false;
    }
    for (i = 0; i < ARRAY_SIZE(vmbus_fixed_ranges); i++) {
        busy[n].base = vmbus_fixed_ranges[i].base;
        busy[n].size = vmbus_fixed_ranges[i].size;
        busy[n++].what = vmbus_fixed_ranges[i].what;
    }
    h0 = pci_host_prop(host, PCI_HOST_PROP_PCI_HOLE_START);
    h1 = pci_host_prop(host, PCI_HOST_PROP_PCI_HOLE_END);
    if (host && (h1 <= h0 || !h0)) {
        /*
         * q35 sets its hole only at reset (before, it reads as [0, 1)):
         * from the end of low RAM up to the IOAPIC, which also covers
         * its default ECAM.
         */
        h0 = pci_host_prop(host, PCI_HOST_BELOW_4G_MEM_SIZE);
        h1 = vmbus_fixed_ranges[0].base;
    }
    if (h1 > h0) {
        busy[n].base = h0;
        busy[n].size = h1 - h0;
        busy[n++].what = "the 32-bit PCI window";
    }
    h0 = pci_host_prop(host, PCI_HOST_PROP_PCI_HOLE64_START);
    h1 = pci_host_prop(host, PCI_HOST_PROP_PCI_HOLE64_END);
    if (h1 > h0) {
        busy[n].base = h0;
        busy[n].size = h1 - h0;
        busy[n++].what = "the 64-bit PCI window";
    }
    h0 = pci_host_prop(host, PCIE_HOST_MCFG_BASE);
    if (h0 && h0 != PCIE_BASE_ADDR_UNMAPPED) {
        busy[n].base = h0;
        busy[n].size = pci_host_prop(host, PCIE_HOST_MCFG_SIZE);
        busy[n++].what = "PCI Express ECAM";
    }
    for (i = 0; i < n; i++) {
        if (ranges_overlap64(base, size, busy[i].base, busy[i].size)) {
            error_setg(errp, "%s: %s window [0x%" PRIx64 ", 0x%" PRIx64
                       ") overlaps %s [0x%" PRIx64 ", 0x%" PRIx64 ")",
                       TYPE_VMBUS_BRIDGE, prop, base, base + size,
                       busy[i].what, busy[i].base,
                       busy[i].base + busy[i].size);
            return false;
        }
    }

    sec = memory_region_find(get_system_memory(), base, size);
    if (sec.mr) {
        error_setg(errp, "%s: %s window [0x%" PRIx64 ", 0x%" PRIx64
                   ") overlaps '%s' at 0x%" PRIx64, TYPE_VMBUS_BRIDGE, prop,
                   base, base + size, memory_region_name(sec.mr),
                   (uint64_t)sec.offset_within_address_space);
        memory_region_unref(sec.mr);
        return false;
    }
    return true;
}

/*
 * The default high window: 2 MiB aligned, above RAM, the memory-hotplug
 * area and the 64-bit PCI hole (as they stand when the bridge realizes).
 */
static uint64_t vmbus_default_high_base(void)
{
    X86MachineState *x86ms = X86_MACHINE(qdev_get_machine());
    Object *host = acpi_get_i386_pci_host();
    uint64_t end = 4 * GiB;

    end = MAX(end, x86ms->above_4g_mem_start + x86ms->above_4g_mem_size);
    end = MAX(end, pci_host_prop(host, PCI_HOST_PROP_PCI_HOLE64_END));
    if (MACHINE(x86ms)->device_memory) {
        MemoryRegion *dm = &MACHINE(x86ms)->device_memory->mr;

        end = MAX(end, MACHINE(x86ms)->device_memory->base +
                  memory_region_size(dm));
    }
    return ROUND_UP(end, 2 * MiB);
}

bool vmbus_bridge_place_windows(VMBusBridge *bridge, Error **errp)
{
    VMBusHost *h = bridge->host;

    if (bridge->mmio_size % MiB || bridge->mmio_base % MiB ||
        bridge->mmio_low_size % MiB || bridge->mmio_low_base % MiB) {
        error_setg(errp, "%s: mmio-size, mmio-base, mmio-low-size and "
                   "mmio-low-base must be multiples of 1 MiB",
                   TYPE_VMBUS_BRIDGE);
        return false;
    }

    h->mmio_size = bridge->mmio_size;
    h->mmio_base = 0;
    if (h->mmio_size) {
        h->mmio_base = bridge->mmio_base ? bridge->mmio_base
                                         : vmbus_default_high_base();
        if (h->mmio_base < 4 * GiB) {
            error_setg(errp, "%s: mmio-base 0x%" PRIx64 " is below 4 GiB "
                       "(use mmio-low-base and mmio-low-size for a window "
                       "there)", TYPE_VMBUS_BRIDGE, h->mmio_base);
            return false;
        }
        if (!vmbus_window_check("mmio-base", h->mmio_base, h->mmio_size,
                                errp)) {
            return false;
        }
    } else if (bridge->mmio_base) {
        error_setg(errp, "%s: mmio-base needs a nonzero mmio-size",
                   TYPE_VMBUS_BRIDGE);
        return false;
    }

    h->mmio_low_size = bridge->mmio_low_size;
    h->mmio_low_base = bridge->mmio_low_base;
    if (h->mmio_low_size) {
        if (!h->mmio_low_base) {
            error_setg(errp, "%s: mmio-low-size needs mmio-low-base: a "
                       "window below 4 GiB has no default place",
                       TYPE_VMBUS_BRIDGE);
            return false;
        }
        if (h->mmio_low_base < 1 * MiB ||
            h->mmio_low_base + h->mmio_low_size > 4 * GiB ||
            h->mmio_low_base + h->mmio_low_size < h->mmio_low_base) {
            error_setg(errp, "%s: the low window [0x%" PRIx64 ", 0x%" PRIx64
                       ") must lie between 1 MiB and 4 GiB",
                       TYPE_VMBUS_BRIDGE, h->mmio_low_base,
                       h->mmio_low_base + h->mmio_low_size);
            return false;
        }
        if (!vmbus_window_check("mmio-low-base", h->mmio_low_base,
                                h->mmio_low_size, errp)) {
            return false;
        }
    } else if (h->mmio_low_base) {
        error_setg(errp, "%s: mmio-low-base needs a nonzero mmio-low-size",
                   TYPE_VMBUS_BRIDGE);
        return false;
    }
    trace_vmbhost_mmio_windows(h->mmio_low_base, h->mmio_low_size,
                               h->mmio_base, h->mmio_size);
    return true;
}

static Aml *vmbus_bridge_vmbs_aml(VMBusBridge *bridge)
{
    Aml *dev = aml_device("VMBS");
    Aml *method, *crs;

    aml_append(dev, aml_name_decl("STA", aml_int(0xF)));
    aml_append(dev, aml_name_decl("_HID", aml_string("VMBus")));
    aml_append(dev, aml_name_decl("_UID", aml_int(0x0)));
    aml_append(dev, aml_name_decl("_DDN", aml_string("VMBUS")));

    /* _DIS clears the enabled bit, _PS0 sets everything again. */
    method = aml_method("_DIS", 0, AML_NOTSERIALIZED);
    aml_append(method, aml_store(aml_and(aml_name("STA"), aml_int(0xD), NULL),
                                 aml_name("STA")));
    aml_append(dev, method);

    method = aml_method("_PS0", 0, AML_NOTSERIALIZED);
    aml_append(method, aml_store(aml_or(aml_name("STA"), aml_int(0xF), NULL),
                                 aml_name("STA")));
    aml_append(dev, method);

    method = aml_method("_STA", 0, AML_NOTSERIALIZED);
    aml_append(method, aml_return(aml_name("STA")));
    aml_append(dev, method);

    aml_append(dev, aml_name_decl("_PS3", aml_int(0x0)));

    /* Linux requires a _CRS here; on x86 it takes the IRQ from elsewhere. */
    crs = aml_resource_template();
    aml_append(crs, aml_irq_no_flags(bridge->irq));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

Aml *vmbus_bridge_build_aml(VMBusBridge *bridge)
{
    VMBusHost *h = bridge->host;
    Aml *mod = aml_device("VMOD");
    Aml *crs = aml_resource_template();

    aml_append(mod, aml_name_decl("_HID", aml_string("ACPI0004")));
    aml_append(mod, aml_name_decl("_UID", aml_int(0x0)));
    if (h->mmio_low_size) {
        aml_append(crs, aml_dword_memory(AML_POS_DECODE, AML_MIN_FIXED,
                                         AML_MAX_FIXED, AML_NON_CACHEABLE,
                                         AML_READ_WRITE, 0, h->mmio_low_base,
                                         h->mmio_low_base +
                                         h->mmio_low_size - 1, 0,
                                         h->mmio_low_size));
    }
    if (h->mmio_size) {
        aml_append(crs, aml_qword_memory(AML_POS_DECODE, AML_MIN_FIXED,
                                         AML_MAX_FIXED, AML_NON_CACHEABLE,
                                         AML_READ_WRITE, 0, h->mmio_base,
                                         h->mmio_base + h->mmio_size - 1, 0,
                                         h->mmio_size));
    }
    aml_append(mod, aml_name_decl("_CRS", crs));
    aml_append(mod, vmbus_bridge_vmbs_aml(bridge));
    return mod;
}
