/*
 * Flood the VMBus core with bad guest messages and measure memory and guest_error calls
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * usage: vmbus-flood [TOTAL_MESSAGES]      (default 10000000)
 *
 * A connected 5.3 core with two channels (one open) receives the total
 * round robin over the kinds of bad message below, with the guest never
 * freeing its message slot (the worst case: every reply is queued).
 * Then the same again with a guest that frees its slot after every
 * message.  Printed: guest_error calls per message for each kind, live
 * heap (mallinfo2) and RSS at 10%, 50% and the end.  Exits 1 if, for a
 * flood of at least 1M messages, the heap grew by more than 64 KiB
 * between 10% and the end: the core's memory must stay flat.
 */

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/hyperv/vmbus-core.h"

static struct {
    bool slot_busy;
    bool eom_each;
    uint64_t posted, refused_busy, guest_errors;
    uint8_t mem[64 * 1024];
} F;

static int op_post(void *o, uint32_t vp, uint32_t sint, uint32_t t,
                   const void *p, size_t len)
{
    if (F.slot_busy) {
        F.refused_busy++;
        return -EAGAIN;
    }
    F.posted++;
    if (!F.eom_each) {
        F.slot_busy = true;
    }
    return 0;
}

static void op_signal(void *o, uint32_t vp, uint32_t sint, uint32_t f) { }
static int op_read(void *o, uint64_t gpa, void *buf, size_t len)
{
    if (gpa >= sizeof(F.mem) || len > sizeof(F.mem) - gpa) {
        return -EFAULT;
    }
    memcpy(buf, F.mem + gpa, len);
    return 0;
}
static int op_write(void *o, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa >= sizeof(F.mem) || len > sizeof(F.mem) - gpa) {
        return -EFAULT;
    }
    memcpy(F.mem + gpa, buf, len);
    return 0;
}
static void op_tmod(void *o, VmbcTimer t, int64_t e) { }
static void op_tdel(void *o, VmbcTimer t) { }
static int64_t op_now(void *o) { return 0; }
static bool op_vp(void *o, uint32_t vp) { return vp < 4; }
static void G_GNUC_PRINTF(3, 4)
op_gerr(void *o, VmbcFault fault, const char *fmt, ...)
{
    F.guest_errors++;
}

static const VmbcOps ops = {
    .post_msg = op_post, .signal_event = op_signal, .read_gpa = op_read,
    .write_gpa = op_write, .timer_mod = op_tmod, .timer_del = op_tdel,
    .now_ns = op_now, .vp_exists = op_vp, .guest_error = op_gerr,
};

static size_t heap_bytes(void)
{
    return mallinfo2().uordblks;
}

static long rss_kib(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) {
            res = 0;
        }
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- the bad messages --------------------------------------------------- */

typedef struct Kind {
    const char *name;
    /* Fill buf for message number i; returns its length (or > 240). */
    uint32_t (*build)(uint8_t *buf, uint64_t i, uint32_t *conn);
} Kind;

static void hdr(uint8_t *b, uint32_t type)
{
    VmbWireHdr h = { GUINT32_TO_LE(type), 0 };

    memcpy(b, &h, sizeof(h));
}

static void put32(uint8_t *b, uint32_t off, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(b + off, &v, 4);
}

static uint32_t k_unknown(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, 30 + (uint32_t)(i % 1000));
    return 8 + i % 233;
}
static uint32_t k_short(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_OPENCHANNEL);
    return 12;
}
static uint32_t k_host_type(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_OFFERCHANNEL);
    return sizeof(VmbWireOfferChannel);
}
static uint32_t k_bad_conn(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_REQUESTOFFERS);
    *c = 7 + (uint32_t)i;
    return 8;
}
static uint32_t k_too_long(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_REQUESTOFFERS);
    return 241 + i % 15;
}
static uint32_t k_open_bad(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_OPENCHANNEL);
    put32(b, 8, 100 + (uint32_t)(i % 1000));    /* unknown relid */
    return sizeof(VmbWireOpenChannel);
}
static uint32_t k_gpadl_hdr(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_GPADL_HEADER);
    put32(b, 8, 999);                           /* unknown relid */
    put32(b, 12, 0x10000 + (uint32_t)i);        /* fresh handle each time */
    put32(b, 16, 8 + 8 * 60);                   /* buflen, rangecount 0 */
    b[18] = 1;
    put32(b, 20, 60 * 4096);                    /* 60 pages announced */
    return 28 + 8;
}
static uint32_t k_gpadl_body(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_GPADL_BODY);
    put32(b, 12, 0x7fffff00 + (uint32_t)(i % 256));
    return 16 + 8 * 28;
}
static uint32_t k_close(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_CLOSECHANNEL);
    put32(b, 8, 2);                             /* offered, not open */
    return 12;
}
static uint32_t k_released(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_RELID_RELEASED);
    put32(b, 8, 1 + (uint32_t)(i % 2047));
    return 12;
}
static uint32_t k_teardown(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_GPADL_TEARDOWN);
    put32(b, 8, 1);
    put32(b, 12, 0x5000000 + (uint32_t)i);
    return 16;
}
static uint32_t k_modify(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_MODIFYCHANNEL);
    put32(b, 8, 1);
    put32(b, 12, 99);                           /* no such VP */
    return 16;
}
static uint32_t k_tl(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_TL_CONNECT_REQUEST);
    memcpy(b + 8, &i, 8);                       /* new endpoint each time */
    return 40;
}
static uint32_t k_reserved(uint8_t *b, uint64_t i, uint32_t *c)
{
    hdr(b, VMBW_MSG_OPEN_RESERVED_CHANNEL);
    return 28;
}

static const Kind kinds[] = {
    { "unknown type", k_unknown },
    { "too short", k_short },
    { "host->guest type", k_host_type },
    { "bad connection id", k_bad_conn },
    { "longer than 240", k_too_long },
    { "OPENCHANNEL bad relid", k_open_bad },
    { "GPADL_HEADER bad relid", k_gpadl_hdr },
    { "GPADL_BODY unknown", k_gpadl_body },
    { "CLOSECHANNEL not open", k_close },
    { "RELID_RELEASED bad", k_released },
    { "GPADL_TEARDOWN unknown", k_teardown },
    { "MODIFYCHANNEL bad VP", k_modify },
    { "TL_CONNECT refused", k_tl },
    { "OPEN_RESERVED", k_reserved },
};

static VmbcCore *setup(void)
{
    VmbcConfig cfg = { .ops = &ops };
    VmbcOfferParams p;
    VmbcCore *core = vmbc_new(&cfg, NULL);
    uint8_t b[VMBW_MAX_PAYLOAD];

    for (int i = 0; i < 2; i++) {
        memset(&p, 0, sizeof(p));
        p.class_id.b[0] = i + 1;
        p.instance_id.b[0] = i + 1;
        vmbc_offer(core, &p, NULL);
    }
    memset(b, 0, sizeof(b));
    hdr(b, VMBW_MSG_INITIATE_CONTACT);
    put32(b, 8, VMBW_VERSION_IRON);
    b[16] = VMBW_MESSAGE_SINT;
    vmbc_handle_message(core, 4, b, 40);
    memset(b, 0, sizeof(b));
    hdr(b, VMBW_MSG_REQUESTOFFERS);
    vmbc_handle_message(core, 4, b, 8);
    /* GPADL of 4 pages on relid 1, then open it */
    memset(b, 0, sizeof(b));
    hdr(b, VMBW_MSG_GPADL_HEADER);
    put32(b, 8, 1);
    put32(b, 12, 0xabc);
    put32(b, 16, 40);
    b[18] = 1;
    put32(b, 20, 4 * 4096);
    for (int i = 0; i < 4; i++) {
        put32(b, 28 + 8 * i, 0x100 + i);
    }
    vmbc_handle_message(core, 4, b, 60);
    memset(b, 0, sizeof(b));
    hdr(b, VMBW_MSG_OPENCHANNEL);
    put32(b, 8, 1);
    put32(b, 16, 0xabc);
    put32(b, 24, 2);
    vmbc_handle_message(core, 4, b, sizeof(VmbWireOpenChannel));
    return core;
}

static int run(uint64_t total, bool eom_each)
{
    enum { K = G_N_ELEMENTS(kinds) };
    VmbcCore *core;
    uint64_t errs[K] = { 0 }, msgs[K] = { 0 };
    size_t h0, h10 = 0, h50 = 0, hend;
    long rss0, rss10 = 0, rss50 = 0;
    gint64 t0;
    double secs;
    VmbcConnInfo ci;
    uint8_t buf[256];
    int bad = 0;

    memset(&F, 0, sizeof(F));
    F.eom_each = eom_each;
    core = setup();
    F.slot_busy = !eom_each;        /* the guest never answers its EOM */
    h0 = heap_bytes();
    rss0 = rss_kib();
    t0 = g_get_monotonic_time();
    /* Round robin over the kinds, so bounded structures fill early. */
    for (uint64_t i = 0; i < total; i++) {
        uint32_t k = i % K, conn = 4, len;
        uint64_t e0 = F.guest_errors;

        memset(buf, 0, 48);
        len = kinds[k].build(buf, i / K, &conn);
        vmbc_handle_message(core, conn, buf, len);
        if (eom_each) {
            F.slot_busy = false;
            vmbc_msg_slot_freed(core);
        }
        errs[k] += F.guest_errors - e0;
        msgs[k]++;
        if (i + 1 == total / 10) {
            h10 = heap_bytes();
            rss10 = rss_kib();
        } else if (i + 1 == total / 2) {
            h50 = heap_bytes();
            rss50 = rss_kib();
        }
    }
    secs = (g_get_monotonic_time() - t0) / 1e6;
    hend = heap_bytes();
    vmbc_conn_info(core, &ci);
    printf("\n== %" G_GUINT64_FORMAT " bad messages, guest %s ==\n", total,
           eom_each ? "frees its slot after each message"
                    : "never frees its slot");
    printf("%-24s %10s %14s\n", "kind", "messages", "guest_err/msg");
    for (uint32_t k = 0; k < K; k++) {
        printf("%-24s %10" G_GUINT64_FORMAT " %14.3f\n", kinds[k].name,
               msgs[k], msgs[k] ? (double)errs[k] / msgs[k] : 0.0);
    }
    printf("total %.1f s (%.2f M msg/s), guest_error calls %" G_GUINT64_FORMAT
           " (%.3f per message)\n", secs, total / secs / 1e6,
           F.guest_errors, (double)F.guest_errors / total);
    printf("core: out queue %u (limit %u), GPADLs %u (limit %u), channels "
           "%u, replies dropped %" G_GUINT64_FORMAT "\n", ci.out_queue_len,
           VMBC_DEFAULT_OUT_QUEUE, ci.n_gpadls, VMBC_DEFAULT_GPADL_COUNT,
           ci.n_channels, vmbc_counters(core)->out_dropped);
    printf("heap in use: start %zu KiB, at 10%% %zu KiB, at 50%% %zu KiB, "
           "end %zu KiB\n", h0 / 1024, h10 / 1024, h50 / 1024, hend / 1024);
    printf("RSS: start %ld KiB, at 10%% %ld KiB, at 50%% %ld KiB, end %ld "
           "KiB\n", rss0, rss10, rss50, rss_kib());
    /* Flat once the bounded queues filled (well before 10% of 1M). */
    if (total >= 1000000 && hend > h10 + 64 * 1024) {
        printf("FAIL: heap grew by %zu KiB between 10%% and the end\n",
               (hend - h10) / 1024);
        bad = 1;
    }
    vmbc_free(core);
    return bad;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? g_ascii_strtoull(argv[1], NULL, 10) : 10000000;
    int bad;

    if (n < G_N_ELEMENTS(kinds) * 10) {
        n = G_N_ELEMENTS(kinds) * 10;
    }
    bad = run(n, false);
    bad |= run(n, true);
    printf("\n%s vmbus-flood\n", bad ? "FAIL" : "PASS");
    return bad;
}
