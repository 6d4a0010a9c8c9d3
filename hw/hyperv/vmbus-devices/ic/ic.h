/*
 * Hyper-V integration components: the VMBus device base class
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * TYPE_VMBUS_IC is an abstract VMBus device with one channel that speaks
 * the IC framework (ic-proto.h): when the guest opens the channel it
 * sends NEGOTIATE with the service's framework and message versions,
 * then lets the service send one request at a time and hands it the
 * guest's answer after checking the headers.  Each service (ic-*.c) is a
 * small subclass.  Every answer is copied out of the ring before it is
 * checked; a bad one is refused and reported with vmbus_guest_fault()
 * (condition ic_protocol), and the request stays outstanding until a good
 * answer or a timeout.
 */

#ifndef HW_HYPERV_VMBUS_IC_H
#define HW_HYPERV_VMBUS_IC_H

#include "hw/hyperv/vmbus.h"
#include "qapi/qapi-types-vmbus-dev-ic.h"
#include "ic-proto.h"

#define TYPE_VMBUS_IC "vmbus-ic"
OBJECT_DECLARE_TYPE(VMBusIC, VMBusICClass, VMBUS_IC)

/* Channel and negotiation state. */
enum {
    VMBIC_STATE_CLOSED = 0,      /* channel not open */
    VMBIC_STATE_NEGOTIATING = 1, /* open, NEGOTIATE not answered yet */
    VMBIC_STATE_READY = 2,       /* versions agreed */
    VMBIC_STATE_REFUSED = 3,     /* no common version: the service idles */
};

/* A request the guest has not answered within this is given up. */
#define VMBIC_REQUEST_TIMEOUT_MS 60000

struct VMBusICClass {
    VMBusDeviceClass parent_class;

    const char *service;            /* "heartbeat", ... (QMP, traces) */
    uint16_t msg_type;              /* VMBIC_MSG_* of its requests */
    const uint32_t *fw_versions;    /* offered, best first */
    unsigned n_fw_versions;
    const uint32_t *msg_versions;
    unsigned n_msg_versions;

    /* Versions agreed: start the service. */
    void (*ready)(VMBusIC *ic);
    /*
     * The guest answered the outstanding request.  @hdr is checked
     * (type, transaction); @payload (@len bytes after the headers) is a
     * copy.
     */
    void (*response)(VMBusIC *ic, const VmbicHdr *hdr,
                     const uint8_t *payload, uint32_t len);
    /* Nothing outstanding: send what is queued, if anything. */
    void (*kick)(VMBusIC *ic);
    /* Channel closed or device reset: stop timers, drop queued work. */
    void (*stop)(VMBusIC *ic);
    /* Fill the service's part of query-vmbus-ic. */
    void (*query)(VMBusIC *ic, VmbusIcInfo *info);
};

struct VMBusIC {
    VMBusDevice parent_obj;

    uint32_t state;
    uint32_t fw_version;
    uint32_t msg_version;
    /* the outstanding request, if any */
    bool busy;
    uint16_t busy_type;
    uint8_t busy_tid;
    uint64_t busy_trans_id;
    int64_t busy_since_ms;          /* QEMU_CLOCK_VIRTUAL */
    uint8_t next_tid;
    uint64_t next_trans_id;
    /* statistics, kept across resets */
    uint64_t requests;
    uint64_t responses;
    uint64_t timeouts;
    uint64_t guest_errors;
    uint32_t last_status;

    QEMUTimer *start_timer;         /* NEGOTIATE shortly after open */
};

extern const VMStateDescription vmstate_vmbus_ic;

#define VMSTATE_VMBUS_IC(_field, _state) \
    VMSTATE_STRUCT(_field, _state, 0, vmstate_vmbus_ic, VMBusIC)

/* True once versions are agreed and no request is outstanding. */
bool vmbus_ic_can_send(VMBusIC *ic);

/*
 * Send one request of the service's type with @len payload bytes.
 * 0 on success; -EBUSY with a request outstanding, -ENOTCONN when not
 * negotiated, -ENOSPC when the ring is full now (chan_notify_cb calls
 * kick again once it frees), other -errno otherwise.
 */
int vmbus_ic_send(VMBusIC *ic, const void *payload, uint32_t len);

/* A hostile or broken answer: counted here and by vmbus_guest_fault(). */
void vmbus_ic_guest_error(VMBusIC *ic, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/* Find an IC device for QMP: by id or QOM path, or the only one of @type. */
VMBusIC *vmbus_ic_find(const char *device, const char *type, Error **errp);

const char *vmbus_ic_state_name(uint32_t state);

/* A read-only uint64 QOM property reading the field at @offset. */
void vmbus_ic_class_add_u64(ObjectClass *oc, const char *name, size_t offset);

/* Wall-clock milliseconds since the epoch (for QMP). */
int64_t vmbus_ic_wall_ms(void);

#endif
