/*
 * VMBus device API: the bus, the device base class, channels and rings
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Source-compatible with QEMU's own include/hw/hyperv/vmbus.h, so QEMU's
 * VMBus devices (hv-balloon) build unchanged; implemented over our
 * protocol core (vmbus-core.h) and ring library (vmbus-ring.h).
 *
 * A device subclasses TYPE_VMBUS_DEVICE, fills VMBusDeviceClass (class
 * GUID, hooks) and talks through its channels.  All hooks run in the main
 * loop with the BQL held.
 */

#ifndef HW_HYPERV_VMBUS_H
#define HW_HYPERV_VMBUS_H

#include "system/system.h"
#include "system/dma.h"
#include "hw/qdev-core.h"
#include "migration/vmstate.h"
#include "hw/hyperv/vmbus-proto.h"
#include "qemu/uuid.h"
#include "qom/object.h"

#define TYPE_VMBUS_DEVICE "vmbus-dev"

OBJECT_DECLARE_TYPE(VMBusDevice, VMBusDeviceClass, VMBUS_DEVICE)

#define TYPE_VMBUS "vmbus"
OBJECT_DECLARE_SIMPLE_TYPE(VMBus, VMBUS)

/* A GPADL (guest physical address descriptor list) a device uses. */
typedef struct VMBusGpadl VMBusGpadl;
/* One channel of a device: a pair of rings plus signalling. */
typedef struct VMBusChannel VMBusChannel;

/* Called in the main loop when the channel has work: the guest signalled,
 * or it freed ring space the device waited for. */
typedef void (*VMBusChannelNotifyCb)(struct VMBusChannel *chan);

struct VMBusDeviceClass {
    DeviceClass parent;

    QemuUUID classid;
    QemuUUID instanceid;     /* fixed instance GUID for singleton devices */
    uint16_t channel_flags;
    uint16_t mmio_size_mb;
    /*
     * Ours: at most one device of this class on the bus (a device being
     * unplugged does not count), as Hyper-V offers its integration
     * services: Linux's drivers keep one state per service.
     */
    bool one_per_bus;

    void (*vmdev_realize)(VMBusDevice *vdev, Error **errp);
    void (*vmdev_unrealize)(VMBusDevice *vdev);
    void (*vmdev_reset)(VMBusDevice *vdev);
    /* Number of channels (primary + subchannels), asked at realize. */
    uint16_t (*num_channels)(VMBusDevice *vdev);
    /* The guest opened a channel: 0 to accept, -errno to refuse. */
    int (*open_channel)(VMBusChannel *chan);
    /* The channel is closing: stop using its rings. */
    void (*close_channel)(VMBusChannel *chan);
    /* Work to do on the channel (guest signal or space freed). */
    VMBusChannelNotifyCb chan_notify_cb;

    /*
     * Ours: dynamic channels (hv_sock and other run-time offers).
     * A class that sets channel_released may return 0 from num_channels
     * and live on dynamic channels only.
     *
     * tl_connect: the guest's TL_CONNECT_REQUEST (an hv_sock connect())
     * to @service from its endpoint @endpoint.  To accept, create a
     * channel with vmbus_device_new_tl_channel(), store it in *@chan and
     * return 0: the bus offers it as an hv_sock channel (class = service,
     * instance = endpoint).  Any other value (VMBUS_TL_STATUS_*) refuses:
     * it goes back to the guest in TL_CONNECT_RESULT, and a channel left
     * in *@chan is freed without channel_released.  Devices are asked in
     * bus order; the first that accepts gets the connection.
     *
     * channel_released: a dynamic channel is gone for good (the guest
     * released it after a rescind, or it was dropped at unload / reset /
     * unplug).  Last callback for @chan: the bus frees it on return.
     */
    uint32_t (*tl_connect)(VMBusDevice *vdev, const QemuUUID *endpoint,
                           const QemuUUID *service, VMBusChannel **chan);
    void (*channel_released)(VMBusChannel *chan);

    /*
     * Ours: the device's own lines in HMP 'info vmbus' (indented by
     * four spaces), so a device brings its HMP output with it.
     */
    void (*hmp_info)(VMBusDevice *vdev, Monitor *mon);
};

struct VMBusDevice {
    DeviceState parent;
    QemuUUID instanceid;
    uint16_t num_channels;
    VMBusChannel *channels;
    AddressSpace *dma_as;
    /* Ours: set while a device without vmsd blocks migration. */
    Error *migration_blocker;
    /* Ours: device_del seen; unrealized once the guest released it. */
    bool unplug_requested;
    /* Ours: dynamic channels (VMBusChannel *), in creation order. */
    GList *dyn_channels;
};

extern const VMStateDescription vmstate_vmbus_dev;

/* A packet received from the guest (vmbus_channel_recv_peek). */
typedef struct VMBusChanReq {
    VMBusChannel *chan;
    uint16_t pkt_type;
    uint32_t msglen;
    void *msg;
    uint64_t transaction_id;
    bool need_comp;
    QEMUSGList sgl;
} VMBusChanReq;

VMBusDevice *vmbus_channel_device(VMBusChannel *chan);
VMBusChannel *vmbus_device_channel(VMBusDevice *dev, uint32_t chan_idx);
uint32_t vmbus_channel_idx(VMBusChannel *chan);
bool vmbus_channel_is_open(VMBusChannel *chan);

/* Schedule the device's chan_notify_cb, as if the guest had signalled. */
void vmbus_channel_notify_host(VMBusChannel *chan);

/*
 * Check that a packet of @desclen descriptor-extension bytes and @msglen
 * payload bytes fits in the host->guest ring.  0 if it does; -ENOSPC if
 * not now (the guest is asked to signal once space frees, which calls
 * chan_notify_cb); -EINVAL if it never will or the channel is not open.
 */
int vmbus_channel_reserve(VMBusChannel *chan,
                          uint32_t desclen, uint32_t msglen);

/* Write a packet to the guest and signal it if the protocol says so.
 * Returns the bytes written or -errno. */
ssize_t vmbus_channel_send(VMBusChannel *chan, uint16_t pkt_type,
                           void *desc, uint32_t desclen,
                           void *msg, uint32_t msglen,
                           bool need_comp, uint64_t transaction_id);

/* Start a batch of receives: 0 if the ring can be read, else -errno. */
int vmbus_channel_recv_start(VMBusChannel *chan);

/* Answer a request with a completion packet echoing its transaction id. */
ssize_t vmbus_channel_send_completion(VMBusChanReq *req,
                                      void *msg, uint32_t msglen);

/*
 * Copy out the next packet as a request of @size bytes (a VMBusChanReq
 * or a struct beginning with one); the payload follows in the same
 * allocation.  NULL when the ring is empty or broken.  Free with
 * vmbus_free_req().
 */
void *vmbus_channel_recv_peek(VMBusChannel *chan, uint32_t size);
/* Consume the packet last peeked. */
void vmbus_channel_recv_pop(VMBusChannel *chan);
/* End the batch: publish what was consumed, signal the guest if needed.
 * Returns the number of bytes consumed in the batch. */
ssize_t vmbus_channel_recv_done(VMBusChannel *chan);
/*
 * Ours: whether the guest->host ring holds unread packets.  The guest
 * signals only when it writes into an empty ring (judged by the read
 * index published at recv_done), so a reader that stops with packets
 * left (a budget, or a packet written just before its recv_done) must
 * come back for them itself, e.g. with vmbus_channel_notify_host().
 */
bool vmbus_channel_recv_pending(VMBusChannel *chan);

void vmbus_free_req(void *req);

/* ---- Dynamic channels (ours) ---------------------------------------------
 *
 * Channels a device offers and withdraws at run time, next to the fixed
 * array offered at realize.  They use the same hooks (open_channel,
 * close_channel, chan_notify_cb) and the same I/O API as fixed channels;
 * vmbus_channel_idx() is 0xffff for them.  Their end is always
 * VMBusDeviceClass.channel_released.
 */

/* TL_CONNECT_RESULT statuses a tl_connect hook may return. */
#define VMBUS_TL_STATUS_REFUSED       VMBW_STATUS_CONNECTION_REFUSED
#define VMBUS_TL_STATUS_NO_RESOURCES  VMBW_STATUS_INSUFFICIENT_RESOURCES
#define VMBUS_TL_STATUS_UNSUCCESSFUL  VMBW_STATUS_UNSUCCESSFUL

/* What a run-time offer carries (see the OFFERCHANNEL message). */
typedef struct VMBusChannelOffer {
    QemuUUID classid;           /* if_type */
    QemuUUID instanceid;        /* if_instance */
    uint16_t flags;             /* VMBW_OFFER_FLAG_* */
    uint8_t user_def[VMBW_USER_DEF_SIZE];
} VMBusChannelOffer;

/* For tl_connect only: a channel the bus offers once the hook accepts. */
VMBusChannel *vmbus_device_new_tl_channel(VMBusDevice *dev, void *opaque);
/*
 * Create and offer a channel now (sent at once to a connected guest,
 * else when it asks for offers).  Channels with
 * VMBW_OFFER_FLAG_TLNPI_PROVIDER are rescinded when the guest closes
 * them and dropped at unload, as Hyper-V does.  NULL + errp on failure
 * (duplicate class/instance, relids exhausted).
 */
VMBusChannel *vmbus_device_add_channel(VMBusDevice *dev,
                                       const VMBusChannelOffer *offer,
                                       void *opaque, Error **errp);
/*
 * Withdraw a dynamic channel: closed (close_channel) if open, then
 * RESCIND; channel_released follows once the guest released the relid.
 * If the guest never saw the offer, channel_released runs before this
 * returns, so do not touch @chan afterwards.  No-op when already
 * rescinded.
 */
void vmbus_channel_rescind(VMBusChannel *chan);
/* The opaque given at creation. */
void *vmbus_channel_get_opaque(VMBusChannel *chan);
/* Relid, 0 while the channel is not offered. */
uint32_t vmbus_channel_relid(VMBusChannel *chan);
/* True for dynamic channels. */
bool vmbus_channel_is_dynamic(VMBusChannel *chan);

VMBusGpadl *vmbus_get_gpadl(VMBusChannel *chan, uint32_t gpadl_id);
void vmbus_put_gpadl(VMBusGpadl *gpadl);
uint32_t vmbus_gpadl_len(VMBusGpadl *gpadl);
ssize_t vmbus_iov_to_gpadl(VMBusChannel *chan, VMBusGpadl *gpadl, uint32_t off,
                           const struct iovec *iov, size_t iov_cnt);

int vmbus_map_sgl(VMBusChanReq *req, DMADirection dir, struct iovec *iov,
                  unsigned iov_cnt, size_t len, size_t off);
void vmbus_unmap_sgl(VMBusChanReq *req, DMADirection dir, struct iovec *iov,
                     unsigned iov_cnt, size_t accessed);

#endif
