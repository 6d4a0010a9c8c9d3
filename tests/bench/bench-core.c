/*
 * Benchmark: VMBus core control plane (GPADL setup, offer+GPADL+open scaling)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hw/hyperv/vmbus-core.h"

typedef struct Bench {
    uint64_t posted;
    uint32_t last_type;
    uint32_t last_status;
} Bench;

static int b_post(void *o, uint32_t vp, uint32_t sint, uint32_t t,
                  const void *p, size_t len)
{
    Bench *b = o;
    const uint32_t *w = p;

    b->posted++;
    b->last_type = w[0];
    if (w[0] == VMBW_MSG_GPADL_CREATED || w[0] == VMBW_MSG_OPENCHANNEL_RESULT) {
        b->last_status = w[4];
    }
    return 0;
}
static void b_signal(void *o, uint32_t vp, uint32_t sint, uint32_t f) { }
static int b_rd(void *o, uint64_t gpa, void *buf, size_t len)
{
    memset(buf, 0, len);
    return 0;
}
static int b_wr(void *o, uint64_t gpa, const void *buf, size_t len)
{
    return 0;
}
static void b_tmod(void *o, VmbcTimer t, int64_t e) { }
static void b_tdel(void *o, VmbcTimer t) { }
static int64_t b_now(void *o) { return 0; }
static bool b_vp(void *o, uint32_t vp) { return vp < 4; }

static const VmbcOps bench_ops = {
    .post_msg = b_post, .signal_event = b_signal, .read_gpa = b_rd,
    .write_gpa = b_wr, .timer_mod = b_tmod, .timer_del = b_tdel,
    .now_ns = b_now, .vp_exists = b_vp,
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static VmbcCore *mk(Bench *b)
{
    VmbcConfig cfg = { .ops = &bench_ops, .opaque = b,
                       .gpadl_quota_bytes = 16ull << 30 };

    return vmbc_new(&cfg, NULL);
}

static void connect_core(VmbcCore *c)
{
    VmbWireInitiateContact ic;
    VmbWireHdr h;

    memset(&ic, 0, sizeof(ic));
    ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
    ic.vmbus_version_requested = VMBW_VERSION_IRON;
    ic.msg_sint = 2;
    vmbc_handle_message(c, 4, &ic, sizeof(ic));
    memset(&h, 0, sizeof(h));
    h.msgtype = VMBW_MSG_REQUESTOFFERS;
    vmbc_handle_message(c, 4, &h, sizeof(h));
}

/* Linux-style GPADL: header with 26 PFNs, bodies with 28. Returns msgs. */
static uint32_t gpadl(VmbcCore *c, uint32_t relid, uint32_t handle,
                      uint32_t npages)
{
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlHeader *h = (void *)buf;
    VmbWireGpadlBody *b = (void *)buf;
    uint32_t first = npages < 26 ? npages : 26, done, msgs = 1;

    memset(buf, 0, sizeof(buf));
    h->hdr.msgtype = VMBW_MSG_GPADL_HEADER;
    h->child_relid = relid;
    h->gpadl = handle;
    h->range_buflen = (uint16_t)(8 + 8 * npages);
    h->rangecount = 1;
    h->range0.byte_count = npages * 4096;
    for (uint32_t i = 0; i < first; i++) {
        h->pfn[i] = 0x100000 + i;
    }
    vmbc_handle_message(c, 4, buf, 28 + 8 * first);
    for (done = first; done < npages; msgs++) {
        uint32_t n = npages - done < 28 ? npages - done : 28;

        b->hdr.msgtype = VMBW_MSG_GPADL_BODY;
        b->msgnumber = 0;
        b->gpadl = handle;
        for (uint32_t i = 0; i < n; i++) {
            b->pfn[i] = 0x100000 + done + i;
        }
        vmbc_handle_message(c, 4, buf, 16 + 8 * n);
        done += n;
    }
    return msgs;
}

static void bench_gpadl_1g(void)
{
    Bench b = { 0 };
    VmbcCore *c = mk(&b);
    VmbcOfferParams p;
    double best = 1e9;
    uint32_t msgs = 0;

    memset(&p, 0, sizeof(p));
    vmbc_offer(c, &p, NULL);
    connect_core(c);
    for (int rep = 0; rep < 5; rep++) {
        VmbWireGpadlTeardown t;
        double t0 = now_s(), dt;

        msgs = gpadl(c, 1, 0xE1E10 + rep, 262144);
        dt = now_s() - t0;
        if (b.last_type != VMBW_MSG_GPADL_CREATED || b.last_status) {
            printf("GPADL failed\n");
            return;
        }
        best = dt < best ? dt : best;
        memset(&t, 0, sizeof(t));
        t.hdr.msgtype = VMBW_MSG_GPADL_TEARDOWN;
        t.child_relid = 1;
        t.gpadl = 0xE1E10 + rep;
        vmbc_handle_message(c, 4, &t, sizeof(t));
    }
    printf("| GPADL 1 GiB (262144 PFNs)  | %6u msgs | %8.3f ms | %10.0f msg/s"
           " | %8.1f GiB/s described |\n", msgs, best * 1e3, msgs / best,
           1.0 / best);
    vmbc_free(c);
}

/* One run; returns the per-phase times (offer, GPADL, open). */
static bool run_channels(uint32_t n, double *ph)
{
    Bench b = { 0 };
    VmbcCore *c = mk(&b);
    double t0, t1, t2, t3;

    t0 = now_s();
    for (uint32_t i = 0; i < n; i++) {
        VmbcOfferParams p;

        memset(&p, 0, sizeof(p));
        memcpy(p.instance_id.b, &i, 4);
        if (!vmbc_offer(c, &p, NULL)) {
            printf("offer failed\n");
            return false;
        }
    }
    connect_core(c);
    t1 = now_s();
    for (uint32_t r = 1; r <= n; r++) {
        gpadl(c, r, 0xE1E10 + r, 8);
        if (b.last_status) {
            printf("GPADL failed\n");
            return false;
        }
    }
    t2 = now_s();
    for (uint32_t r = 1; r <= n; r++) {
        VmbWireOpenChannel o;

        memset(&o, 0, sizeof(o));
        o.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
        o.child_relid = r;
        o.openid = r;
        o.ringbuffer_gpadlhandle = 0xE1E10 + r;
        o.downstream_ringbuffer_pageoffset = 4;
        vmbc_handle_message(c, 4, &o, sizeof(o));
        if (b.last_status) {
            printf("open failed\n");
            return false;
        }
    }
    t3 = now_s();
    ph[0] = t1 - t0;
    ph[1] = t2 - t1;
    ph[2] = t3 - t2;
    vmbc_free(c);
    return true;
}

static void bench_channels(uint32_t n)
{
    double best[3] = { 1e9, 1e9, 1e9 }, ph[3], tot;

    for (int rep = 0; rep < 7; rep++) {
        if (!run_channels(n, ph)) {
            return;
        }
        for (int i = 0; i < 3; i++) {
            best[i] = ph[i] < best[i] ? ph[i] : best[i];
        }
    }
    tot = best[0] + best[1] + best[2];
    printf("| channels N = %-4u          | %8.2f us | %8.2f us | %8.2f us |"
           " %8.2f us | %7.3f ms |\n", n, best[0] / n * 1e6,
           best[1] / n * 1e6, best[2] / n * 1e6, tot / n * 1e6, tot * 1e3);
}

int main(void)
{
    static const uint32_t ns[] = { 1, 10, 100, 1000, 2047 };
    double t0 = now_s();

    printf("VMBus core control-plane benchmark\n\n");
    printf("| case                       | messages    | best of 5   |"
           " rate             | throughput                 |\n");
    printf("|----------------------------|-------------|-------------|"
           "------------------|----------------------------|\n");
    bench_gpadl_1g();
    printf("\nOffer + GPADL (8 pages) + open of N channels, cost per channel, "
           "best of 7\n(offer includes INITIATE_CONTACT + REQUESTOFFERS):"
           "\n\n");
    printf("| case                       | offer       | GPADL       |"
           " open        | total/chan  | total      |\n");
    printf("|----------------------------|-------------|-------------|"
           "-------------|-------------|------------|\n");
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        bench_channels(ns[i]);
    }
    printf("\nwhole benchmark: %.2f s\n", now_s() - t0);
    return 0;
}
