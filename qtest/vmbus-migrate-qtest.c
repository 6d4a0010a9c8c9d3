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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/migrate/inflight-message", test_inflight_message);
    qtest_add_func("/vmbus/migrate/core-blob-length", test_core_blob_length);
    return g_test_run();
}
