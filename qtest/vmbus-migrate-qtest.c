/*
 * qtest: VMBus migration streams, honest and hostile.  The qtest plays
 * the guest through vmbus-test-port, saves the source to a file
 * ("migrate" to file:), edits the bytes where a hostile stream would,
 * and loads them into a second QEMU started with -incoming defer.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/resource.h>
#include "qemu/bswap.h"
#include "libqtest.h"
#include "vmbus-qtest-port.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "hw/hyperv/vmbus-wire.h"

#define MONITOR1        0x120000ULL
#define MONITOR2        0x121000ULL
#define RING(i)         (0x200000ULL + (i) * 0x10000ULL)
#define RING_PAGES      8
#define GPADL(i)        (0xE1E10u + (i))

typedef struct Guest {
    QTestState *qts;
    uint32_t conn_id;
} Guest;

/* ---- machines and migration ---------------------------------------------- */

static Guest *vm_new(const char *devs, bool incoming)
{
    Guest *g = g_new0(Guest, 1);

    g->qts = qtest_initf("-M q35 -nodefaults -device vmbus-test-port "
                         "-device vmbus-bridge %s%s", devs,
                         incoming ? " -incoming defer" : "");
    g_assert_cmpuint(vtp_cmd(g->qts, CMD_SYNIC_ENABLE, 0, SIMP(0), SIEFP(0)),
                     ==, 0);
    return g;
}

static void vm_end(Guest *g)
{
    qtest_quit(g->qts);
    g_free(g);
}

/* Poll query-migrate until it settles; the final status. */
static char *mig_wait(QTestState *qts)
{
    for (int i = 0; i < 6000; i++) {
        QDict *rsp = qtest_qmp(qts, "{'execute': 'query-migrate'}");
        QDict *ret = qdict_get_qdict(rsp, "return");
        const char *st = qdict_haskey(ret, "status")
                         ? qdict_get_str(ret, "status") : "none";

        if (!strcmp(st, "completed") || !strcmp(st, "failed")) {
            char *s = g_strdup(st);

            qobject_unref(rsp);
            return s;
        }
        qobject_unref(rsp);
        g_usleep(10000);
    }
    g_assert_not_reached();
}

static void save_to(Guest *g, const char *path)
{
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    g_autofree char *st = NULL;

    qtest_qmp_assert_success(g->qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    st = mig_wait(g->qts);
    g_assert_cmpstr(st, ==, "completed");
}

/* Load @path into an -incoming defer machine: "completed" or "failed". */
static char *load_from(Guest *g, const char *path)
{
    g_autofree char *uri = g_strdup_printf("file:%s", path);

    qtest_qmp_assert_success(g->qts, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s, "
                             "'exit-on-error': false}}", uri);
    return mig_wait(g->qts);
}

/* ---- the bridge's section in a stream ----------------------------------- */

typedef struct Stream {
    uint8_t *data;
    gsize len;
    size_t host;            /* offset of vmbus-host/core: mig_len */
} Stream;

static void stream_read(Stream *s, const char *path)
{
    static const char id[] = "vmbus-host-bridge";
    size_t n = strlen(id);

    g_assert(g_file_get_contents(path, (char **)&s->data, &s->len, NULL));
    /* QEMU_VM_SECTION_FULL, be32 section id, u8 length, idstr */
    for (size_t i = 0; i + n <= s->len; i++) {
        size_t end = i + n;

        if (memcmp(s->data + i, id, n)) {
            continue;
        }
        for (size_t k = n; k < 256 && k + 6 <= end; k++) {
            if (s->data[end - k - 1] == k && s->data[end - k - 6] == 0x04) {
                s->host = end + 8;      /* instance id, version id */
                return;
            }
        }
    }
    g_assert_not_reached();
}

static void stream_write(Stream *s, const char *path)
{
    g_assert(g_file_set_contents(path, (char *)s->data, s->len, NULL));
}

/* Offset of the in-flight message fields (msg_inflight first). */
static size_t stream_inflight(Stream *s)
{
    return s->host + 4 + ldl_be_p(s->data + s->host);
}

static void stream_set_inflight(Stream *s, bool on, uint32_t vp, uint32_t sint,
                                uint8_t payload_size)
{
    size_t q = stream_inflight(s);

    s->data[q] = on;
    stl_be_p(s->data + q + 1, vp);
    stl_be_p(s->data + q + 5, sint);
    stl_be_p(s->data + q + 9, 1);           /* HV_MESSAGE_VMBUS */
    s->data[q + 13] = payload_size;
    memset(s->data + q + 14, 0, 240);
    stl_le_p(s->data + q + 14, VMBW_MSG_ALLOFFERS_DELIVERED);
}

static QDict *query(Guest *g)
{
    QDict *rsp = qtest_qmp(g->qts, "{'execute': 'query-vmbus'}");

    g_assert(qdict_haskey(rsp, "return"));
    return rsp;
}

/* ---- the guest ------------------------------------------------------------ */

static uint32_t recv_msg(Guest *g, void *buf, size_t buflen)
{
    return vtp_recv(g->qts, buf, buflen, NULL, 2000, 0);
}

static void guest_connect(Guest *g, VmbWireOfferChannel *offers, int n)
{
    VmbWireInitiateContact ic = { 0 };
    VmbWireVersionResponse vr;
    VmbWireRequestOffers ro = { .msgtype = VMBW_MSG_REQUESTOFFERS };
    VmbWireOfferChannel o;

    ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
    ic.vmbus_version_requested = VMBW_VERSION(5, 3);
    ic.msg_sint = MSG_SINT;
    ic.monitor_page1 = MONITOR1;
    ic.monitor_page2 = MONITOR2;
    g_assert_cmpuint(vtp_post(g->qts, 4, &ic, sizeof(ic)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &vr, sizeof(vr)), ==,
                     VMBW_MSG_VERSION_RESPONSE);
    g_assert(vr.version_supported);
    g->conn_id = vr.msg_conn_id;
    g_assert_cmpuint(vtp_post(g->qts, g->conn_id, &ro, sizeof(ro)), ==, 0);
    for (int i = 0; i < n; i++) {
        g_assert_cmpuint(recv_msg(g, &o, sizeof(o)), ==,
                         VMBW_MSG_OFFERCHANNEL);
        g_assert_cmpuint(o.child_relid, >=, 1);
        g_assert_cmpuint(o.child_relid, <=, n);
        offers[o.child_relid - 1] = o;
    }
    g_assert_cmpuint(recv_msg(g, &o, sizeof(o)), ==,
                     VMBW_MSG_ALLOFFERS_DELIVERED);
}

/* GPADL over ring area @i, then OPENCHANNEL on it. */
static void guest_open(Guest *g, uint32_t relid, int i)
{
    VmbWireGpadlHeader gh = { 0 };
    VmbWireGpadlCreated gc;
    VmbWireOpenChannel oc = { 0 };
    VmbWireOpenResult orr;

    qtest_memset(g->qts, RING(i), 0, RING_PAGES * 4096);
    gh.hdr.msgtype = VMBW_MSG_GPADL_HEADER;
    gh.child_relid = relid;
    gh.gpadl = GPADL(i);
    gh.range_buflen = 8 + 8 * RING_PAGES;
    gh.rangecount = 1;
    gh.range0.byte_count = RING_PAGES * 4096;
    for (int p = 0; p < RING_PAGES; p++) {
        gh.pfn[p] = (RING(i) >> 12) + p;
    }
    g_assert_cmpuint(vtp_post(g->qts, g->conn_id, &gh, 20 + 8 + 8 * RING_PAGES),
                     ==, 0);
    g_assert_cmpuint(recv_msg(g, &gc, sizeof(gc)), ==, VMBW_MSG_GPADL_CREATED);
    g_assert_cmpuint(gc.creation_status, ==, 0);

    oc.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
    oc.child_relid = relid;
    oc.openid = relid;
    oc.ringbuffer_gpadlhandle = GPADL(i);
    oc.downstream_ringbuffer_pageoffset = RING_PAGES / 2;
    g_assert_cmpuint(vtp_post(g->qts, g->conn_id, &oc, sizeof(oc)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &orr, sizeof(orr)), ==,
                     VMBW_MSG_OPENCHANNEL_RESULT);
    g_assert_cmpuint(orr.status, ==, 0);
}

/* ---- tests ---------------------------------------------------------------- */

/*
 * The message the bridge had staged in the SynIC is posted again after
 * load; its SINT, VP and size come from the stream and must be checked
 * (a SINT of 16 or more indexes beyond the SynIC message page).
 */
static void test_inflight_message(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmbus-mig-XXXXXX", NULL);
    g_autofree char *f0 = g_build_filename(dir, "src", NULL);
    g_autofree char *f1 = g_build_filename(dir, "edited", NULL);
    static const struct {
        uint32_t vp, sint;
        uint8_t size;
        bool ok;
    } cases[] = {
        { 0, MSG_SINT, 8, true },
        { 0, 16, 8, false },
        { 0, 0xffffffffu, 8, false },
        { 0, MSG_SINT, 241, false },
        { 0, MSG_SINT, 255, false },
        { 7, MSG_SINT, 8, false },
    };
    Guest *src = vm_new("", false);
    Stream s;

    save_to(src, f0);
    vm_end(src);
    stream_read(&s, f0);
    g_assert_cmpuint(s.data[stream_inflight(&s)], ==, 0);

    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        Guest *dst = vm_new("", true);
        g_autofree char *st = NULL;
        g_autoptr(QDict) q = NULL;
        uint8_t slot[SLOT_SIZE];

        stream_set_inflight(&s, true, cases[i].vp, cases[i].sint,
                            cases[i].size);
        stream_write(&s, f1);
        st = load_from(dst, f1);
        g_assert_cmpstr(st, ==, cases[i].ok ? "completed" : "failed");
        q = query(dst);             /* still alive and answering */
        if (cases[i].ok) {
            for (int t = 0; t < 100; t++) {
                qtest_memread(dst->qts, SIMP(0) + MSG_SINT * SLOT_SIZE, slot,
                              sizeof(slot));
                if (ldl_le_p(slot)) {
                    break;
                }
                qtest_clock_step(dst->qts, 1000);
            }
            g_assert_cmpuint(ldl_le_p(slot), ==, 1);
            g_assert_cmpuint(slot[4], ==, cases[i].size);
            g_assert_cmpuint(ldl_le_p(slot + 16), ==,
                             VMBW_MSG_ALLOFFERS_DELIVERED);
        }
        vm_end(dst);
    }
    g_free(s.data);
    unlink(f0);
    unlink(f1);
    rmdir(dir);
}

/*
 * The core's state travels as one length-prefixed blob: a hostile length
 * must be refused before anything is allocated for it.  The destination
 * runs under a 1 GiB address-space limit (it needs about a third of
 * that), so allocating what the length says would abort it.
 */
static void test_core_blob_length(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmbus-mig-XXXXXX", NULL);
    g_autofree char *f0 = g_build_filename(dir, "src", NULL);
    g_autofree char *f1 = g_build_filename(dir, "edited", NULL);
    static const uint32_t lens[] = { 0x7ffffff0u, 0xfffffff0u };
    bool sanitized = getenv("VMBUS_QEMU_SANITIZED") != NULL;
    Guest *src = vm_new("", false);
    struct rlimit old, lim;
    Stream s;

    save_to(src, f0);
    vm_end(src);
    stream_read(&s, f0);
    g_assert_cmpint(getrlimit(RLIMIT_AS, &old), ==, 0);
    for (int i = 0; i < ARRAY_SIZE(lens); i++) {
        g_autofree char *st = NULL;
        g_autoptr(QDict) q = NULL;
        Guest *dst;

        stl_be_p(s.data + s.host, lens[i]);
        stream_write(&s, f1);
        /* ASan needs its shadow mappings: no limit there. */
        lim = old;
        if (!sanitized && (lim.rlim_max == RLIM_INFINITY ||
                           lim.rlim_max > (1ull << 30))) {
            lim.rlim_cur = 1ull << 30;
            g_assert_cmpint(setrlimit(RLIMIT_AS, &lim), ==, 0);
        }
        dst = vm_new("", true);
        g_assert_cmpint(setrlimit(RLIMIT_AS, &old), ==, 0);
        st = load_from(dst, f1);
        g_assert_cmpstr(st, ==, "failed");
        q = query(dst);
        vm_end(dst);
    }
    g_free(s.data);
    unlink(f0);
    unlink(f1);
    rmdir(dir);
}

static QDict *chan_info(QDict *q, uint32_t relid)
{
    QList *l = qdict_get_qlist(qdict_get_qdict(q, "return"), "channels");
    QListEntry *e;

    QLIST_FOREACH_ENTRY(l, e) {
        QDict *c = qobject_to(QDict, qlist_entry_obj(e));

        if (qdict_get_int(c, "relid") == relid) {
            return c;
        }
    }
    g_assert_not_reached();
}

static int64_t notifications(Guest *g, uint32_t relid)
{
    QDict *q = query(g);
    int64_t n = qdict_get_int(chan_info(q, relid), "notifications");

    qobject_unref(q);
    return n;
}

/*
 * The destination's devices were offered in another order than the
 * source's (as after hot-plug on the source): their relids, and so their
 * connection ids, change at load.  HvSignalEvent must reach every channel
 * on its new connection id, closed ones included, after any of them opens.
 */
static void test_relids_differ(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmbus-mig-XXXXXX", NULL);
    g_autofree char *f0 = g_build_filename(dir, "src", NULL);
    Guest *src = vm_new("-device hv-heartbeat,id=a -device hv-timesync,id=b",
                        false);
    Guest *dst;
    g_autofree char *st = NULL;
    VmbWireOfferChannel offers[2];

    save_to(src, f0);
    vm_end(src);
    dst = vm_new("-device hv-timesync,id=b -device hv-heartbeat,id=a", true);
    st = load_from(dst, f0);
    g_assert_cmpstr(st, ==, "completed");
    guest_connect(dst, offers, 2);
    for (uint32_t r = 1; r <= 2; r++) {
        g_assert_cmpuint(offers[r - 1].connection_id, ==, 0x2000 + r);
    }
    /* open one, then check both; open the other, check both again */
    for (uint32_t open = 2; open >= 1; open--) {
        guest_open(dst, open, open);
        for (uint32_t r = 1; r <= 2; r++) {
            int64_t before = notifications(dst, r);
            uint32_t status = vtp_cmd(dst->qts, CMD_SIGNAL_EVENT, 0,
                                      offers[r - 1].connection_id, 0);

            g_assert_cmpuint(status, ==, 0);
            if (r < open) {
                continue;               /* closed: nobody counts */
            }
            for (int t = 0; t < 1000 && notifications(dst, r) == before;
                 t++) {
                qtest_clock_step(dst->qts, 1000);
            }
            g_assert_cmpint(notifications(dst, r), >, before);
        }
    }
    vm_end(dst);
    unlink(f0);
    rmdir(dir);
}

/* A ring found corrupt stays stopped on the destination. */
static void test_ring_broken_latch(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmbus-mig-XXXXXX", NULL);
    g_autofree char *f0 = g_build_filename(dir, "src", NULL);
    Guest *src = vm_new("-device hv-heartbeat,id=a", false), *dst;
    g_autofree char *st = NULL;
    VmbWireOfferChannel offer;
    uint8_t pkt[24] = { 0 };
    QDict *q;
    bool broken = false;

    guest_connect(src, &offer, 1);
    guest_open(src, 1, 0);
    /* in-band packet whose len8 (1) is below its offset8 (2) */
    stw_le_p(pkt, 6);
    stw_le_p(pkt + 2, 2);
    stw_le_p(pkt + 4, 1);
    qtest_memwrite(src->qts, RING(0) + 4096, pkt, sizeof(pkt));
    qtest_writel(src->qts, RING(0), sizeof(pkt));
    g_assert_cmpuint(vtp_cmd(src->qts, CMD_SIGNAL_EVENT, 0,
                             offer.connection_id, 0), ==, 0);
    for (int t = 0; t < 1000 && !broken; t++) {
        qtest_clock_step(src->qts, 1000);
        q = query(src);
        broken = qdict_get_bool(qdict_get_qdict(chan_info(q, 1),
                                                "guest-to-host"), "broken");
        qobject_unref(q);
    }
    g_assert(broken);
    save_to(src, f0);
    vm_end(src);

    dst = vm_new("-device hv-heartbeat,id=a", true);
    st = load_from(dst, f0);
    g_assert_cmpstr(st, ==, "completed");
    q = query(dst);
    g_assert_cmpstr(qdict_get_str(chan_info(q, 1), "state"), ==, "open");
    g_assert(qdict_get_bool(qdict_get_qdict(chan_info(q, 1), "guest-to-host"),
                            "broken"));
    g_assert(!qdict_get_bool(qdict_get_qdict(chan_info(q, 1),
                                             "host-to-guest"), "broken"));
    qobject_unref(q);
    vm_end(dst);

    /* hostile ring records: a huge count, a channel that is not open */
    {
        static const char sub[] = "vmbus-host/core/rings";
        g_autofree char *f1 = g_build_filename(dir, "edited", NULL);
        Stream s;
        size_t at = 0;

        stream_read(&s, f0);
        for (size_t i = s.host; i + sizeof(sub) - 1 <= s.len; i++) {
            if (!memcmp(s.data + i, sub, sizeof(sub) - 1)) {
                at = i + sizeof(sub) - 1 + 4;   /* after the version */
                break;
            }
        }
        g_assert_cmpuint(at, !=, 0);
        g_assert_cmpuint(ldl_be_p(s.data + at), ==, 1);
        g_assert_cmpuint(ldl_be_p(s.data + at + 4), ==, 1);     /* relid */
        for (int c = 0; c < 2; c++) {
            g_autofree char *st2 = NULL;

            if (c == 0) {
                stl_be_p(s.data + at, 0x7fffffff);
            } else {
                stl_be_p(s.data + at, 1);
                stl_be_p(s.data + at + 4, 2);
            }
            stream_write(&s, f1);
            dst = vm_new("-device hv-heartbeat,id=a", true);
            st2 = load_from(dst, f1);
            g_assert_cmpstr(st2, ==, "failed");
            vm_end(dst);
        }
        g_free(s.data);
        unlink(f1);
    }
    unlink(f0);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/migrate/inflight-message", test_inflight_message);
    qtest_add_func("/vmbus/migrate/core-blob-length", test_core_blob_length);
    qtest_add_func("/vmbus/migrate/relids-differ", test_relids_differ);
    qtest_add_func("/vmbus/migrate/ring-broken-latch",
                   test_ring_broken_latch);
    return g_test_run();
}
