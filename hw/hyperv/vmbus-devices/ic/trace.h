/*
 * Trace events of the integration services (trace-events in this folder)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "trace/trace-hw_hyperv_vmbus_devices_ic.h"
