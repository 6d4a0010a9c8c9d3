/*
 * Fuzz harness support: input decoder, seed encoder, fake host (VmbcOps) over fake guest memory
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The fake host records what the core does and checks, on every
 * callback, the rules the glue relies on: messages are host->guest types
 * of the right size for an existing VP and a valid SINT, events target
 * existing VPs, devices hear only about open channels, and the core
 * writes guest memory only inside the pages the guest gave it.  A
 * violated rule aborts, which libFuzzer reports as a crash.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

FzEnv fz;

const uint32_t fz_versions[FZ_NVERSIONS] = {
    VMBW_VERSION_WS2008, VMBW_VERSION_WIN7, VMBW_VERSION_WIN8,
    VMBW_VERSION_WIN8_1, VMBW_VERSION_WIN10, VMBW_VERSION_WIN10_RS3_0,
    VMBW_VERSION_WIN10_RS3_1, VMBW_VERSION_WIN10_RS4,
    VMBW_VERSION_WIN10_RS5, VMBW_VERSION_IRON, VMBW_VERSION_COPPER,
};

/* ---- Input ------------------------------------------------------------ */

void fz_bytes(FzIn *in, void *out, size_t n)
{
    size_t k = MIN(n, in->left);

    memcpy(out, in->p, k);
    memset((uint8_t *)out + k, 0, n - k);
    in->p += k;
    in->left -= k;
}

uint8_t fz_u8(FzIn *in)
{
    uint8_t v;

    fz_bytes(in, &v, 1);
    return v;
}

uint16_t fz_u16(FzIn *in)
{
    uint16_t v;

    fz_bytes(in, &v, 2);
    return GUINT16_FROM_LE(v);
}

uint32_t fz_u32(FzIn *in)
{
    uint32_t v;

    fz_bytes(in, &v, 4);
    return GUINT32_FROM_LE(v);
}

uint64_t fz_u64(FzIn *in)
{
    uint64_t v;

    fz_bytes(in, &v, 8);
    return GUINT64_FROM_LE(v);
}

uint32_t fz_below(FzIn *in, uint32_t n)
{
    if (n == 0) {
        return 0;
    }
    return (n <= 256 ? fz_u8(in) : fz_u16(in)) % n;
}

/* ---- Seeds ------------------------------------------------------------ */

void fo_u8(FzOut *o, uint8_t v) { g_byte_array_append(o, &v, 1); }
void fo_u16(FzOut *o, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    g_byte_array_append(o, (uint8_t *)&v, 2);
}
void fo_u32(FzOut *o, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    g_byte_array_append(o, (uint8_t *)&v, 4);
}
void fo_u64(FzOut *o, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    g_byte_array_append(o, (uint8_t *)&v, 8);
}
void fo_bytes(FzOut *o, const void *p, size_t n)
{
    g_byte_array_append(o, p, n);
}

void fo_write(FzOut *o, const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL);
    GError *err = NULL;

    if (!g_file_set_contents(path, (const char *)o->data, o->len, &err)) {
        fprintf(stderr, "seed %s: %s\n", path, err->message);
        exit(1);
    }
    g_free(path);
    g_byte_array_free(o, true);
}

void fz_seed_mode(void (*writer)(const char *dir))
{
    const char *dir = getenv("VMBUS_FUZZ_WRITE_SEEDS");

    if (dir && *dir) {
        g_mkdir_with_parents(dir, 0755);
        writer(dir);
        fprintf(stderr, "seeds written to %s\n", dir);
        exit(0);
    }
}

/* ---- Failure ---------------------------------------------------------- */

void fz_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\n*** FUZZ FINDING: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

void fz_check(const char *where)
{
    const char *why = NULL;

    if (!vmbc_check_invariants(fz.core, &why)) {
        fz_fail("invariant violated after %s: %s", where, why ? why : "?");
    }
}

/* ---- Fake host -------------------------------------------------------- */

static uint32_t fz_rand(void)
{
    uint64_t x = fz.rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    fz.rng = x;
    return (uint32_t)(x >> 11);
}

static bool fz_chance(uint8_t pct)
{
    return pct && fz_rand() % 100 < pct;
}

/* Exact size of each host->guest message (0: the host never sends it). */
static uint32_t host_msg_size(uint32_t type)
{
    switch (type) {
    case VMBW_MSG_OFFERCHANNEL: return sizeof(VmbWireOfferChannel);
    case VMBW_MSG_RESCIND_CHANNELOFFER: return sizeof(VmbWireRelid);
    case VMBW_MSG_ALLOFFERS_DELIVERED: return sizeof(VmbWireHdr);
    case VMBW_MSG_OPENCHANNEL_RESULT: return sizeof(VmbWireOpenResult);
    case VMBW_MSG_GPADL_CREATED: return sizeof(VmbWireGpadlCreated);
    case VMBW_MSG_GPADL_TORNDOWN: return sizeof(VmbWireGpadlTorndown);
    case VMBW_MSG_VERSION_RESPONSE: return sizeof(VmbWireVersionResponse);
    case VMBW_MSG_UNLOAD_RESPONSE: return sizeof(VmbWireHdr);
    case VMBW_MSG_TL_CONNECT_RESULT: return sizeof(VmbWireTlConnectResult);
    case VMBW_MSG_MODIFYCHANNEL_RESPONSE:
        return sizeof(VmbWireModifyChannelResponse);
    default: return 0;
    }
}

/* Is len the size of a host->guest message of this type? */
static bool host_msg_size_ok(uint32_t type, size_t len)
{
    if (type == VMBW_MSG_VERSION_RESPONSE) {
        /* the 20-byte form answers an accepted 6.0 contact */
        return len == sizeof(VmbWireVersionResponse) ||
               len == sizeof(VmbWireVersionResponse2);
    }
    return host_msg_size(type) == len;
}

static int op_post_msg(void *opaque, uint32_t vp, uint32_t sint,
                       uint32_t msg_type, const void *payload, size_t len)
{
    VmbWireHdr h;
    FzMsg *m;
    uint32_t type;

    if (msg_type != VMBW_HV_MESSAGE_TYPE || len < sizeof(h) ||
        len > VMBW_MAX_PAYLOAD || !payload) {
        fz_fail("post_msg: type %u len %zu", msg_type, len);
    }
    memcpy(&h, payload, sizeof(h));
    type = GUINT32_FROM_LE(h.msgtype);
    if (type >= VMBW_MSG_COUNT || !host_msg_size_ok(type, len)) {
        fz_fail("post_msg: host message type %u len %zu", type, len);
    }
    if (type == VMBW_MSG_VERSION_RESPONSE &&
        len == sizeof(VmbWireVersionResponse2)) {
        VmbWireVersionResponse2 r;

        memcpy(&r, payload, sizeof(r));
        if (!r.base.version_supported ||
            (GUINT32_FROM_LE(r.supported_features) &
             ~VMBC_GRANTABLE_FEATURES)) {
            fz_fail("VERSION_RESPONSE 6.0: supported %u features 0x%x",
                    r.base.version_supported,
                    GUINT32_FROM_LE(r.supported_features));
        }
    }
    if (vp >= fz.nvps || sint > 15) {
        fz_fail("post_msg: %s to vp %u sint %u", vmbc_msg_name(type), vp,
                sint);
    }
    if (type == VMBW_MSG_OFFERCHANNEL) {
        VmbWireOfferChannel o;

        memcpy(&o, payload, sizeof(o));
        if (o.child_relid == 0 || o.child_relid >= VMBW_MAX_RELIDS ||
            o.connection_id != VMBC_CHAN_CONN_ID_BASE + o.child_relid) {
            fz_fail("OFFERCHANNEL relid %u conn id 0x%x", o.child_relid,
                    o.connection_id);
        }
        if (GUINT16_FROM_LE(o.chn_flags) & VMBC_OFFER_FLAGS_FORBIDDEN) {
            fz_fail("OFFERCHANNEL relid %u confidential flags 0x%x",
                    o.child_relid, GUINT16_FROM_LE(o.chn_flags));
        }
    }
    if (fz.slot_busy) {
        return -EAGAIN;
    }
    if (fz_chance(fz.drop_pct)) {
        return -ENODEV;
    }
    m = &fz.inbox[fz.n_posted % FZ_INBOX];
    memset(m, 0, sizeof(*m));
    m->vp = vp;
    m->sint = sint;
    m->len = len;
    memcpy(m->data, payload, len);
    fz.n_posted++;
    fz.n_by_type[type]++;
    if (fz_chance(fz.busy_pct)) {
        fz.slot_busy = true;
    }
    return 0;
}

static void op_signal_event(void *opaque, uint32_t vp, uint32_t sint,
                            uint32_t flag)
{
    if (vp >= fz.nvps || sint > 15 || flag >= VMBW_MAX_RELIDS) {
        fz_fail("signal_event vp %u sint %u flag %u", vp, sint, flag);
    }
    fz.n_events++;
}

/* Is [gpa, gpa+len) inside one of the guest's pages for the core? */
static bool write_allowed(uint64_t gpa, size_t len)
{
    VmbcConnInfo ci;
    uint64_t pages[3];

    if (!fz.check_writes) {
        return true;
    }
    vmbc_conn_info(fz.core, &ci);
    pages[0] = ci.monitor_page1;
    pages[1] = ci.monitor_page2;
    pages[2] = ci.interrupt_page;
    for (int i = 0; i < 3; i++) {
        if (pages[i] && gpa >= pages[i] && len <= VMBW_PAGE_SIZE &&
            gpa - pages[i] <= VMBW_PAGE_SIZE - len) {
            return true;
        }
    }
    return false;
}

static bool mem_range_ok(uint64_t gpa, size_t len)
{
    return gpa < FZ_MEM_SIZE && len <= FZ_MEM_SIZE - gpa;
}

static int op_read_gpa(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    if (!mem_range_ok(gpa, len) || fz_chance(fz.fault_pct)) {
        return -EFAULT;
    }
    memcpy(buf, fz.mem + gpa, len);
    return 0;
}

static int op_write_gpa(void *opaque, uint64_t gpa, const void *buf,
                        size_t len)
{
    if (!write_allowed(gpa, len)) {
        fz_fail("write_gpa 0x%" G_GINT64_MODIFIER "x+%zu outside the "
                "guest's pages", gpa, len);
    }
    if (!mem_range_ok(gpa, len) || fz_chance(fz.fault_pct)) {
        return -EFAULT;
    }
    memcpy(fz.mem + gpa, buf, len);
    return 0;
}

static int op_atomic32(void *opaque, uint64_t gpa, VmbcAtomicOp op,
                       uint32_t val, uint32_t *old)
{
    uint32_t cur;

    if ((gpa & 3) || !write_allowed(gpa, 4)) {
        fz_fail("atomic32 at 0x%" G_GINT64_MODIFIER "x", gpa);
    }
    if (op != VMBC_ATOMIC_OR && op != VMBC_ATOMIC_XCHG) {
        fz_fail("atomic32 op %d", op);
    }
    if (!mem_range_ok(gpa, 4) || fz_chance(fz.fault_pct)) {
        return -EFAULT;
    }
    memcpy(&cur, fz.mem + gpa, 4);
    *old = GUINT32_FROM_LE(cur);
    cur = GUINT32_TO_LE(op == VMBC_ATOMIC_OR ? (*old | val) : val);
    memcpy(fz.mem + gpa, &cur, 4);
    return 0;
}

static void op_timer_mod(void *opaque, VmbcTimer t, int64_t expire)
{
    if (t != VMBC_TIMER_MONITOR) {
        fz_fail("timer_mod %d", t);
    }
    if (expire < fz.now) {
        fz_fail("timer_mod into the past");
    }
    fz.timer_armed = true;
    fz.timer_expire = expire;
}

static void op_timer_del(void *opaque, VmbcTimer t)
{
    if (t != VMBC_TIMER_MONITOR) {
        fz_fail("timer_del %d", t);
    }
    fz.timer_armed = false;
}

static int64_t op_now_ns(void *opaque)
{
    return fz.now;
}

static bool op_vp_exists(void *opaque, uint32_t vp)
{
    return vp < fz.nvps;
}

static int op_chan_open(void *opaque, VmbcChannel *chan)
{
    VmbcGpadl *g = vmbc_chan_ring_gpadl(chan);
    uint32_t relid = vmbc_chan_relid(chan);

    if (!g || !vmbc_gpadl_complete(g) || vmbc_chan_state(chan) !=
        VMBC_CHAN_OPEN || vmbc_chan_target_vp(chan) >= fz.nvps ||
        vmbc_chan_ring_split(chan) < 2 ||
        vmbc_chan_ring_split(chan) + 2 > vmbc_gpadl_pfn_count(g)) {
        fz_fail("chan_open relid %u with a bad ring", relid);
    }
    fz.n_open++;
    if (fz.open_status) {
        return fz.open_status;
    }
    if (fz.device_pins) {
        if (fz.pinned[relid]) {
            fz_fail("chan_open relid %u: already pinned", relid);
        }
        vmbc_gpadl_pin(g);
        fz.pinned[relid] = g;
    }
    return 0;
}

static void op_chan_close(void *opaque, VmbcChannel *chan)
{
    uint32_t relid = vmbc_chan_relid(chan);

    if (vmbc_chan_state(chan) != VMBC_CHAN_OPEN) {
        fz_fail("chan_close relid %u not open", relid);
    }
    fz.n_close++;
    if (fz.pinned[relid]) {
        VmbcGpadl *g = fz.pinned[relid];

        fz.pinned[relid] = NULL;
        vmbc_gpadl_unpin(g);
    }
}

static void op_chan_notify(void *opaque, VmbcChannel *chan)
{
    if (vmbc_chan_state(chan) != VMBC_CHAN_OPEN) {
        fz_fail("chan_notify relid %u not open", vmbc_chan_relid(chan));
    }
    fz.n_notify++;
    fz.notified[vmbc_chan_relid(chan)]++;
}

static void op_chan_released(void *opaque, VmbcChannel *chan)
{
    uint32_t relid = vmbc_chan_relid(chan);
    VmbcOfferParams p = *vmbc_chan_params(chan);

    if (vmbc_chan_by_relid(fz.core, relid) == chan) {
        fz_fail("chan_released relid %u still registered", relid);
    }
    if (fz.pinned[relid]) {
        fz_fail("chan_released relid %u still pinned", relid);
    }
    fz.n_released++;
    if (fz.reoffer_subchannels && p.subchannel_index &&
        !(p.flags & VMBW_OFFER_FLAG_TLNPI_PROVIDER) &&
        fz.n_released % 4 == 1) {
        /* A device replacing its subchannel (allowed re-entry). */
        vmbc_offer(fz.core, &p, NULL);
    }
}

static uint32_t op_tl_connect(void *opaque, const VmbWireGuid *ep,
                              const VmbWireGuid *svc, void **chan_opaque)
{
    fz.n_tl++;
    *chan_opaque = NULL;
    return fz.tl_status;
}

static void G_GNUC_PRINTF(3, 4)
op_trace(void *opaque, const char *event, const char *fmt, ...)
{
    static int on = -1;
    va_list ap;

    if (on < 0) {
        on = getenv("FZ_TRACE") != NULL;
    }
    if (!on) {
        return;
    }
    va_start(ap, fmt);
    fprintf(stderr, "  [%s] ", event);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void G_GNUC_PRINTF(3, 4)
op_guest_error(void *opaque, VmbcFault fault, const char *fmt, ...)
{
    char buf[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fz.n_guest_errors++;
}

static const VmbcOps fz_ops = {
    .post_msg = op_post_msg,
    .signal_event = op_signal_event,
    .read_gpa = op_read_gpa,
    .write_gpa = op_write_gpa,
    .atomic32 = op_atomic32,
    .timer_mod = op_timer_mod,
    .timer_del = op_timer_del,
    .now_ns = op_now_ns,
    .vp_exists = op_vp_exists,
    .chan_open = op_chan_open,
    .chan_close = op_chan_close,
    .chan_notify = op_chan_notify,
    .chan_released = op_chan_released,
    .tl_connect = op_tl_connect,
    .trace = op_trace,
    .guest_error = op_guest_error,
};

/* Same, without atomic32 (the core's read + write fallback). */
static const VmbcOps fz_ops_noatomic = {
    .post_msg = op_post_msg,
    .signal_event = op_signal_event,
    .read_gpa = op_read_gpa,
    .write_gpa = op_write_gpa,
    .timer_mod = op_timer_mod,
    .timer_del = op_timer_del,
    .now_ns = op_now_ns,
    .vp_exists = op_vp_exists,
    .chan_open = op_chan_open,
    .chan_close = op_chan_close,
    .chan_notify = op_chan_notify,
    .chan_released = op_chan_released,
    .tl_connect = op_tl_connect,
    .trace = op_trace,
    .guest_error = op_guest_error,
};

/*
 * cfgbyte:   bits 0-3 max version (index into fz_versions, >= 11: default),
 *            4 small GPADL quota, 5 few GPADLs, 6 short out queue,
 *            7 no atomic32 op.
 * behaviour: bits 0-1 busy slot chance, 2 dropped posts, 3 memory faults,
 *            4 device pins, 5 subchannel re-offer, 6 open refused,
 *            7 hv_sock connects refused.
 */
void fz_env_init(uint8_t cfgbyte, uint8_t behaviour, uint64_t seed)
{
    static const uint8_t busy[4] = { 0, 10, 50, 90 };
    static uint8_t *mem;
    GError *err = NULL;
    uint32_t vi = cfgbyte & 15;

    if (!mem) {
        mem = g_malloc0(FZ_MEM_SIZE);
    }
    memset(&fz, 0, sizeof(fz));
    fz.mem = mem;
    memset(fz.mem, 0, FZ_MEM_SIZE);
    fz.nvps = 4;
    fz.rng = seed | 1;
    fz.check_writes = true;
    fz.cfg.ops = (cfgbyte & 0x80) ? &fz_ops_noatomic : &fz_ops;
    fz.cfg.opaque = &fz;
    fz.cfg.max_version = vi < FZ_NVERSIONS ? fz_versions[vi] : 0;
    fz.cfg.gpadl_quota_bytes = (cfgbyte & 0x10) ? 64 * VMBW_PAGE_SIZE : 0;
    fz.cfg.gpadl_max_count = (cfgbyte & 0x20) ? 8 : 0;
    fz.cfg.out_queue_max = (cfgbyte & 0x40) ? 4 : 0;
    fz.busy_pct = busy[behaviour & 3];
    fz.drop_pct = (behaviour & 4) ? 5 : 0;
    fz.fault_pct = (behaviour & 8) ? 5 : 0;
    fz.device_pins = behaviour & 0x10;
    fz.reoffer_subchannels = behaviour & 0x20;
    fz.open_status = (behaviour & 0x40) ? -1 : 0;
    fz.tl_status = (behaviour & 0x80) ? VMBW_STATUS_CONNECTION_REFUSED : 0;
    fz.core = vmbc_new(&fz.cfg, &err);
    if (!fz.core) {
        fz_fail("vmbc_new: %s", err->message);
    }
}

void fz_env_fini(void)
{
    vmbc_free(fz.core);
    fz.core = NULL;
}

void fz_slot_freed(void)
{
    fz.slot_busy = false;
    vmbc_msg_slot_freed(fz.core);
}

void fz_timer(bool force)
{
    if (fz.timer_armed) {
        fz.now = MAX(fz.now, fz.timer_expire);
        fz.timer_armed = false;
        vmbc_timer_fired(fz.core, VMBC_TIMER_MONITOR);
    } else if (force) {
        fz.now += 1000;
        vmbc_timer_fired(fz.core, VMBC_TIMER_MONITOR);
    }
}

static bool preoffer_one(VmbcChannel *chan, void *arg)
{
    VmbcCore *dst = arg;
    const VmbcOfferParams *p = vmbc_chan_params(chan);
    GError *err = NULL;

    if (p->subchannel_index || p->rescind_on_close ||
        (p->flags & VMBW_OFFER_FLAG_TLNPI_PROVIDER)) {
        return true;
    }
    if (!vmbc_offer(dst, p, &err)) {
        fz_fail("pre-offer on the destination: %s", err->message);
    }
    return true;
}

static bool repin_one(VmbcChannel *chan, void *arg)
{
    uint32_t relid = vmbc_chan_relid(chan);

    if (vmbc_chan_state(chan) == VMBC_CHAN_OPEN) {
        vmbc_gpadl_pin(vmbc_chan_ring_gpadl(chan));
        fz.pinned[relid] = vmbc_chan_ring_gpadl(chan);
    }
    return true;
}

void fz_save_load_roundtrip(bool preoffer)
{
    GByteArray *a = g_byte_array_new(), *b = g_byte_array_new();
    GError *err = NULL;
    VmbcCore *dst;

    vmbc_save(fz.core, a);
    dst = vmbc_new(&fz.cfg, &err);
    if (!dst) {
        fz_fail("vmbc_new: %s", err->message);
    }
    if (preoffer) {
        vmbc_foreach_channel(fz.core, preoffer_one, dst);
    }
    /* The source goes away; so do its timer and the devices' pins. */
    vmbc_free(fz.core);
    fz.core = dst;
    fz.timer_armed = false;
    memset(fz.pinned, 0, sizeof(fz.pinned));
    if (!vmbc_load(dst, a->data, a->len, &err)) {
        fz_fail("vmbc_load of a fresh vmbc_save (%u bytes) failed: %s",
                a->len, err->message);
    }
    fz_check("load");
    vmbc_save(dst, b);
    if (a->len != b->len || memcmp(a->data, b->data, a->len)) {
        guint d = 0;

        while (d < a->len && d < b->len && a->data[d] == b->data[d]) {
            d++;
        }
        if (getenv("FZ_DUMP")) {
            g_file_set_contents("/tmp/fz-save-a", (char *)a->data, a->len,
                                NULL);
            g_file_set_contents("/tmp/fz-save-b", (char *)b->data, b->len,
                                NULL);
        }
        fz_fail("save -> load -> save differs (%u vs %u bytes, from byte "
                "%u: %02x vs %02x)", a->len, b->len, d,
                d < a->len ? a->data[d] : 0, d < b->len ? b->data[d] : 0);
    }
    if (fz.device_pins) {
        vmbc_foreach_channel(dst, repin_one, NULL);
    }
    g_byte_array_free(a, true);
    g_byte_array_free(b, true);
}

uint32_t fz_post(uint32_t conn_id, const void *msg, uint32_t len)
{
    uint32_t st = vmbc_post_message_check(fz.core, conn_id,
                                          VMBW_HV_MESSAGE_TYPE, len);

    if (st == VMBW_HV_STATUS_SUCCESS) {
        vmbc_handle_message(fz.core, conn_id, msg, len);
    }
    return st;
}

const FzMsg *fz_last_msg(uint32_t type)
{
    uint64_t n = MIN(fz.n_posted, (uint64_t)FZ_INBOX);

    for (uint64_t i = 0; i < n; i++) {
        const FzMsg *m = &fz.inbox[(fz.n_posted - 1 - i) % FZ_INBOX];

        if (GUINT32_FROM_LE(m->hdr.msgtype) == type) {
            return m;
        }
    }
    return NULL;
}

typedef struct NthArg {
    uint32_t want, seen;
    VmbcChannel *chan;
} NthArg;

static bool nth_one(VmbcChannel *chan, void *arg)
{
    NthArg *a = arg;

    if (a->seen++ == a->want) {
        a->chan = chan;
        return false;
    }
    return true;
}

uint32_t fz_nchannels(void)
{
    VmbcConnInfo ci;

    vmbc_conn_info(fz.core, &ci);
    return ci.n_channels;
}

VmbcChannel *fz_nth_channel(uint32_t i)
{
    uint32_t n = fz_nchannels();
    NthArg a = { 0, 0, NULL };

    if (!n) {
        return NULL;
    }
    a.want = i % n;
    vmbc_foreach_channel(fz.core, nth_one, &a);
    return a.chan;
}

VmbcOfferParams fz_params(uint8_t cls, uint8_t inst, uint16_t sub,
                          uint8_t flags)
{
    VmbcOfferParams p;

    memset(&p, 0, sizeof(p));
    p.class_id.b[0] = cls;
    p.class_id.b[15] = 0xc1;
    p.instance_id.b[0] = inst;
    p.instance_id.b[15] = 0x1e;
    p.subchannel_index = sub;
    p.monitor_allocated = flags & 1;
    p.dedicated_interrupt = flags & 2;
    p.rescind_on_close = flags & 4;
    p.monitor_latency = (flags & 8) ? 1 + (flags >> 4) * 700 : 0;
    if (flags & 0x80) {
        p.flags = VMBW_OFFER_FLAG_NAMED_PIPE_MODE;
    }
    return p;
}

/* ---- Message helpers -------------------------------------------------- */

void fz_connect(uint32_t version, uint32_t vcpu, uint64_t mon1,
                uint64_t mon2, uint64_t int_page)
{
    VmbWireInitiateContact ic;

    memset(&ic, 0, sizeof(ic));
    ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
    ic.vmbus_version_requested = version;
    ic.target_vcpu = vcpu;
    if (version >= VMBW_VERSION_WIN10_RS3_1) {
        ic.msg_sint = VMBW_MESSAGE_SINT;
    } else {
        ic.interrupt_page = int_page;
    }
    ic.monitor_page1 = mon1;
    ic.monitor_page2 = mon2;
    fz_post(version >= VMBW_VERSION_WIN10_RS3_1 ? 4 : 1, &ic, sizeof(ic));
}

static uint32_t fz_msg_conn(void)
{
    VmbcConnInfo ci;

    vmbc_conn_info(fz.core, &ci);
    return ci.msg_conn_id ? ci.msg_conn_id : 1;
}

void fz_request_offers(void)
{
    VmbWireHdr h = { VMBW_MSG_REQUESTOFFERS, 0 };

    fz_post(fz_msg_conn(), &h, sizeof(h));
}

uint32_t fz_gpadl(uint32_t relid, uint32_t handle, uint32_t npages,
                  uint64_t base_pfn)
{
    union {
        VmbWireGpadlHeader h;
        VmbWireGpadlBody b;
    } u;
    uint32_t first = MIN(npages, VMBW_GPADL_HEADER_MAX_PFNS), done;
    const FzMsg *m;

    memset(&u, 0, sizeof(u));
    u.h.hdr.msgtype = VMBW_MSG_GPADL_HEADER;
    u.h.child_relid = relid;
    u.h.gpadl = handle;
    u.h.range_buflen = (uint16_t)(8 + 8 * npages);
    u.h.rangecount = 1;
    u.h.range0.byte_count = npages * VMBW_PAGE_SIZE;
    for (uint32_t i = 0; i < first; i++) {
        u.h.pfn[i] = base_pfn + i;
    }
    fz_post(fz_msg_conn(), &u, 28 + 8 * first);
    for (done = first; done < npages;) {
        uint32_t n = MIN(npages - done, VMBW_GPADL_BODY_MAX_PFNS);

        memset(&u, 0, sizeof(u));
        u.b.hdr.msgtype = VMBW_MSG_GPADL_BODY;
        u.b.gpadl = handle;
        for (uint32_t i = 0; i < n; i++) {
            u.b.pfn[i] = base_pfn + done + i;
        }
        fz_post(fz_msg_conn(), &u, 16 + 8 * n);
        done += n;
    }
    m = fz_last_msg(VMBW_MSG_GPADL_CREATED);
    return m ? ((const VmbWireGpadlCreated *)m->data)->creation_status
             : VMBW_STATUS_UNSUCCESSFUL;
}

uint32_t fz_open(uint32_t relid, uint32_t handle, uint32_t split,
                 uint32_t vp)
{
    VmbWireOpenChannel o;
    const FzMsg *m;

    memset(&o, 0, sizeof(o));
    o.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
    o.child_relid = relid;
    o.openid = relid;
    o.ringbuffer_gpadlhandle = handle;
    o.target_vp = vp;
    o.downstream_ringbuffer_pageoffset = split;
    fz_post(fz_msg_conn(), &o, sizeof(o));
    m = fz_last_msg(VMBW_MSG_OPENCHANNEL_RESULT);
    return m ? ((const VmbWireOpenResult *)m->data)->status
             : VMBW_STATUS_UNSUCCESSFUL;
}
