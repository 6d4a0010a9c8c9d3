/*
 * One reporter for everything a Hyper-V guest does wrong: the VMBus
 * core's refusals (through the bridge), the channel engine, every VMBus
 * device and the TCG hypercall/MSR code.
 *
 * vmbus_guest_fault() counts the fault under its condition, fires the
 * condition's own trace event (vmbhost_fault_<name>) and logs it as
 * LOG_GUEST_ERROR, at most VMBUS_FAULT_LOG_BURST lines per second of
 * virtual time for all sources together; the faults left out are counted
 * and announced in one "N more guest faults suppressed" line when the
 * next second's first fault is logged.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_HYPERV_VMBUS_FAULT_H
#define HW_HYPERV_VMBUS_FAULT_H

#include "hw/hyperv/vmbus-core.h"

#define VMBUS_FAULT_LOG_BURST   10

/*
 * Conditions: enum suffix, stable name (QMP, logs, trace event suffix).
 * The first VMBC_FAULT_COUNT are the core's VmbcFault, in its order.
 */
#define VMBUS_FAULT_LIST(X)                                             \
    X(MSG_MALFORMED, msg_malformed)     /* core: bad size/type/conn id */ \
    X(MSG_STATE, msg_state)             /* core: wrong state/version */   \
    X(CONTACT, contact)                 /* core: INITIATE_CONTACT */      \
    X(GUEST_PAGE, guest_page)           /* core: interrupt/monitor page */ \
    X(SIGNAL, signal)                   /* core: event signalling */      \
    X(CHANNEL, channel)                 /* core: open/close/modify/relid */ \
    X(GPADL, gpadl)                     /* core: GPADL messages */        \
    X(QUEUE_FULL, queue_full)           /* core: guest does not drain */  \
    X(RING_CORRUPT, ring_corrupt)       /* engine: ring indices/headers */ \
    X(RING_PACKET, ring_packet)         /* engine: packet refused */      \
    X(IC_PROTOCOL, ic_protocol)         /* integration services */        \
    X(HVSOCK_PROTOCOL, hvsock_protocol) /* hv_sock pipe packets */        \
    X(HYPERCALL_INPUT, hypercall_input) /* TCG: hypercall control/input */ \
    X(MSR_ACCESS, msr_access)           /* TCG: synthetic MSR refused */  \
    X(OVERLAY_PAGE, overlay_page)       /* TCG: hypercall/TSC page GPA */

#define VMBUS_FAULT_ENUM_(e, n) VMBUS_FAULT_##e,
typedef enum VMBusFault {
    VMBUS_FAULT_LIST(VMBUS_FAULT_ENUM_)
    VMBUS_FAULT__MAX
} VMBusFault;
#undef VMBUS_FAULT_ENUM_

/* Report a fault; @src names the device (NULL: the hypervisor, "hyperv"). */
void vmbus_guest_fault(Object *src, VMBusFault cond, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* The glue condition of a core condition. */
VMBusFault vmbus_fault_from_core(VmbcFault f);

const char *vmbus_fault_name(VMBusFault cond);
uint64_t vmbus_fault_count(VMBusFault cond);
/* Faults not logged because of the rate limit, since start. */
uint64_t vmbus_fault_suppressed(void);

#endif
