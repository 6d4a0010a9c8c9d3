/*
 * qtest: the guest-fault reporter (hw/hyperv/vmbus/guest-fault.c).
 *
 *  - /vmbus/fault/conditions: bad channel messages of two kinds are
 *    counted under their own conditions in query-vmbus.
 *  - /vmbus/fault/rate-limit: a flood of bad messages logs at most
 *    VMBUS_FAULT_LOG_BURST LOG_GUEST_ERROR lines a second; the rest are
 *    counted as suppressed and announced once the next second's first
 *    fault is logged.  Under -accel qtest virtual time only moves when
 *    the test steps it, so the counts are exact.
 *  - /vmbus/fault/tcg-msr: a boot sector under TCG writes REFERENCE_TSC
 *    with a page that is not RAM TCG_FLOOD times: each write is an
 *    overlay_page fault, counted, and each is either logged or counted
 *    as suppressed (virtual time runs with the host's here: a loop that
 *    long cannot fit in as many windows as it would need to log it all,
 *    TCG_FLOOD / VMBUS_FAULT_LOG_BURST seconds).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "libqtest.h"
#include "vmbus-qtest-port.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "hw/hyperv/vmbus-wire.h"

#define LOG_BURST       10      /* VMBUS_FAULT_LOG_BURST */
#define FLOOD           50
#define TCG_FLOOD       1000

static QTestState *bus_start(const char *log)
{
    QTestState *qts = qtest_initf("-M q35 -nodefaults -device vmbus-test-port "
                                  "-device vmbus-bridge%s%s",
                                  log ? " -d guest_errors -D " : "",
                                  log ? log : "");

    g_assert_cmpuint(vtp_cmd(qts, CMD_SYNIC_ENABLE, 0, SIMP(0), SIEFP(0)),
                     ==, 0);
    return qts;
}

/* query-vmbus: the count of @cond, and the faults left out of the log. */
static uint64_t fault_count(QTestState *qts, const char *cond,
                            uint64_t *suppressed, uint64_t *total)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'query-vmbus'}");
    QDict *ret = qdict_get_qdict(rsp, "return");
    QList *faults;
    QListEntry *e;
    uint64_t n = UINT64_MAX;
    int conds = 0;

    g_assert_nonnull(ret);
    faults = qdict_get_qlist(ret, "faults");
    g_assert_nonnull(faults);
    if (total) {
        *total = 0;
    }
    QLIST_FOREACH_ENTRY(faults, e) {
        QDict *f = qobject_to(QDict, qlist_entry_obj(e));

        conds++;
        if (!strcmp(qdict_get_str(f, "condition"), cond)) {
            n = qdict_get_int(f, "count");
        }
        if (total) {
            *total += qdict_get_int(f, "count");
        }
    }
    g_assert_cmpint(conds, >=, 10);
    g_assert_cmpuint(n, !=, UINT64_MAX);     /* @cond is listed */
    if (suppressed) {
        *suppressed = qdict_get_int(ret, "faults-suppressed");
    }
    qobject_unref(rsp);
    return n;
}

/* An unknown message type: a malformed message. */
static void post_unknown_type(QTestState *qts)
{
    uint8_t m[16] = { 0 };

    stl_le_p(m, 99);
    g_assert_cmpuint(vtp_post(qts, 1, m, sizeof(m)), ==, 0);
}

/* OPENCHANNEL before INITIATE_CONTACT: refused in that state. */
static void post_open_disconnected(QTestState *qts)
{
    VmbWireOpenChannel oc = { 0 };

    oc.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
    oc.child_relid = 1;
    g_assert_cmpuint(vtp_post(qts, 1, &oc, sizeof(oc)), ==, 0);
}

static void test_conditions(void)
{
    QTestState *qts = bus_start(NULL);
    uint64_t total;

    g_assert_cmpuint(fault_count(qts, "msg_malformed", NULL, &total), ==, 0);
    g_assert_cmpuint(total, ==, 0);
    for (int i = 0; i < 3; i++) {
        post_unknown_type(qts);
    }
    post_open_disconnected(qts);
    post_open_disconnected(qts);
    g_assert_cmpuint(fault_count(qts, "msg_malformed", NULL, NULL), ==, 3);
    g_assert_cmpuint(fault_count(qts, "msg_state", NULL, &total), ==, 2);
    g_assert_cmpuint(total, ==, 5);
    g_assert_cmpuint(fault_count(qts, "gpadl", NULL, NULL), ==, 0);
    qtest_quit(qts);
}

/* Lines of @path that contain @needle; *last gets the last of them. */
static int log_lines(const char *path, const char *needle, char **last)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    int n = 0;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        if (strstr(lines[i], needle)) {
            n++;
            if (last) {
                g_free(*last);
                *last = g_strdup(lines[i]);
            }
        }
    }
    return n;
}

static char *tmp_log(void)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("vmbus-fault-XXXXXX.log", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    return g_steal_pointer(&path);
}

static void test_rate_limit(void)
{
    g_autofree char *log = tmp_log();
    g_autofree char *last = NULL;
    QTestState *qts = bus_start(log);
    uint64_t suppressed;

    for (int i = 0; i < FLOOD; i++) {
        post_unknown_type(qts);
    }
    g_assert_cmpuint(fault_count(qts, "msg_malformed", &suppressed, NULL),
                     ==, FLOOD);
    g_assert_cmpuint(suppressed, ==, FLOOD - LOG_BURST);

    /* The next second: its first fault is logged after the announcement. */
    qtest_clock_step(qts, 2000000000LL);     /* 2 s */
    post_open_disconnected(qts);
    g_assert_cmpuint(fault_count(qts, "msg_state", &suppressed, NULL), ==, 1);
    g_assert_cmpuint(suppressed, ==, FLOOD - LOG_BURST);
    qtest_quit(qts);

    g_assert_cmpint(log_lines(log, "vmbus fault msg_malformed (", NULL), ==,
                    LOG_BURST);
    g_assert_cmpint(log_lines(log, "vmbus fault msg_state (", NULL), ==, 1);
    g_assert_cmpint(log_lines(log, "more guest faults suppressed", &last),
                    ==, 1);
    g_assert_nonnull(strstr(last, "vmbus: 40 more guest faults suppressed"));
    unlink(log);
}

/*
 * Boot sector, 16-bit real mode: TCG_FLOOD times wrmsr REFERENCE_TSC <-
 * 0x80000001 (enabled, page at 2 GiB: beyond RAM), then write
 * SECTOR_DONE at SECTOR_FLAG and halt.
 */
#define SECTOR_FLAG     0x8000
#define SECTOR_DONE     0x600df00du
#define DISK_SIZE       (1024 * 1024)

static const uint8_t msr_boot_code[] = {
    0xfa,                               /* cli */
    0x31, 0xc0,                         /* xor ax, ax */
    0x8e, 0xd8,                         /* mov ds, ax */
    0xbe, TCG_FLOOD & 0xff, TCG_FLOOD >> 8, /* mov si, TCG_FLOOD */
    0x66, 0xb9, 0x21, 0x00, 0x00, 0x40, /* mov ecx, 0x40000021 */
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x80, /* mov eax, 0x80000001 */
    0x66, 0x31, 0xd2,                   /* xor edx, edx */
    0x0f, 0x30,                         /* 1: wrmsr */
    0x4e,                               /* dec si */
    0x75, 0xfb,                         /* jnz 1b */
    0x66, 0xc7, 0x06, 0x00, 0x80,       /* mov dword [SECTOR_FLAG], */
    0x0d, 0xf0, 0x0d, 0x60,             /*     SECTOR_DONE */
    0xf4,                               /* 2: hlt */
    0xeb, 0xfd,                         /* jmp 2b */
};

static void test_tcg_msr(void)
{
    g_autofree uint8_t *img = g_malloc0(DISK_SIZE);
    g_autofree char *disk = NULL;
    g_autofree char *log = tmp_log();
    QTestState *qts;
    uint32_t flag = 0;
    uint64_t suppressed, total;
    int fd;

    memcpy(img, msr_boot_code, sizeof(msr_boot_code));
    img[510] = 0x55;
    img[511] = 0xaa;
    fd = g_file_open_tmp("vmbus-fault-XXXXXX", &disk, NULL);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, img, DISK_SIZE), ==, DISK_SIZE);
    close(fd);

    qts = qtest_initf("-M pc -accel tcg "
                      "-cpu qemu64,hv-vpindex=on,hv-synic=on,hv-time=on "
                      "-nodefaults -display none -device vmbus-bridge "
                      "-d guest_errors -D %s "
                      "-drive if=ide,file=%s,format=raw,snapshot=on",
                      log, disk);
    /* SeaBIOS, then the sector: a bounded wait, not a timing check */
    for (int i = 0; i < 6000 && flag != SECTOR_DONE; i++) {
        g_usleep(10 * 1000);
        flag = qtest_readl(qts, SECTOR_FLAG);
    }
    g_assert_cmphex(flag, ==, SECTOR_DONE);
    g_assert_cmpuint(fault_count(qts, "overlay_page", &suppressed, &total),
                     ==, TCG_FLOOD);
    g_assert_cmpuint(total, ==, TCG_FLOOD);
    g_assert_cmpuint(suppressed, >, 0);
    g_test_message("%d faults, %" PRIu64 " not logged", TCG_FLOOD, suppressed);
    qtest_quit(qts);
    g_assert_cmpint(log_lines(log, "vmbus fault overlay_page (hyperv): "
                              "reference TSC page at 0x80000000", NULL), ==,
                    TCG_FLOOD - suppressed);
    unlink(disk);
    unlink(log);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/fault/conditions", test_conditions);
    qtest_add_func("/vmbus/fault/rate-limit", test_rate_limit);
    qtest_add_func("/vmbus/fault/tcg-msr", test_tcg_msr);
    return g_test_run();
}
