/*
 * qtest: the ACPI nodes of vmbus-bridge, decoded from the DSDT QEMU hands
 * the firmware, and the bridge's refusals of badly placed MMIO windows.
 *
 * Expected layout (Hyper-V's):
 *   Scope (\_SB) { Device (VMOD) { _HID "ACPI0004", _UID 0,
 *                                  _CRS { [DWordMemory low] [QWordMemory high] },
 *                                  Device (VMBS) { _HID "VMBus", _CRS { IRQ } } } }
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/fw_cfg.h"
#include "qobject/qdict.h"
#include "qobject/qnum.h"

#define MiB (1024ull * 1024)
#define GiB (1024 * MiB)

/* ---- a small AML reader: Name, Method (skipped) and Device objects ---- */

typedef struct AmlName {
    char name[5];
    enum { AML_INT, AML_STR, AML_BUF } kind;
    uint64_t ival;
    char *sval;
    const uint8_t *buf;
    size_t buflen;
} AmlName;

typedef struct AmlDev {
    char name[5];
    GArray *names;          /* of AmlName */
    GPtrArray *children;    /* of AmlDev * */
    unsigned methods;
} AmlDev;

static void aml_dev_free(AmlDev *d)
{
    for (guint i = 0; i < d->names->len; i++) {
        g_free(g_array_index(d->names, AmlName, i).sval);
    }
    g_array_free(d->names, true);
    g_ptr_array_free(d->children, true);
    g_free(d);
}

/* PkgLength at *p; returns the end of the package, or NULL. */
static const uint8_t *aml_pkg(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *start = *p;
    unsigned extra, i;
    size_t len;

    if (*p >= end) {
        return NULL;
    }
    extra = **p >> 6;
    if (*p + 1 + extra > end) {
        return NULL;
    }
    if (!extra) {
        len = **p & 0x3f;
    } else {
        len = **p & 0x0f;
        for (i = 0; i < extra; i++) {
            len |= (size_t)(*p)[1 + i] << (4 + 8 * i);
        }
    }
    *p += 1 + extra;
    return start + len <= end ? start + len : NULL;
}

static bool aml_nameseg(const uint8_t **p, const uint8_t *end, char out[5])
{
    if (*p < end && **p == '\\') {
        (*p)++;
    }
    if (*p + 4 > end) {
        return false;
    }
    memcpy(out, *p, 4);
    out[4] = 0;
    *p += 4;
    return true;
}

static bool aml_int(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    static const unsigned sizes[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4,
                                      [0x0e] = 8 };
    uint8_t op;
    unsigned n;

    if (*p >= end) {
        return false;
    }
    op = *(*p)++;
    switch (op) {
    case 0x00: *v = 0; return true;
    case 0x01: *v = 1; return true;
    case 0xff: *v = ~0ull; return true;
    case 0x0a: case 0x0b: case 0x0c: case 0x0e:
        n = sizes[op];
        if (*p + n > end) {
            return false;
        }
        *v = 0;
        for (unsigned i = 0; i < n; i++) {
            *v |= (uint64_t)(*p)[i] << (8 * i);
        }
        *p += n;
        return true;
    }
    return false;
}

static AmlDev *aml_device(const uint8_t *p, const uint8_t *end,
                          const char *name)
{
    AmlDev *d = g_new0(AmlDev, 1);

    strcpy(d->name, name);
    d->names = g_array_new(false, true, sizeof(AmlName));
    d->children = g_ptr_array_new_with_free_func((GDestroyNotify)aml_dev_free);
    while (p < end) {
        AmlName n = { 0 };
        const uint8_t *pend;

        switch (*p) {
        case 0x08:                                  /* NameOp */
            p++;
            g_assert_true(aml_nameseg(&p, end, n.name));
            g_assert_true(p < end);
            if (*p == 0x0d) {                       /* String */
                const uint8_t *nul = memchr(p + 1, 0, end - p - 1);

                g_assert_nonnull(nul);
                n.kind = AML_STR;
                n.sval = g_strndup((const char *)p + 1, nul - p - 1);
                p = nul + 1;
            } else if (*p == 0x11) {                /* Buffer */
                uint64_t size;

                p++;
                pend = aml_pkg(&p, end);
                g_assert_nonnull(pend);
                g_assert_true(aml_int(&p, pend, &size));
                g_assert_cmpuint(size, ==, pend - p);
                n.kind = AML_BUF;
                n.buf = p;
                n.buflen = size;
                p = pend;
            } else {
                n.kind = AML_INT;
                g_assert_true(aml_int(&p, end, &n.ival));
            }
            g_array_append_val(d->names, n);
            break;
        case 0x14:                                  /* MethodOp */
            p++;
            pend = aml_pkg(&p, end);
            g_assert_nonnull(pend);
            d->methods++;
            p = pend;
            break;
        case 0x5b:                                  /* DeviceOp */
            g_assert_true(p + 1 < end && p[1] == 0x82);
            p += 2;
            pend = aml_pkg(&p, end);
            g_assert_nonnull(pend);
            g_assert_true(aml_nameseg(&p, pend, n.name));
            g_ptr_array_add(d->children, aml_device(p, pend, n.name));
            p = pend;
            break;
        default:
            g_test_message("unexpected AML opcode 0x%02x in %s", *p, name);
            g_assert_not_reached();
        }
    }
    return d;
}

static const AmlName *aml_find(const AmlDev *d, const char *name)
{
    for (guint i = 0; i < d->names->len; i++) {
        const AmlName *n = &g_array_index(d->names, AmlName, i);

        if (!strcmp(n->name, name)) {
            return n;
        }
    }
    return NULL;
}

/* ---- resource templates ---- */

typedef struct Res {
    int memory32, memory64, irqs, other;
    uint64_t lo_min, lo_max, lo_len;
    uint64_t hi_min, hi_max, hi_len;
    uint16_t irq_mask;
} Res;

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static Res parse_crs(const AmlName *crs)
{
    const uint8_t *p = crs->buf, *end = crs->buf + crs->buflen;
    Res r = { 0 };
    bool ended = false;

    g_assert_cmpint(crs->kind, ==, AML_BUF);
    while (p < end && !ended) {
        if (*p & 0x80) {                            /* large item */
            uint8_t type = *p;
            size_t len;

            g_assert_true(p + 3 <= end);
            len = le(p + 1, 2);
            g_assert_true(p + 3 + len <= end);
            if (type == 0x87) {                     /* DWord address */
                g_assert_cmpuint(p[3], ==, 0);      /* memory range */
                r.memory32++;
                r.lo_min = le(p + 10, 4);
                r.lo_max = le(p + 14, 4);
                r.lo_len = le(p + 22, 4);
            } else if (type == 0x8a) {              /* QWord address */
                g_assert_cmpuint(p[3], ==, 0);
                r.memory64++;
                r.hi_min = le(p + 14, 8);
                r.hi_max = le(p + 22, 8);
                r.hi_len = le(p + 38, 8);
            } else {
                r.other++;
            }
            p += 3 + len;
        } else {                                    /* small item */
            uint8_t type = (*p >> 3) & 0xf, len = *p & 7;

            g_assert_true(p + 1 + len <= end);
            if (type == 0x4) {                      /* IRQ */
                r.irqs++;
                r.irq_mask = le(p + 1, 2);
            } else if (type == 0xf) {               /* End tag */
                ended = true;
            } else {
                r.other++;
            }
            p += 1 + len;
        }
    }
    g_assert_true(ended);
    return r;
}

/* ---- the DSDT ---- */

static uint8_t *fetch_dsdt(QTestState *qts, size_t *len)
{
    QFWCFG *fw_cfg = pc_fw_cfg_init(qts);
    size_t cap = 512 * 1024, size;
    g_autofree uint8_t *blob = g_malloc0(cap);
    uint8_t *p, *dsdt;
    uint32_t tlen;

    size = qfw_cfg_get_file(fw_cfg, "etc/acpi/tables", blob, cap);
    pc_fw_cfg_uninit(fw_cfg);
    g_assert_cmpuint(size, >, 0);
    size = MIN(size, cap);
    p = memmem(blob, size, "DSDT", 4);
    g_assert_nonnull(p);
    tlen = le(p + 4, 4);
    g_assert_cmpuint(tlen, >, 36);
    g_assert_cmpuint(p - blob + tlen, <=, size);
    dsdt = g_memdup2(p, tlen);
    *len = tlen;
    return dsdt;
}

/*
 * Decode Device (VMOD) and check that it sits directly in Scope (\_SB).
 * Returns NULL when the DSDT has no VMOD.
 */
static AmlDev *find_vmod(const uint8_t *dsdt, size_t len)
{
    const uint8_t *end = dsdt + len, *q;

    for (q = dsdt + 36; q + 6 < end; q++) {
        const uint8_t *p = q + 2, *pend;
        char name[5];

        if (q[0] != 0x5b || q[1] != 0x82) {
            continue;
        }
        pend = aml_pkg(&p, end);
        if (!pend || !aml_nameseg(&p, pend, name) || strcmp(name, "VMOD")) {
            continue;
        }
        /* its parent: a Scope (_SB) whose package ends at or after it */
        for (const uint8_t *s = dsdt + 36; s < q; s++) {
            const uint8_t *sp = s + 1, *send;
            char sname[5];

            if (*s != 0x10) {
                continue;
            }
            send = aml_pkg(&sp, end);
            if (send && send >= pend && aml_nameseg(&sp, send, sname) &&
                !strcmp(sname, "_SB_") && sp == q) {
                return aml_device(p, pend, "VMOD");
            }
        }
        g_test_message("VMOD is not directly in Scope (\\_SB)");
        g_assert_not_reached();
    }
    return NULL;
}

typedef struct Layout {
    Res mod, bus;
} Layout;

static Layout check_layout(QTestState *qts)
{
    g_autofree uint8_t *dsdt = NULL;
    size_t len;
    AmlDev *vmod, *vmbs;
    const AmlName *n;
    Layout l;

    dsdt = fetch_dsdt(qts, &len);
    vmod = find_vmod(dsdt, len);
    g_assert_nonnull(vmod);

    n = aml_find(vmod, "_HID");
    g_assert_nonnull(n);
    g_assert_cmpint(n->kind, ==, AML_STR);
    g_assert_cmpstr(n->sval, ==, "ACPI0004");
    n = aml_find(vmod, "_UID");
    g_assert_nonnull(n);
    g_assert_cmpuint(n->ival, ==, 0);
    n = aml_find(vmod, "_CRS");
    g_assert_nonnull(n);
    l.mod = parse_crs(n);
    g_assert_cmpint(l.mod.irqs, ==, 0);
    g_assert_cmpint(l.mod.other, ==, 0);

    g_assert_cmpuint(vmod->children->len, ==, 1);
    vmbs = g_ptr_array_index(vmod->children, 0);
    g_assert_cmpstr(vmbs->name, ==, "VMBS");
    n = aml_find(vmbs, "_HID");
    g_assert_nonnull(n);
    g_assert_cmpstr(n->sval, ==, "VMBus");
    n = aml_find(vmbs, "_DDN");
    g_assert_nonnull(n);
    g_assert_cmpstr(n->sval, ==, "VMBUS");
    g_assert_nonnull(aml_find(vmbs, "_UID"));
    g_assert_nonnull(aml_find(vmbs, "_PS3"));
    g_assert_cmpuint(vmbs->methods, ==, 3);     /* _DIS, _PS0, _STA */
    n = aml_find(vmbs, "_CRS");
    g_assert_nonnull(n);
    l.bus = parse_crs(n);
    /* VMBS: the IRQ only; the windows belong to its parent */
    g_assert_cmpint(l.bus.irqs, ==, 1);
    g_assert_cmpint(l.bus.memory32 + l.bus.memory64 + l.bus.other, ==, 0);
    g_assert_cmpuint(vmbs->children->len, ==, 0);
    aml_dev_free(vmod);
    return l;
}

static uint64_t q35_prop(QTestState *qts, const char *prop)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': '/machine/q35', 'property': %s}}", prop);
    uint64_t v;

    g_assert_true(qdict_haskey(rsp, "return"));
    v = qnum_get_uint(qobject_to(QNum, qdict_get(rsp, "return")));
    qobject_unref(rsp);
    return v;
}

static QTestState *start(const char *bridge_opts, const char *extra)
{
    return qtest_initf("-M q35 -nodefaults -m 1G %s -device vmbus-test-port "
                       "-device vmbus-bridge%s%s", extra ? extra : "",
                       bridge_opts ? "," : "", bridge_opts ? bridge_opts : "");
}

/* Default: one 512 MiB window above RAM and the 64-bit PCI hole. */
static void test_default(void)
{
    QTestState *qts = start(NULL, NULL);
    uint64_t hole64_end = q35_prop(qts, "pci-hole64-end");
    Layout l = check_layout(qts);

    g_assert_cmpint(l.mod.memory32, ==, 0);
    g_assert_cmpint(l.mod.memory64, ==, 1);
    g_assert_cmpuint(l.mod.hi_len, ==, 512 * MiB);
    g_assert_cmpuint(l.mod.hi_max, ==, l.mod.hi_min + l.mod.hi_len - 1);
    g_assert_cmpuint(l.mod.hi_min % (2 * MiB), ==, 0);
    g_assert_cmpuint(l.mod.hi_min, >=, 4 * GiB);
    g_assert_cmpuint(l.mod.hi_min, >=, hole64_end);
    g_assert_cmpuint(l.bus.irq_mask, ==, 1u << 7);
    qtest_quit(qts);
}

/* Above-4G RAM and a memory-hotplug area push the window up. */
static void test_default_big_machine(void)
{
    QTestState *qts = start(NULL, "-m 3G,slots=2,maxmem=8G");
    uint64_t hole64_end = q35_prop(qts, "pci-hole64-end");
    Layout l = check_layout(qts);

    g_assert_cmpint(l.mod.memory64, ==, 1);
    g_assert_cmpuint(l.mod.hi_min, >=, hole64_end);
    g_assert_cmpuint(l.mod.hi_min, >=, 4 * GiB + 8 * GiB);
    qtest_quit(qts);
}

static void test_sized_placed(void)
{
    QTestState *qts = start("mmio-size=64M,mmio-base=0x8000000000,irq=5",
                            NULL);
    Layout l = check_layout(qts);

    g_assert_cmpint(l.mod.memory64, ==, 1);
    g_assert_cmpuint(l.mod.hi_min, ==, 0x8000000000ull);
    g_assert_cmpuint(l.mod.hi_len, ==, 64 * MiB);
    g_assert_cmpuint(l.mod.hi_max, ==, 0x8000000000ull + 64 * MiB - 1);
    g_assert_cmpuint(l.bus.irq_mask, ==, 1u << 5);
    qtest_quit(qts);
}

/* A free range below 4 GiB (above the local APICs, below the BIOS). */
#define LOW_BASE 0xff000000ull
#define LOW_SIZE (8 * MiB)

static void test_low_and_high(void)
{
    QTestState *qts = start("mmio-low-base=0xff000000,mmio-low-size=8M",
                            NULL);
    Layout l = check_layout(qts);

    g_assert_cmpint(l.mod.memory32, ==, 1);
    g_assert_cmpuint(l.mod.lo_min, ==, LOW_BASE);
    g_assert_cmpuint(l.mod.lo_len, ==, LOW_SIZE);
    g_assert_cmpuint(l.mod.lo_max, ==, LOW_BASE + LOW_SIZE - 1);
    g_assert_cmpint(l.mod.memory64, ==, 1);
    qtest_quit(qts);
}

static void test_no_window(void)
{
    QTestState *qts = start("mmio-size=0", NULL);
    Layout l = check_layout(qts);

    g_assert_cmpint(l.mod.memory32 + l.mod.memory64, ==, 0);
    qtest_quit(qts);
}

/* Without a bridge the DSDT has no VMBus nodes. */
static void test_absent(void)
{
    QTestState *qts = qtest_init("-M q35 -nodefaults");
    g_autofree uint8_t *dsdt = NULL;
    size_t len;

    dsdt = fetch_dsdt(qts, &len);
    g_assert_null(find_vmod(dsdt, len));
    g_assert_null(memmem(dsdt, len, "VMBS", 4));
    qtest_quit(qts);
}

/* ---- refusals: QEMU exits at startup naming the problem ---- */

/* QEMU with the bridge options; QMP on stdin quits it if it starts. */
static int run_qemu(const char *opts, char **err)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    const char *quit = "{\"execute\":\"qmp_capabilities\"}\n"
                       "{\"execute\":\"quit\"}\n";
    g_autofree char *cmd = NULL;
    g_auto(GStrv) argv = NULL;
    GString *buf = g_string_new(NULL);
    int status = -1, in_fd, err_fd;
    char tmp[4096];
    ssize_t n;
    GPid pid;

    g_assert_nonnull(qemu);
    cmd = g_strdup_printf("%s -M q35 -accel qtest -nodefaults -display none "
                          "-S -m 1G -qmp stdio -device vmbus-test-port "
                          "-device vmbus-bridge,%s", qemu, opts);
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_async_with_pipes(NULL, argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD |
                                           G_SPAWN_STDOUT_TO_DEV_NULL,
                                           NULL, NULL, &pid, &in_fd, NULL,
                                           &err_fd, NULL));
    signal(SIGPIPE, SIG_IGN);           /* a refusing QEMU has exited */
    n = write(in_fd, quit, strlen(quit));
    (void)n;
    close(in_fd);
    while ((n = read(err_fd, tmp, sizeof(tmp))) > 0) {
        g_string_append_len(buf, tmp, n);
    }
    close(err_fd);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_spawn_close_pid(pid);
    *err = g_string_free(buf, false);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The options that start are accepted (the same runner, exit 0). */
static void test_accepted(void)
{
    g_autofree char *err = NULL;

    g_assert_cmpint(run_qemu("mmio-low-base=0xff000000,mmio-low-size=8M",
                             &err), ==, 0);
}

typedef struct Refusal {
    const char *name, *opts, *message;
} Refusal;

static const Refusal refusals[] = {
    { "unaligned-size", "mmio-size=1000000", "multiples of 1 MiB" },
    { "unaligned-low", "mmio-low-base=0xff080000,mmio-low-size=1M",
      "multiples of 1 MiB" },
    { "high-below-4g", "mmio-base=0x80000000", "below 4 GiB" },
    { "high-in-pci-hole64", "mmio-base=0x100000000",
      "overlaps the 64-bit PCI window" },
    { "base-without-size", "mmio-size=0,mmio-base=0x8000000000",
      "needs a nonzero mmio-size" },
    { "low-without-base", "mmio-low-size=8M", "needs mmio-low-base" },
    { "low-base-without-size", "mmio-low-base=0xff000000",
      "needs a nonzero mmio-low-size" },
    { "low-in-ram", "mmio-low-base=0x10000000,mmio-low-size=8M",
      "overlaps 'pc.ram" },
    { "low-in-pci-hole", "mmio-low-base=0xc0000000,mmio-low-size=8M",
      "overlaps the 32-bit PCI window" },
    { "low-on-ioapic", "mmio-low-base=0xfec00000,mmio-low-size=1M",
      "overlaps the IOAPIC" },
    { "low-on-lapic", "mmio-low-base=0xfee00000,mmio-low-size=1M",
      "overlaps the local APICs" },
    { "low-on-bios", "mmio-low-base=0xfff00000,mmio-low-size=1M",
      "overlaps 'pc.bios'" },
    { "low-above-4g", "mmio-low-base=0xffe00000,mmio-low-size=4M",
      "between 1 MiB and 4 GiB" },
};

static void test_refused(const void *data)
{
    const Refusal *r = data;
    g_autofree char *err = NULL;

    g_assert_cmpint(run_qemu(r->opts, &err), !=, 0);
    if (!strstr(err, r->message)) {
        g_test_message("stderr: %s", err);
    }
    g_assert_nonnull(strstr(err, r->message));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/acpi/default", test_default);
    qtest_add_func("/vmbus/acpi/default-big-machine", test_default_big_machine);
    qtest_add_func("/vmbus/acpi/sized-placed", test_sized_placed);
    qtest_add_func("/vmbus/acpi/low-and-high", test_low_and_high);
    qtest_add_func("/vmbus/acpi/no-window", test_no_window);
    qtest_add_func("/vmbus/acpi/absent", test_absent);
    qtest_add_func("/vmbus/acpi/accepted", test_accepted);
    for (size_t i = 0; i < G_N_ELEMENTS(refusals); i++) {
        g_autofree char *path = g_strdup_printf("/vmbus/acpi/refused/%s",
                                                refusals[i].name);
        qtest_add_data_func(path, &refusals[i], test_refused);
    }
    return g_test_run();
}
