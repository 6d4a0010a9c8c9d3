/*
 * Trace events of the hv-sock device (trace-events)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "trace/trace-hw_hyperv_vmbus_devices_hv_sock.h"
