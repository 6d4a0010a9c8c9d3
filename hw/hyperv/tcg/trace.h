/*
 * Trace events of hw/hyperv/tcg/ (prefix hvtcg_, see trace-events).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "trace/trace-hw_hyperv_tcg.h"
