/*
 * Host-side VMBus ring buffers: read the guest's outbound ring, write its inbound ring
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_HYPERV_VMBUS_RING_H
#define HW_HYPERV_VMBUS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hw/hyperv/vmbus-ring-wire.h"

/*
 * Model
 * -----
 * A channel's ring GPADL is [guest outbound ring][guest inbound ring]; each
 * ring is a header page plus data pages.  The host READS the outbound ring
 * (guest -> host) and WRITES the inbound ring (host -> guest).  The pages
 * are given as an array of host pointers to 4 KiB pages, which need not be
 * contiguous, nor in order; packets that cross a page boundary or the end of
 * the data area are copied piecewise.  The page array and the pages must
 * stay valid for as long as the ring is used; the ring never allocates.
 *
 * Everything in the pages belongs to a hostile guest and may change at any
 * time, even during a call.  Every index is read once per operation and
 * checked before use; descriptors are copied out and checked before the
 * packet is touched.  Results are of three kinds:
 *  - flow control: VMBR_EMPTY (nothing to read), VMBR_FULL (no room yet);
 *  - caller errors: VMBR_INVALID (bad arguments, call out of sequence),
 *    VMBR_MALFORMED (a parsed packet body is bad; the ring itself is fine);
 *  - corruption: VMBR_CORRUPT.  The guest broke the ring protocol; the ring
 *    is latched broken and every later call returns VMBR_CORRUPT until it is
 *    initialised again.  vmbr_error() says what was wrong.
 *
 * Calls on one ring must not run concurrently; the two rings of a channel
 * are independent.
 */

typedef enum VmbRingStatus {
    VMBR_OK = 0,
    VMBR_EMPTY,         /* reader: no packet available */
    VMBR_FULL,          /* writer: not enough free space now */
    VMBR_INVALID,       /* bad arguments or call out of sequence */
    VMBR_MALFORMED,     /* packet body failed parsing (ring unaffected) */
    VMBR_CORRUPT,       /* ring corrupt, latched until re-init */
} VmbRingStatus;

/* Why a ring was latched broken. */
typedef enum VmbRingError {
    VMBR_ERR_NONE = 0,
    VMBR_ERR_WRITE_INDEX,       /* write_index out of range or unaligned */
    VMBR_ERR_READ_INDEX,        /* read_index out of range or unaligned */
    VMBR_ERR_INDEX_MOVED,       /* an index moved backwards / inconsistently */
    VMBR_ERR_SHORT,             /* fewer bytes than a descriptor + trailer */
    VMBR_ERR_DESC_OFFSET,       /* offset8 * 8 < descriptor size */
    VMBR_ERR_DESC_LEN,          /* len8 < offset8 */
    VMBR_ERR_DESC_OVERRUN,      /* packet + trailer beyond the written data */
    VMBR_ERR_SAVED_STATE,       /* restored state does not match the ring */
    VMBR_ERR__COUNT,
} VmbRingError;

typedef enum VmbRingRole {
    VMBR_ROLE_NONE = 0,
    VMBR_ROLE_READER,   /* host reads: the guest's outbound ring */
    VMBR_ROLE_WRITER,   /* host writes: the guest's inbound ring */
} VmbRingRole;

/* Per-ring counters, for introspection. */
typedef struct VmbRingStats {
    uint64_t packets;       /* packets consumed (reader) or written (writer) */
    uint64_t bytes;         /* ring bytes of those packets, incl. trailers */
    uint64_t signals;       /* calls that told the caller to signal */
    uint64_t full_events;   /* writes refused with VMBR_FULL */
    uint64_t corrupt_events;/* times the ring was latched broken */
} VmbRingStats;

/* Largest ring data area accepted (keeps all index arithmetic in 32 bits). */
#define VMBR_MAX_DATA_SIZE  (1u << 30)

/*
 * One ring, host side.  Embed it; treat all fields except 'stats' as
 * private.
 */
typedef struct VmbRing {
    VmbRingRole role;
    VmbRingError error;         /* != NONE: latched broken */
    uint8_t *hdr;               /* header page */
    uint8_t *const *data;       /* data pages */
    uint32_t size;              /* data area bytes */
    /* reader */
    uint32_t priv_read;         /* next packet to read */
    uint32_t pub_read;          /* read_index last published to the guest */
    bool have_peek;             /* a packet was peeked and not consumed */
    uint32_t peek_len;          /* its len8 * 8 */
    uint8_t peek_desc[VMBR_DESC_SIZE];  /* its validated descriptor */
    /* writer */
    uint32_t priv_write;        /* == write_index we published */
    uint32_t last_read;         /* guest read_index last seen */
    bool pending_set;           /* we set pending_send_sz */
    VmbRingStats stats;
} VmbRing;

/* The two rings of an open channel. */
typedef struct VmbRingPair {
    VmbRing out;    /* guest outbound ring: the host reads it */
    VmbRing in;     /* guest inbound ring: the host writes it */
} VmbRingPair;

/* A peeked packet's validated descriptor. */
typedef struct VmbRingPacket {
    uint16_t type;          /* VMBR_PKT_* */
    uint16_t flags;         /* VMBR_PKT_FLAG_* */
    uint64_t trans_id;
    uint32_t data_offset;   /* offset8 * 8: payload offset in the packet */
    uint32_t len;           /* len8 * 8: packet length, descriptor included */
} VmbRingPacket;

/* ---- set-up ----------------------------------------------------------- */

/*
 * Point @pages[0..npages-1] at consecutive 4 KiB pages of @buf, in the
 * order given by @perm (pages[i] = buf + perm[i] * 4096), or in order when
 * @perm is NULL.  For tests and benchmarks: a permutation proves that no
 * code relies on the pages being contiguous.
 */
void vmbr_pages_from_buffer(uint8_t *buf, uint32_t npages,
                            const uint32_t *perm, uint8_t **pages);

/*
 * Set up @r as the host reader (guest outbound ring) or writer (guest
 * inbound ring) of the ring in @pages[0..npages-1]: header page, then data
 * pages.  Returns VMBR_INVALID when npages < 2 or the data area exceeds
 * VMBR_MAX_DATA_SIZE (r is left unusable), VMBR_CORRUPT when the indices in
 * the header are out of range or unaligned (r is latched broken).
 */
VmbRingStatus vmbr_init(VmbRing *r, VmbRingRole role, uint8_t *const *pages,
                        uint32_t npages);

/*
 * Set up both rings of a channel from its ring GPADL: @split is
 * OPENCHANNEL's downstream_ringbuffer_pageoffset, the number of pages of the
 * outbound ring including its header.  Each ring needs at least 2 pages.
 * Returns VMBR_INVALID for a bad split/size (refuse the open), VMBR_CORRUPT
 * when a header holds bad indices, VMBR_OK otherwise.
 */
VmbRingStatus vmbr_pair_init(VmbRingPair *p, uint8_t *const *pages,
                             uint32_t npages, uint32_t split);

/* Data area size in bytes. */
uint32_t vmbr_data_size(const VmbRing *r);

/* Latched error (VMBR_ERR_NONE when the ring is healthy). */
VmbRingError vmbr_error(const VmbRing *r);
static inline bool vmbr_is_broken(const VmbRing *r)
{
    return r->error != VMBR_ERR_NONE;
}
const char *vmbr_error_str(VmbRingError e);
const char *vmbr_status_str(VmbRingStatus s);

/* The ring's feature_bits as the guest set them. */
uint32_t vmbr_feature_bits(const VmbRing *r);

/* ---- host reader: the guest's outbound ring --------------------------- */

/*
 * Look at the next packet without consuming it.  The descriptor is copied
 * out and validated first; then min(pkt->len, buf_len) bytes of the packet
 * (descriptor included) are copied to @buf (which may be NULL when
 * @buf_len is 0).  The copy's first 16 bytes always hold the validated
 * descriptor, even if the guest rewrote it meanwhile.  *copied (may be NULL)
 * gets the number of bytes copied.  Peeking again re-reads the same packet.
 * Returns VMBR_OK, VMBR_EMPTY or VMBR_CORRUPT.
 */
VmbRingStatus vmbr_reader_peek(VmbRing *r, VmbRingPacket *pkt,
                               void *buf, size_t buf_len, size_t *copied);

/*
 * Copy bytes [@offset, @offset + @len) of the peeked packet to @buf.
 * VMBR_INVALID if nothing is peeked or the range exceeds the packet.
 */
VmbRingStatus vmbr_reader_copy(VmbRing *r, uint32_t offset, void *buf,
                               size_t len);

/*
 * Consume the peeked packet: advance the private read index past it and
 * its trailer.  The guest sees the space freed only at vmbr_reader_commit().
 */
VmbRingStatus vmbr_reader_next(VmbRing *r);

/*
 * Publish the private read index to the guest.  *signal (may be NULL) is
 * set when the guest must be signalled: it advertises pending_send_sz, has
 * set it, and the free space went from <= pending_send_sz to > it.
 * Returns VMBR_OK or VMBR_CORRUPT (the read index is still published).
 */
VmbRingStatus vmbr_reader_commit(VmbRing *r, bool *signal);

/* Bytes the guest has written that the host has not consumed yet. */
VmbRingStatus vmbr_reader_avail(VmbRing *r, uint32_t *avail);

/*
 * interrupt_mask: set it while polling so the guest does not signal.  To
 * stop polling call vmbr_reader_unmask(), which clears the mask, then
 * (after a full barrier) checks for data: if *pending is true a packet
 * arrived while masked and the caller must keep reading, since the guest
 * may not signal for it.
 */
void vmbr_reader_mask(VmbRing *r);
VmbRingStatus vmbr_reader_unmask(VmbRing *r, bool *pending);

/* ---- host writer: the guest's inbound ring ---------------------------- */

/*
 * Bytes of ring a packet takes: descriptor, @ext_len header-extension bytes,
 * @payload_len payload bytes, padding to 8, and the trailer.  Returns 0 if
 * such a packet cannot be described (len8 or offset8 overflow).
 */
uint32_t vmbr_packet_ring_size(size_t ext_len, size_t payload_len);

/*
 * Largest vmbr_packet_ring_size() that fits now (0 if none).  The ring is
 * never filled completely: equal indices mean empty.
 */
VmbRingStatus vmbr_writer_space(VmbRing *r, uint32_t *space);

/*
 * Whether a packet of @ext_len + @payload_len bytes would fit now (*room).
 * VMBR_INVALID if no such packet can be described at all.
 */
VmbRingStatus vmbr_writer_has_room(VmbRing *r, size_t ext_len,
                                   size_t payload_len, bool *room);

/*
 * Write one packet: a descriptor of @type, @flags and @trans_id, followed by
 * the bytes of @iov[0..iov_cnt-1].  The first @ext_len bytes of those are
 * the header extension (GPA ranges, transfer-page header) and go before
 * offset8; @ext_len must be a multiple of 8.  The packet is padded to 8
 * bytes with zeroes and followed by the trailer.
 *
 * *signal (may be NULL) is set when the guest must be signalled: the ring
 * was empty before this packet and the guest's interrupt_mask is clear.
 *
 * VMBR_FULL: no room; nothing was written.  If the guest honours
 * pending_send_sz, it is set to the space needed so that the guest
 * signals once it frees enough; the next successful write clears it
 * again.  VMBR_INVALID: the packet could never fit (too long for len8 or
 * for the ring), or bad arguments.
 */
VmbRingStatus vmbr_writer_write(VmbRing *r, uint16_t type, uint16_t flags,
                                uint64_t trans_id, const struct iovec *iov,
                                unsigned iov_cnt, size_t ext_len,
                                bool *signal);

/*
 * A packet of @need ring bytes (vmbr_packet_ring_size()) does not fit:
 * ask the guest, if it honours pending_send_sz, to signal once it does.
 * Returns true if it fits after all (the guest freed space meanwhile).
 * The next successful write clears the request.
 */
bool vmbr_writer_request_space(VmbRing *r, uint32_t need);

/* Clear pending_send_sz if this host had set it. */
void vmbr_writer_clear_pending(VmbRing *r);

/* ---- packet bodies (parsed from the host's copy of a packet) ----------- */

/*
 * These take the bytes vmbr_reader_peek() copied (@pkt, @pkt_len bytes,
 * descriptor included) and check everything against that copy; nothing
 * reads guest memory.  They return VMBR_OK or VMBR_MALFORMED.
 */

/* One GPA range, pointing into the packet copy. */
typedef struct VmbRingGpaRange {
    uint32_t byte_count;
    uint32_t byte_offset;       /* into the first page, < 4096 */
    uint32_t pfn_count;         /* pages spanned: ceil((off + count) / 4K) */
    const uint8_t *pfns;        /* pfn_count little-endian u64 */
} VmbRingGpaRange;

typedef struct VmbRingGpaDirect {
    uint32_t range_count;
    uint32_t pfn_total;
    uint64_t byte_total;
    /* private: iteration */
    const uint8_t *next;
    const uint8_t *end;
    uint32_t index;
} VmbRingGpaDirect;

/*
 * Validate a GPA-direct packet: rangecount ranges lie between the fixed
 * header and offset8 * 8, each with byte_count > 0, byte_offset < 4096 and
 * exactly the number of PFNs its pages need.
 */
VmbRingStatus vmbr_parse_gpa_direct(const void *pkt, size_t pkt_len,
                                    VmbRingGpaDirect *gd);
/* Next range of a validated packet; false after the last one. */
bool vmbr_gpa_direct_next(VmbRingGpaDirect *gd, VmbRingGpaRange *range);
/* PFN @i (< range->pfn_count) of a range. */
uint64_t vmbr_gpa_range_pfn(const VmbRingGpaRange *range, uint32_t i);

typedef struct VmbRingXferPages {
    uint16_t pageset_id;
    uint8_t sender_owns_set;
    uint32_t range_count;
    const uint8_t *ranges;      /* range_count * 8 bytes in the copy */
} VmbRingXferPages;

/*
 * Validate a transfer-page packet: range_cnt ranges lie between the fixed
 * header and offset8 * 8, and no range's offset + count overflows 32 bits.
 */
VmbRingStatus vmbr_parse_xfer_pages(const void *pkt, size_t pkt_len,
                                    VmbRingXferPages *xp);
/* Range @i (< xp->range_count). */
void vmbr_xfer_range(const VmbRingXferPages *xp, uint32_t i,
                     uint32_t *byte_count, uint32_t *byte_offset);

/* ---- save/restore ----------------------------------------------------- */

/*
 * The host-private state of one ring.  Save it with vmbr_save(); on load,
 * initialise the ring on the restored pages with vmbr_init() and then call
 * vmbr_load(), which checks the state (it comes from an untrusted stream)
 * against itself and against the ring.  A peeked but unconsumed packet is
 * not part of the state: peek again after loading.
 */
typedef struct VmbRingSaved {
    uint32_t role;          /* VmbRingRole */
    uint32_t priv_index;    /* reader: private read index; writer: write */
    uint32_t pub_index;     /* reader: published read index; writer: same */
    uint32_t flags;         /* VMBR_SAVED_* */
    uint32_t error;         /* VmbRingError latched at save time */
} VmbRingSaved;

#define VMBR_SAVED_PENDING_SET  (1u << 0)

void vmbr_save(const VmbRing *r, VmbRingSaved *s);

/*
 * VMBR_INVALID: the saved state is inconsistent in itself or belongs to the
 * other role (the ring is unchanged).  VMBR_CORRUPT: it does not match the
 * ring's header (the ring is latched broken).
 */
VmbRingStatus vmbr_load(VmbRing *r, const VmbRingSaved *s);

#endif /* HW_HYPERV_VMBUS_RING_H */
