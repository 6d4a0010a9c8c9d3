/*
 * Trace events of the VMBus devices in this folder (trace-events)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "trace/trace-hw_hyperv_vmbus_devices.h"
