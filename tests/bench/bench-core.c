/*
 * Benchmark: VMBus core control plane (GPADL setup, offer+GPADL+open scaling)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/simvm.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * The simulated VM keeping only the last host message, with no checks
 * beyond the ops' own: what is timed is the core.
 */
static void mk(SimGuest *sg)
{
    VmbcConfig cfg = { .gpadl_quota_bytes = 16ull << 30 };

    sim_init(sg, &cfg, VMBW_PAGE_SIZE, true);
    sg->keep_max = 1;
}

static void connect_core(SimGuest *sg)
{
    VmbWireHdr h;

    sim_initiate_pages(sg, VMBW_VERSION_IRON, 0, 0, 0, 0);
    sim_hdr(&h, VMBW_MSG_REQUESTOFFERS);
    sim_send(sg, &h, sizeof(h));
}

/* Status of the last host message if it has this type, else -1. */
static int64_t last_status(SimGuest *sg, uint32_t type)
{
    const SimMsg *m = g_queue_peek_tail(&sg->inbox);

    if (!m || m->hdr.msgtype != type) {
        return -1;
    }
    return type == VMBW_MSG_GPADL_CREATED
           ? ((const VmbWireGpadlCreated *)m->data)->creation_status
           : ((const VmbWireOpenResult *)m->data)->status;
}

/* Linux-style GPADL (header with 26 PFNs, bodies with 28); returns msgs. */
static uint32_t gpadl(SimGuest *sg, uint32_t relid, uint32_t handle,
                      uint32_t npages)
{
    uint32_t first = MIN(npages, VMBW_GPADL_HEADER_MAX_PFNS);

    sim_gpadl_post(sg, relid, handle, npages, 0x100000);
    return 1 + (npages - first + VMBW_GPADL_BODY_MAX_PFNS - 1) /
               VMBW_GPADL_BODY_MAX_PFNS;
}

static void bench_gpadl_1g(void)
{
    SimGuest sg;
    VmbcOfferParams p;
    double best = 1e9;
    uint32_t msgs = 0;

    mk(&sg);
    memset(&p, 0, sizeof(p));
    vmbc_offer(sg.core, &p, NULL);
    connect_core(&sg);
    for (int rep = 0; rep < 5; rep++) {
        VmbWireGpadlTeardown t;
        double t0 = now_s(), dt;

        msgs = gpadl(&sg, 1, 0xE1E10 + rep, 262144);
        dt = now_s() - t0;
        if (last_status(&sg, VMBW_MSG_GPADL_CREATED) != 0) {
            printf("GPADL failed\n");
            return;
        }
        best = dt < best ? dt : best;
        memset(&t, 0, sizeof(t));
        sim_hdr(&t, VMBW_MSG_GPADL_TEARDOWN);
        t.child_relid = 1;
        t.gpadl = 0xE1E10 + rep;
        sim_send(&sg, &t, sizeof(t));
    }
    printf("| GPADL 1 GiB (262144 PFNs)  | %6u msgs | %8.3f ms | %10.0f msg/s"
           " | %8.1f GiB/s described |\n", msgs, best * 1e3, msgs / best,
           1.0 / best);
    sim_fini(&sg);
}

/* One run; returns the per-phase times (offer, GPADL, open). */
static bool run_channels(uint32_t n, double *ph)
{
    SimGuest sg;
    double t0, t1, t2, t3;

    mk(&sg);
    t0 = now_s();
    for (uint32_t i = 0; i < n; i++) {
        VmbcOfferParams p;

        memset(&p, 0, sizeof(p));
        memcpy(p.instance_id.b, &i, 4);
        if (!vmbc_offer(sg.core, &p, NULL)) {
            printf("offer failed\n");
            return false;
        }
    }
    connect_core(&sg);
    t1 = now_s();
    for (uint32_t r = 1; r <= n; r++) {
        gpadl(&sg, r, 0xE1E10 + r, 8);
        if (last_status(&sg, VMBW_MSG_GPADL_CREATED) != 0) {
            printf("GPADL failed\n");
            return false;
        }
    }
    t2 = now_s();
    for (uint32_t r = 1; r <= n; r++) {
        sim_open_post(&sg, r, 0xE1E10 + r, 4, 0);
        if (last_status(&sg, VMBW_MSG_OPENCHANNEL_RESULT) != 0) {
            printf("open failed\n");
            return false;
        }
    }
    t3 = now_s();
    ph[0] = t1 - t0;
    ph[1] = t2 - t1;
    ph[2] = t3 - t2;
    sim_fini(&sg);
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
