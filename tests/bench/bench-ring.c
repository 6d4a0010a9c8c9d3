/*
 * Benchmark of the host-side VMBus ring buffer against plain memcpy
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Each case moves packets of one payload size through a ring whose pages
 * are shuffled in memory (as a GPADL's are), for a fixed time: the writer
 * fills the ring until it is full, the reader drains it, over and over.
 *
 *  host-write: the library writes the guest's inbound ring (descriptor,
 *              payload, padding, trailer); a minimal guest reader follows
 *              the descriptors and publishes read_index, as Linux does
 *              when it reads packets in place.
 *  host-read:  a minimal guest writer lays down descriptors and trailers
 *              (payload bytes are whatever the ring holds); the library
 *              peeks, copies each whole packet out, consumes and commits.
 *
 * So each payload byte is copied once, by the library.  The baseline is
 * one memcpy per packet of the same bytes into (host-write) or out of
 * (host-read) a flat buffer of the ring's size, measured in the same
 * process; "ratio" is ring MB/s over baseline MB/s (1.00 = as fast as a
 * bare memcpy).  Numbers only: nothing here asserts on time.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "hw/hyperv/vmbus-ring.h"

#define CASE_USEC   (300 * 1000)

typedef struct BenchRing {
    uint8_t *flat;
    uint8_t **pages;
    uint32_t npages;
    uint32_t size;          /* data area */
    uint32_t guest_priv;    /* guest's private index */
    VmbRing host;
} BenchRing;

static void bench_ring_init(BenchRing *b, uint32_t data_bytes,
                            VmbRingRole role)
{
    uint32_t *perm;
    uint64_t x = 0x2545f4914f6cdd1dull;

    b->npages = data_bytes / VMBR_PAGE_SIZE + 1;
    b->size = data_bytes;
    b->guest_priv = 0;
    b->flat = g_malloc0((size_t)b->npages * VMBR_PAGE_SIZE);
    b->pages = g_new(uint8_t *, b->npages);
    perm = g_new(uint32_t, b->npages);
    for (uint32_t i = 0; i < b->npages; i++) {
        perm[i] = i;
    }
    for (uint32_t i = b->npages - 1; i > 0; i--) {
        uint32_t j, t;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        j = (uint32_t)(x % (i + 1));
        t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    vmbr_pages_from_buffer(b->flat, b->npages, perm, b->pages);
    g_free(perm);
    /* The guest honours pending_send_sz, like Linux. */
    b->pages[0][VMBR_HDR_FEATURE_BITS] = 1;
    if (vmbr_init(&b->host, role, b->pages, b->npages) != VMBR_OK) {
        fprintf(stderr, "bench-ring: ring init failed\n");
        exit(1);
    }
}

static void bench_ring_free(BenchRing *b)
{
    g_free(b->pages);
    g_free(b->flat);
}

static uint32_t *hdr32(BenchRing *b, unsigned off)
{
    return (uint32_t *)(void *)(b->pages[0] + off);
}

/* 8 aligned bytes at data offset @pos never cross a page. */
static uint8_t *data8(BenchRing *b, uint32_t pos)
{
    return b->pages[1 + pos / VMBR_PAGE_SIZE] + pos % VMBR_PAGE_SIZE;
}

/* Minimal guest reader: skip every packet, publish read_index. */
static uint64_t guest_drain(BenchRing *b)
{
    uint32_t w = __atomic_load_n(hdr32(b, VMBR_HDR_WRITE_INDEX),
                                 __ATOMIC_ACQUIRE);
    uint64_t n = 0;

    while (b->guest_priv != w) {
        uint16_t len8;

        memcpy(&len8, data8(b, b->guest_priv) + VMBR_DESC_OFF_LEN8, 2);
        b->guest_priv = (b->guest_priv + len8 * 8u + VMBR_TRAILER_SIZE) %
                        b->size;
        n++;
    }
    __atomic_store_n(hdr32(b, VMBR_HDR_READ_INDEX), b->guest_priv,
                     __ATOMIC_RELEASE);
    return n;
}

/* Minimal guest writer: descriptor and trailer only.  False when full. */
static bool guest_put(BenchRing *b, size_t payload)
{
    uint32_t len = (VMBR_DESC_SIZE + payload + 7) & ~7u;
    uint32_t r = __atomic_load_n(hdr32(b, VMBR_HDR_READ_INDEX),
                                 __ATOMIC_ACQUIRE);
    uint32_t w = b->guest_priv;
    uint32_t used = w >= r ? w - r : b->size - r + w;
    uint16_t d[4] = { VMBR_PKT_DATA_INBAND, 2, len / 8, 0 };
    uint64_t trailer = (uint64_t)w << 32;

    if (b->size - used <= len + VMBR_TRAILER_SIZE) {
        return false;
    }
    memcpy(data8(b, w), d, 8);
    memset(data8(b, (w + 8) % b->size), 0, 8);
    memcpy(data8(b, (w + len) % b->size), &trailer, 8);
    b->guest_priv = (w + len + VMBR_TRAILER_SIZE) % b->size;
    __atomic_store_n(hdr32(b, VMBR_HDR_WRITE_INDEX), b->guest_priv,
                     __ATOMIC_RELEASE);
    return true;
}

typedef struct Result {
    double pkts_per_s;
    double mb_per_s;
} Result;

static Result result(uint64_t pkts, size_t payload, gint64 usec)
{
    Result r;
    double s = usec / 1e6;

    r.pkts_per_s = pkts / s;
    r.mb_per_s = pkts * (double)payload / s / 1e6;
    return r;
}

static void check_ring(BenchRing *b)
{
    if (vmbr_is_broken(&b->host)) {
        fprintf(stderr, "bench-ring: ring broke: %s\n",
                vmbr_error_str(vmbr_error(&b->host)));
        exit(1);
    }
}

/* Host writes until full, guest drains; repeat. */
static Result run_host_write(uint32_t ring_bytes, size_t payload)
{
    BenchRing b;
    uint8_t *src = g_malloc(payload);
    struct iovec iov = { src, payload };
    uint64_t pkts = 0;
    gint64 start, now;

    bench_ring_init(&b, ring_bytes, VMBR_ROLE_WRITER);
    memset(src, 0x5a, payload);
    start = g_get_monotonic_time();
    do {
        for (int round = 0; round < 16; round++) {
            uint64_t n = 0;

            while (vmbr_writer_write(&b.host, VMBR_PKT_DATA_INBAND, 0, n,
                                     &iov, 1, 0, NULL) == VMBR_OK) {
                n++;
            }
            pkts += guest_drain(&b);
            check_ring(&b);
        }
        now = g_get_monotonic_time();
    } while (now - start < CASE_USEC);
    bench_ring_free(&b);
    g_free(src);
    return result(pkts, payload, now - start);
}

/* Guest fills, host peeks + copies each packet out, consumes, commits. */
static Result run_host_read(uint32_t ring_bytes, size_t payload)
{
    BenchRing b;
    uint8_t *dst = g_malloc(payload + VMBR_DESC_SIZE + 8);
    VmbRingPacket pkt;
    uint64_t pkts = 0, sum = 0;
    gint64 start, now;

    bench_ring_init(&b, ring_bytes, VMBR_ROLE_READER);
    start = g_get_monotonic_time();
    do {
        for (int round = 0; round < 16; round++) {
            while (guest_put(&b, payload)) {
            }
            while (vmbr_reader_peek(&b.host, &pkt, dst,
                                    payload + VMBR_DESC_SIZE + 8,
                                    NULL) == VMBR_OK) {
                sum += dst[VMBR_DESC_SIZE + (pkts & 7)];
                vmbr_reader_next(&b.host);
                pkts++;
            }
            vmbr_reader_commit(&b.host, NULL);
            check_ring(&b);
        }
        now = g_get_monotonic_time();
    } while (now - start < CASE_USEC);
    if (sum == 42) {
        putchar(' ');   /* keep the copies alive */
    }
    bench_ring_free(&b);
    g_free(dst);
    return result(pkts, payload, now - start);
}

/*
 * Baseline: the same payload bytes, the same fill/drain batching, one
 * memcpy per packet into (to_ring) or out of a flat buffer.
 */
static Result run_memcpy(uint32_t ring_bytes, size_t payload, bool to_ring)
{
    uint8_t *ring = g_malloc0(ring_bytes);
    uint8_t *buf = g_malloc0(payload);
    uint32_t per_fill = (ring_bytes - 1) / vmbr_packet_ring_size(0, payload);
    uint64_t pkts = 0, sum = 0;
    gint64 start, now;

    start = g_get_monotonic_time();
    do {
        for (int round = 0; round < 16; round++) {
            size_t pos = 0;

            for (uint32_t i = 0; i < per_fill; i++) {
                if (to_ring) {
                    memcpy(ring + pos, buf, payload);
                } else {
                    memcpy(buf, ring + pos, payload);
                    sum += buf[pkts & 7];
                }
                pos += payload;
                pkts++;
            }
            sum += ring[pkts % ring_bytes];
        }
        now = g_get_monotonic_time();
    } while (now - start < CASE_USEC);
    if (sum == 42) {
        putchar(' ');
    }
    g_free(ring);
    g_free(buf);
    return result(pkts, payload, now - start);
}

static const char *size_str(char *buf, size_t len, size_t bytes)
{
    if (bytes >= (1u << 20)) {
        snprintf(buf, len, "%zu MiB", bytes >> 20);
    } else if (bytes >= 1024) {
        snprintf(buf, len, "%zu KiB", bytes >> 10);
    } else {
        snprintf(buf, len, "%zu B", bytes);
    }
    return buf;
}

int main(void)
{
    static const struct {
        size_t payload;
        uint32_t ring;
    } cases[] = {
        { 64, 256 << 10 },
        { 1024, 256 << 10 },
        { 64 << 10, 256 << 10 },
        { 64 << 10, 1 << 20 },
    };

    printf("VMBus ring: writer fills, reader drains; ring pages shuffled; "
           "%d ms per measurement\n", CASE_USEC / 1000);
    printf("%-10s %8s %8s %12s %10s %12s %7s\n", "direction", "payload",
           "ring", "packets/s", "MB/s", "memcpy MB/s", "ratio");
    for (int dir = 0; dir < 2; dir++) {
        for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
            char a[32], b[32];
            Result r = dir == 0 ?
                       run_host_write(cases[i].ring, cases[i].payload) :
                       run_host_read(cases[i].ring, cases[i].payload);
            Result m = run_memcpy(cases[i].ring, cases[i].payload, dir == 0);

            printf("%-10s %8s %8s %12.0f %10.1f %12.1f %7.2f\n",
                   dir == 0 ? "host-write" : "host-read",
                   size_str(a, sizeof(a), cases[i].payload),
                   size_str(b, sizeof(b), cases[i].ring),
                   r.pkts_per_s, r.mb_per_s, m.mb_per_s,
                   r.mb_per_s / m.mb_per_s);
        }
    }
    return 0;
}
