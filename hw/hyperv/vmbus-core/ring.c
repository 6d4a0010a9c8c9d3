/*
 * Host-side VMBus ring buffers: packet read/write over non-contiguous guest pages
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Implements the VMBus ring protocol as Linux guests (drivers/hv/
 * ring_buffer.c) and Hyper-V use it, from the host side.  See
 * vmbus-ring.h for the model.  The guest is hostile: each shared index is
 * loaded once per operation into a local and checked before use, and
 * descriptors are copied out before they are checked.  Corruption latches
 * the ring broken (vmbr_error()); nothing here asserts on guest data, and
 * every loop is bounded by the data area or by the caller's arguments.
 */

#include <string.h>

#include <glib.h>

#include "hw/hyperv/vmbus-ring.h"

/* ---- shared-memory access --------------------------------------------- */

/* A full barrier, and the two one-way ones. */
#define vmbr_mb()   __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vmbr_rmb()  __atomic_thread_fence(__ATOMIC_ACQUIRE)

static inline uint32_t *hdr_field(const VmbRing *r, unsigned off)
{
    /* The header is a page: every 32-bit field is naturally aligned. */
    return (uint32_t *)(void *)(r->hdr + off);
}

/* Load a header field exactly once. */
static inline uint32_t hdr_load(const VmbRing *r, unsigned off)
{
    return GUINT32_FROM_LE(__atomic_load_n(hdr_field(r, off),
                                           __ATOMIC_RELAXED));
}

/* Load once; later memory accesses stay after it. */
static inline uint32_t hdr_load_acquire(const VmbRing *r, unsigned off)
{
    return GUINT32_FROM_LE(__atomic_load_n(hdr_field(r, off),
                                           __ATOMIC_ACQUIRE));
}

static inline void hdr_store(const VmbRing *r, unsigned off, uint32_t v)
{
    __atomic_store_n(hdr_field(r, off), GUINT32_TO_LE(v), __ATOMIC_RELAXED);
}

/* Store; earlier memory accesses stay before it. */
static inline void hdr_store_release(const VmbRing *r, unsigned off,
                                     uint32_t v)
{
    __atomic_store_n(hdr_field(r, off), GUINT32_TO_LE(v), __ATOMIC_RELEASE);
}

static inline uint16_t ld16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT16_FROM_LE(v);
}

static inline uint32_t ld32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_LE(v);
}

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_LE(v);
}

static inline void st16(uint8_t *p, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static inline void st64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

/* ---- data area ---------------------------------------------------------- */

static inline bool index_ok(const VmbRing *r, uint32_t idx)
{
    return idx < r->size && !(idx & (VMBR_PKT_ALIGN - 1));
}

/* Bytes from @from forward to @to, both valid indices. */
static inline uint32_t ring_dist(const VmbRing *r, uint32_t from, uint32_t to)
{
    return to >= from ? to - from : r->size - from + to;
}

/* @pos advanced by @n <= size bytes, wrapping. */
static inline uint32_t ring_add(const VmbRing *r, uint32_t pos, uint32_t n)
{
    uint32_t next = pos + n;    /* < 2^31: both are <= VMBR_MAX_DATA_SIZE */

    return next >= r->size ? next - r->size : next;
}

/*
 * Copy @len <= size bytes out of the data area starting at @pos, one
 * page-contiguous chunk at a time.  The data area is a whole number of
 * pages, so a chunk never runs past its end.
 */
static void ring_copy_from(const VmbRing *r, uint32_t pos, void *dst,
                           uint32_t len)
{
    uint8_t *d = dst;

    while (len) {
        uint32_t off = pos & (VMBR_PAGE_SIZE - 1);
        uint32_t chunk = MIN(len, VMBR_PAGE_SIZE - off);

        memcpy(d, r->data[pos >> VMBR_PAGE_SHIFT] + off, chunk);
        d += chunk;
        len -= chunk;
        pos += chunk;
        if (pos == r->size) {
            pos = 0;
        }
    }
}

/* Copy @len <= size bytes into the data area at @pos; returns the end. */
static uint32_t ring_copy_to(const VmbRing *r, uint32_t pos, const void *src,
                             size_t len)
{
    const uint8_t *s = src;

    while (len) {
        uint32_t off = pos & (VMBR_PAGE_SIZE - 1);
        uint32_t chunk = MIN(len, (size_t)(VMBR_PAGE_SIZE - off));

        memcpy(r->data[pos >> VMBR_PAGE_SHIFT] + off, s, chunk);
        s += chunk;
        len -= chunk;
        pos += chunk;
        if (pos == r->size) {
            pos = 0;
        }
    }
    return pos;
}

/* Latch the ring broken. */
static VmbRingStatus ring_fail(VmbRing *r, VmbRingError err)
{
    if (r->error == VMBR_ERR_NONE) {
        r->error = err;
        r->stats.corrupt_events++;
    }
    r->have_peek = false;
    return VMBR_CORRUPT;
}

/* Common entry check: right role and not broken. */
static inline VmbRingStatus ring_enter(const VmbRing *r, VmbRingRole role)
{
    if (!r || r->role != role) {
        return VMBR_INVALID;
    }
    return r->error != VMBR_ERR_NONE ? VMBR_CORRUPT : VMBR_OK;
}

/* ---- set-up ------------------------------------------------------------- */

void vmbr_pages_from_buffer(uint8_t *buf, uint32_t npages,
                            const uint32_t *perm, uint8_t **pages)
{
    for (uint32_t i = 0; i < npages; i++) {
        pages[i] = buf + (size_t)(perm ? perm[i] : i) * VMBR_PAGE_SIZE;
    }
}

VmbRingStatus vmbr_init(VmbRing *r, VmbRingRole role, uint8_t *const *pages,
                        uint32_t npages)
{
    uint32_t w, rd;

    if (!r) {
        return VMBR_INVALID;
    }
    memset(r, 0, sizeof(*r));
    if (!pages || npages < 2 ||
        (role != VMBR_ROLE_READER && role != VMBR_ROLE_WRITER) ||
        (uint64_t)(npages - 1) * VMBR_PAGE_SIZE > VMBR_MAX_DATA_SIZE) {
        return VMBR_INVALID;
    }
    for (uint32_t i = 0; i < npages; i++) {
        if (!pages[i]) {
            return VMBR_INVALID;
        }
    }
    r->hdr = pages[0];
    r->data = pages + 1;
    r->size = (npages - 1) * VMBR_PAGE_SIZE;
    r->role = role;

    w = hdr_load(r, VMBR_HDR_WRITE_INDEX);
    rd = hdr_load(r, VMBR_HDR_READ_INDEX);
    if (!index_ok(r, w)) {
        return ring_fail(r, VMBR_ERR_WRITE_INDEX);
    }
    if (!index_ok(r, rd)) {
        return ring_fail(r, VMBR_ERR_READ_INDEX);
    }
    r->priv_read = r->pub_read = rd;
    r->priv_write = w;
    r->last_read = rd;
    return VMBR_OK;
}

VmbRingStatus vmbr_pair_init(VmbRingPair *p, uint8_t *const *pages,
                             uint32_t npages, uint32_t split)
{
    VmbRingStatus so, si;

    if (!p) {
        return VMBR_INVALID;
    }
    memset(p, 0, sizeof(*p));
    if (!pages || split < 2 || split > npages || npages - split < 2) {
        return VMBR_INVALID;
    }
    so = vmbr_init(&p->out, VMBR_ROLE_READER, pages, split);
    si = vmbr_init(&p->in, VMBR_ROLE_WRITER, pages + split, npages - split);
    if (so == VMBR_INVALID || si == VMBR_INVALID) {
        return VMBR_INVALID;
    }
    return so != VMBR_OK ? so : si;
}

uint32_t vmbr_data_size(const VmbRing *r)
{
    return r->size;
}

VmbRingError vmbr_error(const VmbRing *r)
{
    return r->error;
}

const char *vmbr_error_str(VmbRingError e)
{
    static const char *const names[VMBR_ERR__COUNT] = {
        [VMBR_ERR_NONE] = "none",
        [VMBR_ERR_WRITE_INDEX] = "write_index out of range or unaligned",
        [VMBR_ERR_READ_INDEX] = "read_index out of range or unaligned",
        [VMBR_ERR_INDEX_MOVED] = "ring index moved backwards",
        [VMBR_ERR_SHORT] = "available data shorter than a packet",
        [VMBR_ERR_DESC_OFFSET] = "descriptor offset8 below descriptor size",
        [VMBR_ERR_DESC_LEN] = "descriptor len8 below offset8",
        [VMBR_ERR_DESC_OVERRUN] = "packet extends beyond available data",
        [VMBR_ERR_SAVED_STATE] = "saved state does not match the ring",
    };

    return (unsigned)e < VMBR_ERR__COUNT ? names[e] : "unknown";
}

const char *vmbr_status_str(VmbRingStatus s)
{
    switch (s) {
    case VMBR_OK:
        return "ok";
    case VMBR_EMPTY:
        return "empty";
    case VMBR_FULL:
        return "full";
    case VMBR_INVALID:
        return "invalid";
    case VMBR_MALFORMED:
        return "malformed";
    case VMBR_CORRUPT:
        return "corrupt";
    }
    return "unknown";
}

uint32_t vmbr_feature_bits(const VmbRing *r)
{
    return r->hdr ? hdr_load(r, VMBR_HDR_FEATURE_BITS) : 0;
}

/* ---- host reader -------------------------------------------------------- */

/*
 * Load and check the guest's write_index: it must be a valid index, and
 * the data it marks as written, counted from the read_index we last
 * published, must still cover everything we consumed since.  *avail gets
 * the bytes not consumed yet.
 */
static VmbRingStatus reader_load_avail(VmbRing *r, uint32_t *avail)
{
    uint32_t w = hdr_load_acquire(r, VMBR_HDR_WRITE_INDEX);
    uint32_t written, consumed;

    if (!index_ok(r, w)) {
        return ring_fail(r, VMBR_ERR_WRITE_INDEX);
    }
    written = ring_dist(r, r->pub_read, w);
    consumed = ring_dist(r, r->pub_read, r->priv_read);
    if (written < consumed) {
        return ring_fail(r, VMBR_ERR_INDEX_MOVED);
    }
    *avail = written - consumed;
    return VMBR_OK;
}

VmbRingStatus vmbr_reader_peek(VmbRing *r, VmbRingPacket *pkt,
                               void *buf, size_t buf_len, size_t *copied)
{
    uint8_t desc[VMBR_DESC_SIZE];
    uint32_t avail, off, len, n;
    VmbRingStatus st;

    if (copied) {
        *copied = 0;
    }
    st = ring_enter(r, VMBR_ROLE_READER);
    if (st != VMBR_OK) {
        return st;
    }
    if (!pkt || (!buf && buf_len)) {
        return VMBR_INVALID;
    }
    r->have_peek = false;

    st = reader_load_avail(r, &avail);
    if (st != VMBR_OK) {
        return st;
    }
    if (avail == 0) {
        return VMBR_EMPTY;
    }
    if (avail < VMBR_DESC_SIZE + VMBR_TRAILER_SIZE) {
        return ring_fail(r, VMBR_ERR_SHORT);
    }

    /* Copy the descriptor out, then judge the copy only. */
    ring_copy_from(r, r->priv_read, desc, sizeof(desc));
    off = (uint32_t)ld16(desc + VMBR_DESC_OFF_OFFSET8) * 8;
    len = (uint32_t)ld16(desc + VMBR_DESC_OFF_LEN8) * 8;
    if (off < VMBR_DESC_SIZE) {
        return ring_fail(r, VMBR_ERR_DESC_OFFSET);
    }
    if (len < off) {
        return ring_fail(r, VMBR_ERR_DESC_LEN);
    }
    /* avail < size, so this also bounds the packet by the data area. */
    if (len + VMBR_TRAILER_SIZE > avail) {
        return ring_fail(r, VMBR_ERR_DESC_OVERRUN);
    }

    pkt->type = ld16(desc + VMBR_DESC_OFF_TYPE);
    pkt->flags = ld16(desc + VMBR_DESC_OFF_FLAGS);
    pkt->trans_id = ld64(desc + VMBR_DESC_OFF_TRANS_ID);
    pkt->data_offset = off;
    pkt->len = len;
    memcpy(r->peek_desc, desc, sizeof(desc));
    r->peek_len = len;
    r->have_peek = true;

    n = (uint32_t)MIN((size_t)len, buf_len);
    if (n > VMBR_DESC_SIZE) {
        ring_copy_from(r, ring_add(r, r->priv_read, VMBR_DESC_SIZE),
                       (uint8_t *)buf + VMBR_DESC_SIZE, n - VMBR_DESC_SIZE);
    }
    if (n) {
        /* The checked descriptor, not whatever the guest holds now. */
        memcpy(buf, desc, MIN(n, (uint32_t)VMBR_DESC_SIZE));
    }
    if (copied) {
        *copied = n;
    }
    return VMBR_OK;
}

VmbRingStatus vmbr_reader_copy(VmbRing *r, uint32_t offset, void *buf,
                               size_t len)
{
    VmbRingStatus st = ring_enter(r, VMBR_ROLE_READER);
    uint8_t *d = buf;

    if (st != VMBR_OK) {
        return st;
    }
    if (!r->have_peek || offset > r->peek_len ||
        len > r->peek_len - offset || (!buf && len)) {
        return VMBR_INVALID;
    }
    if (offset < VMBR_DESC_SIZE && len) {
        size_t n = MIN(len, (size_t)(VMBR_DESC_SIZE - offset));

        memcpy(d, r->peek_desc + offset, n);
        d += n;
        len -= n;
        offset += n;
    }
    if (len) {
        ring_copy_from(r, ring_add(r, r->priv_read, offset), d, len);
    }
    return VMBR_OK;
}

VmbRingStatus vmbr_reader_next(VmbRing *r)
{
    VmbRingStatus st = ring_enter(r, VMBR_ROLE_READER);

    if (st != VMBR_OK) {
        return st;
    }
    if (!r->have_peek) {
        return VMBR_INVALID;
    }
    r->priv_read = ring_add(r, r->priv_read,
                            r->peek_len + VMBR_TRAILER_SIZE);
    r->have_peek = false;
    r->stats.packets++;
    r->stats.bytes += r->peek_len + VMBR_TRAILER_SIZE;
    return VMBR_OK;
}

VmbRingStatus vmbr_reader_commit(VmbRing *r, bool *signal)
{
    VmbRingStatus st = ring_enter(r, VMBR_ROLE_READER);
    uint32_t consumed, pending, w, free_after, free_before;

    if (signal) {
        *signal = false;
    }
    if (st != VMBR_OK) {
        return st;
    }
    consumed = ring_dist(r, r->pub_read, r->priv_read);
    if (consumed == 0) {
        return VMBR_OK;
    }

    /*
     * The order here is what makes the decision to signal race-free
     * against a guest writer that blocks on pending_send_sz:
     *
     * 1. Publish read_index with release semantics: every copy out of the
     *    consumed packets is finished before the guest may reuse the space.
     *
     * 2. Only a guest that sets the feature bit waits for a signal; older
     *    ones poll, so there is nothing more to do for them.
     *
     * 3. Full barrier, then load pending_send_sz.  The guest stores
     *    pending_send_sz and then loads read_index.  Without the barrier
     *    our load could pass our read_index store: the guest would see the
     *    old read_index and go to sleep, we would see pending_send_sz == 0,
     *    and nobody would wake it.
     *
     * 4. Load write_index after pending_send_sz (read barrier), so that the
     *    free space we compute is at least as new as the request.
     *
     * 5. Signal only on the transition from "not enough" (free <=
     *    pending_send_sz; a ring filled exactly counts as not enough) to
     *    "enough".  If there was enough before this commit, the guest was
     *    not waiting on us; if there still is not enough, waking it is
     *    pointless.
     */
    hdr_store_release(r, VMBR_HDR_READ_INDEX, r->priv_read);   /* 1 */
    r->pub_read = r->priv_read;

    if (!(hdr_load(r, VMBR_HDR_FEATURE_BITS) &                 /* 2 */
          VMBR_FEATURE_PENDING_SEND_SZ)) {
        return VMBR_OK;
    }

    vmbr_mb();                                                 /* 3 */
    pending = hdr_load(r, VMBR_HDR_PENDING_SEND_SZ);
    if (pending == 0) {
        return VMBR_OK;
    }

    vmbr_rmb();                                                /* 4 */
    w = hdr_load(r, VMBR_HDR_WRITE_INDEX);
    if (!index_ok(r, w)) {
        return ring_fail(r, VMBR_ERR_WRITE_INDEX);
    }
    /*
     * No ordering check on w here: since step 1 the guest may already
     * have written into the space just freed, so any valid index is
     * possible.  If it has used more than we freed, it was not waiting.
     */
    free_after = r->size - ring_dist(r, r->priv_read, w);     /* 5 */
    if (free_after < consumed) {
        return VMBR_OK;
    }
    free_before = free_after - consumed;
    if (free_before <= pending && free_after > pending) {
        r->stats.signals++;
        if (signal) {
            *signal = true;
        }
    }
    return VMBR_OK;
}

VmbRingStatus vmbr_reader_avail(VmbRing *r, uint32_t *avail)
{
    VmbRingStatus st = ring_enter(r, VMBR_ROLE_READER);
    uint32_t a = 0;

    if (st == VMBR_OK) {
        st = reader_load_avail(r, &a);
    }
    if (avail) {
        *avail = st == VMBR_OK ? a : 0;
    }
    return st;
}

void vmbr_reader_mask(VmbRing *r)
{
    if (ring_enter(r, VMBR_ROLE_READER) == VMBR_OK) {
        hdr_store(r, VMBR_HDR_INTERRUPT_MASK, 1);
    }
}

VmbRingStatus vmbr_reader_unmask(VmbRing *r, bool *pending)
{
    VmbRingStatus st = ring_enter(r, VMBR_ROLE_READER);
    uint32_t avail = 0;

    if (pending) {
        *pending = false;
    }
    if (st != VMBR_OK) {
        return st;
    }
    /*
     * Clear the mask, then look for data.  The guest publishes write_index
     * and then loads interrupt_mask; with a full barrier on both sides at
     * least one of us sees the other's store, so a packet written while
     * we were masked is either seen here or signalled.
     */
    hdr_store(r, VMBR_HDR_INTERRUPT_MASK, 0);
    vmbr_mb();
    st = reader_load_avail(r, &avail);
    if (st == VMBR_OK && pending) {
        *pending = avail != 0;
    }
    return st;
}

/* ---- host writer -------------------------------------------------------- */

uint32_t vmbr_packet_ring_size(size_t ext_len, size_t payload_len)
{
    size_t hdr, len;

    if (ext_len > VMBR_PKT_MAX_LEN || payload_len > VMBR_PKT_MAX_LEN) {
        return 0;
    }
    hdr = VMBR_DESC_SIZE + ext_len;
    len = (hdr + payload_len + VMBR_PKT_ALIGN - 1) & ~(size_t)7;
    if (hdr > VMBR_PKT_MAX_LEN || len > VMBR_PKT_MAX_LEN) {
        return 0;
    }
    return (uint32_t)len + VMBR_TRAILER_SIZE;
}

/*
 * Load and check the guest's read_index: a valid index that did not move
 * backwards, i.e. lies between the one seen last time and our write_index.
 * *free gets the free bytes.
 */
static VmbRingStatus writer_load_free(VmbRing *r, uint32_t *free_bytes)
{
    uint32_t rd = hdr_load_acquire(r, VMBR_HDR_READ_INDEX);
    uint32_t unread;

    if (!index_ok(r, rd)) {
        return ring_fail(r, VMBR_ERR_READ_INDEX);
    }
    unread = ring_dist(r, rd, r->priv_write);
    if (unread > ring_dist(r, r->last_read, r->priv_write)) {
        return ring_fail(r, VMBR_ERR_INDEX_MOVED);
    }
    r->last_read = rd;
    *free_bytes = r->size - unread;
    return VMBR_OK;
}

VmbRingStatus vmbr_writer_space(VmbRing *r, uint32_t *space)
{
    VmbRingStatus st = ring_enter(r, VMBR_ROLE_WRITER);
    uint32_t free_bytes = 0;

    if (st == VMBR_OK) {
        st = writer_load_free(r, &free_bytes);
    }
    if (space) {
        *space = st == VMBR_OK && free_bytes > VMBR_TRAILER_SIZE ?
                 free_bytes - VMBR_TRAILER_SIZE : 0;
    }
    return st;
}

VmbRingStatus vmbr_writer_has_room(VmbRing *r, size_t ext_len,
                                   size_t payload_len, bool *room)
{
    uint32_t need = vmbr_packet_ring_size(ext_len, payload_len);
    uint32_t space;
    VmbRingStatus st;

    if (room) {
        *room = false;
    }
    st = vmbr_writer_space(r, &space);
    if (st == VMBR_OK && need == 0) {
        st = VMBR_INVALID;
    }
    if (st == VMBR_OK && room) {
        *room = need <= space;
    }
    return st;
}

bool vmbr_writer_request_space(VmbRing *r, uint32_t need)
{
    uint32_t free_bytes;

    if (ring_enter(r, VMBR_ROLE_WRITER) != VMBR_OK || need == 0 ||
        need >= r->size) {
        return false;
    }
    if (writer_load_free(r, &free_bytes) != VMBR_OK) {
        return false;
    }
    if (free_bytes > need) {
        return true;
    }
    if (!(hdr_load(r, VMBR_HDR_FEATURE_BITS) & VMBR_FEATURE_PENDING_SEND_SZ)) {
        return false;
    }
    hdr_store(r, VMBR_HDR_PENDING_SEND_SZ, need);
    r->pending_set = true;
    /* The guest may have freed the space before it saw the request. */
    vmbr_mb();
    return writer_load_free(r, &free_bytes) == VMBR_OK && free_bytes > need;
}

void vmbr_writer_clear_pending(VmbRing *r)
{
    if (ring_enter(r, VMBR_ROLE_WRITER) == VMBR_OK && r->pending_set) {
        hdr_store(r, VMBR_HDR_PENDING_SEND_SZ, 0);
        r->pending_set = false;
    }
}

VmbRingStatus vmbr_writer_write(VmbRing *r, uint16_t type, uint16_t flags,
                                uint64_t trans_id, const struct iovec *iov,
                                unsigned iov_cnt, size_t ext_len,
                                bool *signal)
{
    static const uint8_t zeroes[VMBR_PKT_ALIGN];
    VmbRingStatus st = ring_enter(r, VMBR_ROLE_WRITER);
    uint8_t desc[VMBR_DESC_SIZE];
    uint8_t trailer[VMBR_TRAILER_SIZE];
    size_t bytes = 0;
    uint32_t need, free_bytes, old, pos, pkt_len;

    if (signal) {
        *signal = false;
    }
    if (st != VMBR_OK) {
        return st;
    }
    if ((iov_cnt && !iov) || (ext_len & (VMBR_PKT_ALIGN - 1))) {
        return VMBR_INVALID;
    }
    for (unsigned i = 0; i < iov_cnt; i++) {
        if (iov[i].iov_len > VMBR_PKT_MAX_LEN ||
            (iov[i].iov_len && !iov[i].iov_base)) {
            return VMBR_INVALID;
        }
        bytes += iov[i].iov_len;
        if (bytes > VMBR_PKT_MAX_LEN) {
            return VMBR_INVALID;
        }
    }
    if (ext_len > bytes) {
        return VMBR_INVALID;
    }
    need = vmbr_packet_ring_size(ext_len, bytes - ext_len);
    if (need == 0 || need >= r->size) {
        return VMBR_INVALID;        /* could never fit */
    }

    st = writer_load_free(r, &free_bytes);
    if (st != VMBR_OK) {
        return st;
    }
    if (free_bytes <= need) {
        /*
         * Ask the guest to signal us once more than 'need' bytes are free,
         * if it knows how.  It may have freed the space just before seeing
         * the request, so look again after a full barrier (the mirror of
         * the guest's publish-then-check in its read path).
         */
        if (hdr_load(r, VMBR_HDR_FEATURE_BITS) &
            VMBR_FEATURE_PENDING_SEND_SZ) {
            hdr_store(r, VMBR_HDR_PENDING_SEND_SZ, need);
            r->pending_set = true;
            vmbr_mb();
            st = writer_load_free(r, &free_bytes);
            if (st != VMBR_OK) {
                return st;
            }
        }
        if (free_bytes <= need) {
            r->stats.full_events++;
            return VMBR_FULL;
        }
    }

    pkt_len = need - VMBR_TRAILER_SIZE;
    old = r->priv_write;
    memset(desc, 0, sizeof(desc));
    st16(desc + VMBR_DESC_OFF_TYPE, type);
    st16(desc + VMBR_DESC_OFF_OFFSET8,
         (uint16_t)((VMBR_DESC_SIZE + ext_len) / 8));
    st16(desc + VMBR_DESC_OFF_LEN8, (uint16_t)(pkt_len / 8));
    st16(desc + VMBR_DESC_OFF_FLAGS, flags);
    st64(desc + VMBR_DESC_OFF_TRANS_ID, trans_id);

    pos = ring_copy_to(r, old, desc, sizeof(desc));
    for (unsigned i = 0; i < iov_cnt; i++) {
        pos = ring_copy_to(r, pos, iov[i].iov_base, iov[i].iov_len);
    }
    pos = ring_copy_to(r, pos, zeroes, pkt_len - VMBR_DESC_SIZE - bytes);
    st64(trailer, (uint64_t)old << VMBR_TRAILER_INDEX_SHIFT);
    pos = ring_copy_to(r, pos, trailer, sizeof(trailer));

    /* The packet is complete in memory before write_index says so. */
    hdr_store_release(r, VMBR_HDR_WRITE_INDEX, pos);
    r->priv_write = pos;
    r->stats.packets++;
    r->stats.bytes += need;

    if (r->pending_set) {
        hdr_store(r, VMBR_HDR_PENDING_SEND_SZ, 0);
        r->pending_set = false;
    }

    /*
     * Signal when the guest may be asleep on an empty ring: load
     * interrupt_mask only after a full barrier behind the write_index
     * store (the guest clears the mask, then re-checks write_index), and
     * read_index after the mask.  read_index still at the old write_index
     * means the guest had consumed everything before this packet and has
     * not seen it yet.  Comparing with a read_index loaded before the
     * store instead would miss a guest that drained the ring and unmasked
     * in between.
     */
    vmbr_mb();
    if (hdr_load(r, VMBR_HDR_INTERRUPT_MASK) == 0) {
        vmbr_rmb();
        if (hdr_load(r, VMBR_HDR_READ_INDEX) == old) {
            r->stats.signals++;
            if (signal) {
                *signal = true;
            }
        }
    }
    return VMBR_OK;
}

/* ---- packet bodies ------------------------------------------------------ */

/*
 * Fixed part shared by GPA-direct and transfer-page packets: the ranges lie
 * in [24, offset8 * 8), which must be inside both the packet and the copy.
 */
static bool body_hdr_end(const uint8_t *p, size_t pkt_len, uint32_t *end)
{
    uint32_t off, len;

    if (!p || pkt_len < VMBR_GPA_DIRECT_HDR_SIZE) {
        return false;
    }
    off = (uint32_t)ld16(p + VMBR_DESC_OFF_OFFSET8) * 8;
    len = (uint32_t)ld16(p + VMBR_DESC_OFF_LEN8) * 8;
    if (off < VMBR_GPA_DIRECT_HDR_SIZE || off > len || off > pkt_len) {
        return false;
    }
    *end = off;
    return true;
}

VmbRingStatus vmbr_parse_gpa_direct(const void *pkt, size_t pkt_len,
                                    VmbRingGpaDirect *gd)
{
    const uint8_t *p = pkt;
    uint32_t end, count, pos = VMBR_GPA_DIRECT_HDR_SIZE;
    uint64_t bytes = 0;
    uint32_t pfns = 0;

    if (!gd) {
        return VMBR_INVALID;
    }
    memset(gd, 0, sizeof(*gd));
    if (!body_hdr_end(p, pkt_len, &end)) {
        return VMBR_MALFORMED;
    }
    count = ld32(p + offsetof(VmbrWireGpaDirectHdr, rangecount));
    /* Each range takes at least 16 bytes: this bounds the loop. */
    if (count > (end - pos) / (VMBR_GPA_RANGE_HDR_SIZE + VMBR_GPA_PFN_SIZE)) {
        return VMBR_MALFORMED;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t bc, bo;
        uint64_t n;

        if (end - pos < VMBR_GPA_RANGE_HDR_SIZE) {
            return VMBR_MALFORMED;
        }
        bc = ld32(p + pos);
        bo = ld32(p + pos + 4);
        if (bc == 0 || bo >= VMBR_PAGE_SIZE) {
            return VMBR_MALFORMED;
        }
        n = ((uint64_t)bo + bc + VMBR_PAGE_SIZE - 1) >> VMBR_PAGE_SHIFT;
        pos += VMBR_GPA_RANGE_HDR_SIZE;
        if (n > (end - pos) / VMBR_GPA_PFN_SIZE) {
            return VMBR_MALFORMED;
        }
        pos += (uint32_t)n * VMBR_GPA_PFN_SIZE;
        pfns += (uint32_t)n;
        bytes += bc;
    }
    gd->range_count = count;
    gd->pfn_total = pfns;
    gd->byte_total = bytes;
    gd->next = p + VMBR_GPA_DIRECT_HDR_SIZE;
    gd->end = p + end;
    gd->index = 0;
    return VMBR_OK;
}

bool vmbr_gpa_direct_next(VmbRingGpaDirect *gd, VmbRingGpaRange *range)
{
    VmbRingGpaRange r;
    size_t room;

    if (!gd || !gd->next || gd->index >= gd->range_count) {
        return false;
    }
    /*
     * Parsing checked all of this already; checking again costs little and
     * keeps a copy that changed since (caller error) inside its bounds.
     */
    room = (size_t)(gd->end - gd->next);
    if (room < VMBR_GPA_RANGE_HDR_SIZE) {
        gd->index = gd->range_count;
        return false;
    }
    r.byte_count = ld32(gd->next);
    r.byte_offset = ld32(gd->next + 4);
    r.pfn_count = (uint32_t)(((uint64_t)(r.byte_offset % VMBR_PAGE_SIZE) +
                              r.byte_count + VMBR_PAGE_SIZE - 1)
                             >> VMBR_PAGE_SHIFT);
    room -= VMBR_GPA_RANGE_HDR_SIZE;
    if (r.pfn_count > room / VMBR_GPA_PFN_SIZE) {
        gd->index = gd->range_count;
        return false;
    }
    r.pfns = gd->next + VMBR_GPA_RANGE_HDR_SIZE;
    gd->next = r.pfns + (size_t)r.pfn_count * VMBR_GPA_PFN_SIZE;
    gd->index++;
    *range = r;
    return true;
}

uint64_t vmbr_gpa_range_pfn(const VmbRingGpaRange *range, uint32_t i)
{
    if (i >= range->pfn_count) {
        return 0;
    }
    return ld64(range->pfns + (size_t)i * VMBR_GPA_PFN_SIZE);
}

VmbRingStatus vmbr_parse_xfer_pages(const void *pkt, size_t pkt_len,
                                    VmbRingXferPages *xp)
{
    const uint8_t *p = pkt;
    uint32_t end, count;

    if (!xp) {
        return VMBR_INVALID;
    }
    memset(xp, 0, sizeof(*xp));
    if (!body_hdr_end(p, pkt_len, &end)) {
        return VMBR_MALFORMED;
    }
    count = ld32(p + offsetof(VmbrWireXferPagesHdr, range_cnt));
    if (count > (end - VMBR_XFER_PAGES_HDR_SIZE) / VMBR_XFER_RANGE_SIZE) {
        return VMBR_MALFORMED;
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *rp = p + VMBR_XFER_PAGES_HDR_SIZE +
                            (size_t)i * VMBR_XFER_RANGE_SIZE;

        if ((uint64_t)ld32(rp) + ld32(rp + 4) > UINT32_MAX) {
            return VMBR_MALFORMED;
        }
    }
    xp->pageset_id = ld16(p + offsetof(VmbrWireXferPagesHdr,
                                       xfer_pageset_id));
    xp->sender_owns_set = p[offsetof(VmbrWireXferPagesHdr, sender_owns_set)];
    xp->range_count = count;
    xp->ranges = p + VMBR_XFER_PAGES_HDR_SIZE;
    return VMBR_OK;
}

void vmbr_xfer_range(const VmbRingXferPages *xp, uint32_t i,
                     uint32_t *byte_count, uint32_t *byte_offset)
{
    const uint8_t *rp;

    if (i >= xp->range_count) {
        *byte_count = *byte_offset = 0;
        return;
    }
    rp = xp->ranges + (size_t)i * VMBR_XFER_RANGE_SIZE;
    *byte_count = ld32(rp);
    *byte_offset = ld32(rp + 4);
}

/* ---- save/restore ------------------------------------------------------- */

void vmbr_save(const VmbRing *r, VmbRingSaved *s)
{
    memset(s, 0, sizeof(*s));
    s->role = r->role;
    s->error = r->error;
    if (r->role == VMBR_ROLE_READER) {
        s->priv_index = r->priv_read;
        s->pub_index = r->pub_read;
    } else {
        s->priv_index = s->pub_index = r->priv_write;
        s->flags = r->pending_set ? VMBR_SAVED_PENDING_SET : 0;
    }
}

VmbRingStatus vmbr_load(VmbRing *r, const VmbRingSaved *s)
{
    uint32_t idx;

    if (!r || !s || r->role == VMBR_ROLE_NONE || s->role != r->role ||
        s->error >= VMBR_ERR__COUNT ||
        (s->flags & ~VMBR_SAVED_PENDING_SET) ||
        !index_ok(r, s->priv_index) || !index_ok(r, s->pub_index) ||
        (r->role == VMBR_ROLE_WRITER && s->priv_index != s->pub_index) ||
        (r->role == VMBR_ROLE_READER && (s->flags & VMBR_SAVED_PENDING_SET))) {
        return VMBR_INVALID;
    }
    if (s->error != VMBR_ERR_NONE) {
        return ring_fail(r, (VmbRingError)s->error);
    }
    if (r->error != VMBR_ERR_NONE) {
        return VMBR_CORRUPT;
    }
    r->have_peek = false;
    if (r->role == VMBR_ROLE_READER) {
        if (hdr_load(r, VMBR_HDR_READ_INDEX) != s->pub_index) {
            return ring_fail(r, VMBR_ERR_SAVED_STATE);
        }
        idx = hdr_load(r, VMBR_HDR_WRITE_INDEX);
        if (!index_ok(r, idx) ||
            ring_dist(r, s->pub_index, idx) <
            ring_dist(r, s->pub_index, s->priv_index)) {
            return ring_fail(r, VMBR_ERR_SAVED_STATE);
        }
        r->priv_read = s->priv_index;
        r->pub_read = s->pub_index;
    } else {
        if (hdr_load(r, VMBR_HDR_WRITE_INDEX) != s->priv_index) {
            return ring_fail(r, VMBR_ERR_SAVED_STATE);
        }
        idx = hdr_load(r, VMBR_HDR_READ_INDEX);
        if (!index_ok(r, idx)) {
            return ring_fail(r, VMBR_ERR_SAVED_STATE);
        }
        r->priv_write = s->priv_index;
        r->last_read = idx;
        r->pending_set = !!(s->flags & VMBR_SAVED_PENDING_SET);
    }
    return VMBR_OK;
}
