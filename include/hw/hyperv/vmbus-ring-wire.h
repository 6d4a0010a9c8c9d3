/*
 * VMBus ring buffer wire format: header page, packet descriptor, packet bodies
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_HYPERV_VMBUS_RING_WIRE_H
#define HW_HYPERV_VMBUS_RING_WIRE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Everything here is little-endian, as the guest lays it out in memory.
 * The structs describe the layout only; the ring code reads guest memory
 * field by field (copy first, then convert, then check) and never
 * dereferences these types on shared pages.
 *
 * A ring is one header page followed by the data area.  Both ends agree on
 * the layout of the header page; the data area is a byte ring of packets,
 * each one a descriptor, an optional header extension (up to offset8 * 8),
 * the payload (up to len8 * 8) and an 8-byte trailer.
 */

#define VMBR_PAGE_SHIFT             12
#define VMBR_PAGE_SIZE              (1u << VMBR_PAGE_SHIFT)

/* Offsets of the fields in the ring header page. */
#define VMBR_HDR_WRITE_INDEX        0
#define VMBR_HDR_READ_INDEX         4
#define VMBR_HDR_INTERRUPT_MASK     8
#define VMBR_HDR_PENDING_SEND_SZ    12
#define VMBR_HDR_FEATURE_BITS       64

/* feature_bits: the reader of this ring honours pending_send_sz. */
#define VMBR_FEATURE_PENDING_SEND_SZ    (1u << 0)

typedef struct VmbrWireRingHeader {
    uint32_t write_index;       /* byte offset into the data area */
    uint32_t read_index;        /* byte offset into the data area */
    uint32_t interrupt_mask;    /* set by the reader: do not signal me */
    uint32_t pending_send_sz;   /* set by a blocked writer: bytes it needs */
    uint32_t reserved1[12];
    uint32_t feature_bits;      /* VMBR_FEATURE_* */
    uint8_t reserved2[VMBR_PAGE_SIZE - 68];
} VmbrWireRingHeader;

_Static_assert(sizeof(VmbrWireRingHeader) == VMBR_PAGE_SIZE,
               "ring header is one page");
_Static_assert(offsetof(VmbrWireRingHeader, write_index) ==
               VMBR_HDR_WRITE_INDEX, "write_index offset");
_Static_assert(offsetof(VmbrWireRingHeader, read_index) ==
               VMBR_HDR_READ_INDEX, "read_index offset");
_Static_assert(offsetof(VmbrWireRingHeader, interrupt_mask) ==
               VMBR_HDR_INTERRUPT_MASK, "interrupt_mask offset");
_Static_assert(offsetof(VmbrWireRingHeader, pending_send_sz) ==
               VMBR_HDR_PENDING_SEND_SZ, "pending_send_sz offset");
_Static_assert(offsetof(VmbrWireRingHeader, feature_bits) ==
               VMBR_HDR_FEATURE_BITS, "feature_bits offset");
_Static_assert(offsetof(VmbrWireRingHeader, reserved2) == 68,
               "reserved2 offset");

/* Packet types (the descriptor's type field). */
#define VMBR_PKT_INVALID                0x0
#define VMBR_PKT_SYNCH                  0x1
#define VMBR_PKT_ADD_XFER_PAGESET       0x2
#define VMBR_PKT_RM_XFER_PAGESET        0x3
#define VMBR_PKT_ESTABLISH_GPADL        0x4
#define VMBR_PKT_TEARDOWN_GPADL         0x5
#define VMBR_PKT_DATA_INBAND            0x6
#define VMBR_PKT_DATA_XFER_PAGES        0x7
#define VMBR_PKT_DATA_GPADL             0x8
#define VMBR_PKT_DATA_GPA_DIRECT        0x9
#define VMBR_PKT_CANCEL_REQUEST         0xa
#define VMBR_PKT_COMPLETION             0xb
#define VMBR_PKT_DATA_ADDITIONAL_PKT    0xc
#define VMBR_PKT_ADDITIONAL_DATA        0xd

/* Descriptor flags. */
#define VMBR_PKT_FLAG_COMPLETION_REQUESTED  (1u << 0)

/*
 * Packet descriptor.  offset8 and len8 count 8-byte units from the start of
 * the descriptor: the payload starts at offset8 * 8 and the packet (without
 * its trailer) is len8 * 8 bytes long.
 */
typedef struct VmbrWirePacketDesc {
    uint16_t type;
    uint16_t offset8;
    uint16_t len8;
    uint16_t flags;
    uint64_t trans_id;
} VmbrWirePacketDesc;

#define VMBR_DESC_SIZE          16
#define VMBR_DESC_OFF_TYPE      0
#define VMBR_DESC_OFF_OFFSET8   2
#define VMBR_DESC_OFF_LEN8      4
#define VMBR_DESC_OFF_FLAGS     6
#define VMBR_DESC_OFF_TRANS_ID  8

_Static_assert(sizeof(VmbrWirePacketDesc) == VMBR_DESC_SIZE, "desc size");
_Static_assert(offsetof(VmbrWirePacketDesc, type) == VMBR_DESC_OFF_TYPE,
               "desc type");
_Static_assert(offsetof(VmbrWirePacketDesc, offset8) ==
               VMBR_DESC_OFF_OFFSET8, "desc offset8");
_Static_assert(offsetof(VmbrWirePacketDesc, len8) == VMBR_DESC_OFF_LEN8,
               "desc len8");
_Static_assert(offsetof(VmbrWirePacketDesc, flags) == VMBR_DESC_OFF_FLAGS,
               "desc flags");
_Static_assert(offsetof(VmbrWirePacketDesc, trans_id) ==
               VMBR_DESC_OFF_TRANS_ID, "desc trans_id");

/* Packet alignment and the trailer that follows every packet. */
#define VMBR_PKT_ALIGN          8
#define VMBR_TRAILER_SIZE       8
/* Largest packet len8/offset8 can describe. */
#define VMBR_PKT_MAX_LEN        (0xffffu * 8u)

/*
 * The trailer holds the writer's write_index from before the packet in its
 * upper 32 bits.  Readers skip it.
 */
typedef struct VmbrWireTrailer {
    uint64_t prev_indices;
} VmbrWireTrailer;

#define VMBR_TRAILER_INDEX_SHIFT 32

_Static_assert(sizeof(VmbrWireTrailer) == VMBR_TRAILER_SIZE, "trailer");

/*
 * GPA-direct packet (type 9): after the descriptor, a reserved word, the
 * range count and the ranges; each range is {byte_count, byte_offset} and
 * as many PFNs as the range touches pages.  byte_offset is the offset into
 * the first page.
 */
typedef struct VmbrWireGpaRange {
    uint32_t byte_count;
    uint32_t byte_offset;
    uint64_t pfn[];
} VmbrWireGpaRange;

typedef struct VmbrWireGpaDirectHdr {
    VmbrWirePacketDesc desc;
    uint32_t reserved;
    uint32_t rangecount;
    /* VmbrWireGpaRange ranges[rangecount], each of variable size */
} VmbrWireGpaDirectHdr;

#define VMBR_GPA_RANGE_HDR_SIZE     8
#define VMBR_GPA_PFN_SIZE           8
#define VMBR_GPA_DIRECT_HDR_SIZE    24

_Static_assert(sizeof(VmbrWireGpaRange) == VMBR_GPA_RANGE_HDR_SIZE,
               "gpa range header");
_Static_assert(offsetof(VmbrWireGpaRange, byte_count) == 0, "gpa count");
_Static_assert(offsetof(VmbrWireGpaRange, byte_offset) == 4, "gpa offset");
_Static_assert(offsetof(VmbrWireGpaRange, pfn) == 8, "gpa pfn");
_Static_assert(sizeof(VmbrWireGpaDirectHdr) == VMBR_GPA_DIRECT_HDR_SIZE,
               "gpa direct header");
_Static_assert(offsetof(VmbrWireGpaDirectHdr, reserved) == 16,
               "gpa direct reserved");
_Static_assert(offsetof(VmbrWireGpaDirectHdr, rangecount) == 20,
               "gpa direct rangecount");

/*
 * Transfer-page packet (type 7): ranges into a transfer page set that the
 * two ends established earlier.
 */
typedef struct VmbrWireXferRange {
    uint32_t byte_count;
    uint32_t byte_offset;
} VmbrWireXferRange;

typedef struct VmbrWireXferPagesHdr {
    VmbrWirePacketDesc desc;
    uint16_t xfer_pageset_id;
    uint8_t sender_owns_set;
    uint8_t reserved;
    uint32_t range_cnt;
    /* VmbrWireXferRange ranges[range_cnt] */
} VmbrWireXferPagesHdr;

#define VMBR_XFER_RANGE_SIZE        8
#define VMBR_XFER_PAGES_HDR_SIZE    24

_Static_assert(sizeof(VmbrWireXferRange) == VMBR_XFER_RANGE_SIZE,
               "xfer range");
_Static_assert(offsetof(VmbrWireXferRange, byte_offset) == 4,
               "xfer range offset");
_Static_assert(sizeof(VmbrWireXferPagesHdr) == VMBR_XFER_PAGES_HDR_SIZE,
               "xfer pages header");
_Static_assert(offsetof(VmbrWireXferPagesHdr, xfer_pageset_id) == 16,
               "xfer pageset id");
_Static_assert(offsetof(VmbrWireXferPagesHdr, sender_owns_set) == 18,
               "xfer sender_owns_set");
_Static_assert(offsetof(VmbrWireXferPagesHdr, reserved) == 19,
               "xfer reserved");
_Static_assert(offsetof(VmbrWireXferPagesHdr, range_cnt) == 20,
               "xfer range_cnt");

#endif /* HW_HYPERV_VMBUS_RING_WIRE_H */
