/*
 * Fuzz harness support: input decoder, seed encoder, the simulated VM set
 * up from the input
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The simulated VM (tests/common/simvm.c) checks every effect of the core
 * against the rules the glue relies on; a violated rule aborts, which
 * libFuzzer reports as a crash.  Here: the input's configuration and
 * fault-injection bytes, seeds, and the save/load round trip.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

SimGuest fz;

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

/* ---- Simulated VM ----------------------------------------------------- */

void fz_check(const char *where)
{
    sim_check_at(&fz, where);
}

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
    uint32_t vi = cfgbyte & 15;
    VmbcConfig cfg = {
        .max_version = vi < FZ_NVERSIONS ? fz_versions[vi] : 0,
        .gpadl_quota_bytes = (cfgbyte & 0x10) ? 64 * VMBW_PAGE_SIZE : 0,
        .gpadl_max_count = (cfgbyte & 0x20) ? 8 : 0,
        .out_queue_max = (cfgbyte & 0x40) ? 4 : 0,
    };

    sim_init(&fz, &cfg, FZ_MEM_SIZE, !(cfgbyte & 0x80));
    fz.keep_max = FZ_INBOX;
    fz.rng = seed | 1;
    fz.check_writes = true;
    fz.busy_pct = busy[behaviour & 3];
    fz.drop_pct = (behaviour & 4) ? 5 : 0;
    fz.fault_pct = (behaviour & 8) ? 5 : 0;
    fz.device_pins = behaviour & 0x10;
    fz.reoffer_subchannels = behaviour & 0x20;
    fz.open_status = (behaviour & 0x40) ? -1 : 0;
    fz.tl_status = (behaviour & 0x80) ? VMBW_STATUS_CONNECTION_REFUSED : 0;
}

void fz_env_fini(void)
{
    sim_fini(&fz);
}

void fz_slot_freed(void)
{
    sim_free_slot(&fz);
}

void fz_timer(bool force)
{
    if (fz.timer_armed[VMBC_TIMER_MONITOR]) {
        fz.now = MAX(fz.now, fz.timer_expire[VMBC_TIMER_MONITOR]);
        fz.timer_armed[VMBC_TIMER_MONITOR] = false;
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
    memset(fz.timer_armed, 0, sizeof(fz.timer_armed));
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
    return sim_post(&fz, conn_id, msg, len);
}

const FzMsg *fz_last_msg(uint32_t type)
{
    return sim_last_msg(&fz, type);
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
    return sim_nchan(&fz);
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
    sim_initiate_pages(&fz, version, vcpu, mon1, mon2, int_page);
}

/* The core's message connection id, whatever the guest model thinks. */
static void fz_use_core_msg_conn(void)
{
    VmbcConnInfo ci;

    vmbc_conn_info(fz.core, &ci);
    fz.msg_conn_id = ci.msg_conn_id ? ci.msg_conn_id : 1;
}

void fz_request_offers(void)
{
    VmbWireHdr h = { VMBW_MSG_REQUESTOFFERS, 0 };

    fz_use_core_msg_conn();
    sim_send(&fz, &h, sizeof(h));
}

uint32_t fz_gpadl(uint32_t relid, uint32_t handle, uint32_t npages,
                  uint64_t base_pfn)
{
    const FzMsg *m;

    fz_use_core_msg_conn();
    sim_gpadl_post(&fz, relid, handle, npages, base_pfn);
    m = fz_last_msg(VMBW_MSG_GPADL_CREATED);
    return m ? ((const VmbWireGpadlCreated *)m->data)->creation_status
             : VMBW_STATUS_UNSUCCESSFUL;
}

uint32_t fz_open(uint32_t relid, uint32_t handle, uint32_t split,
                 uint32_t vp)
{
    const FzMsg *m;

    fz_use_core_msg_conn();
    sim_open_post(&fz, relid, handle, split, vp);
    m = fz_last_msg(VMBW_MSG_OPENCHANNEL_RESULT);
    return m ? ((const VmbWireOpenResult *)m->data)->status
             : VMBW_STATUS_UNSUCCESSFUL;
}
