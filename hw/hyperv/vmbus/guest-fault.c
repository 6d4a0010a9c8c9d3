/*
 * The guest-fault reporter (see include/hw/hyperv/vmbus-fault.h): one
 * count and one trace event per condition, one rate limit for the log.
 *
 * The log window runs on QEMU_CLOCK_VIRTUAL: a guest that is stopped
 * cannot fault, and under qtest the window only moves when the test
 * steps the clock, so what is logged is reproducible.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qemu/thread.h"
#include "qemu/atomic.h"
#include "hw/qdev-core.h"
#include "hw/hyperv/vmbus-fault.h"
#include "trace.h"

typedef void (*VMBusFaultTrace)(const char *src, const char *msg);

#define VMBUS_FAULT_NAME_(e, n) [VMBUS_FAULT_##e] = #n,
static const char *const fault_names[VMBUS_FAULT__MAX] = {
    VMBUS_FAULT_LIST(VMBUS_FAULT_NAME_)
};
#undef VMBUS_FAULT_NAME_

#define VMBUS_FAULT_TRACE_(e, n) [VMBUS_FAULT_##e] = trace_vmbhost_fault_##n,
static const VMBusFaultTrace fault_trace[VMBUS_FAULT__MAX] = {
    VMBUS_FAULT_LIST(VMBUS_FAULT_TRACE_)
};
#undef VMBUS_FAULT_TRACE_

/* The core's conditions come first, in the core's order. */
#define VMBUS_FAULT_CHECK_(c)                                           \
    QEMU_BUILD_BUG_ON((int)VMBC_FAULT_##c != (int)VMBUS_FAULT_##c)
VMBUS_FAULT_CHECK_(MSG_MALFORMED);
VMBUS_FAULT_CHECK_(MSG_STATE);
VMBUS_FAULT_CHECK_(CONTACT);
VMBUS_FAULT_CHECK_(GUEST_PAGE);
VMBUS_FAULT_CHECK_(SIGNAL);
VMBUS_FAULT_CHECK_(CHANNEL);
VMBUS_FAULT_CHECK_(GPADL);
VMBUS_FAULT_CHECK_(QUEUE_FULL);
QEMU_BUILD_BUG_ON((int)VMBC_FAULT_COUNT != (int)VMBUS_FAULT_RING_CORRUPT);

static uint64_t fault_count[VMBUS_FAULT__MAX];

/* Rate limit, shared by every source; under fault_lock. */
static QemuMutex fault_lock;
static bool window_open;
static int64_t window_start_ms;
static unsigned logged_in_window;
static uint64_t suppressed_in_window;
static uint64_t suppressed_total;

static void __attribute__((constructor)) vmbus_fault_init(void)
{
    qemu_mutex_init(&fault_lock);
}

const char *vmbus_fault_name(VMBusFault cond)
{
    return (unsigned)cond < VMBUS_FAULT__MAX ? fault_names[cond] : "unknown";
}

uint64_t vmbus_fault_count(VMBusFault cond)
{
    return (unsigned)cond < VMBUS_FAULT__MAX ?
        qatomic_read(&fault_count[cond]) : 0;
}

uint64_t vmbus_fault_suppressed(void)
{
    uint64_t n;

    qemu_mutex_lock(&fault_lock);
    n = suppressed_total;
    qemu_mutex_unlock(&fault_lock);
    return n;
}

VMBusFault vmbus_fault_from_core(VmbcFault f)
{
    return (unsigned)f < VMBC_FAULT_COUNT ? (VMBusFault)f :
        VMBUS_FAULT_MSG_MALFORMED;
}

static const char *fault_src_name(Object *src)
{
    if (!src) {
        return "hyperv";
    }
    if (object_dynamic_cast(src, TYPE_DEVICE) && DEVICE(src)->id) {
        return DEVICE(src)->id;
    }
    return object_get_typename(src);
}

void vmbus_guest_fault(Object *src, VMBusFault cond, const char *fmt, ...)
{
    const char *who = fault_src_name(src);
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL);
    uint64_t announce = 0;
    bool log;
    char msg[256];
    va_list ap;

    if ((unsigned)cond >= VMBUS_FAULT__MAX) {
        cond = VMBUS_FAULT_MSG_MALFORMED;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    qatomic_inc(&fault_count[cond]);
    fault_trace[cond](who, msg);

    qemu_mutex_lock(&fault_lock);
    if (!window_open || now < window_start_ms ||
        now - window_start_ms >= 1000) {
        window_open = true;
        announce = suppressed_in_window;
        window_start_ms = now;
        logged_in_window = 0;
        suppressed_in_window = 0;
    }
    log = logged_in_window < VMBUS_FAULT_LOG_BURST;
    if (log) {
        logged_in_window++;
    } else {
        suppressed_in_window++;
        suppressed_total++;
    }
    qemu_mutex_unlock(&fault_lock);

    if (announce) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: %" PRIu64 " more guest faults "
                      "suppressed\n", announce);
    }
    if (log) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus fault %s (%s): %s\n",
                      fault_names[cond], who, msg);
    }
}
