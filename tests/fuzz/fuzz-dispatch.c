/*
 * libFuzzer target: VMBus control-message dispatcher with a live connection and interleaved host actions
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Input: cfg byte, behaviour byte, 4 seed bytes (see fz_env_init), then
 * operations until the input ends (at most FZ_MAX_OPS).  Each operation
 * is one byte (modulo OP_COUNT) and its arguments:
 *
 *   RAW      conn-sel u8, len u8, len bytes      guest message as is
 *   SMART    type u8, fields..., len-mode u8     guest message built from
 *                                               small domains (live relids,
 *                                               few GPADL handles, ...)
 *   OFFER    cls u8, inst u8, sub u8, flags u8   device offers a channel
 *   RESCIND  idx u8                              device withdraws one
 *   EOM      -                                   guest frees the slot
 *   TIMER    force u8                            monitor timer fires
 *   SIGNAL   sel u8 [, u32]                      HvSignalEvent
 *   NOTIFY   idx u8                              device notifies the guest
 *   RESET    -                                   machine reset
 *   SAVELOAD preoffer u8                         migrate to a fresh core
 *   POKE     region u8, off u16, len u8, bytes   guest writes its memory
 *   CONNECT  ver u8, nchan-unused u8             INITIATE + REQUESTOFFERS
 *   GPADL    idx u8, handle u8, npages u8        whole single-range GPADL
 *   OPEN     idx u8, handle u8, split u8, vp u8  OPENCHANNEL
 *   BUSY     -                                   slot stays busy
 *
 * After every operation the core's invariants must hold.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

#define FZ_MAX_OPS 2048

enum {
    OP_RAW, OP_SMART, OP_OFFER, OP_RESCIND, OP_EOM, OP_TIMER, OP_SIGNAL,
    OP_NOTIFY, OP_RESET, OP_SAVELOAD, OP_POKE, OP_CONNECT, OP_GPADL,
    OP_OPEN, OP_BUSY, OP_COUNT
};

/* Guest pages the fuzzer likes to name (inside fake RAM). */
#define PG_INT  0x8000ull
#define PG_MON1 0x9000ull
#define PG_MON2 0xA000ull

static uint32_t msg_conn(void)
{
    VmbcConnInfo ci;

    vmbc_conn_info(fz.core, &ci);
    return ci.msg_conn_id ? ci.msg_conn_id : 1;
}

static uint32_t pick_relid(FzIn *in)
{
    uint8_t b = fz_u8(in);
    VmbcChannel *c;

    if (b < 200) {
        c = fz_nth_channel(b);
        return c ? vmbc_chan_relid(c) : b;
    }
    if (b < 240) {
        return b - 200;
    }
    return fz_u32(in);
}

static uint32_t pick_handle(FzIn *in)
{
    uint8_t b = fz_u8(in);

    if (b < 240) {
        return b % 9;           /* 0 is invalid, 1..8 the usual ones */
    }
    return fz_u32(in);
}

static uint32_t pick_vp(FzIn *in)
{
    uint8_t b = fz_u8(in);

    return b < 250 ? b % 6 : fz_u32(in);
}

static uint64_t pick_page(FzIn *in)
{
    switch (fz_u8(in) % 8) {
    case 0: return 0;
    case 1: return PG_INT;
    case 2: return PG_MON1;
    case 3: return PG_MON2;
    case 4: return FZ_MEM_SIZE - VMBW_PAGE_SIZE;
    case 5: return PG_MON1 + 0x10;                 /* unaligned */
    case 6: return 1ull << 32;                      /* not RAM */
    default: return fz_u64(in);
    }
}

static uint32_t pick_version(FzIn *in)
{
    uint8_t b = fz_u8(in);

    return b < 200 ? fz_versions[b % FZ_NVERSIONS] : fz_u32(in);
}

/* Build a message of a type from small domains; returns its proper size. */
static uint32_t smart_build(FzIn *in, uint8_t *buf)
{
    uint32_t type = fz_u8(in) % (VMBW_MSG_COUNT + 2);
    VmbWireHdr *h = (VmbWireHdr *)buf;

    h->msgtype = type;
    switch (type) {
    case VMBW_MSG_INITIATE_CONTACT: {
        VmbWireInitiateContact *ic = (void *)buf;

        ic->vmbus_version_requested = pick_version(in);
        ic->target_vcpu = pick_vp(in);
        if (ic->vmbus_version_requested >= VMBW_VERSION_WIN10_RS3_1) {
            uint8_t s = fz_u8(in);

            ic->msg_sint = s < 200 ? VMBW_MESSAGE_SINT : s % 20;
            ic->msg_vtl = fz_u8(in) > 250;
            if (ic->vmbus_version_requested >= VMBW_VERSION_COPPER) {
                /* none (Linux), one known flag, or anything */
                uint8_t f = fz_u8(in);

                ic->feature_flags = f < 128 ? 0
                                  : f < 250 ? 1u << (f % 8) : fz_u32(in);
            }
        } else {
            ic->interrupt_page = pick_page(in);
        }
        ic->monitor_page1 = pick_page(in);
        ic->monitor_page2 = pick_page(in);
        return sizeof(*ic);
    }
    case VMBW_MSG_OPENCHANNEL: {
        VmbWireOpenChannel *o = (void *)buf;
        uint8_t s;

        o->child_relid = pick_relid(in);
        o->openid = fz_u8(in);
        o->ringbuffer_gpadlhandle = pick_handle(in);
        o->target_vp = pick_vp(in);
        s = fz_u8(in);
        o->downstream_ringbuffer_pageoffset = s < 250 ? s % 12 : fz_u32(in);
        return sizeof(*o);
    }
    case VMBW_MSG_CLOSECHANNEL:
    case VMBW_MSG_RELID_RELEASED:
    case VMBW_MSG_RESCIND_CHANNELOFFER: {
        VmbWireRelid *r = (void *)buf;

        r->child_relid = pick_relid(in);
        return sizeof(*r);
    }
    case VMBW_MSG_GPADL_HEADER: {
        VmbWireGpadlHeader *g = (void *)buf;
        uint32_t pages = fz_u8(in) % 27, words;
        uint8_t mode = fz_u8(in);

        g->child_relid = pick_relid(in);
        g->gpadl = pick_handle(in);
        g->rangecount = (mode & 3) == 3 ? fz_u16(in) : 1 + (mode & 1);
        g->range0.byte_count = (mode & 4) ? fz_u32(in)
                                          : pages * VMBW_PAGE_SIZE;
        g->range0.byte_offset = (mode & 8) ? fz_u16(in) % 4100 : 0;
        words = 1 + (pages ? pages : 1);
        g->range_buflen = (mode & 16) ? fz_u16(in) : (uint16_t)(words * 8);
        for (uint32_t i = 0; i < VMBW_GPADL_HEADER_MAX_PFNS; i++) {
            g->pfn[i] = (mode & 32) ? fz_u64(in) : 0x20 + i;
        }
        return VMBW_GPADL_HEADER_FIXED + 8 * MIN(words,
                                                 VMBW_GPADL_HEADER_MAX_PFNS + 1);
    }
    case VMBW_MSG_GPADL_BODY: {
        VmbWireGpadlBody *b = (void *)buf;
        uint32_t n = fz_u8(in) % (VMBW_GPADL_BODY_MAX_PFNS + 1);
        uint8_t mode = fz_u8(in);

        b->msgnumber = 0;
        b->gpadl = pick_handle(in);
        for (uint32_t i = 0; i < VMBW_GPADL_BODY_MAX_PFNS; i++) {
            b->pfn[i] = (mode & 1) ? fz_u64(in) : 0x40 + i;
        }
        return VMBW_GPADL_BODY_FIXED + 8 * n;
    }
    case VMBW_MSG_GPADL_TEARDOWN: {
        VmbWireGpadlTeardown *t = (void *)buf;

        t->child_relid = pick_relid(in);
        t->gpadl = pick_handle(in);
        return sizeof(*t);
    }
    case VMBW_MSG_TL_CONNECT_REQUEST: {
        VmbWireTlConnectRequest *t = (void *)buf;

        t->guest_endpoint_id.b[0] = fz_u8(in) % 4;
        t->host_service_id.b[0] = fz_u8(in) % 4;
        return sizeof(*t);
    }
    case VMBW_MSG_MODIFYCHANNEL: {
        VmbWireModifyChannel *m = (void *)buf;

        m->child_relid = pick_relid(in);
        m->target_vp = pick_vp(in);
        return sizeof(*m);
    }
    case VMBW_MSG_OPEN_RESERVED_CHANNEL:
        fz_bytes(in, buf + 8, sizeof(VmbWireOpenReservedChannel) - 8);
        return sizeof(VmbWireOpenReservedChannel);
    case VMBW_MSG_CLOSE_RESERVED_CHANNEL:
        fz_bytes(in, buf + 8, sizeof(VmbWireCloseReservedChannel) - 8);
        return sizeof(VmbWireCloseReservedChannel);
    case VMBW_MSG_MODIFY_CONNECTION:
        fz_bytes(in, buf + 8, sizeof(VmbWireModifyConnection) - 8);
        return sizeof(VmbWireModifyConnection);
    case VMBW_MSG_COUNT:
    case VMBW_MSG_COUNT + 1:
        h->msgtype = fz_u32(in);
        return 8 + fz_u8(in) % 233;
    default:
        return sizeof(VmbWireHdr);
    }
}

static void op_smart(FzIn *in)
{
    uint8_t buf[256];
    uint32_t len;
    uint8_t lm;

    memset(buf, 0, sizeof(buf));
    len = smart_build(in, buf);
    lm = fz_u8(in);
    if (lm >= 200) {
        /* shorter or longer than proper */
        int delta = (lm - 200) % 28;

        len = (lm & 1) ? (len > (uint32_t)delta ? len - delta : 0)
                       : MIN(len + delta, 250u);
    }
    if (lm == 255) {
        vmbc_handle_message(fz.core, msg_conn(), buf, len);  /* no check */
    } else {
        fz_post(msg_conn(), buf, len);
    }
}

static void op_raw(FzIn *in)
{
    uint8_t buf[256];
    uint8_t sel = fz_u8(in);
    uint32_t len = fz_u8(in), conn;

    fz_bytes(in, buf, len);
    switch (sel & 3) {
    case 0: conn = msg_conn(); break;
    case 1: conn = 1; break;
    case 2: conn = 4; break;
    default: conn = fz_u32(in); break;
    }
    if (sel & 0x80) {
        /* A glue that forgot the hypercall-time checks. */
        vmbc_handle_message(fz.core, conn, len ? buf : NULL, len);
    } else {
        fz_post(conn, buf, len);
    }
}

static void op_offer(FzIn *in)
{
    uint8_t cls = fz_u8(in) % 4, inst = fz_u8(in) % 4;
    uint8_t sub = fz_u8(in) % 3, flags = fz_u8(in);
    VmbcOfferParams p = fz_params(cls, inst, sub, flags);

    vmbc_offer(fz.core, &p, NULL);
}

static void op_signal(FzIn *in)
{
    uint8_t sel = fz_u8(in);
    uint32_t id;
    VmbcChannel *c;

    switch (sel % 4) {
    case 0:
        id = VMBW_CONN_ID_EVENT;
        break;
    case 1:
    case 2:
        c = fz_nth_channel(sel / 4);
        id = c ? vmbc_chan_connection_id(c) : VMBC_CHAN_CONN_ID_BASE;
        break;
    default:
        id = fz_u32(in);
        break;
    }
    if (vmbc_signal_event_check(fz.core, id) == VMBW_HV_STATUS_SUCCESS ||
        (sel & 0x80)) {
        vmbc_signal_event(fz.core, id);
    }
}

static void op_poke(FzIn *in)
{
    static const uint64_t base[4] = { PG_INT, PG_MON1, PG_MON2, 0 };
    uint8_t region = fz_u8(in) % 4;
    uint32_t off = fz_u16(in) % VMBW_PAGE_SIZE;
    uint32_t len = fz_u8(in);
    uint8_t buf[256];
    uint64_t gpa = base[region] + off;

    fz_bytes(in, buf, len);
    if (gpa + len <= FZ_MEM_SIZE) {
        memcpy(fz.mem + gpa, buf, len);
    }
}

static void op_connect(FzIn *in)
{
    uint32_t v = fz_versions[fz_u8(in) % FZ_NVERSIONS];

    fz_u8(in);
    fz_connect(v, 0, PG_MON1, PG_MON2, PG_INT);
    fz_request_offers();
}

static void op_gpadl(FzIn *in)
{
    VmbcChannel *c = fz_nth_channel(fz_u8(in));
    uint32_t handle = 1 + fz_u8(in) % 8;
    uint32_t npages = fz_u8(in) % 64;

    fz_gpadl(c ? vmbc_chan_relid(c) : 1, handle, npages, 0x100);
}

static void op_open(FzIn *in)
{
    VmbcChannel *c = fz_nth_channel(fz_u8(in));
    uint32_t handle = 1 + fz_u8(in) % 8;
    uint32_t split = fz_u8(in) % 16;
    uint32_t vp = fz_u8(in) % 5;

    fz_open(c ? vmbc_chan_relid(c) : 1, handle, split, vp);
}

static const char *const op_names[OP_COUNT] = {
    "RAW", "SMART", "OFFER", "RESCIND", "EOM", "TIMER", "SIGNAL", "NOTIFY",
    "RESET", "SAVELOAD", "POKE", "CONNECT", "GPADL", "OPEN", "BUSY",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FzIn in = { data, size };
    uint8_t cfgb = fz_u8(&in), beh = fz_u8(&in);
    uint32_t seed = fz_u32(&in);

    fz_env_init(cfgb, beh, seed);
    fz_check("init");
    for (int n = 0; n < FZ_MAX_OPS && fz_more(&in); n++) {
        uint8_t op = fz_u8(&in) % OP_COUNT;
        VmbcChannel *c;

        switch (op) {
        case OP_RAW: op_raw(&in); break;
        case OP_SMART: op_smart(&in); break;
        case OP_OFFER: op_offer(&in); break;
        case OP_RESCIND:
            c = fz_nth_channel(fz_u8(&in));
            if (c) {
                vmbc_rescind(c);
            }
            break;
        case OP_EOM: fz_slot_freed(); break;
        case OP_TIMER: fz_timer(fz_u8(&in) & 1); break;
        case OP_SIGNAL: op_signal(&in); break;
        case OP_NOTIFY:
            c = fz_nth_channel(fz_u8(&in));
            if (c) {
                vmbc_channel_notify_guest(c);
            }
            break;
        case OP_RESET: vmbc_reset(fz.core); break;
        case OP_SAVELOAD: fz_save_load_roundtrip(fz_u8(&in) & 1); break;
        case OP_POKE: op_poke(&in); break;
        case OP_CONNECT: op_connect(&in); break;
        case OP_GPADL: op_gpadl(&in); break;
        case OP_OPEN: op_open(&in); break;
        case OP_BUSY: fz.slot_busy = true; break;
        }
        fz_check(op_names[op]);
    }
    if (getenv("FZ_VERBOSE")) {
        fprintf(stderr, "posted %" G_GUINT64_FORMAT " open %d notify %d "
                "events %" G_GUINT64_FORMAT " errors %d chans %u\n",
                fz.n_posted, fz.n_open, fz.n_notify, fz.n_events,
                fz.n_guest_errors, fz_nchannels());
    }
    vmbc_reset(fz.core);
    fz_check("final reset");
    fz_env_fini();
    return 0;
}

/* ---- Seeds ------------------------------------------------------------ */

static void s_raw(FzOut *o, const void *msg, uint8_t len)
{
    fo_u8(o, OP_RAW);
    fo_u8(o, 0);
    fo_u8(o, len);
    fo_bytes(o, msg, len);
}

static void s_init_ff(FzOut *o, uint32_t version, uint64_t mon1,
                      uint64_t mon2, uint64_t int_page, uint32_t features)
{
    VmbWireInitiateContact ic;

    memset(&ic, 0, sizeof(ic));
    ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
    ic.vmbus_version_requested = version;
    if (version >= VMBW_VERSION_WIN10_RS3_1) {
        ic.msg_sint = VMBW_MESSAGE_SINT;
        ic.feature_flags = features;
    } else {
        ic.interrupt_page = int_page;
    }
    ic.monitor_page1 = mon1;
    ic.monitor_page2 = mon2;
    fo_u8(o, OP_RAW);
    fo_u8(o, version >= VMBW_VERSION_WIN10_RS3_1 ? 2 : 1);
    fo_u8(o, sizeof(ic));
    fo_bytes(o, &ic, sizeof(ic));
}

static void s_init(FzOut *o, uint32_t version, uint64_t mon1, uint64_t mon2,
                   uint64_t int_page)
{
    s_init_ff(o, version, mon1, mon2, int_page, 0);
}

static void s_hdr(FzOut *o, uint32_t type)
{
    VmbWireHdr h = { type, 0 };

    s_raw(o, &h, sizeof(h));
}

static void s_relid(FzOut *o, uint32_t type, uint32_t relid)
{
    VmbWireRelid r = { { type, 0 }, relid };

    s_raw(o, &r, sizeof(r));
}

static void s_offer(FzOut *o, uint8_t cls, uint8_t inst, uint8_t sub,
                    uint8_t flags)
{
    fo_u8(o, OP_OFFER);
    fo_u8(o, cls);
    fo_u8(o, inst);
    fo_u8(o, sub);
    fo_u8(o, flags);
}

static void s_op(FzOut *o, uint8_t op, int nargs, ...)
{
    va_list ap;

    fo_u8(o, op);
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++) {
        fo_u8(o, (uint8_t)va_arg(ap, int));
    }
    va_end(ap);
}

static FzOut *s_begin(uint8_t cfgb, uint8_t beh)
{
    FzOut *o = g_byte_array_new();

    fo_u8(o, cfgb);
    fo_u8(o, beh);
    fo_u32(o, 0x12345);
    return o;
}

static void s_teardown(FzOut *o, uint32_t relid, uint32_t handle)
{
    VmbWireGpadlTeardown t = { { VMBW_MSG_GPADL_TEARDOWN, 0 }, relid,
                               handle };

    s_raw(o, &t, sizeof(t));
}

static void write_seeds(const char *dir)
{
    FzOut *o;

    /* 1. Linux at 5.3: offers, GPADL, open, signal, close, unload. */
    o = s_begin(0x0f, 0);
    s_offer(o, 1, 1, 0, 1);
    s_offer(o, 2, 2, 0, 0);
    s_offer(o, 3, 3, 0, 0x80);
    s_init(o, VMBW_VERSION_IRON, PG_MON1, PG_MON2, 0);
    s_hdr(o, VMBW_MSG_REQUESTOFFERS);
    s_op(o, OP_GPADL, 3, 0, 1, 8);
    s_op(o, OP_OPEN, 4, 0, 1, 4, 0);
    s_op(o, OP_SIGNAL, 1, 1);
    s_op(o, OP_NOTIFY, 1, 0);
    s_op(o, OP_POKE, 5, 2, 8, 0, 4, 1);
    fo_bytes(o, "\x01\x00\x00", 3);
    s_op(o, OP_TIMER, 1, 0);
    s_relid(o, VMBW_MSG_CLOSECHANNEL, 1);
    s_teardown(o, 1, 1);
    s_hdr(o, VMBW_MSG_UNLOAD);
    fo_write(o, dir, "linux-5.3");

    /* 2. version walk-down against a 2.4 host. */
    o = s_begin(2, 0);
    s_offer(o, 1, 1, 0, 0);
    for (int i = 9; i >= 0; i--) {
        s_init(o, fz_versions[i], PG_MON1, PG_MON2, PG_INT);
    }
    s_hdr(o, VMBW_MSG_REQUESTOFFERS);
    fo_write(o, dir, "walk-down");

    /* 3. pre-2.4 with the interrupt page and the shared event. */
    o = s_begin(0x0f, 0);
    s_offer(o, 1, 1, 0, 0);
    s_offer(o, 2, 1, 0, 1);
    s_init(o, VMBW_VERSION_WIN7, PG_MON1, PG_MON2, PG_INT);
    s_hdr(o, VMBW_MSG_REQUESTOFFERS);
    s_op(o, OP_GPADL, 3, 0, 2, 6);
    s_op(o, OP_OPEN, 4, 0, 2, 3, 0);
    s_op(o, OP_POKE, 4, 0, 0, 8, 4);        /* int page + 2048 */
    fo_bytes(o, "\xff\xff\xff\xff", 4);
    s_op(o, OP_SIGNAL, 1, 0);
    s_op(o, OP_NOTIFY, 1, 0);
    s_op(o, OP_RESET, 0);
    fo_write(o, dir, "pre-2.4");

    /* 4. hv_sock: TL connect, open, close (rescind), release. */
    o = s_begin(0x0f, 0);
    s_init(o, VMBW_VERSION_WIN10_RS5, 0, 0, 0);
    s_hdr(o, VMBW_MSG_REQUESTOFFERS);
    {
        VmbWireTlConnectRequest t;

        memset(&t, 0, sizeof(t));
        t.hdr.msgtype = VMBW_MSG_TL_CONNECT_REQUEST;
        t.guest_endpoint_id.b[0] = 1;
        t.host_service_id.b[0] = 2;
        s_raw(o, &t, sizeof(t));
    }
    s_op(o, OP_GPADL, 3, 0, 3, 4);
    s_op(o, OP_OPEN, 4, 0, 3, 2, 1);
    s_relid(o, VMBW_MSG_CLOSECHANNEL, 1);
    s_relid(o, VMBW_MSG_RELID_RELEASED, 1);
    fo_write(o, dir, "hvsock");

    /* 5. busy slot, EOM, migration in the middle. */
    o = s_begin(0x0f, 0x11);
    s_offer(o, 1, 1, 0, 1);
    s_offer(o, 1, 1, 1, 0);
    s_offer(o, 2, 2, 0, 9);
    s_op(o, OP_CONNECT, 2, 9, 0);
    s_op(o, OP_BUSY, 0);
    s_op(o, OP_GPADL, 3, 0, 1, 30);
    s_op(o, OP_GPADL, 3, 1, 2, 4);
    s_op(o, OP_SAVELOAD, 1, 1);
    s_op(o, OP_EOM, 0);
    s_op(o, OP_OPEN, 4, 0, 1, 5, 0);
    s_op(o, OP_OPEN, 4, 1, 2, 2, 0);
    s_op(o, OP_SAVELOAD, 1, 0);
    s_op(o, OP_TIMER, 1, 1);
    s_op(o, OP_EOM, 0);
    fo_write(o, dir, "busy-migrate");

    /* 6. rescind of an open channel, crossing teardown and release. */
    o = s_begin(0x0f, 0);
    s_offer(o, 1, 1, 0, 0);
    s_offer(o, 2, 2, 0, 1);
    s_op(o, OP_CONNECT, 2, 9, 0);
    s_op(o, OP_GPADL, 3, 1, 1, 8);
    s_op(o, OP_GPADL, 3, 1, 2, 2);
    s_op(o, OP_OPEN, 4, 1, 1, 4, 0);
    s_op(o, OP_RESCIND, 1, 1);
    s_teardown(o, 2, 1);
    s_relid(o, VMBW_MSG_CLOSECHANNEL, 2);
    s_relid(o, VMBW_MSG_RELID_RELEASED, 2);
    s_offer(o, 2, 2, 0, 1);
    fo_write(o, dir, "rescind");

    /* 7. MODIFYCHANNEL at 4.1 and 5.3. */
    for (int k = 0; k < 2; k++) {
        VmbWireModifyChannel m = { { VMBW_MSG_MODIFYCHANNEL, 0 }, 1, 2 };

        o = s_begin(0x0f, 0);
        s_offer(o, 1, 1, 0, 0);
        s_op(o, OP_CONNECT, 2, k ? 9 : 5, 0);
        s_op(o, OP_GPADL, 3, 0, 1, 4);
        s_op(o, OP_OPEN, 4, 0, 1, 2, 0);
        s_raw(o, &m, sizeof(m));
        m.target_vp = 7;
        s_raw(o, &m, sizeof(m));
        fo_write(o, dir, k ? "modify-5.3" : "modify-4.1");
    }

    /* 8. smart messages of every type after a connect. */
    o = s_begin(0x0f, 0);
    s_offer(o, 1, 1, 0, 1);
    s_op(o, OP_CONNECT, 2, 9, 0);
    for (int t = 0; t < VMBW_MSG_COUNT + 2; t++) {
        fo_u8(o, OP_SMART);
        fo_u8(o, t);
        for (int i = 0; i < 12; i++) {
            fo_u8(o, 1);
        }
    }
    fo_write(o, dir, "smart-all");

    /* 9. Linux 6.19 at 6.0 (feature flags 0): open, MODIFYCHANNEL
     * answered, the 6.0 messages refused, migration, unload. */
    o = s_begin(0x0f, 0);
    s_offer(o, 1, 1, 0, 1);
    s_offer(o, 2, 2, 0, 0);
    s_init_ff(o, VMBW_VERSION_COPPER, PG_MON1, PG_MON2, 0, 0);
    s_hdr(o, VMBW_MSG_REQUESTOFFERS);
    s_op(o, OP_GPADL, 3, 0, 1, 8);
    s_op(o, OP_OPEN, 4, 0, 1, 4, 0);
    {
        VmbWireModifyChannel m = { { VMBW_MSG_MODIFYCHANNEL, 0 }, 1, 2 };
        VmbWireModifyConnection mc;

        s_raw(o, &m, sizeof(m));
        memset(&mc, 0, sizeof(mc));
        mc.hdr.msgtype = VMBW_MSG_MODIFY_CONNECTION;
        mc.parent_to_child_monitor_page_gpa = PG_MON1;
        mc.child_to_parent_monitor_page_gpa = PG_MON2;
        s_raw(o, &mc, sizeof(mc));
    }
    s_hdr(o, VMBW_MSG_PAUSE);
    s_hdr(o, VMBW_MSG_RESUME);
    s_op(o, OP_SAVELOAD, 1, 0);
    s_op(o, OP_SIGNAL, 1, 1);
    s_relid(o, VMBW_MSG_CLOSECHANNEL, 1);
    s_teardown(o, 1, 2);        /* OP_GPADL made handle 1 + 1 % 8 */
    s_hdr(o, VMBW_MSG_UNLOAD);
    fo_write(o, dir, "linux-6.0");

    /* 10. 6.0 asking for every feature (confidential included): granted
     * none; busy slot so the 20-byte answer is saved and restored. */
    o = s_begin(0x0f, 0);
    s_offer(o, 1, 1, 0, 0);
    s_op(o, OP_BUSY, 0);
    s_init_ff(o, VMBW_VERSION_COPPER, PG_MON1, PG_MON2, 0, 0xffffffff);
    s_op(o, OP_SAVELOAD, 1, 1);
    s_op(o, OP_EOM, 0);
    s_hdr(o, VMBW_MSG_REQUESTOFFERS);
    s_op(o, OP_EOM, 0);
    s_init_ff(o, VMBW_VERSION_COPPER, PG_MON1, PG_MON2, 0,
              VMBW_FEATURE_CONFIDENTIAL_CHANNELS);
    s_hdr(o, VMBW_MSG_REQUESTOFFERS);
    fo_write(o, dir, "features-6.0");

    /* 11. host capped at 5.3 (cfg index 9): Linux 6.19 walks down. */
    o = s_begin(9, 0);
    s_offer(o, 1, 1, 0, 0);
    s_init(o, VMBW_VERSION_COPPER, PG_MON1, PG_MON2, 0);
    s_init(o, VMBW_VERSION_IRON, PG_MON1, PG_MON2, 0);
    s_hdr(o, VMBW_MSG_REQUESTOFFERS);
    s_hdr(o, VMBW_MSG_PAUSE);
    fo_write(o, dir, "capped-walk-6.0");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_seed_mode(write_seeds);
    return 0;
}
