/*
 * Unit tests for the host-side VMBus ring buffer against a simulated Linux guest
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The simulated guest follows Linux's drivers/hv/ring_buffer.c: its writer
 * appends descriptor + payload + padding + trailer, refuses unless free >
 * packet + trailer, publishes write_index and signals on the empty ->
 * non-empty transition when interrupt_mask is clear; its reader iterates on
 * a private read index and, on close, publishes read_index and signals when
 * the free space crosses pending_send_sz.  It reaches ring memory one byte
 * at a time through the page array, so it shares no copy code with the
 * library under test.
 */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "hw/hyperv/vmbus-ring.h"

#define PG VMBR_PAGE_SIZE
#define MAX_PAGES 600

/* ---- deterministic PRNG -------------------------------------------------- */

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
    rng_state = s ? s : 0x9e3779b97f4a7c15ull;
}

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static uint32_t rng_below(uint32_t n)
{
    return n ? (uint32_t)(rng_next() % n) : 0;
}

/* ---- simulated guest ---------------------------------------------------- */

typedef struct GRing {
    uint8_t **pages;        /* [0] header, then data pages */
    uint32_t size;
    uint32_t priv_read;     /* guest reader's private index */
    uint32_t cur_len;       /* len8 * 8 of the packet at priv_read */
} GRing;

/*
 * Header accesses are fenced on both sides: the simulated guest is
 * sequentially consistent, at least as strong as Linux's barriers, so the
 * threaded tests exercise the library's ordering, not the simulator's.
 */
static uint32_t g_hdr(const GRing *g, unsigned off)
{
    uint32_t v;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    v = __atomic_load_n((uint32_t *)(void *)(g->pages[0] + off),
                        __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return GUINT32_FROM_LE(v);
}

static void g_set_hdr(GRing *g, unsigned off, uint32_t v)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n((uint32_t *)(void *)(g->pages[0] + off),
                     GUINT32_TO_LE(v), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static uint8_t *g_byte(const GRing *g, uint32_t pos)
{
    pos %= g->size;
    return g->pages[1 + pos / PG] + pos % PG;
}

static void g_put(GRing *g, uint32_t pos, const void *src, uint32_t len)
{
    const uint8_t *s = src;

    for (uint32_t i = 0; i < len; i++) {
        *g_byte(g, pos + i) = s[i];
    }
}

static void g_get(const GRing *g, uint32_t pos, void *dst, uint32_t len)
{
    uint8_t *d = dst;

    for (uint32_t i = 0; i < len; i++) {
        d[i] = *g_byte(g, pos + i);
    }
}

static uint32_t g_bytes_to_write(const GRing *g)
{
    uint32_t w = g_hdr(g, VMBR_HDR_WRITE_INDEX);
    uint32_t r = g_hdr(g, VMBR_HDR_READ_INDEX);

    return w >= r ? g->size - (w - r) : r - w;
}

static void g_desc(uint8_t *d, uint16_t type, uint16_t off8, uint16_t len8,
                   uint16_t flags, uint64_t tid)
{
    uint16_t v16;
    uint64_t v64;

    v16 = GUINT16_TO_LE(type);
    memcpy(d, &v16, 2);
    v16 = GUINT16_TO_LE(off8);
    memcpy(d + 2, &v16, 2);
    v16 = GUINT16_TO_LE(len8);
    memcpy(d + 4, &v16, 2);
    v16 = GUINT16_TO_LE(flags);
    memcpy(d + 6, &v16, 2);
    v64 = GUINT64_TO_LE(tid);
    memcpy(d + 8, &v64, 8);
}

/*
 * Guest writer.  Returns 0 or -EAGAIN; *sig tells whether the guest would
 * signal the host.
 */
static int guest_write(GRing *g, uint16_t type, uint16_t flags, uint64_t tid,
                       const void *ext, uint32_t ext_len,
                       const void *data, uint32_t len, bool *sig)
{
    static const uint8_t zero[8];
    uint8_t desc[16];
    uint32_t hdr = 16 + ext_len;
    uint32_t plen = (hdr + len + 7) & ~7u;
    uint32_t total = plen + 8;
    uint32_t w, pos;
    uint64_t trailer;

    *sig = false;
    if (g_bytes_to_write(g) <= total) {
        return -EAGAIN;
    }
    w = g_hdr(g, VMBR_HDR_WRITE_INDEX);
    g_desc(desc, type, hdr / 8, plen / 8, flags, tid);
    pos = w;
    g_put(g, pos, desc, 16);
    pos += 16;
    g_put(g, pos, ext, ext_len);
    pos += ext_len;
    g_put(g, pos, data, len);
    pos += len;
    g_put(g, pos, zero, plen - hdr - len);
    pos += plen - hdr - len;
    trailer = GUINT64_TO_LE((uint64_t)w << 32);
    g_put(g, pos, &trailer, 8);
    g_set_hdr(g, VMBR_HDR_WRITE_INDEX, (w + total) % g->size);
    if (g_hdr(g, VMBR_HDR_INTERRUPT_MASK)) {
        return 0;
    }
    *sig = g_hdr(g, VMBR_HDR_READ_INDEX) == w;
    return 0;
}

static int guest_write_simple(GRing *g, uint16_t type, const void *data,
                              uint32_t len, bool *sig)
{
    return guest_write(g, type, 0, 0, NULL, 0, data, len, sig);
}

/* Guest reader, Linux hv_pkt_iter style. */
static void guest_iter_start(GRing *g)
{
    g->priv_read = g_hdr(g, VMBR_HDR_READ_INDEX);
}

/*
 * Peek the next packet: descriptor into *d (16 bytes), packet bytes after
 * the descriptor into buf (up to cap).  Returns false when empty.
 */
static bool guest_peek(GRing *g, uint8_t *d, uint8_t *buf, uint32_t cap,
                       uint32_t *len)
{
    uint32_t w = g_hdr(g, VMBR_HDR_WRITE_INDEX);
    uint32_t avail = (w - g->priv_read + g->size) % g->size;
    uint16_t len8;

    if (avail < 16) {
        return false;
    }
    g_get(g, g->priv_read, d, 16);
    memcpy(&len8, d + 4, 2);
    g->cur_len = GUINT16_FROM_LE(len8) * 8u;
    *len = g->cur_len;
    if (buf) {
        g_get(g, g->priv_read + 16, buf,
              MIN(cap, g->cur_len > 16 ? g->cur_len - 16 : 0));
    }
    return true;
}

static void guest_next(GRing *g)
{
    g->priv_read = (g->priv_read + g->cur_len + 8) % g->size;
}

/* hv_pkt_iter_close: publish, then decide whether to signal the host. */
static bool guest_close(GRing *g)
{
    uint32_t start = g_hdr(g, VMBR_HDR_READ_INDEX);
    uint32_t pending, cur, bytes_read;

    g_set_hdr(g, VMBR_HDR_READ_INDEX, g->priv_read);
    if (!(g_hdr(g, VMBR_HDR_FEATURE_BITS) & 1)) {
        return false;
    }
    pending = g_hdr(g, VMBR_HDR_PENDING_SEND_SZ);
    if (!pending) {
        return false;
    }
    cur = g_bytes_to_write(g);
    bytes_read = (g->priv_read - start + g->size) % g->size;
    if (cur - bytes_read > pending) {
        return false;
    }
    return cur > pending;
}

/* ---- a channel: both rings in one GPADL --------------------------------- */

typedef enum ChanMem {
    MEM_ORDERED,        /* one flat buffer, pages in order */
    MEM_SHUFFLED,       /* one flat buffer, pages permuted */
    MEM_SEPARATE,       /* every page its own allocation (ASan redzones) */
} ChanMem;

typedef struct Chan {
    uint8_t *flat;
    uint8_t *pages[MAX_PAGES];
    uint32_t perm[MAX_PAGES];
    uint32_t npages, split;
    ChanMem mem;
    VmbRingPair p;
    GRing gout;     /* guest outbound: guest writes, host reads */
    GRing gin;      /* guest inbound: host writes, guest reads */
} Chan;

static Chan *chan_new(uint32_t out_pages, uint32_t in_pages, ChanMem mem,
                      uint64_t seed)
{
    Chan *c = g_new0(Chan, 1);
    uint32_t n = out_pages + in_pages;

    ck_assert_uint_le(n, MAX_PAGES);
    c->npages = n;
    c->split = out_pages;
    c->mem = mem;
    if (mem == MEM_SEPARATE) {
        for (uint32_t i = 0; i < n; i++) {
            c->pages[i] = g_malloc0(PG);
        }
    } else {
        c->flat = g_malloc0((size_t)n * PG);
        for (uint32_t i = 0; i < n; i++) {
            c->perm[i] = i;
        }
        if (mem == MEM_SHUFFLED) {
            rng_seed(seed);
            for (uint32_t i = n - 1; i > 0; i--) {
                uint32_t j = rng_below(i + 1), t = c->perm[i];

                c->perm[i] = c->perm[j];
                c->perm[j] = t;
            }
        }
        vmbr_pages_from_buffer(c->flat, n, c->perm, c->pages);
    }
    c->gout.pages = c->pages;
    c->gout.size = (out_pages - 1) * PG;
    c->gin.pages = c->pages + out_pages;
    c->gin.size = (in_pages - 1) * PG;
    /* What Linux does at open: indices zero, feature bit set on both. */
    g_set_hdr(&c->gout, VMBR_HDR_FEATURE_BITS, 1);
    g_set_hdr(&c->gin, VMBR_HDR_FEATURE_BITS, 1);
    return c;
}

static void chan_open(Chan *c)
{
    ck_assert_int_eq(vmbr_pair_init(&c->p, c->pages, c->npages, c->split),
                     VMBR_OK);
}

static Chan *chan_open_new(uint32_t out_pages, uint32_t in_pages, ChanMem mem,
                           uint64_t seed)
{
    Chan *c = chan_new(out_pages, in_pages, mem, seed);

    chan_open(c);
    return c;
}

static void chan_free(Chan *c)
{
    if (c->mem == MEM_SEPARATE) {
        for (uint32_t i = 0; i < c->npages; i++) {
            g_free(c->pages[i]);
        }
    }
    g_free(c->flat);
    g_free(c);
}

/* Set both indices of a ring (before opening it). */
static void g_set_indices(GRing *g, uint32_t w, uint32_t r)
{
    g_set_hdr(g, VMBR_HDR_WRITE_INDEX, w);
    g_set_hdr(g, VMBR_HDR_READ_INDEX, r);
}

static void fill_pattern(uint8_t *b, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++) {
        b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
    }
}

/* Host write of one flat payload. */
static VmbRingStatus host_write(VmbRing *r, uint16_t type, uint64_t tid,
                                const void *data, size_t len, bool *sig)
{
    struct iovec iov = { .iov_base = (void *)data, .iov_len = len };

    return vmbr_writer_write(r, type, 0, tid, &iov, len ? 1 : 0, 0, sig);
}

/* ---- init --------------------------------------------------------------- */

START_TEST(test_init_ok)
{
    Chan *c = chan_open_new(3, 5, MEM_ORDERED, 0);

    ck_assert_uint_eq(vmbr_data_size(&c->p.out), 2 * PG);
    ck_assert_uint_eq(vmbr_data_size(&c->p.in), 4 * PG);
    ck_assert(!vmbr_is_broken(&c->p.out));
    ck_assert_uint_eq(vmbr_feature_bits(&c->p.out), 1);
    ck_assert_uint_eq(vmbr_feature_bits(&c->p.in), 1);
    ck_assert_int_eq(vmbr_error(&c->p.in), VMBR_ERR_NONE);
    chan_free(c);
}
END_TEST

START_TEST(test_init_bad_split)
{
    Chan *c = chan_new(4, 4, MEM_ORDERED, 0);
    VmbRingPair p;
    uint8_t *pages[3];

    ck_assert_int_eq(vmbr_pair_init(&p, c->pages, 8, 0), VMBR_INVALID);
    ck_assert_int_eq(vmbr_pair_init(&p, c->pages, 8, 1), VMBR_INVALID);
    ck_assert_int_eq(vmbr_pair_init(&p, c->pages, 8, 7), VMBR_INVALID);
    ck_assert_int_eq(vmbr_pair_init(&p, c->pages, 8, 8), VMBR_INVALID);
    ck_assert_int_eq(vmbr_pair_init(&p, c->pages, 8, 9), VMBR_INVALID);
    ck_assert_int_eq(vmbr_pair_init(&p, c->pages, 8, 0xffffffffu),
                     VMBR_INVALID);
    ck_assert_int_eq(vmbr_pair_init(&p, c->pages, 3, 2), VMBR_INVALID);
    ck_assert_int_eq(vmbr_pair_init(&p, NULL, 8, 4), VMBR_INVALID);
    ck_assert_int_eq(vmbr_pair_init(&p, c->pages, 8, 2), VMBR_OK);
    ck_assert_int_eq(vmbr_pair_init(&p, c->pages, 8, 6), VMBR_OK);
    /* A missing page is refused, not dereferenced. */
    pages[0] = c->pages[0];
    pages[1] = NULL;
    pages[2] = c->pages[2];
    ck_assert_int_eq(vmbr_init(&p.out, VMBR_ROLE_READER, pages, 3),
                     VMBR_INVALID);
    /* An unusable ring refuses everything. */
    ck_assert_int_eq(vmbr_reader_avail(&p.out, NULL), VMBR_INVALID);
    ck_assert_int_eq(vmbr_init(&p.out, VMBR_ROLE_NONE, c->pages, 3),
                     VMBR_INVALID);
    ck_assert_int_eq(vmbr_init(&p.out, VMBR_ROLE_READER, c->pages, 1),
                     VMBR_INVALID);
    chan_free(c);
}
END_TEST

START_TEST(test_init_bad_indices)
{
    static const uint32_t bad[] = { 4, 2 * PG, 2 * PG + 8, 0xfffffff8u, 7 };
    Chan *c = chan_new(3, 3, MEM_ORDERED, 0);

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_set_indices(&c->gout, bad[i], 0);
        g_set_indices(&c->gin, 0, 0);
        ck_assert_int_eq(vmbr_pair_init(&c->p, c->pages, 6, 3), VMBR_CORRUPT);
        ck_assert_int_eq(vmbr_error(&c->p.out), VMBR_ERR_WRITE_INDEX);
        ck_assert(!vmbr_is_broken(&c->p.in));

        g_set_indices(&c->gout, 0, 0);
        g_set_indices(&c->gin, 0, bad[i]);
        ck_assert_int_eq(vmbr_pair_init(&c->p, c->pages, 6, 3), VMBR_CORRUPT);
        ck_assert_int_eq(vmbr_error(&c->p.in), VMBR_ERR_READ_INDEX);
        ck_assert(!vmbr_is_broken(&c->p.out));
    }
    g_set_indices(&c->gin, 2 * PG - 8, 8);
    chan_open(c);
    chan_free(c);
}
END_TEST

/* ---- reading (guest -> host) -------------------------------------------- */

START_TEST(test_read_empty)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 1);
    VmbRingPacket pkt;
    uint32_t avail = 123;
    bool sig = true;

    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                     VMBR_EMPTY);
    ck_assert_int_eq(vmbr_reader_avail(&c->p.out, &avail), VMBR_OK);
    ck_assert_uint_eq(avail, 0);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_INVALID);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
    ck_assert(!sig);
    ck_assert(!vmbr_is_broken(&c->p.out));
    chan_free(c);
}
END_TEST

START_TEST(test_read_single_inband)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 2);
    uint8_t data[100], buf[256];
    VmbRingPacket pkt;
    size_t n;
    bool sig;
    uint32_t avail;

    fill_pattern(data, sizeof(data), 1);
    ck_assert_int_eq(guest_write(&c->gout, VMBR_PKT_DATA_INBAND,
                                 VMBR_PKT_FLAG_COMPLETION_REQUESTED,
                                 0x1122334455667788ull, NULL, 0,
                                 data, sizeof(data), &sig), 0);
    ck_assert(sig);     /* empty ring, mask clear */
    ck_assert_int_eq(vmbr_reader_avail(&c->p.out, &avail), VMBR_OK);
    ck_assert_uint_eq(avail, 16 + 104 + 8);

    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, sizeof(buf), &n),
                     VMBR_OK);
    ck_assert_uint_eq(pkt.type, VMBR_PKT_DATA_INBAND);
    ck_assert_uint_eq(pkt.flags, VMBR_PKT_FLAG_COMPLETION_REQUESTED);
    ck_assert_uint_eq(pkt.trans_id, 0x1122334455667788ull);
    ck_assert_uint_eq(pkt.data_offset, 16);
    ck_assert_uint_eq(pkt.len, 120);
    ck_assert_uint_eq(n, 120);
    ck_assert_mem_eq(buf + 16, data, sizeof(data));
    ck_assert_uint_eq(buf[116] | buf[117] | buf[118] | buf[119], 0);

    /* Peeking again gives the same packet. */
    memset(&pkt, 0, sizeof(pkt));
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, &n), VMBR_OK);
    ck_assert_uint_eq(pkt.len, 120);
    ck_assert_uint_eq(n, 0);

    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_INVALID);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                     VMBR_EMPTY);
    /* Not yet visible to the guest. */
    ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_READ_INDEX), 0);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
    ck_assert(!sig);
    ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_READ_INDEX), 128);
    ck_assert_uint_eq(c->p.out.stats.packets, 1);
    ck_assert_uint_eq(c->p.out.stats.bytes, 128);
    chan_free(c);
}
END_TEST

START_TEST(test_read_each_type)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 3);
    uint8_t data[40], buf[128];
    VmbRingPacket pkt;
    bool sig;

    for (uint16_t t = VMBR_PKT_INVALID; t <= VMBR_PKT_ADDITIONAL_DATA; t++) {
        fill_pattern(data, sizeof(data), t);
        ck_assert_int_eq(guest_write(&c->gout, t, t & 1, 1000 + t, NULL, 0,
                                     data, sizeof(data) - t, &sig), 0);
        ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, sizeof(buf),
                                          NULL), VMBR_OK);
        ck_assert_uint_eq(pkt.type, t);
        ck_assert_uint_eq(pkt.flags, t & 1);
        ck_assert_uint_eq(pkt.trans_id, 1000 + t);
        ck_assert_uint_eq(pkt.len, (16 + sizeof(data) - t + 7) & ~7u);
        ck_assert_mem_eq(buf + 16, data, sizeof(data) - t);
        ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
        ck_assert_int_eq(vmbr_reader_commit(&c->p.out, NULL), VMBR_OK);
    }
    /* An empty payload: a bare descriptor. */
    ck_assert_int_eq(guest_write(&c->gout, VMBR_PKT_COMPLETION, 0, 5, NULL,
                                 0, NULL, 0, &sig), 0);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, sizeof(buf),
                                      NULL), VMBR_OK);
    ck_assert_uint_eq(pkt.len, 16);
    ck_assert_uint_eq(pkt.type, VMBR_PKT_COMPLETION);
    chan_free(c);
}
END_TEST

START_TEST(test_read_bounded_copy)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 4);
    uint8_t data[300], buf[400], part[400];
    VmbRingPacket pkt;
    size_t n;
    bool sig;

    fill_pattern(data, sizeof(data), 9);
    guest_write_simple(&c->gout, VMBR_PKT_DATA_INBAND, data, sizeof(data),
                       &sig);
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 0, part, 1), VMBR_INVALID);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, 20, &n), VMBR_OK);
    ck_assert_uint_eq(n, 20);
    ck_assert_uint_eq(pkt.len, 320);
    ck_assert_mem_eq(buf + 16, data, 4);
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 20, part, 296), VMBR_OK);
    ck_assert_mem_eq(part, data + 4, 296);
    /* Straddling the descriptor: comes from the checked copy. */
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 8, part, 16), VMBR_OK);
    ck_assert_mem_eq(part, buf + 8, 8);
    ck_assert_mem_eq(part + 8, data, 8);
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 0, part, 320), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 0, part, 321), VMBR_INVALID);
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 321, part, 0), VMBR_INVALID);
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 320, part, 0), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 300, part, 0xffffffffu),
                     VMBR_INVALID);
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 1, NULL, 2), VMBR_INVALID);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 5, NULL),
                     VMBR_INVALID);
    ck_assert(!vmbr_is_broken(&c->p.out));
    chan_free(c);
}
END_TEST

/*
 * A packet that crosses the end of the data area and several page
 * boundaries, over shuffled pages (and over separately allocated ones).
 */
static void check_read_wrap(ChanMem mem)
{
    Chan *c = chan_new(4, 3, mem, 5);   /* 3 data pages */
    uint32_t size = 3 * PG;
    uint8_t *data = g_malloc(2 * PG + 100), *buf = g_malloc(3 * PG);
    VmbRingPacket pkt;
    bool sig;
    uint32_t start = size - PG - 48;

    g_set_indices(&c->gout, start, start);
    chan_open(c);
    fill_pattern(data, 2 * PG + 100, 77);
    ck_assert_int_eq(guest_write_simple(&c->gout, VMBR_PKT_DATA_INBAND, data,
                                        2 * PG + 100, &sig), 0);
    ck_assert(sig);
    ck_assert_uint_lt(g_hdr(&c->gout, VMBR_HDR_WRITE_INDEX), start);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, 3 * PG, NULL),
                     VMBR_OK);
    ck_assert_uint_eq(pkt.len, 16 + 2 * PG + 104);
    ck_assert_mem_eq(buf + 16, data, 2 * PG + 100);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, NULL), VMBR_OK);
    ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_READ_INDEX),
                      g_hdr(&c->gout, VMBR_HDR_WRITE_INDEX));
    g_free(data);
    g_free(buf);
    chan_free(c);
}

START_TEST(test_read_wrap_shuffled)
{
    check_read_wrap(MEM_SHUFFLED);
}
END_TEST

START_TEST(test_read_wrap_separate_pages)
{
    check_read_wrap(MEM_SEPARATE);
}
END_TEST

/* The descriptor itself straddles the end of the data area (legitimate). */
START_TEST(test_read_desc_crosses_wrap)
{
    for (uint32_t back = 8; back < 16; back += 8) {
        Chan *c = chan_new(3, 3, MEM_SHUFFLED, 6 + back);
        uint32_t size = 2 * PG;
        uint8_t data[64], buf[128];
        VmbRingPacket pkt;
        bool sig;

        g_set_indices(&c->gout, size - back, size - back);
        chan_open(c);
        fill_pattern(data, sizeof(data), 3);
        guest_write(&c->gout, VMBR_PKT_DATA_INBAND, 0, 0xabcdef, NULL, 0,
                    data, sizeof(data), &sig);
        ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, sizeof(buf),
                                          NULL), VMBR_OK);
        ck_assert_uint_eq(pkt.trans_id, 0xabcdef);
        ck_assert_uint_eq(pkt.len, 80);
        ck_assert_mem_eq(buf + 16, data, sizeof(data));
        ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
        ck_assert_int_eq(vmbr_reader_commit(&c->p.out, NULL), VMBR_OK);
        ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_READ_INDEX), 88 - back);
        chan_free(c);
    }
}
END_TEST

/* A ring the guest filled to the limit (8 bytes free) reads back fine. */
START_TEST(test_read_full_ring)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 7);
    uint32_t size = 2 * PG;
    uint8_t *data = g_malloc0(size), *buf = g_malloc(size);
    VmbRingPacket pkt;
    uint32_t avail;
    bool sig;

    /* One packet of size - 8 - 8 bytes: free after = 8. */
    ck_assert_int_eq(guest_write_simple(&c->gout, 6, data, size - 32, &sig),
                     0);
    ck_assert_int_eq(guest_write_simple(&c->gout, 6, data, 0, &sig), -EAGAIN);
    ck_assert_int_eq(vmbr_reader_avail(&c->p.out, &avail), VMBR_OK);
    ck_assert_uint_eq(avail, size - 8);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, size, NULL),
                     VMBR_OK);
    ck_assert_uint_eq(pkt.len, size - 16);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, NULL), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, size, NULL),
                     VMBR_EMPTY);
    g_free(data);
    g_free(buf);
    chan_free(c);
}
END_TEST

/* ---- writing (host -> guest) -------------------------------------------- */

START_TEST(test_write_single_inband)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 8);
    uint8_t data[77], d[16], buf[128];
    uint32_t len;
    uint64_t trailer;
    bool sig;

    fill_pattern(data, sizeof(data), 5);
    struct iovec iov = { data, sizeof(data) };
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, VMBR_PKT_DATA_INBAND,
                                       VMBR_PKT_FLAG_COMPLETION_REQUESTED,
                                       42, &iov, 1, 0, &sig), VMBR_OK);
    ck_assert(sig);
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_WRITE_INDEX), 96 + 8);
    guest_iter_start(&c->gin);
    ck_assert(guest_peek(&c->gin, d, buf, sizeof(buf), &len));
    ck_assert_uint_eq(len, 96);
    ck_assert_uint_eq(d[0], VMBR_PKT_DATA_INBAND);
    ck_assert_uint_eq(d[1], 0);
    ck_assert_uint_eq(d[2], 2);     /* offset8 */
    ck_assert_uint_eq(d[4], 12);    /* len8 */
    ck_assert_uint_eq(d[6], 1);     /* flags */
    ck_assert_uint_eq(d[8], 42);
    ck_assert_mem_eq(buf, data, sizeof(data));
    ck_assert_uint_eq(buf[77] | buf[78] | buf[79], 0);   /* padding */
    g_get(&c->gin, 96, &trailer, 8);
    ck_assert_uint_eq(GUINT64_FROM_LE(trailer), 0);
    guest_next(&c->gin);
    ck_assert(!guest_close(&c->gin));
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_READ_INDEX), 104);

    /* The second packet's trailer carries the old write_index. */
    ck_assert_int_eq(host_write(&c->p.in, VMBR_PKT_COMPLETION, 43, data, 8,
                                &sig), VMBR_OK);
    g_get(&c->gin, 104 + 24, &trailer, 8);
    ck_assert_uint_eq(GUINT64_FROM_LE(trailer), (uint64_t)104 << 32);
    chan_free(c);
}
END_TEST

START_TEST(test_write_scatter_ext)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 9);
    uint8_t ext[24], a[5], b[300], d[16], buf[512];
    uint32_t len;
    bool sig;
    struct iovec iov[4];

    fill_pattern(ext, sizeof(ext), 1);
    fill_pattern(a, sizeof(a), 2);
    fill_pattern(b, sizeof(b), 3);
    /* The extension itself split over two pieces, then the payload. */
    iov[0] = (struct iovec){ ext, 16 };
    iov[1] = (struct iovec){ ext + 16, 8 };
    iov[2] = (struct iovec){ a, sizeof(a) };
    iov[3] = (struct iovec){ b, sizeof(b) };
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, VMBR_PKT_DATA_XFER_PAGES, 0,
                                       7, iov, 4, 24, &sig), VMBR_OK);
    guest_iter_start(&c->gin);
    ck_assert(guest_peek(&c->gin, d, buf, sizeof(buf), &len));
    ck_assert_uint_eq(d[2], 5);                      /* (16 + 24) / 8 */
    ck_assert_uint_eq(len, (16 + 24 + 305 + 7) & ~7u);
    ck_assert_mem_eq(buf, ext, 24);
    ck_assert_mem_eq(buf + 24, a, 5);
    ck_assert_mem_eq(buf + 29, b, 300);
    /* Zero-length pieces are fine. */
    iov[1].iov_len = 0;
    iov[1].iov_base = NULL;
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, 6, 0, 8, iov, 2, 16, &sig),
                     VMBR_OK);
    chan_free(c);
}
END_TEST

START_TEST(test_write_invalid_args)
{
    Chan *c = chan_open_new(3, 3, MEM_ORDERED, 0);
    uint8_t *big = g_malloc0(VMBR_PKT_MAX_LEN + 8);
    struct iovec iov = { big, 8 };
    bool sig;

    ck_assert_int_eq(vmbr_writer_write(&c->p.in, 6, 0, 0, NULL, 1, 0, &sig),
                     VMBR_INVALID);
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, 6, 0, 0, &iov, 1, 4, &sig),
                     VMBR_INVALID);
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, 6, 0, 0, &iov, 1, 16, &sig),
                     VMBR_INVALID);
    iov.iov_base = NULL;
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, 6, 0, 0, &iov, 1, 0, &sig),
                     VMBR_INVALID);
    /* Too long for the ring: could never fit, so not "full". */
    iov.iov_base = big;
    iov.iov_len = 2 * PG - 24;
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, 6, 0, 0, &iov, 1, 0, &sig),
                     VMBR_INVALID);
    /* Too long for len8. */
    iov.iov_len = VMBR_PKT_MAX_LEN;
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, 6, 0, 0, &iov, 1, 0, &sig),
                     VMBR_INVALID);
    /* Wrong role both ways. */
    iov.iov_len = 8;
    ck_assert_int_eq(vmbr_writer_write(&c->p.out, 6, 0, 0, &iov, 1, 0, &sig),
                     VMBR_INVALID);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.in, &(VmbRingPacket){ 0 }, NULL,
                                      0, NULL), VMBR_INVALID);
    ck_assert_int_eq(c->p.in.stats.full_events, 0);
    ck_assert(!vmbr_is_broken(&c->p.in));
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_WRITE_INDEX), 0);
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, 6, 0, 0, &iov, 1, 0, &sig),
                     VMBR_OK);
    g_free(big);
    chan_free(c);
}
END_TEST

START_TEST(test_packet_ring_size)
{
    ck_assert_uint_eq(vmbr_packet_ring_size(0, 0), 24);
    ck_assert_uint_eq(vmbr_packet_ring_size(0, 1), 32);
    ck_assert_uint_eq(vmbr_packet_ring_size(0, 8), 32);
    ck_assert_uint_eq(vmbr_packet_ring_size(0, 9), 40);
    ck_assert_uint_eq(vmbr_packet_ring_size(8, 9), 48);
    ck_assert_uint_eq(vmbr_packet_ring_size(0, VMBR_PKT_MAX_LEN - 16),
                      VMBR_PKT_MAX_LEN + 8);
    ck_assert_uint_eq(vmbr_packet_ring_size(0, VMBR_PKT_MAX_LEN - 15), 0);
    ck_assert_uint_eq(vmbr_packet_ring_size(VMBR_PKT_MAX_LEN, 0), 0);
    ck_assert_uint_eq(vmbr_packet_ring_size(SIZE_MAX, SIZE_MAX), 0);
}
END_TEST

/* Write wraps across the end of the data area over shuffled pages. */
START_TEST(test_write_wrap_shuffled)
{
    Chan *c = chan_new(3, 4, MEM_SHUFFLED, 10);
    uint32_t size = 3 * PG, start = size - 40, len;
    uint8_t *data = g_malloc(PG * 2), *buf = g_malloc(PG * 3), d[16];
    bool sig;

    g_set_indices(&c->gin, start, start);
    chan_open(c);
    fill_pattern(data, 2 * PG, 11);
    ck_assert_int_eq(host_write(&c->p.in, 6, 1, data, 2 * PG - 3, &sig),
                     VMBR_OK);
    ck_assert(sig);
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_WRITE_INDEX),
                      (start + 16 + 2 * PG + 8) % size);
    guest_iter_start(&c->gin);
    ck_assert(guest_peek(&c->gin, d, buf, 3 * PG, &len));
    ck_assert_uint_eq(len, 16 + 2 * PG);
    ck_assert_mem_eq(buf, data, 2 * PG - 3);
    g_free(data);
    g_free(buf);
    chan_free(c);
}
END_TEST

/* Exact boundary: a packet that leaves 8 bytes free fits, 8 more do not. */
START_TEST(test_write_full_boundary)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 11);
    uint8_t *data = g_malloc0(2 * PG);
    uint32_t space, w, len;
    uint8_t d[16];
    bool sig, room;

    ck_assert_int_eq(vmbr_writer_space(&c->p.in, &space), VMBR_OK);
    ck_assert_uint_eq(space, 2 * PG - 8);
    ck_assert_int_eq(host_write(&c->p.in, 6, 1, data, 1000, &sig), VMBR_OK);
    ck_assert_int_eq(vmbr_writer_space(&c->p.in, &space), VMBR_OK);
    ck_assert_uint_eq(space, 2 * PG - 1024 - 8);
    /* 7137 bytes of payload need 8 more bytes than there is room for. */
    ck_assert_uint_eq(vmbr_packet_ring_size(0, space - 24 + 1), space + 8);
    w = g_hdr(&c->gin, VMBR_HDR_WRITE_INDEX);
    ck_assert_int_eq(vmbr_writer_has_room(&c->p.in, 0, space - 24, &room),
                     VMBR_OK);
    ck_assert(room);
    ck_assert_int_eq(vmbr_writer_has_room(&c->p.in, 8, space - 32, &room),
                     VMBR_OK);
    ck_assert(room);
    ck_assert_int_eq(vmbr_writer_has_room(&c->p.in, 0, space - 24 + 1,
                                          &room), VMBR_OK);
    ck_assert(!room);
    ck_assert_int_eq(vmbr_writer_has_room(&c->p.in, 0, SIZE_MAX, &room),
                     VMBR_INVALID);
    ck_assert_int_eq(host_write(&c->p.in, 6, 2, data, space - 24 + 1, &sig),
                     VMBR_FULL);
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_WRITE_INDEX), w);
    ck_assert_uint_eq(c->p.in.stats.full_events, 1);
    ck_assert_int_eq(host_write(&c->p.in, 6, 3, data, space - 24, &sig),
                     VMBR_OK);
    ck_assert(!sig);
    ck_assert_int_eq(vmbr_writer_space(&c->p.in, &space), VMBR_OK);
    ck_assert_uint_eq(space, 0);
    ck_assert_uint_eq(g_bytes_to_write(&c->gin), 8);
    ck_assert_int_eq(host_write(&c->p.in, 6, 4, NULL, 0, &sig), VMBR_FULL);
    /* The guest frees the first packet; a small one fits again. */
    guest_iter_start(&c->gin);
    ck_assert(guest_peek(&c->gin, d, NULL, 0, &len));
    guest_next(&c->gin);
    guest_close(&c->gin);
    ck_assert_uint_eq(g_bytes_to_write(&c->gin), 1032);
    ck_assert_int_eq(host_write(&c->p.in, 6, 5, data, 1001, &sig), VMBR_FULL);
    ck_assert_int_eq(host_write(&c->p.in, 6, 5, data, 1000, &sig), VMBR_OK);
    ck_assert(!vmbr_is_broken(&c->p.in));
    g_free(data);
    chan_free(c);
}
END_TEST

/* ---- signalling ---------------------------------------------------------- */

/* Host writes: signal on empty -> non-empty only, and not when masked. */
START_TEST(test_write_signal_rule)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 12);
    uint8_t data[32] = { 0 }, d[16];
    uint32_t len;
    bool sig;

    ck_assert_int_eq(host_write(&c->p.in, 6, 1, data, 32, &sig), VMBR_OK);
    ck_assert(sig);
    ck_assert_int_eq(host_write(&c->p.in, 6, 2, data, 32, &sig), VMBR_OK);
    ck_assert(!sig);
    /* The guest reads one packet: ring still not empty. */
    guest_iter_start(&c->gin);
    ck_assert(guest_peek(&c->gin, d, NULL, 0, &len));
    guest_next(&c->gin);
    guest_close(&c->gin);
    ck_assert_int_eq(host_write(&c->p.in, 6, 3, data, 32, &sig), VMBR_OK);
    ck_assert(!sig);
    /* Drain: the next write signals again. */
    while (guest_peek(&c->gin, d, NULL, 0, &len)) {
        guest_next(&c->gin);
    }
    guest_close(&c->gin);
    ck_assert_int_eq(host_write(&c->p.in, 6, 4, data, 32, &sig), VMBR_OK);
    ck_assert(sig);
    /* Masked guest (polling): no signal even into an empty ring. */
    while (guest_peek(&c->gin, d, NULL, 0, &len)) {
        guest_next(&c->gin);
    }
    guest_close(&c->gin);
    g_set_hdr(&c->gin, VMBR_HDR_INTERRUPT_MASK, 1);
    ck_assert_int_eq(host_write(&c->p.in, 6, 5, data, 32, &sig), VMBR_OK);
    ck_assert(!sig);
    ck_assert_uint_eq(c->p.in.stats.signals, 2);
    /* NULL signal pointer is accepted. */
    ck_assert_int_eq(host_write(&c->p.in, 6, 6, data, 32, NULL), VMBR_OK);
    chan_free(c);
}
END_TEST

/* Host reads with interrupt_mask: guest does not signal; unmask re-checks. */
START_TEST(test_read_interrupt_mask)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 13);
    uint8_t data[16] = { 0 };
    VmbRingPacket pkt;
    bool sig, pending;

    vmbr_reader_mask(&c->p.out);
    ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_INTERRUPT_MASK), 1);
    guest_write_simple(&c->gout, 6, data, 16, &sig);
    ck_assert(!sig);
    ck_assert_int_eq(vmbr_reader_unmask(&c->p.out, &pending), VMBR_OK);
    ck_assert(pending);
    ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_INTERRUPT_MASK), 0);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                     VMBR_OK);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    /* Consumed but not committed: nothing pending for the host. */
    ck_assert_int_eq(vmbr_reader_unmask(&c->p.out, &pending), VMBR_OK);
    ck_assert(!pending);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, NULL), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_unmask(&c->p.out, &pending), VMBR_OK);
    ck_assert(!pending);
    guest_write_simple(&c->gout, 6, data, 16, &sig);
    ck_assert(sig);
    chan_free(c);
}
END_TEST

/*
 * Guest fills its outbound ring and sets pending_send_sz; the host drains
 * one packet per commit.  Exactly one commit signals: the one after which
 * the free space first exceeds pending_send_sz.
 */
static void check_read_pending(uint32_t feature, uint32_t pending_sz,
                               int expect_signals)
{
    Chan *c = chan_new(3, 3, MEM_SHUFFLED, 14);
    uint8_t data[500] = { 0 };
    VmbRingPacket pkt;
    uint32_t npk = 0, total = 16 + 504 + 8, size = 2 * PG;
    int signals = 0;
    bool sig;

    g_set_hdr(&c->gout, VMBR_HDR_FEATURE_BITS, feature);
    chan_open(c);
    while (guest_write_simple(&c->gout, 6, data, sizeof(data), &sig) == 0) {
        npk++;
    }
    ck_assert_uint_eq(npk, (size - 1) / total);
    g_set_hdr(&c->gout, VMBR_HDR_PENDING_SEND_SZ, pending_sz);
    for (uint32_t i = 0; i < npk; i++) {
        uint32_t free_before = g_bytes_to_write(&c->gout);

        ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                         VMBR_OK);
        ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
        ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
        if (sig) {
            signals++;
            ck_assert_uint_le(free_before, pending_sz);
            ck_assert_uint_gt(free_before + total, pending_sz);
        }
    }
    ck_assert_int_eq(signals, expect_signals);
    ck_assert_uint_eq(c->p.out.stats.signals, expect_signals);
    chan_free(c);
}

START_TEST(test_read_pending_send_sz)
{
    check_read_pending(1, 1000, 1);
    check_read_pending(1, 3 * 528, 1);      /* exact multiple: "<=" holds */
    check_read_pending(1, 2 * PG - 8, 1);   /* only a drained ring */
    check_read_pending(1, 2 * PG, 0);       /* never reached */
}
END_TEST

START_TEST(test_read_pending_feature_off)
{
    check_read_pending(0, 1000, 0);
    check_read_pending(0xfffffffe, 1000, 0);
}
END_TEST

START_TEST(test_read_pending_zero)
{
    check_read_pending(1, 0, 0);
}
END_TEST

/* Batched consumption: one commit over several packets still signals once. */
START_TEST(test_read_pending_batched)
{
    Chan *c = chan_open_new(3, 3, MEM_ORDERED, 0);
    uint8_t data[500] = { 0 };
    VmbRingPacket pkt;
    bool sig;

    while (guest_write_simple(&c->gout, 6, data, sizeof(data), &sig) == 0) {
    }
    g_set_hdr(&c->gout, VMBR_HDR_PENDING_SEND_SZ, 2000);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                         VMBR_OK);
        ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    }
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
    ck_assert(sig);
    /* A second commit with nothing new consumed says nothing. */
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
    ck_assert(!sig);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                     VMBR_OK);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
    ck_assert(!sig);
    chan_free(c);
}
END_TEST

/*
 * Host writer hits full: pending_send_sz is set to what it needs; the
 * guest reader signals once that much is free; the next write clears it.
 */
START_TEST(test_write_full_sets_pending)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 15);
    uint8_t data[1000] = { 0 }, d[16];
    uint32_t len, need = vmbr_packet_ring_size(0, sizeof(data));
    int n = 0, guest_signals = 0;
    bool sig;

    while (host_write(&c->p.in, 6, n, data, sizeof(data), &sig) == VMBR_OK) {
        n++;
    }
    ck_assert_int_eq(n, (2 * PG - 1) / need);
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_PENDING_SEND_SZ), need);
    ck_assert_uint_eq(c->p.in.stats.full_events, 1);
    guest_iter_start(&c->gin);
    for (int i = 0; i < n; i++) {
        ck_assert(guest_peek(&c->gin, d, NULL, 0, &len));
        guest_next(&c->gin);
        if (guest_close(&c->gin)) {
            guest_signals++;
            ck_assert_uint_gt(g_bytes_to_write(&c->gin), need);
            ck_assert_int_eq(i, 0);
        }
    }
    ck_assert_int_eq(guest_signals, 1);
    ck_assert_int_eq(host_write(&c->p.in, 6, 99, data, sizeof(data), &sig),
                     VMBR_OK);
    ck_assert(sig);
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_PENDING_SEND_SZ), 0);

    /* Explicit clear. */
    while (host_write(&c->p.in, 6, n, data, sizeof(data), &sig) == VMBR_OK) {
    }
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_PENDING_SEND_SZ), need);
    vmbr_writer_clear_pending(&c->p.in);
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_PENDING_SEND_SZ), 0);
    chan_free(c);
}
END_TEST

START_TEST(test_write_full_no_feature)
{
    Chan *c = chan_new(3, 3, MEM_ORDERED, 0);
    uint8_t data[1000] = { 0 };
    bool sig;

    g_set_hdr(&c->gin, VMBR_HDR_FEATURE_BITS, 0);
    chan_open(c);
    while (host_write(&c->p.in, 6, 0, data, sizeof(data), &sig) == VMBR_OK) {
    }
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_PENDING_SEND_SZ), 0);
    ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, sizeof(data), &sig),
                     VMBR_FULL);
    ck_assert_uint_eq(c->p.in.stats.full_events, 2);
    chan_free(c);
}
END_TEST

/* ---- many packets ---------------------------------------------------------- */

static void make_payload(uint8_t *b, uint32_t len, uint32_t seq)
{
    fill_pattern(b, len, seq * 2654435761u);
    if (len >= 4) {
        memcpy(b, &seq, 4);
    }
}

static void check_many_to_host(ChanMem mem, uint64_t seed)
{
    Chan *c = chan_open_new(9, 3, mem, seed);   /* 32 KiB */
    enum { NPKT = 4000, MAXLEN = 3000 };
    uint8_t *src = g_malloc(MAXLEN), *buf = g_malloc(MAXLEN + 16);
    uint32_t sent = 0, got = 0, lens[NPKT];
    VmbRingPacket pkt;
    size_t n;
    bool sig;

    rng_seed(seed);
    for (uint32_t i = 0; i < NPKT; i++) {
        lens[i] = rng_below(8) == 0 ? rng_below(MAXLEN + 1) : rng_below(200);
    }
    while (got < NPKT) {
        uint32_t burst = 1 + rng_below(20);

        while (sent < NPKT && burst--) {
            make_payload(src, lens[sent], sent);
            if (guest_write(&c->gout, 6, 0, sent, NULL, 0, src, lens[sent],
                            &sig) != 0) {
                break;
            }
            sent++;
        }
        burst = 1 + rng_below(20);
        while (burst--) {
            VmbRingStatus st = vmbr_reader_peek(&c->p.out, &pkt, buf,
                                                MAXLEN + 16, &n);
            if (st == VMBR_EMPTY) {
                break;
            }
            ck_assert_int_eq(st, VMBR_OK);
            ck_assert_uint_eq(pkt.trans_id, got);
            ck_assert_uint_eq(pkt.len, (16 + lens[got] + 7) & ~7u);
            make_payload(src, lens[got], got);
            ck_assert_mem_eq(buf + 16, src, lens[got]);
            ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
            got++;
            if (rng_below(3) == 0) {
                ck_assert_int_eq(vmbr_reader_commit(&c->p.out, NULL),
                                 VMBR_OK);
            }
        }
        ck_assert_int_eq(vmbr_reader_commit(&c->p.out, NULL), VMBR_OK);
    }
    ck_assert_uint_eq(c->p.out.stats.packets, NPKT);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                     VMBR_EMPTY);
    g_free(src);
    g_free(buf);
    chan_free(c);
}

START_TEST(test_many_to_host_shuffled)
{
    check_many_to_host(MEM_SHUFFLED, 0x1234);
}
END_TEST

START_TEST(test_many_to_host_separate)
{
    check_many_to_host(MEM_SEPARATE, 0x5678);
}
END_TEST

static void check_many_to_guest(ChanMem mem, uint64_t seed)
{
    Chan *c = chan_open_new(3, 9, mem, seed);
    enum { NPKT = 4000, MAXLEN = 3000 };
    uint8_t *src = g_malloc(MAXLEN), *buf = g_malloc(MAXLEN + 16), d[16];
    uint32_t sent = 0, got = 0, lens[NPKT], len;
    uint64_t tid;
    bool sig;

    rng_seed(seed);
    for (uint32_t i = 0; i < NPKT; i++) {
        lens[i] = rng_below(8) == 0 ? rng_below(MAXLEN + 1) : rng_below(200);
    }
    guest_iter_start(&c->gin);
    while (got < NPKT) {
        uint32_t burst = 1 + rng_below(20);

        while (sent < NPKT && burst--) {
            struct iovec iov[2];
            uint32_t cut;
            VmbRingStatus st;

            make_payload(src, lens[sent], sent);
            cut = rng_below(lens[sent] + 1);
            iov[0] = (struct iovec){ src, cut };
            iov[1] = (struct iovec){ src + cut, lens[sent] - cut };
            st = vmbr_writer_write(&c->p.in, 6, 0, sent, iov, 2, 0, &sig);
            if (st == VMBR_FULL) {
                break;
            }
            ck_assert_int_eq(st, VMBR_OK);
            sent++;
        }
        burst = 1 + rng_below(20);
        while (burst-- && guest_peek(&c->gin, d, buf, MAXLEN + 16, &len)) {
            memcpy(&tid, d + 8, 8);
            ck_assert_uint_eq(tid, got);
            ck_assert_uint_eq(len, (16 + lens[got] + 7) & ~7u);
            make_payload(src, lens[got], got);
            ck_assert_mem_eq(buf, src, lens[got]);
            guest_next(&c->gin);
            got++;
        }
        guest_close(&c->gin);
    }
    ck_assert_uint_eq(c->p.in.stats.packets, NPKT);
    ck_assert(!vmbr_is_broken(&c->p.in));
    g_free(src);
    g_free(buf);
    chan_free(c);
}

START_TEST(test_many_to_guest_shuffled)
{
    check_many_to_guest(MEM_SHUFFLED, 0x9abc);
}
END_TEST

START_TEST(test_many_to_guest_separate)
{
    check_many_to_guest(MEM_SEPARATE, 0xdef0);
}
END_TEST

/*
 * A well-behaved guest on its own thread, with real signals (counters
 * plus a condition variable): a lost wakeup in either direction shows as
 * a stall, which fails the test after a few seconds.
 */
typedef struct Doorbell {
    GMutex lock;
    GCond cond;
    unsigned count;
} Doorbell;

static void bell_init(Doorbell *b)
{
    g_mutex_init(&b->lock);
    g_cond_init(&b->cond);
    b->count = 0;
}

static void bell_clear(Doorbell *b)
{
    g_mutex_clear(&b->lock);
    g_cond_clear(&b->cond);
}

static unsigned bell_seen(Doorbell *b)
{
    unsigned v;

    g_mutex_lock(&b->lock);
    v = b->count;
    g_mutex_unlock(&b->lock);
    return v;
}

static void bell_ring(Doorbell *b)
{
    g_mutex_lock(&b->lock);
    b->count++;
    g_cond_broadcast(&b->cond);
    g_mutex_unlock(&b->lock);
}

/* Wait for a ring after @seen; false on a stall. */
static bool bell_wait(Doorbell *b, unsigned seen)
{
    gint64 end = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    bool ok = true;

    g_mutex_lock(&b->lock);
    while (b->count == seen && ok) {
        ok = g_cond_wait_until(&b->cond, &b->lock, end);
    }
    g_mutex_unlock(&b->lock);
    return ok;
}

enum { THR_NPKT = 20000, THR_MAXLEN = 1500 };

typedef struct Threaded {
    Chan *c;
    Doorbell to_host;       /* guest -> host signals */
    Doorbell to_guest;      /* host -> guest signals */
    uint32_t lens[THR_NPKT];
    volatile int failed;
    unsigned guest_signals, host_signals;
} Threaded;

static void thr_setup(Threaded *t, Chan *c, uint64_t seed)
{
    t->c = c;
    bell_init(&t->to_host);
    bell_init(&t->to_guest);
    rng_seed(seed);
    for (uint32_t i = 0; i < THR_NPKT; i++) {
        t->lens[i] = rng_below(THR_MAXLEN + 1);
    }
    t->failed = 0;
    t->guest_signals = t->host_signals = 0;
}

/* Guest thread: writes THR_NPKT packets to its outbound ring. */
static gpointer thr_guest_writer(gpointer opaque)
{
    Threaded *t = opaque;
    GRing *g = &t->c->gout;
    uint8_t *src = g_malloc(THR_MAXLEN);

    for (uint32_t i = 0; i < THR_NPKT && !t->failed; i++) {
        uint32_t total = ((16 + t->lens[i] + 7) & ~7u) + 8;
        bool sig;

        make_payload(src, t->lens[i], i);
        for (;;) {
            unsigned seen = bell_seen(&t->to_guest);

            if (guest_write(g, 6, 0, i, NULL, 0, src, t->lens[i],
                            &sig) == 0) {
                break;
            }
            /* Full: ask for a signal, re-check, then sleep (netvsc). */
            g_set_hdr(g, VMBR_HDR_PENDING_SEND_SZ, total);
            if (g_bytes_to_write(g) > total) {
                continue;
            }
            if (!bell_wait(&t->to_guest, seen)) {
                t->failed = 1;
                break;
            }
        }
        g_set_hdr(g, VMBR_HDR_PENDING_SEND_SZ, 0);
        if (sig) {
            t->guest_signals++;
            bell_ring(&t->to_host);
        }
    }
    g_free(src);
    return NULL;
}

START_TEST(test_threaded_guest_to_host)
{
    Threaded *t = g_new0(Threaded, 1);
    Chan *c = chan_open_new(5, 3, MEM_SHUFFLED, 70);
    uint8_t *buf = g_malloc(THR_MAXLEN + 16), *src = g_malloc(THR_MAXLEN);
    VmbRingPacket pkt;
    GThread *th;
    uint32_t got = 0;

    thr_setup(t, c, 71);
    th = g_thread_new("guest", thr_guest_writer, t);
    while (got < THR_NPKT && !t->failed) {
        unsigned seen = bell_seen(&t->to_host);
        bool sig, pending;
        VmbRingStatus st;

        /* Poll with the interrupt masked, as a host worker would. */
        vmbr_reader_mask(&c->p.out);
        while ((st = vmbr_reader_peek(&c->p.out, &pkt, buf, THR_MAXLEN + 16,
                                      NULL)) == VMBR_OK) {
            ck_assert_uint_eq(pkt.trans_id, got);
            ck_assert_uint_eq(pkt.len, (16 + t->lens[got] + 7) & ~7u);
            make_payload(src, t->lens[got], got);
            ck_assert_mem_eq(buf + 16, src, t->lens[got]);
            ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
            got++;
            if ((got & 3) == 0) {
                ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig),
                                 VMBR_OK);
                if (sig) {
                    t->host_signals++;
                    bell_ring(&t->to_guest);
                }
            }
        }
        ck_assert_int_eq(st, VMBR_EMPTY);
        ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
        if (sig) {
            t->host_signals++;
            bell_ring(&t->to_guest);
        }
        ck_assert_int_eq(vmbr_reader_unmask(&c->p.out, &pending), VMBR_OK);
        if (!pending && got < THR_NPKT) {
            if (!bell_wait(&t->to_host, seen)) {
                t->failed = 2;
            }
        }
    }
    g_thread_join(th);
    ck_assert_int_eq(t->failed, 0);
    ck_assert_uint_eq(got, THR_NPKT);
    ck_assert_uint_eq(c->p.out.stats.signals, t->host_signals);
    /* Both kinds of wakeup happened: empty -> data, and full -> room. */
    ck_assert_uint_gt(t->guest_signals, 0);
    ck_assert_uint_gt(t->host_signals, 0);
    bell_clear(&t->to_host);
    bell_clear(&t->to_guest);
    g_free(buf);
    g_free(src);
    g_free(t);
    chan_free(c);
}
END_TEST

/* Guest thread: reads THR_NPKT packets from its inbound ring. */
static gpointer thr_guest_reader(gpointer opaque)
{
    Threaded *t = opaque;
    GRing *g = &t->c->gin;
    uint8_t *buf = g_malloc(THR_MAXLEN + 16), *src = g_malloc(THR_MAXLEN);
    uint8_t d[16];
    uint32_t got = 0, len;
    uint64_t tid;

    guest_iter_start(g);
    while (got < THR_NPKT && !t->failed) {
        unsigned seen = bell_seen(&t->to_guest);

        while (guest_peek(g, d, buf, THR_MAXLEN, &len)) {
            memcpy(&tid, d + 8, 8);
            make_payload(src, t->lens[got], got);
            if (tid != got || len != ((16 + t->lens[got] + 7) & ~7u) ||
                memcmp(buf, src, t->lens[got])) {
                t->failed = 3;
                break;
            }
            guest_next(g);
            got++;
            if ((got & 3) == 0 && guest_close(g)) {
                t->guest_signals++;
                bell_ring(&t->to_host);
            }
        }
        if (guest_close(g)) {
            t->guest_signals++;
            bell_ring(&t->to_host);
        }
        /* Published and fenced: re-check before sleeping. */
        if (got < THR_NPKT && !guest_peek(g, d, NULL, 0, &len) &&
            !bell_wait(&t->to_guest, seen)) {
            t->failed = 4;
        }
    }
    g_free(buf);
    g_free(src);
    return NULL;
}

START_TEST(test_threaded_host_to_guest)
{
    Threaded *t = g_new0(Threaded, 1);
    Chan *c = chan_open_new(3, 5, MEM_SHUFFLED, 72);
    uint8_t *src = g_malloc(THR_MAXLEN);
    GThread *th;

    thr_setup(t, c, 73);
    th = g_thread_new("guest", thr_guest_reader, t);
    for (uint32_t i = 0; i < THR_NPKT && !t->failed; i++) {
        struct iovec iov = { src, t->lens[i] };

        make_payload(src, t->lens[i], i);
        for (;;) {
            unsigned seen = bell_seen(&t->to_host);
            bool sig;
            VmbRingStatus st = vmbr_writer_write(&c->p.in, 6, 0, i, &iov, 1,
                                                 0, &sig);

            if (st == VMBR_OK) {
                if (sig) {
                    t->host_signals++;
                    bell_ring(&t->to_guest);
                }
                break;
            }
            ck_assert_int_eq(st, VMBR_FULL);
            /* pending_send_sz is set and was re-checked: just sleep. */
            if (!bell_wait(&t->to_host, seen)) {
                t->failed = 5;
                break;
            }
        }
    }
    g_thread_join(th);
    ck_assert_int_eq(t->failed, 0);
    ck_assert_uint_eq(c->p.in.stats.packets, THR_NPKT);
    ck_assert_uint_eq(c->p.in.stats.signals, t->host_signals);
    ck_assert_uint_gt(t->guest_signals, 0);
    ck_assert_uint_gt(t->host_signals, 0);
    ck_assert_uint_gt(c->p.in.stats.full_events, 0);
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_PENDING_SEND_SZ), 0);
    bell_clear(&t->to_host);
    bell_clear(&t->to_guest);
    g_free(src);
    g_free(t);
    chan_free(c);
}
END_TEST

/* ---- GPA direct and transfer pages -------------------------------------- */

typedef struct PktBuf {
    uint8_t b[1024];
    uint32_t len;
} PktBuf;

static void pb_put32(PktBuf *p, uint32_t off, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p->b + off, &v, 4);
}

static void pb_put64(PktBuf *p, uint32_t off, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p->b + off, &v, 8);
}

/*
 * A GPA-direct packet with the ranges {count, offset} given; PFNs are
 * 0x1000 * range + page.  Returns the ext length (ranges area).
 */
static void build_gpa(PktBuf *p, const uint32_t (*r)[2], uint32_t nr,
                      uint32_t payload)
{
    uint32_t pos = 24;

    memset(p, 0, sizeof(*p));
    pb_put32(p, 20, nr);
    for (uint32_t i = 0; i < nr; i++) {
        uint32_t npfn = (r[i][1] + r[i][0] + PG - 1) / PG;

        pb_put32(p, pos, r[i][0]);
        pb_put32(p, pos + 4, r[i][1]);
        pos += 8;
        for (uint32_t j = 0; j < npfn; j++) {
            pb_put64(p, pos, 0x1000ull * (i + 1) + j);
            pos += 8;
        }
    }
    g_desc(p->b, VMBR_PKT_DATA_GPA_DIRECT, pos / 8, (pos + payload + 7) / 8,
           0, 1);
    p->len = (pos + payload + 7) & ~7u;
}

static void set_off8(PktBuf *p, uint16_t off8)
{
    uint16_t v = GUINT16_TO_LE(off8);

    memcpy(p->b + 2, &v, 2);
}

static void set_len8(PktBuf *p, uint16_t len8)
{
    uint16_t v = GUINT16_TO_LE(len8);

    memcpy(p->b + 4, &v, 2);
}

START_TEST(test_gpa_direct_parse)
{
    static const uint32_t ranges[][2] = {
        { 4096, 0 }, { 5000, 100 }, { 1, 4095 }, { 2, 4095 }, { 8192, 0 },
    };
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 16);
    PktBuf p;
    uint8_t buf[1024];
    VmbRingPacket pkt;
    VmbRingGpaDirect gd;
    VmbRingGpaRange r;
    size_t n;
    bool sig;
    uint32_t i = 0;
    static const uint32_t want_pfns[] = { 1, 2, 1, 2, 2 };

    /* Through the ring, as the guest sends it (ext = ranges). */
    build_gpa(&p, ranges, G_N_ELEMENTS(ranges), 40);
    guest_write(&c->gout, VMBR_PKT_DATA_GPA_DIRECT, 0, 1, p.b + 16,
                p.b[2] * 8 - 16, "0123456789012345678901234567890123456789",
                40, &sig);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, sizeof(buf), &n),
                     VMBR_OK);
    ck_assert_uint_eq(pkt.type, VMBR_PKT_DATA_GPA_DIRECT);
    ck_assert_int_eq(vmbr_parse_gpa_direct(buf, n, &gd), VMBR_OK);
    ck_assert_uint_eq(gd.range_count, 5);
    ck_assert_uint_eq(gd.pfn_total, 8);
    ck_assert_uint_eq(gd.byte_total, 4096 + 5000 + 1 + 2 + 8192);
    while (vmbr_gpa_direct_next(&gd, &r)) {
        ck_assert_uint_eq(r.byte_count, ranges[i][0]);
        ck_assert_uint_eq(r.byte_offset, ranges[i][1]);
        ck_assert_uint_eq(r.pfn_count, want_pfns[i]);
        for (uint32_t j = 0; j < r.pfn_count; j++) {
            ck_assert_uint_eq(vmbr_gpa_range_pfn(&r, j),
                              0x1000ull * (i + 1) + j);
        }
        ck_assert_uint_eq(vmbr_gpa_range_pfn(&r, r.pfn_count), 0);
        i++;
    }
    ck_assert_uint_eq(i, 5);
    ck_assert(!vmbr_gpa_direct_next(&gd, &r));
    ck_assert_mem_eq(buf + pkt.data_offset, "0123456789", 10);

    /* Zero ranges is accepted. */
    build_gpa(&p, ranges, 0, 0);
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_OK);
    ck_assert(!vmbr_gpa_direct_next(&gd, &r));
    chan_free(c);
}
END_TEST

START_TEST(test_gpa_direct_malicious)
{
    static const uint32_t ok[][2] = { { 5000, 100 }, { 10, 0 } };
    PktBuf p;
    VmbRingGpaDirect gd;
    uint32_t bad[1][2];

    build_gpa(&p, ok, 2, 8);
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_OK);
    /* The ranges area ends at 24 + 8 + 16 + 8 + 8 = 64. */
    ck_assert_uint_eq(p.b[2], 8);

    pb_put32(&p, 20, 3);                /* one range more than present */
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_MALFORMED);
    pb_put32(&p, 20, 0xffffffffu);
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_MALFORMED);
    pb_put32(&p, 20, 0x10000000u);
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_MALFORMED);
    ck_assert(!vmbr_gpa_direct_next(&gd, &(VmbRingGpaRange){ 0 }));
    pb_put32(&p, 20, 2);

    set_off8(&p, 7);                    /* ranges run past offset8 */
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_MALFORMED);
    set_off8(&p, 2);                    /* offset8 inside the fixed header */
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_MALFORMED);
    set_off8(&p, 9);
    set_len8(&p, 8);                    /* offset8 > len8 */
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_MALFORMED);
    set_len8(&p, 9);
    set_off8(&p, 8);
    /* The copy is shorter than the ranges area. */
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, 63, &gd), VMBR_MALFORMED);
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, 64, &gd), VMBR_OK);
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, 23, &gd), VMBR_MALFORMED);
    ck_assert_int_eq(vmbr_parse_gpa_direct(NULL, 100, &gd), VMBR_MALFORMED);
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, 64, NULL), VMBR_INVALID);

    /* Per-range checks. */
    bad[0][0] = 0;
    bad[0][1] = 0;
    build_gpa(&p, bad, 1, 0);
    pb_put32(&p, 24, 0);
    set_off8(&p, 5);
    set_len8(&p, 5);
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, 40, &gd), VMBR_MALFORMED);
    bad[0][0] = 10;
    bad[0][1] = 4095;       /* 2 pages */
    build_gpa(&p, bad, 1, 0);
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_OK);
    pb_put32(&p, 28, 4096); /* offset beyond the first page */
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_MALFORMED);
    pb_put32(&p, 28, 4095);
    pb_put32(&p, 24, 0xffffffffu);  /* needs ~1M PFNs */
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_MALFORMED);
    pb_put32(&p, 24, 4098);         /* one PFN short */
    ck_assert_int_eq(vmbr_parse_gpa_direct(p.b, p.len, &gd), VMBR_MALFORMED);

    /* Random garbage never crashes and never yields an out-of-copy range. */
    rng_seed(99);
    for (int it = 0; it < 20000; it++) {
        uint32_t len = rng_below(200);
        VmbRingGpaRange r;

        for (uint32_t k = 0; k < sizeof(p.b); k++) {
            p.b[k] = (uint8_t)rng_next();
        }
        if (it & 1) {
            pb_put32(&p, 20, rng_below(6));
            set_off8(&p, 3 + rng_below(24));
            set_len8(&p, 3 + rng_below(30));
        }
        if (vmbr_parse_gpa_direct(p.b, len, &gd) == VMBR_OK) {
            while (vmbr_gpa_direct_next(&gd, &r)) {
                ck_assert(r.pfns >= p.b);
                ck_assert_uint_le((size_t)(r.pfns - p.b) + r.pfn_count * 8,
                                  len);
                ck_assert_uint_lt(r.byte_offset, PG);
            }
        }
    }
}
END_TEST

static void build_xfer(PktBuf *p, uint16_t id, uint32_t nr, uint32_t payload)
{
    uint32_t pos = 24 + nr * 8;

    memset(p, 0, sizeof(*p));
    p->b[16] = (uint8_t)id;
    p->b[17] = (uint8_t)(id >> 8);
    p->b[18] = 1;
    pb_put32(p, 20, nr);
    for (uint32_t i = 0; i < nr; i++) {
        pb_put32(p, 24 + i * 8, 100 * (i + 1));
        pb_put32(p, 28 + i * 8, 4096 * i + 8);
    }
    g_desc(p->b, VMBR_PKT_DATA_XFER_PAGES, pos / 8, (pos + payload + 7) / 8,
           0, 2);
    p->len = (pos + payload + 7) & ~7u;
}

START_TEST(test_xfer_pages_parse)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 17);
    PktBuf p;
    VmbRingXferPages xp;
    uint32_t bc, bo, len;
    uint8_t d[16], buf[256];
    bool sig;

    build_xfer(&p, 0xcafe, 3, 16);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, p.len, &xp), VMBR_OK);
    ck_assert_uint_eq(xp.pageset_id, 0xcafe);
    ck_assert_uint_eq(xp.sender_owns_set, 1);
    ck_assert_uint_eq(xp.range_count, 3);
    for (uint32_t i = 0; i < 3; i++) {
        vmbr_xfer_range(&xp, i, &bc, &bo);
        ck_assert_uint_eq(bc, 100 * (i + 1));
        ck_assert_uint_eq(bo, 4096 * i + 8);
    }
    vmbr_xfer_range(&xp, 3, &bc, &bo);
    ck_assert_uint_eq(bc | bo, 0);

    /* Written by the host (netvsc receive path), parsed by the guest. */
    struct iovec iov[2] = { { p.b + 16, 32 }, { "payload", 7 } };
    ck_assert_int_eq(vmbr_writer_write(&c->p.in, VMBR_PKT_DATA_XFER_PAGES, 0,
                                       2, iov, 2, 32, &sig), VMBR_OK);
    guest_iter_start(&c->gin);
    ck_assert(guest_peek(&c->gin, d, buf + 16, sizeof(buf) - 16, &len));
    memcpy(buf, d, 16);
    ck_assert_int_eq(vmbr_parse_xfer_pages(buf, len, &xp), VMBR_OK);
    ck_assert_uint_eq(xp.range_count, 3);
    ck_assert_mem_eq(buf + 48, "payload", 7);
    chan_free(c);
}
END_TEST

START_TEST(test_xfer_pages_malicious)
{
    PktBuf p;
    VmbRingXferPages xp;

    build_xfer(&p, 1, 2, 0);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, p.len, &xp), VMBR_OK);
    pb_put32(&p, 20, 3);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, p.len, &xp), VMBR_MALFORMED);
    pb_put32(&p, 20, 0xffffffffu);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, p.len, &xp), VMBR_MALFORMED);
    ck_assert_uint_eq(xp.range_count, 0);
    pb_put32(&p, 20, 2);
    pb_put32(&p, 32, 0x80000000u);      /* offset + count overflows */
    pb_put32(&p, 36, 0x80000000u);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, p.len, &xp), VMBR_MALFORMED);
    pb_put32(&p, 36, 0x7fffffffu);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, p.len, &xp), VMBR_OK);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, 39, &xp), VMBR_MALFORMED);
    set_off8(&p, 2);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, p.len, &xp), VMBR_MALFORMED);
    set_off8(&p, 6);
    set_len8(&p, 5);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, p.len, &xp), VMBR_MALFORMED);
    ck_assert_int_eq(vmbr_parse_xfer_pages(NULL, 0, &xp), VMBR_MALFORMED);
    ck_assert_int_eq(vmbr_parse_xfer_pages(p.b, 48, NULL), VMBR_INVALID);
}
END_TEST

/* ---- hostile guest: reader side ----------------------------------------- */

static void expect_broken_reader(Chan *c, VmbRingError err)
{
    VmbRingPacket pkt;
    uint8_t buf[64];
    bool b;
    uint32_t a;

    ck_assert(vmbr_is_broken(&c->p.out));
    ck_assert_int_eq(vmbr_error(&c->p.out), err);
    ck_assert_str_ne(vmbr_error_str(err), "unknown");
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, 64, NULL),
                     VMBR_CORRUPT);
    ck_assert_int_eq(vmbr_reader_copy(&c->p.out, 0, buf, 1), VMBR_CORRUPT);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_CORRUPT);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &b), VMBR_CORRUPT);
    ck_assert_int_eq(vmbr_reader_avail(&c->p.out, &a), VMBR_CORRUPT);
    ck_assert_int_eq(vmbr_reader_unmask(&c->p.out, &b), VMBR_CORRUPT);
    ck_assert(!b);
}

static VmbRingStatus peek_once(Chan *c)
{
    VmbRingPacket pkt;
    uint8_t buf[256];

    return vmbr_reader_peek(&c->p.out, &pkt, buf, sizeof(buf), NULL);
}

START_TEST(test_hostile_write_index_range)
{
    static const uint32_t bad[] = { 2 * PG, 2 * PG + 8, 0xfffffff8u };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 20 + i);

        g_set_hdr(&c->gout, VMBR_HDR_WRITE_INDEX, bad[i]);
        ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
        expect_broken_reader(c, VMBR_ERR_WRITE_INDEX);
        chan_free(c);
    }
}
END_TEST

START_TEST(test_hostile_write_index_unaligned)
{
    for (uint32_t off = 1; off < 8; off++) {
        Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 30 + off);
        uint8_t data[32] = { 0 };
        bool sig;

        guest_write_simple(&c->gout, 6, data, 32, &sig);
        g_set_hdr(&c->gout, VMBR_HDR_WRITE_INDEX, 56 + off);
        ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
        expect_broken_reader(c, VMBR_ERR_WRITE_INDEX);
        chan_free(c);
    }
}
END_TEST

/* Fewer bytes than a descriptor + trailer. */
START_TEST(test_hostile_short)
{
    for (uint32_t w = 8; w < 24; w += 8) {
        Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 40);

        g_set_hdr(&c->gout, VMBR_HDR_WRITE_INDEX, w);
        ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
        expect_broken_reader(c, VMBR_ERR_SHORT);
        chan_free(c);
    }
}
END_TEST

/* Rewrite a field of the descriptor at data offset @pos. */
static void g_poke16(GRing *g, uint32_t pos, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    g_put(g, pos, &v, 2);
}

START_TEST(test_hostile_offset8)
{
    for (uint16_t o = 0; o < 2; o++) {
        Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 41);
        uint8_t data[32] = { 0 };
        bool sig;

        guest_write_simple(&c->gout, 6, data, 32, &sig);
        g_poke16(&c->gout, 2, o);
        ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
        expect_broken_reader(c, VMBR_ERR_DESC_OFFSET);
        chan_free(c);
    }
}
END_TEST

START_TEST(test_hostile_len8_below_offset8)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 42);
    uint8_t data[32] = { 0 };
    bool sig;

    guest_write(&c->gout, 6, 0, 0, data, 16, data, 16, &sig);
    g_poke16(&c->gout, 4, 3);   /* offset8 = 4 */
    ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
    expect_broken_reader(c, VMBR_ERR_DESC_LEN);
    chan_free(c);
}
END_TEST

START_TEST(test_hostile_len8_beyond_avail)
{
    static const uint16_t bad[] = { 7, 8, 1024, 2 * PG / 8, 0xffff };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 43);
        uint8_t data[32] = { 0 };
        bool sig;

        /* 48 bytes packet + 8 trailer available: len8 6 is the maximum. */
        guest_write_simple(&c->gout, 6, data, 32, &sig);
        g_poke16(&c->gout, 4, 6);
        ck_assert_int_eq(peek_once(c), VMBR_OK);
        g_poke16(&c->gout, 4, bad[i]);
        ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
        expect_broken_reader(c, VMBR_ERR_DESC_OVERRUN);
        chan_free(c);
    }
}
END_TEST

/* A bad descriptor that straddles the end of the data area. */
START_TEST(test_hostile_desc_across_wrap)
{
    Chan *c = chan_new(3, 3, MEM_SHUFFLED, 44);
    uint32_t size = 2 * PG;
    uint8_t data[32] = { 0 };
    bool sig;

    g_set_indices(&c->gout, size - 8, size - 8);
    chan_open(c);
    guest_write_simple(&c->gout, 6, data, 32, &sig);
    g_poke16(&c->gout, size - 8 + 4, 0x100);    /* len8 in the first page */
    ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
    expect_broken_reader(c, VMBR_ERR_DESC_OVERRUN);
    chan_free(c);
}
END_TEST

/*
 * write_index moved back between peek/next and commit.  Before commit it
 * is caught as such.  After commit nothing can tell it apart from a guest
 * that wrote into the space just freed (legitimate), so the commit goes
 * through and the garbage is caught at the next peek.
 */
START_TEST(test_hostile_write_index_moved_back)
{
    for (int at_commit = 0; at_commit < 2; at_commit++) {
        Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 45);
        uint8_t data[32] = { 0 };
        VmbRingPacket pkt;
        bool sig;

        guest_write_simple(&c->gout, 6, data, 32, &sig);
        guest_write_simple(&c->gout, 6, data, 32, &sig);
        g_set_hdr(&c->gout, VMBR_HDR_PENDING_SEND_SZ, 100);
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0,
                                              NULL), VMBR_OK);
            ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
        }
        g_set_hdr(&c->gout, VMBR_HDR_WRITE_INDEX, 56);
        if (at_commit) {
            ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
            ck_assert(!sig);
            ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_READ_INDEX), 112);
            ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
            expect_broken_reader(c, VMBR_ERR_DESC_OFFSET);
        } else {
            ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
            expect_broken_reader(c, VMBR_ERR_INDEX_MOVED);
            ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_READ_INDEX), 0);
        }
        chan_free(c);
    }
}
END_TEST

/*
 * After a commit the guest may reuse the freed space at once, so any
 * write_index is legitimate then, including one "behind" the old read
 * index.  This is the case the threaded test first found.
 */
START_TEST(test_commit_guest_refilled)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 47);
    uint8_t data[1000] = { 0 };
    VmbRingPacket pkt;
    uint32_t n = 0;
    bool sig;

    while (guest_write_simple(&c->gout, 6, data, sizeof(data), &sig) == 0) {
        n++;
    }
    g_set_hdr(&c->gout, VMBR_HDR_PENDING_SEND_SZ, 1032);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                         VMBR_OK);
        ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    }
    /*
     * The guest refills the moment read_index moves, before commit looks
     * at write_index.  Single-threaded, that is simulated by storing the
     * very value commit is about to publish, then refilling, then
     * committing.
     */
    g_set_hdr(&c->gout, VMBR_HDR_READ_INDEX,
              g_hdr(&c->gout, VMBR_HDR_WRITE_INDEX));
    while (guest_write_simple(&c->gout, 6, data, sizeof(data), &sig) == 0) {
    }
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
    ck_assert(!sig);    /* it used the space: it was not waiting */
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                     VMBR_OK);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
    ck_assert(sig);
    ck_assert(!vmbr_is_broken(&c->p.out));
    chan_free(c);
}
END_TEST

/* The guest scribbles over read_index (a host field): we ignore it. */
START_TEST(test_hostile_read_index_on_read_ring)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 46);
    uint8_t data[32] = { 0 };
    VmbRingPacket pkt;
    bool sig;

    guest_write_simple(&c->gout, 6, data, 32, &sig);
    guest_write_simple(&c->gout, 6, data, 32, &sig);
    g_set_hdr(&c->gout, VMBR_HDR_READ_INDEX, 3);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                     VMBR_OK);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);
    ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_READ_INDEX), 56);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, NULL, 0, NULL),
                     VMBR_OK);
    chan_free(c);
}
END_TEST

/* ---- hostile guest: writer side ----------------------------------------- */

static void expect_broken_writer(Chan *c, VmbRingError err)
{
    uint32_t space = 1;
    bool sig = true;
    uint8_t data[8] = { 0 };

    ck_assert(vmbr_is_broken(&c->p.in));
    ck_assert_int_eq(vmbr_error(&c->p.in), err);
    ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig), VMBR_CORRUPT);
    ck_assert(!sig);
    ck_assert_int_eq(vmbr_writer_space(&c->p.in, &space), VMBR_CORRUPT);
    ck_assert_uint_eq(space, 0);
}

START_TEST(test_hostile_read_index_bad)
{
    static const uint32_t bad[] = { 4, 2 * PG, 2 * PG + 8, 0xffffffffu, 1 };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 50 + i);
        uint8_t data[8] = { 0 };
        bool sig;

        ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig), VMBR_OK);
        g_set_hdr(&c->gin, VMBR_HDR_READ_INDEX, bad[i]);
        if (i & 1) {
            ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig),
                             VMBR_CORRUPT);
        } else {
            ck_assert_int_eq(vmbr_writer_space(&c->p.in, NULL), VMBR_CORRUPT);
        }
        expect_broken_writer(c, VMBR_ERR_READ_INDEX);
        chan_free(c);
    }
}
END_TEST

START_TEST(test_hostile_read_index_moved)
{
    for (int beyond = 0; beyond < 2; beyond++) {
        Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 55);
        uint8_t data[8] = { 0 };
        bool sig;

        ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig), VMBR_OK);
        ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig), VMBR_OK);
        /* The guest reads the first packet... */
        g_set_hdr(&c->gin, VMBR_HDR_READ_INDEX, 40);
        ck_assert_int_eq(vmbr_writer_space(&c->p.in, NULL), VMBR_OK);
        /* ...then moves back, or claims to have read unwritten data. */
        g_set_hdr(&c->gin, VMBR_HDR_READ_INDEX, beyond ? 88 : 0);
        ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig),
                         VMBR_CORRUPT);
        expect_broken_writer(c, VMBR_ERR_INDEX_MOVED);
        chan_free(c);
    }
}
END_TEST

/* The guest scribbles over write_index (a host field): we ignore it. */
START_TEST(test_hostile_write_index_on_write_ring)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 56);
    uint8_t data[8] = { 0 };
    bool sig;

    ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig), VMBR_OK);
    g_set_hdr(&c->gin, VMBR_HDR_WRITE_INDEX, 5);
    ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig), VMBR_OK);
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_WRITE_INDEX), 64);
    chan_free(c);
}
END_TEST

/* ---- broken latch, save/restore ------------------------------------------ */

START_TEST(test_broken_latch)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 60);
    uint8_t data[32] = { 0 };
    bool sig;

    guest_write_simple(&c->gout, 6, data, 32, &sig);
    g_poke16(&c->gout, 2, 1);
    ck_assert_int_eq(peek_once(c), VMBR_CORRUPT);
    /* The guest repairs the ring: still broken. */
    g_poke16(&c->gout, 2, 2);
    for (int i = 0; i < 3; i++) {
        expect_broken_reader(c, VMBR_ERR_DESC_OFFSET);
    }
    vmbr_reader_mask(&c->p.out);
    ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_INTERRUPT_MASK), 0);
    ck_assert_uint_eq(c->p.out.stats.corrupt_events, 1);
    /* The writer ring of the same channel is unaffected. */
    ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig), VMBR_OK);
    /* Re-init (channel reopened) clears the latch. */
    chan_open(c);
    ck_assert_int_eq(peek_once(c), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, &sig), VMBR_OK);

    /* Writer latch too. */
    g_set_hdr(&c->gin, VMBR_HDR_READ_INDEX, 4);
    ck_assert_int_eq(host_write(&c->p.in, 6, 0, data, 8, &sig), VMBR_CORRUPT);
    g_set_hdr(&c->gin, VMBR_HDR_READ_INDEX, 0);
    expect_broken_writer(c, VMBR_ERR_READ_INDEX);
    vmbr_writer_clear_pending(&c->p.in);
    ck_assert_str_eq(vmbr_status_str(VMBR_CORRUPT), "corrupt");
    ck_assert_str_eq(vmbr_error_str(VMBR_ERR__COUNT), "unknown");
    chan_free(c);
}
END_TEST

START_TEST(test_save_restore)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 61);
    uint8_t data[64], buf[128], d[16];
    VmbRingSaved so, si;
    VmbRingPacket pkt;
    uint32_t len;
    bool sig;

    for (uint32_t i = 0; i < 4; i++) {
        make_payload(data, 64, i);
        guest_write(&c->gout, 6, 0, i, NULL, 0, data, 64, &sig);
    }
    /* Consume two, commit one. */
    peek_once(c);
    vmbr_reader_next(&c->p.out);
    vmbr_reader_commit(&c->p.out, NULL);
    peek_once(c);
    vmbr_reader_next(&c->p.out);
    peek_once(c);                       /* peeked, not consumed: not saved */
    host_write(&c->p.in, 6, 100, data, 64, &sig);
    while (host_write(&c->p.in, 6, 101, data, 64, &sig) == VMBR_OK) {
    }
    vmbr_save(&c->p.out, &so);
    vmbr_save(&c->p.in, &si);
    ck_assert_uint_eq(si.flags, VMBR_SAVED_PENDING_SET);

    /* "Destination": fresh rings over the same memory. */
    memset(&c->p, 0xa5, sizeof(c->p));
    chan_open(c);
    ck_assert_int_eq(vmbr_load(&c->p.out, &so), VMBR_OK);
    ck_assert_int_eq(vmbr_load(&c->p.in, &si), VMBR_OK);
    ck_assert_int_eq(vmbr_reader_peek(&c->p.out, &pkt, buf, sizeof(buf),
                                      NULL), VMBR_OK);
    ck_assert_uint_eq(pkt.trans_id, 2);
    vmbr_reader_next(&c->p.out);
    ck_assert_int_eq(vmbr_reader_commit(&c->p.out, NULL), VMBR_OK);
    ck_assert_uint_eq(g_hdr(&c->gout, VMBR_HDR_READ_INDEX), 3 * 88);
    /* Writer: guest frees space, the restored pending flag clears. */
    guest_iter_start(&c->gin);
    ck_assert(guest_peek(&c->gin, d, buf, sizeof(buf), &len));
    guest_next(&c->gin);
    guest_close(&c->gin);
    ck_assert_int_eq(host_write(&c->p.in, 6, 102, data, 64, &sig), VMBR_OK);
    ck_assert_uint_eq(g_hdr(&c->gin, VMBR_HDR_PENDING_SEND_SZ), 0);
    chan_free(c);
}
END_TEST

START_TEST(test_restore_bad_state)
{
    Chan *c = chan_open_new(3, 3, MEM_SHUFFLED, 62);
    uint8_t data[64] = { 0 };
    VmbRingSaved so, si, s;
    bool sig;

    guest_write(&c->gout, 6, 0, 0, NULL, 0, data, 64, &sig);
    host_write(&c->p.in, 6, 0, data, 64, &sig);
    vmbr_save(&c->p.out, &so);
    vmbr_save(&c->p.in, &si);

    /* Inconsistent in itself: refused, ring untouched. */
    s = so;
    s.role = VMBR_ROLE_WRITER;
    ck_assert_int_eq(vmbr_load(&c->p.out, &s), VMBR_INVALID);
    s = so;
    s.priv_index = 4;
    ck_assert_int_eq(vmbr_load(&c->p.out, &s), VMBR_INVALID);
    s = so;
    s.pub_index = 2 * PG;
    ck_assert_int_eq(vmbr_load(&c->p.out, &s), VMBR_INVALID);
    s = so;
    s.flags = 0x80;
    ck_assert_int_eq(vmbr_load(&c->p.out, &s), VMBR_INVALID);
    s = so;
    s.error = 1000;
    ck_assert_int_eq(vmbr_load(&c->p.out, &s), VMBR_INVALID);
    s = si;
    s.pub_index = 8;
    ck_assert_int_eq(vmbr_load(&c->p.in, &s), VMBR_INVALID);
    ck_assert_int_eq(vmbr_load(&c->p.in, NULL), VMBR_INVALID);
    ck_assert(!vmbr_is_broken(&c->p.out));
    ck_assert(!vmbr_is_broken(&c->p.in));

    /* Disagrees with the ring: latched broken. */
    s = so;
    s.priv_index = 200;     /* beyond what the guest wrote */
    ck_assert_int_eq(vmbr_load(&c->p.out, &s), VMBR_CORRUPT);
    ck_assert_int_eq(vmbr_error(&c->p.out), VMBR_ERR_SAVED_STATE);
    chan_open(c);
    s = so;
    s.pub_index = s.priv_index = 8;     /* read_index in memory is 0 */
    ck_assert_int_eq(vmbr_load(&c->p.out, &s), VMBR_CORRUPT);
    s = si;
    s.pub_index = s.priv_index = 0;     /* write_index in memory is 88 */
    ck_assert_int_eq(vmbr_load(&c->p.in, &s), VMBR_CORRUPT);
    ck_assert_int_eq(vmbr_error(&c->p.in), VMBR_ERR_SAVED_STATE);

    /* A state saved broken restores broken. */
    chan_open(c);
    s = so;
    s.error = VMBR_ERR_DESC_LEN;
    ck_assert_int_eq(vmbr_load(&c->p.out, &s), VMBR_CORRUPT);
    ck_assert_int_eq(vmbr_error(&c->p.out), VMBR_ERR_DESC_LEN);
    chan_free(c);
}
END_TEST

START_TEST(test_stats)
{
    Chan *c = chan_open_new(3, 3, MEM_ORDERED, 0);
    uint8_t data[100] = { 0 };
    bool sig;

    for (int i = 0; i < 3; i++) {
        guest_write_simple(&c->gout, 6, data, 100, &sig);
        host_write(&c->p.in, 6, 0, data, 100, &sig);
    }
    for (int i = 0; i < 3; i++) {
        peek_once(c);
        vmbr_reader_next(&c->p.out);
    }
    vmbr_reader_commit(&c->p.out, NULL);
    ck_assert_uint_eq(c->p.out.stats.packets, 3);
    ck_assert_uint_eq(c->p.out.stats.bytes, 3 * 128);
    ck_assert_uint_eq(c->p.in.stats.packets, 3);
    ck_assert_uint_eq(c->p.in.stats.bytes, 3 * 128);
    ck_assert_uint_eq(c->p.in.stats.signals, 1);
    ck_assert_uint_eq(c->p.in.stats.full_events, 0);
    ck_assert_uint_eq(c->p.out.stats.corrupt_events, 0);
    chan_free(c);
}
END_TEST

/* ---- random and concurrent hostility ------------------------------------- */

/*
 * Random garbage in headers and data, with random host operations: every
 * result is one of the documented ones, returned packets are in bounds,
 * and nothing crashes (run under ASan/valgrind to make that stronger).
 */
START_TEST(test_fuzz_random_rings)
{
    Chan *c = chan_new(3, 3, MEM_SEPARATE, 0);
    uint8_t buf[3 * PG], data[300] = { 0 };
    VmbRingPacket pkt;
    size_t n;
    bool sig;
    int oks = 0;

    rng_seed(4242);
    for (int it = 0; it < 3000; it++) {
        GRing *g = rng_below(2) ? &c->gout : &c->gin;
        uint32_t what = rng_below(8);

        if (what == 0) {
            /* Random header field, biased to small aligned values. */
            uint32_t v = rng_below(2) ? rng_below(2 * PG + 16) & ~7u
                                      : (uint32_t)rng_next();
            static const unsigned offs[] = { 0, 4, 8, 12, 64 };
            g_set_hdr(g, offs[rng_below(5)], v);
        } else if (what == 1) {
            for (int k = 0; k < 16; k++) {
                *g_byte(g, rng_below(g->size)) = (uint8_t)rng_next();
            }
        } else if (what < 6) {
            guest_write_simple(&c->gout, 6, data, rng_below(300), &sig);
        }
        if (rng_below(50) == 0 || vmbr_is_broken(&c->p.out) ||
            vmbr_is_broken(&c->p.in) || c->p.out.role == VMBR_ROLE_NONE) {
            VmbRingStatus st;

            if (rng_below(4) == 0) {
                /* Sometimes the guest "reopens" with sane indices. */
                g_set_indices(&c->gout, 0, 0);
                g_set_indices(&c->gin, 0, 0);
            }
            st = vmbr_pair_init(&c->p, c->pages, 6, 3);
            ck_assert(st == VMBR_OK || st == VMBR_CORRUPT);
        }
        switch (vmbr_reader_peek(&c->p.out, &pkt, buf, sizeof(buf), &n)) {
        case VMBR_OK:
            oks++;
            ck_assert_uint_le(pkt.len + 8, 2 * PG);
            ck_assert_uint_eq(n, pkt.len);
            ck_assert_uint_ge(pkt.data_offset, 16);
            ck_assert_uint_le(pkt.data_offset, pkt.len);
            ck_assert_int_eq(vmbr_reader_next(&c->p.out), VMBR_OK);
            break;
        case VMBR_EMPTY:
        case VMBR_CORRUPT:
            break;
        default:
            ck_abort_msg("unexpected peek status");
        }
        {
            VmbRingStatus st = vmbr_reader_commit(&c->p.out, &sig);

            ck_assert(st == VMBR_OK || st == VMBR_CORRUPT);
            st = host_write(&c->p.in, 6, 0, data, rng_below(300), &sig);
            ck_assert(st == VMBR_OK || st == VMBR_FULL || st == VMBR_CORRUPT);
        }
    }
    ck_assert_int_gt(oks, 300);
    chan_free(c);
}
END_TEST

typedef struct Scribbler {
    Chan *c;
    volatile int stop;
    uint64_t seed;
} Scribbler;

/* A guest vCPU rewriting indices and descriptors while the host works. */
static gpointer scribble(gpointer opaque)
{
    Scribbler *s = opaque;
    uint64_t x = s->seed;

    while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
        GRing *g;
        uint32_t v, pos;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        g = (x & 1) ? &s->c->gout : &s->c->gin;
        v = (uint32_t)(x >> 16);
        pos = (uint32_t)(x >> 40) % g->size;
        switch ((x >> 8) & 3) {
        case 0:
            __atomic_store_n((uint32_t *)(void *)(g->pages[0] +
                                                  ((x >> 4) & 3) * 4),
                             (x & 2) ? (v % (2 * PG)) & ~7u : v,
                             __ATOMIC_RELAXED);
            break;
        default:
            __atomic_store_n(g_byte(g, pos), (uint8_t)v, __ATOMIC_RELAXED);
            break;
        }
    }
    return NULL;
}

START_TEST(test_concurrent_hostile_guest)
{
    Chan *c = chan_new(3, 3, MEM_SEPARATE, 0);
    Scribbler s = { .c = c, .seed = 0x77 };
    uint8_t buf[3 * PG], data[200] = { 0 };
    VmbRingPacket pkt;
    gint64 end = g_get_monotonic_time() + 300 * 1000;
    GThread *t;
    size_t n;
    bool sig;
    long ops = 0;

    vmbr_pair_init(&c->p, c->pages, 6, 3);
    t = g_thread_new("scribbler", scribble, &s);
    while (g_get_monotonic_time() < end || ops < 1000) {
        if (vmbr_is_broken(&c->p.out) || vmbr_is_broken(&c->p.in) ||
            c->p.out.role == VMBR_ROLE_NONE) {
            vmbr_pair_init(&c->p, c->pages, 6, 3);
        }
        if (vmbr_reader_peek(&c->p.out, &pkt, buf, sizeof(buf), &n) ==
            VMBR_OK) {
            uint16_t len8;

            ck_assert_uint_le(pkt.len + 8, 2 * PG);
            ck_assert_uint_eq(n, pkt.len);
            /* The copy's descriptor is the checked one. */
            memcpy(&len8, buf + 4, 2);
            ck_assert_uint_eq(GUINT16_FROM_LE(len8) * 8u, pkt.len);
            vmbr_reader_next(&c->p.out);
        }
        vmbr_reader_commit(&c->p.out, &sig);
        host_write(&c->p.in, 6, 0, data, ops % 200, &sig);
        vmbr_writer_space(&c->p.in, NULL);
        ops++;
    }
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
    g_thread_join(t);
    chan_free(c);
}
END_TEST

/* ---- main --------------------------------------------------------------- */

static Suite *ring_suite(void)
{
    Suite *s = suite_create("vmbus-ring");
    TCase *tc;

    tc = tcase_create("init");
    tcase_add_test(tc, test_init_ok);
    tcase_add_test(tc, test_init_bad_split);
    tcase_add_test(tc, test_init_bad_indices);
    suite_add_tcase(s, tc);

    tc = tcase_create("read");
    tcase_add_test(tc, test_read_empty);
    tcase_add_test(tc, test_read_single_inband);
    tcase_add_test(tc, test_read_each_type);
    tcase_add_test(tc, test_read_bounded_copy);
    tcase_add_test(tc, test_read_wrap_shuffled);
    tcase_add_test(tc, test_read_wrap_separate_pages);
    tcase_add_test(tc, test_read_desc_crosses_wrap);
    tcase_add_test(tc, test_read_full_ring);
    suite_add_tcase(s, tc);

    tc = tcase_create("write");
    tcase_add_test(tc, test_write_single_inband);
    tcase_add_test(tc, test_write_scatter_ext);
    tcase_add_test(tc, test_write_invalid_args);
    tcase_add_test(tc, test_packet_ring_size);
    tcase_add_test(tc, test_write_wrap_shuffled);
    tcase_add_test(tc, test_write_full_boundary);
    suite_add_tcase(s, tc);

    tc = tcase_create("signal");
    tcase_add_test(tc, test_write_signal_rule);
    tcase_add_test(tc, test_read_interrupt_mask);
    tcase_add_test(tc, test_read_pending_send_sz);
    tcase_add_test(tc, test_read_pending_feature_off);
    tcase_add_test(tc, test_read_pending_zero);
    tcase_add_test(tc, test_read_pending_batched);
    tcase_add_test(tc, test_write_full_sets_pending);
    tcase_add_test(tc, test_write_full_no_feature);
    suite_add_tcase(s, tc);

    tc = tcase_create("many");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_many_to_host_shuffled);
    tcase_add_test(tc, test_many_to_host_separate);
    tcase_add_test(tc, test_many_to_guest_shuffled);
    tcase_add_test(tc, test_many_to_guest_separate);
    tcase_add_test(tc, test_threaded_guest_to_host);
    tcase_add_test(tc, test_threaded_host_to_guest);
    suite_add_tcase(s, tc);

    tc = tcase_create("bodies");
    tcase_add_test(tc, test_gpa_direct_parse);
    tcase_add_test(tc, test_gpa_direct_malicious);
    tcase_add_test(tc, test_xfer_pages_parse);
    tcase_add_test(tc, test_xfer_pages_malicious);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hostile_write_index_range);
    tcase_add_test(tc, test_hostile_write_index_unaligned);
    tcase_add_test(tc, test_hostile_short);
    tcase_add_test(tc, test_hostile_offset8);
    tcase_add_test(tc, test_hostile_len8_below_offset8);
    tcase_add_test(tc, test_hostile_len8_beyond_avail);
    tcase_add_test(tc, test_hostile_desc_across_wrap);
    tcase_add_test(tc, test_hostile_write_index_moved_back);
    tcase_add_test(tc, test_commit_guest_refilled);
    tcase_add_test(tc, test_hostile_read_index_on_read_ring);
    tcase_add_test(tc, test_hostile_read_index_bad);
    tcase_add_test(tc, test_hostile_read_index_moved);
    tcase_add_test(tc, test_hostile_write_index_on_write_ring);
    tcase_add_test(tc, test_broken_latch);
    tcase_add_test(tc, test_fuzz_random_rings);
    tcase_add_test(tc, test_concurrent_hostile_guest);
    suite_add_tcase(s, tc);

    tc = tcase_create("state");
    tcase_add_test(tc, test_save_restore);
    tcase_add_test(tc, test_restore_bad_state);
    tcase_add_test(tc, test_stats);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ring_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
