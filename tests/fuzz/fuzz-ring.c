/*
 * libFuzzer target: host ring reader/writer over scattered pages against a guest that rewrites indices and descriptors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Input: outbound pages u8, inbound pages u8, header mode u8, then
 * operations.  Every page is its own heap allocation, so any access past
 * a page is an ASan finding, and the page table is in random order.
 *
 * The guest is modelled twice over: an honest Linux-like writer of the
 * outbound ring and reader of the inbound ring, and a hostile one that
 * rewrites header fields and packet bytes between host calls.  While a
 * ring has not been tampered with, the host must deliver exactly the
 * packets the honest guest wrote and the guest must read back exactly
 * what the host wrote.  Always: the host never writes the outbound
 * ring's data area or the fields the guest owns, peeked descriptors are
 * self-consistent, and a latched ring stays latched.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "hw/hyperv/vmbus-ring.h"

#define MAX_PAGES   9           /* per ring, header included */
#define MAX_OPS     1024
#define MAX_FIFO    64
#define MAX_PAYLOAD 2048

enum {
    OP_G_WRITE, OP_G_READ, OP_G_FIELD, OP_H_FIELD, OP_H_POKE, OP_H_DESC,
    OP_PEEK, OP_COPY, OP_NEXT, OP_COMMIT, OP_AVAIL, OP_MASK, OP_UNMASK,
    OP_WRITE, OP_SPACE, OP_REQUEST, OP_CLEAR, OP_PARSE, OP_PARSE_RAW,
    OP_SAVELOAD, OP_REINIT, OP_COUNT
};

typedef struct Pkt {
    uint32_t len;               /* payload bytes after the descriptor */
    uint16_t type, offset8;
    uint8_t bytes[MAX_PAYLOAD];
} Pkt;

typedef struct Fifo {
    Pkt *p[MAX_FIFO];
    uint32_t head, n;
} Fifo;

typedef struct Side {
    uint8_t *pages[MAX_PAGES];
    uint32_t npages, size;
    bool tampered;
    uint32_t gidx;              /* guest's private index */
    Fifo fifo;
} Side;

static Side out_side, in_side;
static uint64_t n_matched_out, n_matched_in;  /* guest outbound (host reads), inbound */
static VmbRingPair pair;
static uint8_t *table[2 * MAX_PAGES];
static uint8_t snap[MAX_PAGES * VMBR_PAGE_SIZE];

static void fifo_clear(Fifo *f)
{
    for (uint32_t i = 0; i < f->n; i++) {
        g_free(f->p[(f->head + i) % MAX_FIFO]);
    }
    f->head = f->n = 0;
}

static uint32_t hget(Side *s, unsigned off)
{
    uint32_t v;

    memcpy(&v, s->pages[0] + off, 4);
    return GUINT32_FROM_LE(v);
}

static void hset(Side *s, unsigned off, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(s->pages[0] + off, &v, 4);
}

/* Guest-side byte access to a ring's data area. */
static void gcopy_to(Side *s, uint32_t pos, const void *src, uint32_t len)
{
    const uint8_t *p = src;

    for (uint32_t i = 0; i < len; i++) {
        uint32_t at = (pos + i) % s->size;

        s->pages[1 + at / VMBR_PAGE_SIZE][at % VMBR_PAGE_SIZE] = p[i];
    }
}

static void gcopy_from(Side *s, uint32_t pos, void *dst, uint32_t len)
{
    uint8_t *p = dst;

    for (uint32_t i = 0; i < len; i++) {
        uint32_t at = (pos + i) % s->size;

        p[i] = s->pages[1 + at / VMBR_PAGE_SIZE][at % VMBR_PAGE_SIZE];
    }
}

static uint32_t dist(Side *s, uint32_t from, uint32_t to)
{
    return to >= from ? to - from : s->size - from + to;
}

static void pages_fini(void)
{
    for (int i = 0; i < MAX_PAGES; i++) {
        g_free(out_side.pages[i]);
        g_free(in_side.pages[i]);
    }
    fifo_clear(&out_side.fifo);
    fifo_clear(&in_side.fifo);
    memset(&out_side, 0, sizeof(out_side));
    memset(&in_side, 0, sizeof(in_side));
}

/* ---- checks ----------------------------------------------------------- */

static void snap_out(void)
{
    for (uint32_t i = 1; i < out_side.npages; i++) {
        memcpy(snap + (i - 1) * VMBR_PAGE_SIZE, out_side.pages[i],
               VMBR_PAGE_SIZE);
    }
}

static void check_out_unchanged(const char *what)
{
    for (uint32_t i = 1; i < out_side.npages; i++) {
        if (memcmp(snap + (i - 1) * VMBR_PAGE_SIZE, out_side.pages[i],
                   VMBR_PAGE_SIZE)) {
            fz_fail("%s wrote the outbound ring's data page %u", what, i);
        }
    }
}

static void check_status(VmbRing *r, VmbRingStatus st, const char *what)
{
    if (st == VMBR_CORRUPT && !vmbr_is_broken(r)) {
        fz_fail("%s: CORRUPT but not latched", what);
    }
    if ((unsigned)st > VMBR_CORRUPT) {
        fz_fail("%s: status %d", what, st);
    }
}

/* ---- honest guest ----------------------------------------------------- */

static void g_write(FzIn *in)
{
    Side *s = &out_side;
    Pkt *p = g_new0(Pkt, 1);
    uint32_t ext = (fz_u8(in) % 4) * 8;
    uint32_t plen = fz_u16(in) % 700;
    uint32_t total, len8, rd, free_b;
    uint8_t desc[16], trailer[8] = { 0 };
    static const uint8_t zero[8];

    p->type = fz_u8(in) % 14;
    p->len = ext + plen;
    fz_bytes(in, p->bytes, MIN(p->len, 32u));
    for (uint32_t i = 32; i < p->len; i++) {
        p->bytes[i] = (uint8_t)(i * 7);
    }
    p->offset8 = (16 + ext) / 8;
    len8 = (16 + p->len + 7) / 8;
    total = len8 * 8 + 8;
    rd = hget(s, VMBR_HDR_READ_INDEX);
    if (rd >= s->size || (rd & 7)) {
        g_free(p);
        return;                 /* the host did something odd: stop */
    }
    free_b = s->size - dist(s, rd, s->gidx);
    if (free_b <= total || s->fifo.n == MAX_FIFO) {
        g_free(p);
        return;
    }
    memset(desc, 0, sizeof(desc));
    desc[0] = p->type;
    desc[2] = p->offset8 & 0xff;
    desc[3] = p->offset8 >> 8;
    desc[4] = len8 & 0xff;
    desc[5] = len8 >> 8;
    desc[8] = 0x77;
    gcopy_to(s, s->gidx, desc, 16);
    gcopy_to(s, s->gidx + 16, p->bytes, p->len);
    gcopy_to(s, s->gidx + 16 + p->len, zero, len8 * 8 - 16 - p->len);
    trailer[4] = s->gidx & 0xff;
    gcopy_to(s, s->gidx + len8 * 8, trailer, 8);
    s->gidx = (s->gidx + total) % s->size;
    hset(s, VMBR_HDR_WRITE_INDEX, s->gidx);
    s->fifo.p[(s->fifo.head + s->fifo.n++) % MAX_FIFO] = p;
}

static void g_read(void)
{
    Side *s = &in_side;
    uint32_t w = hget(s, VMBR_HDR_WRITE_INDEX), len, off;
    uint8_t desc[16];
    Pkt *exp;
    uint8_t *got;

    if (w >= s->size || w == s->gidx) {
        return;
    }
    gcopy_from(s, s->gidx, desc, 16);
    off = (desc[2] | desc[3] << 8) * 8u;
    len = (desc[4] | desc[5] << 8) * 8u;
    if (!s->tampered) {
        if (!s->fifo.n) {
            fz_fail("inbound ring holds a packet the host did not write");
        }
        exp = s->fifo.p[s->fifo.head];
        if (len < 16 || off != exp->offset8 * 8u ||
            desc[0] != (exp->type & 0xff) ||
            len != ((16 + exp->len + 7) & ~7u) ||
            len + 8 > dist(s, s->gidx, w)) {
            fz_fail("inbound packet descriptor differs from the host's");
        }
        got = g_malloc(exp->len ? exp->len : 1);
        gcopy_from(s, s->gidx + 16, got, exp->len);
        if (memcmp(got, exp->bytes, exp->len)) {
            fz_fail("inbound packet payload differs from the host's");
        }
        g_free(got);
        g_free(exp);
        n_matched_in++;
        s->fifo.head = (s->fifo.head + 1) % MAX_FIFO;
        s->fifo.n--;
    }
    if (len < 16 || len + 8 > dist(s, s->gidx, w)) {
        s->gidx = w;            /* a confused guest skips everything */
    } else {
        s->gidx = (s->gidx + len + 8) % s->size;
    }
    hset(s, VMBR_HDR_READ_INDEX, s->gidx);
}

/* ---- hostile guest ---------------------------------------------------- */

static const unsigned fields[5] = {
    VMBR_HDR_WRITE_INDEX, VMBR_HDR_READ_INDEX, VMBR_HDR_INTERRUPT_MASK,
    VMBR_HDR_PENDING_SEND_SZ, VMBR_HDR_FEATURE_BITS,
};

static void set_field(FzIn *in, bool honest_only)
{
    uint8_t sel = fz_u8(in);
    Side *s = (sel & 1) ? &in_side : &out_side;
    unsigned f = fields[(sel >> 1) % 5];
    uint8_t mode = fz_u8(in);
    uint32_t v;

    if (honest_only) {
        /* Fields the guest legitimately owns: mask, pending, features. */
        f = fields[2 + (sel >> 1) % 3];
        if ((sel & 1) && f == VMBR_HDR_PENDING_SEND_SZ) {
            f = VMBR_HDR_INTERRUPT_MASK;    /* only the writer sets it */
        }
        v = mode < 128 ? mode % 2 : fz_u16(in);
        if (f == VMBR_HDR_FEATURE_BITS) {
            v = mode & 1;
        }
        hset(s, f, v);
        return;
    }
    switch (mode % 4) {
    case 0: v = fz_u32(in); break;
    case 1: v = (fz_u16(in) * 8u) % (s->size + 16); break;
    case 2: v = hget(s, f) + (int8_t)fz_u8(in) * 8; break;
    default: v = hget(s, f) + 1; break;
    }
    hset(s, f, v);
    if (f == VMBR_HDR_WRITE_INDEX || f == VMBR_HDR_READ_INDEX) {
        s->tampered = true;
    }
}

static void h_poke(FzIn *in)
{
    uint8_t sel = fz_u8(in);
    Side *s = (sel & 1) ? &in_side : &out_side;
    uint32_t pos = fz_u16(in) % s->size;
    uint32_t len = fz_u8(in) % 64;
    uint8_t buf[64];

    fz_bytes(in, buf, len);
    gcopy_to(s, pos, buf, len);
    s->tampered = true;
}

/* Rewrite offset8/len8 of the packet the host reads next. */
static void h_desc(FzIn *in)
{
    VmbRingSaved sv;
    uint8_t d[4];

    vmbr_save(&pair.out, &sv);
    fz_bytes(in, d, 4);
    if (sv.priv_index < out_side.size) {
        gcopy_to(&out_side, sv.priv_index + 2, d, 4);
    }
    out_side.tampered = true;
}

/* ---- host ------------------------------------------------------------- */

static uint8_t peekbuf[VMBR_PKT_MAX_LEN + 8];
static size_t peeklen;

static void h_peek(FzIn *in)
{
    VmbRingPacket pkt;
    size_t copied = 7, blen;
    uint8_t m = fz_u8(in);
    VmbRingStatus st;

    blen = m % 4 == 0 ? 0 : m % 4 == 1 ? 16 : m % 4 == 2 ? fz_u16(in) % 64
                                                         : sizeof(peekbuf);
    snap_out();
    st = vmbr_reader_peek(&pair.out, &pkt, blen ? peekbuf : NULL, blen,
                          &copied);
    check_out_unchanged("peek");
    check_status(&pair.out, st, "peek");
    peeklen = 0;
    if (st != VMBR_OK) {
        if (copied) {
            fz_fail("peek failed but copied %zu", copied);
        }
        if (st == VMBR_EMPTY && !out_side.tampered) {
            /* everything the guest wrote was consumed */
            VmbRingSaved sv;

            vmbr_save(&pair.out, &sv);
            if (out_side.fifo.n && sv.priv_index != out_side.gidx) {
                fz_fail("peek EMPTY with packets written");
            }
        }
        if (st != VMBR_EMPTY && st != VMBR_CORRUPT) {
            fz_fail("peek status %d", st);
        }
        if (st == VMBR_CORRUPT && !out_side.tampered) {
            fz_fail("honest outbound ring reported corrupt: %s",
                    vmbr_error_str(vmbr_error(&pair.out)));
        }
        return;
    }
    if (pkt.data_offset < 16 || pkt.len < pkt.data_offset || pkt.len % 8 ||
        pkt.data_offset % 8 || copied != MIN((size_t)pkt.len, blen) ||
        pkt.len + 8 >= out_side.size) {
        fz_fail("peeked packet off %u len %u copied %zu", pkt.data_offset,
                pkt.len, copied);
    }
    if (copied >= 16) {
        uint16_t o8 = peekbuf[2] | peekbuf[3] << 8;
        uint16_t l8 = peekbuf[4] | peekbuf[5] << 8;

        if (o8 * 8u != pkt.data_offset || l8 * 8u != pkt.len) {
            fz_fail("peek copy holds another descriptor");
        }
    }
    peeklen = copied;
    if (!out_side.tampered) {
        Pkt *exp;

        if (!out_side.fifo.n) {
            fz_fail("peek returned a packet the guest did not write");
        }
        exp = out_side.fifo.p[out_side.fifo.head];
        if (pkt.type != exp->type || pkt.data_offset != exp->offset8 * 8u ||
            pkt.len != ((16 + exp->len + 7) & ~7u) ||
            (copied > 16 && memcmp(peekbuf + 16, exp->bytes,
                                   MIN(copied - 16, (size_t)exp->len)))) {
            fz_fail("peeked packet differs from the guest's");
        }
        n_matched_out++;
    }
}

static void h_next(void)
{
    VmbRingStatus st;
    bool had = pair.out.have_peek;

    snap_out();
    st = vmbr_reader_next(&pair.out);
    check_out_unchanged("next");
    check_status(&pair.out, st, "next");
    if (st == VMBR_OK && !out_side.tampered && had) {
        Fifo *f = &out_side.fifo;

        if (!f->n) {
            fz_fail("next without a packet");
        }
        g_free(f->p[f->head]);
        f->head = (f->head + 1) % MAX_FIFO;
        f->n--;
    }
    peeklen = 0;
}

static void h_write(FzIn *in)
{
    Pkt *p = g_new0(Pkt, 1);
    uint32_t ext = (fz_u8(in) % 4) * 8;
    uint32_t plen = fz_u16(in) % 1200;
    uint8_t niov = 1 + fz_u8(in) % 4, flags = fz_u8(in) & 1;
    struct iovec iov[4];
    uint32_t r0 = hget(&in_side, VMBR_HDR_READ_INDEX);
    uint32_t m0 = hget(&in_side, VMBR_HDR_INTERRUPT_MASK);
    uint32_t f0 = hget(&in_side, VMBR_HDR_FEATURE_BITS);
    VmbRingSaved before, after;
    VmbRingStatus st;
    bool sig;
    uint32_t at = 0;

    p->type = fz_u8(in);
    p->len = ext + plen;
    p->offset8 = (16 + ext) / 8;
    for (uint32_t i = 0; i < p->len; i++) {
        p->bytes[i] = (uint8_t)(i * 13 + p->type);
    }
    for (unsigned i = 0; i < niov; i++) {
        uint32_t n = i + 1 == niov ? p->len - at : (p->len - at) / 2;

        iov[i].iov_base = p->bytes + at;
        iov[i].iov_len = n;
        at += n;
    }
    vmbr_save(&pair.in, &before);
    st = vmbr_writer_write(&pair.in, p->type, flags, 0x1234, iov, niov, ext,
                           &sig);
    check_status(&pair.in, st, "write");
    if (hget(&in_side, VMBR_HDR_READ_INDEX) != r0 ||
        hget(&in_side, VMBR_HDR_INTERRUPT_MASK) != m0 ||
        hget(&in_side, VMBR_HDR_FEATURE_BITS) != f0) {
        fz_fail("write changed a field the guest owns");
    }
    if (st != VMBR_OK) {
        if (st == VMBR_CORRUPT && !in_side.tampered) {
            fz_fail("honest inbound ring reported corrupt: %s",
                    vmbr_error_str(vmbr_error(&pair.in)));
        }
        g_free(p);
        return;
    }
    vmbr_save(&pair.in, &after);
    if (after.priv_index != hget(&in_side, VMBR_HDR_WRITE_INDEX) ||
        dist(&in_side, before.priv_index, after.priv_index) !=
        vmbr_packet_ring_size(ext, plen)) {
        fz_fail("write_index not advanced by the packet size");
    }
    {
        uint8_t d[16];
        uint8_t *got = g_malloc(p->len + 1);

        gcopy_from(&in_side, before.priv_index, d, 16);
        gcopy_from(&in_side, before.priv_index + 16, got, p->len);
        if (d[0] != (p->type & 0xff) || (d[2] | d[3] << 8) != p->offset8 ||
            memcmp(got, p->bytes, p->len)) {
            fz_fail("written packet reads back differently");
        }
        g_free(got);
    }
    if (in_side.fifo.n == MAX_FIFO || in_side.tampered) {
        g_free(p);
        in_side.tampered = true;
        return;
    }
    in_side.fifo.p[(in_side.fifo.head + in_side.fifo.n++) % MAX_FIFO] = p;
}

static void check_gpa_direct(const uint8_t *p, size_t len)
{
    VmbRingGpaDirect gd;
    VmbRingGpaRange r;
    uint32_t n = 0, pfns = 0;

    if (vmbr_parse_gpa_direct(p, len, &gd) != VMBR_OK) {
        return;
    }
    while (vmbr_gpa_direct_next(&gd, &r)) {
        if (r.byte_count == 0 || r.byte_offset >= VMBR_PAGE_SIZE ||
            r.pfns < p || r.pfns + (size_t)r.pfn_count * 8 > p + len) {
            fz_fail("GPA range %u outside the packet", n);
        }
        for (uint32_t i = 0; i < r.pfn_count; i++) {
            (void)vmbr_gpa_range_pfn(&r, i);
        }
        pfns += r.pfn_count;
        n++;
    }
    if (n != gd.range_count || pfns != gd.pfn_total) {
        fz_fail("GPA direct: %u/%u ranges, %u/%u pfns", n, gd.range_count,
                pfns, gd.pfn_total);
    }
}

static void check_xfer(const uint8_t *p, size_t len)
{
    VmbRingXferPages xp;

    if (vmbr_parse_xfer_pages(p, len, &xp) != VMBR_OK) {
        return;
    }
    if (xp.ranges + (size_t)xp.range_count * 8 > p + len) {
        fz_fail("xfer ranges outside the packet");
    }
    for (uint32_t i = 0; i < xp.range_count; i++) {
        uint32_t bc, bo;

        vmbr_xfer_range(&xp, i, &bc, &bo);
        if ((uint64_t)bc + bo > UINT32_MAX) {
            fz_fail("xfer range overflows");
        }
    }
}

static void h_parse_raw(FzIn *in)
{
    size_t len = fz_u8(in) * 2u;
    uint8_t *p = g_malloc(len ? len : 1);

    fz_bytes(in, p, len);
    check_gpa_direct(p, len);
    check_xfer(p, len);
    g_free(p);
}

static void h_parse(void)
{
    uint8_t *p;

    if (!peeklen) {
        return;
    }
    p = g_memdup2(peekbuf, peeklen);        /* exact size for ASan */
    check_gpa_direct(p, peeklen);
    check_xfer(p, peeklen);
    g_free(p);
}

static void h_saveload(FzIn *in)
{
    VmbRingSaved so, si;
    uint8_t m = fz_u8(in);
    VmbRingStatus a, b;

    vmbr_save(&pair.out, &so);
    vmbr_save(&pair.in, &si);
    if (m & 1) {
        /* a stream from elsewhere */
        so.priv_index = fz_u32(in);
        si.flags = fz_u8(in);
        so.error = fz_u8(in) % 12;
        out_side.tampered = in_side.tampered = true;
    }
    a = vmbr_init(&pair.out, VMBR_ROLE_READER, out_side.pages,
                  out_side.npages);
    b = vmbr_init(&pair.in, VMBR_ROLE_WRITER, in_side.pages, in_side.npages);
    if (a == VMBR_OK) {
        a = vmbr_load(&pair.out, &so);
        check_status(&pair.out, a, "load out");
    }
    if (b == VMBR_OK) {
        b = vmbr_load(&pair.in, &si);
        check_status(&pair.in, b, "load in");
    }
    if (!(m & 1) && !out_side.tampered && !in_side.tampered &&
        (a != VMBR_OK || b != VMBR_OK)) {
        fz_fail("honest ring state does not load back: %d %d", a, b);
    }
    peeklen = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FzIn in = { data, size };
    uint32_t no = 2 + fz_u8(&in) % (MAX_PAGES - 1);
    uint32_t ni = 2 + fz_u8(&in) % (MAX_PAGES - 1);
    uint8_t hmode = fz_u8(&in);
    uint32_t order[2 * MAX_PAGES];
    VmbRingStatus st;

    /* Separate page allocations, handed out in a shuffled order. */
    for (uint32_t i = 0; i < no + ni; i++) {
        order[i] = i;
    }
    for (uint32_t i = no + ni - 1; i > 0; i--) {
        uint32_t j = fz_u8(&in) % (i + 1), t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
    for (uint32_t i = 0; i < no + ni; i++) {
        uint8_t *pg = g_malloc0(VMBR_PAGE_SIZE);

        if (order[i] < no) {
            out_side.pages[order[i]] = pg;
        } else {
            in_side.pages[order[i] - no] = pg;
        }
    }
    out_side.npages = no;
    in_side.npages = ni;
    out_side.size = (no - 1) * VMBR_PAGE_SIZE;
    in_side.size = (ni - 1) * VMBR_PAGE_SIZE;
    memcpy(table, out_side.pages, no * sizeof(uint8_t *));
    memcpy(table + no, in_side.pages, ni * sizeof(uint8_t *));
    if (hmode & 1) {
        hset(&out_side, VMBR_HDR_FEATURE_BITS, 1);
        hset(&in_side, VMBR_HDR_FEATURE_BITS, 1);
    }
    if (hmode & 2) {
        /* start somewhere in the middle */
        uint32_t s = (fz_u16(&in) * 8u) % out_side.size;

        hset(&out_side, VMBR_HDR_WRITE_INDEX, s);
        hset(&out_side, VMBR_HDR_READ_INDEX, s);
        out_side.gidx = s;
        s = (fz_u16(&in) * 8u) % in_side.size;
        hset(&in_side, VMBR_HDR_WRITE_INDEX, s);
        hset(&in_side, VMBR_HDR_READ_INDEX, s);
        in_side.gidx = s;
    }
    if (hmode & 4) {
        hset(&out_side, VMBR_HDR_WRITE_INDEX, fz_u32(&in));
        out_side.tampered = true;
    }
    if (hmode & 8) {
        /* any split: only its validation is of interest */
        VmbRingPair scratch;

        vmbr_pair_init(&scratch, table, no + ni, fz_u8(&in));
    }
    st = vmbr_pair_init(&pair, table, no + ni, no);
    if (st == VMBR_INVALID) {
        pages_fini();
        return 0;
    }
    if (st != VMBR_OK && !out_side.tampered) {
        fz_fail("pair_init of an honest ring: %d", st);
    }

    for (int n = 0; n < MAX_OPS && fz_more(&in); n++) {
        uint8_t op = fz_u8(&in) % OP_COUNT;
        uint32_t v;
        bool b;

        switch (op) {
        case OP_G_WRITE: g_write(&in); break;
        case OP_G_READ: g_read(); break;
        case OP_G_FIELD: set_field(&in, true); break;
        case OP_H_FIELD: set_field(&in, false); break;
        case OP_H_POKE: h_poke(&in); break;
        case OP_H_DESC: h_desc(&in); break;
        case OP_PEEK: h_peek(&in); break;
        case OP_COPY: {
            uint32_t off = fz_u16(&in) % 1024, len = fz_u16(&in) % 1024;
            uint8_t *buf = g_malloc(len + 1);

            snap_out();
            st = vmbr_reader_copy(&pair.out, off, buf, len);
            check_out_unchanged("copy");
            check_status(&pair.out, st, "copy");
            if (st == VMBR_OK && off + len > pair.out.peek_len) {
                fz_fail("copy beyond the packet");
            }
            g_free(buf);
            break;
        }
        case OP_NEXT: h_next(); break;
        case OP_COMMIT:
            snap_out();
            st = vmbr_reader_commit(&pair.out, &b);
            check_out_unchanged("commit");
            check_status(&pair.out, st, "commit");
            break;
        case OP_AVAIL:
            st = vmbr_reader_avail(&pair.out, &v);
            check_status(&pair.out, st, "avail");
            if (st == VMBR_OK && v >= out_side.size) {
                fz_fail("avail %u >= size", v);
            }
            break;
        case OP_MASK: vmbr_reader_mask(&pair.out); break;
        case OP_UNMASK:
            st = vmbr_reader_unmask(&pair.out, &b);
            check_status(&pair.out, st, "unmask");
            break;
        case OP_WRITE: h_write(&in); break;
        case OP_SPACE:
            st = vmbr_writer_space(&pair.in, &v);
            check_status(&pair.in, st, "space");
            if (v >= in_side.size) {
                fz_fail("space %u >= size", v);
            }
            st = vmbr_writer_has_room(&pair.in, fz_u8(&in) * 8u,
                                      fz_u16(&in), &b);
            check_status(&pair.in, st, "has_room");
            break;
        case OP_REQUEST: {
            uint32_t need = fz_u8(&in) < 200 ? fz_u16(&in) % 40000
                                             : fz_u32(&in);
            uint32_t r0 = hget(&in_side, VMBR_HDR_READ_INDEX);

            vmbr_writer_request_space(&pair.in, need);
            if (hget(&in_side, VMBR_HDR_READ_INDEX) != r0) {
                fz_fail("request_space moved read_index");
            }
            break;
        }
        case OP_CLEAR: vmbr_writer_clear_pending(&pair.in); break;
        case OP_PARSE: h_parse(); break;
        case OP_PARSE_RAW: h_parse_raw(&in); break;
        case OP_SAVELOAD: h_saveload(&in); break;
        case OP_REINIT:
            st = vmbr_pair_init(&pair, table, no + ni, no);
            peeklen = 0;
            out_side.tampered = in_side.tampered = true;
            break;
        }
        if (vmbr_is_broken(&pair.out) && vmbr_reader_avail(&pair.out, &v) !=
            VMBR_CORRUPT) {
            fz_fail("latched reader not corrupt any more");
        }
    }
    if (getenv("FZ_VERBOSE")) {
        fprintf(stderr, "matched out %" G_GUINT64_FORMAT " in %"
                G_GUINT64_FORMAT " broken %d/%d\n", n_matched_out,
                n_matched_in, vmbr_is_broken(&pair.out),
                vmbr_is_broken(&pair.in));
    }
    pages_fini();
    return 0;
}

/* ---- Seeds ------------------------------------------------------------ */

static void write_seeds(const char *dir)
{
    static const char *names[] = {
        "echo-small", "echo-wrap", "features-pending", "hostile-mix",
    };

    for (int k = 0; k < 4; k++) {
        FzOut *o = g_byte_array_new();

        fo_u8(o, k == 1 ? 1 : 3);          /* outbound pages - 2 */
        fo_u8(o, k == 1 ? 0 : 2);          /* inbound pages - 2 */
        fo_u8(o, k == 2 ? 1 : k == 1 ? 2 : 0);
        for (int i = 0; i < (k == 1 ? 2 : 8); i++) {
            fo_u8(o, i * 5);               /* shuffle: pages - 1 bytes */
        }
        if (k == 1) {
            fo_u16(o, 400);
            fo_u16(o, 500);
        }
        for (int rep = 0; rep < (k == 1 ? 12 : 4); rep++) {
            fo_u8(o, OP_G_WRITE);
            fo_u8(o, rep % 4);
            fo_u16(o, 100 + rep * 97);
            fo_u8(o, 6);
            fo_bytes(o, "payload-payload-payload-payload-", 32);
            fo_u8(o, OP_PEEK); fo_u8(o, 3);
            fo_u8(o, OP_PARSE);
            fo_u8(o, OP_COPY); fo_u16(o, 8); fo_u16(o, 24);
            fo_u8(o, OP_NEXT);
            fo_u8(o, OP_COMMIT);
            fo_u8(o, OP_WRITE);
            fo_u8(o, 1); fo_u16(o, 300 + rep * 11); fo_u8(o, 2);
            fo_u8(o, 0); fo_u8(o, 6);
            fo_u8(o, OP_G_READ);
            if (k == 2) {
                fo_u8(o, OP_REQUEST); fo_u8(o, 0); fo_u16(o, 3000);
                fo_u8(o, OP_SPACE); fo_u8(o, 0); fo_u16(o, 100);
                fo_u8(o, OP_CLEAR);
            }
            if (k == 3) {
                fo_u8(o, OP_H_FIELD); fo_u8(o, rep); fo_u8(o, 1);
                fo_u16(o, rep * 3);
                fo_u8(o, OP_SAVELOAD); fo_u8(o, 0);
            }
        }
        fo_u8(o, OP_MASK);
        fo_u8(o, OP_UNMASK);
        fo_u8(o, OP_AVAIL);
        fo_write(o, dir, names[k]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_seed_mode(write_seeds);
    return 0;
}
