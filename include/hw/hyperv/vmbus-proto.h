/*
 * VMBus wire format, under the names QEMU's own VMBus devices use
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * This header takes the place of QEMU's own vmbus-proto.h, so that QEMU's
 * VMBus devices (hv-balloon) build unchanged on our bus.  The wire format
 * itself lives in vmbus-wire.h (channel messages) and vmbus-ring-wire.h
 * (ring buffers); this file only maps the names those devices use.
 */

#ifndef HW_HYPERV_VMBUS_PROTO_H
#define HW_HYPERV_VMBUS_PROTO_H

#include "hw/hyperv/vmbus-wire.h"
#include "hw/hyperv/vmbus-ring-wire.h"

#define VMBUS_SINT                              2

#define VMBUS_PACKET_INVALID                    VMBR_PKT_INVALID
#define VMBUS_PACKET_SYNCH                      VMBR_PKT_SYNCH
#define VMBUS_PACKET_ADD_XFER_PAGESET           VMBR_PKT_ADD_XFER_PAGESET
#define VMBUS_PACKET_RM_XFER_PAGESET            VMBR_PKT_RM_XFER_PAGESET
#define VMBUS_PACKET_ESTABLISH_GPADL            VMBR_PKT_ESTABLISH_GPADL
#define VMBUS_PACKET_TEARDOWN_GPADL             VMBR_PKT_TEARDOWN_GPADL
#define VMBUS_PACKET_DATA_INBAND                VMBR_PKT_DATA_INBAND
#define VMBUS_PACKET_DATA_USING_XFER_PAGES      VMBR_PKT_DATA_XFER_PAGES
#define VMBUS_PACKET_DATA_USING_GPADL           VMBR_PKT_DATA_GPADL
#define VMBUS_PACKET_DATA_USING_GPA_DIRECT      VMBR_PKT_DATA_GPA_DIRECT
#define VMBUS_PACKET_CANCEL_REQUEST             VMBR_PKT_CANCEL_REQUEST
#define VMBUS_PACKET_COMP                       VMBR_PKT_COMPLETION
#define VMBUS_PACKET_DATA_USING_ADDITIONAL_PKT  VMBR_PKT_DATA_ADDITIONAL_PKT
#define VMBUS_PACKET_ADDITIONAL_DATA            VMBR_PKT_ADDITIONAL_DATA

#define VMBUS_PACKET_FLAG_REQUEST_COMPLETION    VMBR_PKT_FLAG_COMPLETION_REQUESTED

#define VMBUS_CHANNEL_USER_DATA_SIZE            VMBW_USER_DEF_SIZE
#define VMBUS_CHANNEL_TLNPI_PROVIDER_OFFER      VMBW_OFFER_FLAG_TLNPI_PROVIDER
#define VMBUS_CHANNEL_NAMED_PIPE_MODE           VMBW_OFFER_FLAG_NAMED_PIPE_MODE

#endif
