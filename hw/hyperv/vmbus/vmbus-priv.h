/*
 * VMBus glue: private state shared by the bridge, the bus and channels
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_HYPERV_VMBUS_PRIV_H
#define HW_HYPERV_VMBUS_PRIV_H

#include "hw/hyperv/vmbus.h"
#include "hw/hyperv/vmbus-bridge.h"
#include "hw/hyperv/vmbus-core.h"
#include "hw/hyperv/vmbus-ring.h"
#include "hw/hyperv/hyperv.h"
#include "qemu/event_notifier.h"
#include "qemu/thread.h"
#include "qemu/timer.h"

/* Messages queued from vCPU threads to the main loop (HvPostMessage). */
#define VMBUS_HOST_RX_QUEUE_MAX 256

typedef struct VMBusRxMsg {
    uint32_t connection_id;
    uint32_t len;
    uint8_t payload[HV_MESSAGE_PAYLOAD_SIZE];
} VMBusRxMsg;

/* A SINT route we keep per (vp, sint). */
typedef struct VMBusRoute {
    uint32_t vp;
    uint32_t sint;
    HvSintRoute *route;
} VMBusRoute;

struct VMBus {
    BusState parent;
    VMBusBridge *bridge;
};

struct VMBusChannel {
    VMBusDevice *dev;
    uint16_t index;                 /* 0 = primary */
    VmbcChannel *core;              /* NULL until offered */
    bool released;                  /* core dropped it (rescind done) */
    /* Dynamic channels (vmbus_device_add_channel / tl_connect). */
    bool dynamic;
    bool rescind_sent;              /* vmbus_channel_rescind called */
    void *opaque;

    /* Guest signals: HvSignalEvent on the channel's connection id. */
    EventNotifier notifier;
    uint32_t notifier_conn_id;      /* 0 = not registered */

    /* Open state: the ring GPADL's pages mapped into host memory. */
    bool is_open;
    uint32_t npages;
    uint8_t **pages;
    MemoryRegion **page_mr;
    hwaddr *page_off;
    VmbRingPair rings;
    bool ring_broken_reported;

    /* Receive batch (vmbus_channel_recv_start .. recv_done). */
    bool in_recv;
    uint64_t recv_bytes;

    QEMUBH *notify_bh;              /* vmbus_channel_notify_host */
    uint64_t notifications;         /* for query-vmbus */
};

/* Migration: an open channel's ring state that mapping afresh would lose. */
typedef struct VMBusRingMig {
    uint32_t relid;
    VmbRingSaved out;
    VmbRingSaved in;
} VMBusRingMig;

typedef struct VMBusHostTimer {
    VMBusHost *host;
    VmbcTimer which;
} VMBusHostTimer;

struct VMBusHost {
    VMBusBridge *bridge;
    VmbcCore *core;

    /* From the bridge's properties. */
    uint32_t max_version;
    uint64_t gpadl_quota;
    /* Guest MMIO windows in VMOD's _CRS, placed at realize (acpi.c). */
    uint64_t mmio_base, mmio_size;
    uint64_t mmio_low_base, mmio_low_size;

    /* HvPostMessage input: vCPU threads -> main loop. */
    QemuMutex rx_lock;
    GQueue rx_queue;                /* of VMBusRxMsg */
    QEMUBH *rx_bh;

    /* Host -> guest messages: one staged in the SynIC at a time. */
    bool msg_inflight;
    uint32_t inflight_vp, inflight_sint;
    struct hyperv_message inflight;
    int inflight_status;            /* from the staging callback */
    QEMUBH *post_bh;
    GArray *routes;                 /* of VMBusRoute */

    /* Pre-2.4 shared event connection (interrupt page). */
    EventNotifier legacy_notifier;
    bool legacy_registered;

    QEMUTimer *timers[VMBC_TIMER_COUNT];
    VMBusHostTimer timer_ctx[VMBC_TIMER_COUNT];

    /* QMP x-vmbus-delay-messages: hold each host message this long. */
    uint32_t delay_ms;
    QEMUTimer *delay_timer;

    /* Migration: the core's state as a byte stream. */
    uint8_t *mig_buf;
    uint32_t mig_len;
    VMBusRingMig *mig_rings;
    int32_t mig_nrings;
};

extern const VmbcOps vmbus_host_ops;

/* acpi.c */
bool vmbus_bridge_place_windows(VMBusBridge *bridge, Error **errp);

/* bus.c */
void vmbus_bus_channel_opened(VMBusChannel *chan);
int vmbus_chan_open_hook(VMBusHost *host, VmbcChannel *cc);
void vmbus_chan_close_hook(VMBusHost *host, VmbcChannel *cc);
void vmbus_chan_notify_hook(VMBusHost *host, VmbcChannel *cc);
void vmbus_chan_released_hook(VMBusHost *host, VmbcChannel *cc);
int vmbus_channel_remap(VMBusChannel *chan);
VMBusHost *vmbus_host_of(VMBusDevice *dev);
void vmbus_device_rescind(VMBusDevice *vdev);
bool vmbus_device_reoffer(VMBusDevice *vdev, Error **errp);
void vmbus_host_register_chan_notifier(VMBusHost *host, VMBusChannel *chan);
void vmbus_host_rebind_chan_notifiers(VMBusHost *host);
uint32_t vmbus_bus_tl_connect(VMBusHost *host, const VmbWireGuid *endpoint,
                              const VmbWireGuid *service, void **chan_opaque);

#endif
