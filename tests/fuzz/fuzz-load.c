/*
 * libFuzzer target: vmbc_load() of arbitrary save streams into a core with device channels offered
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Input: one set-up byte (bits 0-2: how many of four device channels are
 * offered first; bit 3: max version 5.0 instead of 6.0; bit 4: small
 * limits; bit 5: round trip with the device channels pre-offered), then
 * the stream.
 *
 * A refused stream must leave the core exactly as it was.  An accepted
 * one must give a core whose invariants hold, that saves, loads and
 * saves again to the same bytes, and that survives being used: slot and
 * timer events, signals, closing, teardown, rescind and unload.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

static const struct {
    uint8_t cls, inst, sub, flags;
} devs[4] = {
    { 1, 1, 0, 1 }, { 2, 2, 0, 0 }, { 3, 3, 0, 0x80 }, { 1, 1, 1, 0 },
};

static void setup(uint8_t b)
{
    uint8_t cfgb = (b & 8) ? 6 : 0x0f;

    if (b & 0x10) {
        cfgb |= 0x70;
    }
    fz_env_init(cfgb, 0, 42);
    for (int i = 0; i < (b & 7) % 5; i++) {
        VmbcOfferParams p = fz_params(devs[i].cls, devs[i].inst, devs[i].sub,
                                      devs[i].flags);

        if (!vmbc_offer(fz.core, &p, NULL)) {
            fz_fail("device offer %d", i);
        }
    }
}

static uint32_t msg_conn(void)
{
    VmbcConnInfo ci;

    vmbc_conn_info(fz.core, &ci);
    return ci.msg_conn_id ? ci.msg_conn_id : 1;
}

static bool close_one(VmbcChannel *chan, void *arg)
{
    GArray *relids = arg;
    uint32_t r = vmbc_chan_relid(chan);

    g_array_append_val(relids, r);
    return true;
}

static bool gpadl_one(VmbcGpadl *g, void *arg)
{
    GArray *a = arg;
    uint32_t v[2] = { vmbc_gpadl_relid(g), vmbc_gpadl_handle(g) };

    g_array_append_vals(a, v, 2);
    return true;
}

/* Drive the loaded state through the paths that use it. */
static void exercise(void)
{
    GArray *relids = g_array_new(false, false, sizeof(uint32_t));
    GArray *gp = g_array_new(false, false, sizeof(uint32_t));

    fz_slot_freed();
    fz_check("slot freed");
    fz_timer(true);
    fz_check("timer");
    vmbc_signal_event(fz.core, VMBW_CONN_ID_EVENT);
    vmbc_foreach_channel(fz.core, close_one, relids);
    for (guint i = 0; i < relids->len; i++) {
        uint32_t r = g_array_index(relids, uint32_t, i);
        VmbcChannel *c = vmbc_chan_by_relid(fz.core, r);

        if (c) {
            vmbc_signal_event(fz.core, vmbc_chan_connection_id(c));
            vmbc_channel_notify_guest(c);
        }
    }
    fz_check("signals");
    vmbc_foreach_gpadl(fz.core, gpadl_one, gp);
    for (guint i = 0; i < relids->len; i++) {
        VmbWireRelid m = { { VMBW_MSG_CLOSECHANNEL, 0 },
                           g_array_index(relids, uint32_t, i) };

        fz_post(msg_conn(), &m, sizeof(m));
        fz_check("close");
    }
    for (guint i = 0; i + 1 < gp->len; i += 2) {
        VmbWireGpadlTeardown t = { { VMBW_MSG_GPADL_TEARDOWN, 0 },
                                   g_array_index(gp, uint32_t, i),
                                   g_array_index(gp, uint32_t, i + 1) };
        VmbWireGpadlBody b;

        memset(&b, 0, sizeof(b));
        b.hdr.msgtype = VMBW_MSG_GPADL_BODY;
        b.gpadl = t.gpadl;
        fz_post(msg_conn(), &b, sizeof(b));         /* finish or fail it */
        fz_check("body");
        fz_post(msg_conn(), &t, sizeof(t));
        fz_check("teardown");
    }
    if (relids->len) {
        VmbcChannel *c = vmbc_chan_by_relid(fz.core,
                                            g_array_index(relids, uint32_t,
                                                          0));

        if (c) {
            vmbc_rescind(c);
            fz_check("rescind");
        }
    }
    {
        VmbWireHdr h = { VMBW_MSG_UNLOAD, 0 };

        fz_post(msg_conn(), &h, sizeof(h));
        fz_check("unload");
    }
    g_array_free(relids, true);
    g_array_free(gp, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t b = size ? data[0] : 0;
    GByteArray *before = g_byte_array_new(), *after;
    GError *err = NULL;

    if (size > 256 * 1024) {
        return 0;
    }
    setup(b);
    vmbc_save(fz.core, before);
    if (!vmbc_load(fz.core, size ? data + 1 : data, size ? size - 1 : 0,
                   &err)) {
        if (!err || !err->message) {
            fz_fail("vmbc_load failed without an error");
        }
        if (getenv("FZ_VERBOSE")) {
            fprintf(stderr, "refused: %s\n", err->message);
        }
        g_error_free(err);
        fz_check("refused load");
        after = g_byte_array_new();
        vmbc_save(fz.core, after);
        if (after->len != before->len ||
            memcmp(after->data, before->data, after->len)) {
            fz_fail("refused load changed the core");
        }
        g_byte_array_free(after, true);
    } else {
        fz_check("load");
        fz_save_load_roundtrip(b & 0x20);
        exercise();
    }
    g_byte_array_free(before, true);
    fz_env_fini();
    return 0;
}

/* ---- Seeds: real vmbc_save() output of a few states ------------------- */

static void seed_out(const char *dir, const char *name, uint8_t b)
{
    FzOut *o = g_byte_array_new();
    GByteArray *s = g_byte_array_new();

    fo_u8(o, b);
    vmbc_save(fz.core, s);
    fo_bytes(o, s->data, s->len);
    g_byte_array_free(s, true);
    fo_write(o, dir, name);
    fz_env_fini();
}

/*
 * A loader skips sections it does not know whose tag starts with a lower
 * case letter and refuses the others: the 6.0 state with optional
 * sections after CONN and before END (loads), and with a required one
 * (refused).
 */
static void write_unknown_section_seeds(const char *dir)
{
    static const struct {
        const char *name;
        const char *tag;
        uint32_t len;
        bool at_end;
    } secs[] = {
        { "unknown-optional-after-conn", "xtra", 12, false },
        { "unknown-optional-before-end", "zzzz", 0, true },
        { "unknown-required-before-end", "XTRA", 4, true },
    };

    for (guint i = 0; i < G_N_ELEMENTS(secs); i++) {
        GByteArray *st = g_byte_array_new();
        FzOut *o = g_byte_array_new();
        uint32_t conn_len;
        size_t at;

        setup(4);
        fz_connect(VMBW_VERSION_COPPER, 1, 0x9000, 0xA000, 0);
        fz_request_offers();
        fz_gpadl(1, 1, 8, 0x100);
        fz_open(1, 1, 4, 1);
        vmbc_save(fz.core, st);
        memcpy(&conn_len, st->data + 12, 4);
        at = secs[i].at_end ? st->len - 8 : 16 + GUINT32_FROM_LE(conn_len);
        fo_u8(o, 4);
        fo_bytes(o, st->data, at);
        fo_bytes(o, secs[i].tag, 4);
        fo_u32(o, secs[i].len);
        for (uint32_t k = 0; k < secs[i].len; k++) {
            fo_u8(o, 0xa5);
        }
        fo_bytes(o, st->data + at, st->len - at);
        fo_write(o, dir, secs[i].name);
        g_byte_array_free(st, true);
        fz_env_fini();
    }
}

static void write_seeds(const char *dir)
{
    VmbWireTlConnectRequest t;

    setup(4);
    seed_out(dir, "offered-disconnected", 4);

    setup(4);
    fz_connect(VMBW_VERSION_IRON, 1, 0x9000, 0xA000, 0);
    fz_request_offers();
    seed_out(dir, "ready-5.3", 4);

    /* 6.0: the FEAT section; the 20-byte VERSION_RESPONSE still queued */
    setup(4);
    fz_connect(VMBW_VERSION_COPPER, 1, 0x9000, 0xA000, 0);
    fz_request_offers();
    fz_gpadl(1, 1, 8, 0x100);
    fz_open(1, 1, 4, 1);
    seed_out(dir, "ready-6.0", 4);
    setup(4);
    fz.slot_busy = true;
    fz_connect(VMBW_VERSION_COPPER, 0, 0, 0, 0);
    seed_out(dir, "queued-response-6.0", 4);

    /* open channel, complete + receiving + failed GPADLs, queued out */
    setup(0x23);
    fz_connect(VMBW_VERSION_WIN10_RS5, 0, 0x9000, 0xA000, 0);
    fz_request_offers();
    fz_gpadl(1, 1, 8, 0x100);
    fz_open(1, 1, 4, 2);
    fz_gpadl(2, 2, 40, 0x200);
    {
        VmbWireGpadlHeader h;

        memset(&h, 0, sizeof(h));
        h.hdr.msgtype = VMBW_MSG_GPADL_HEADER;
        h.child_relid = 2;
        h.gpadl = 3;
        h.range_buflen = 8 + 8 * 60;
        h.rangecount = 1;
        h.range0.byte_count = 60 * 4096;
        fz_post(4, &h, sizeof(h));                  /* receiving */
        h.gpadl = 4;
        h.child_relid = 77;
        fz_post(4, &h, sizeof(h));                  /* failed */
    }
    fz.slot_busy = true;
    fz_gpadl(3, 5, 2, 0x300);
    fz_open(3, 5, 1, 0);                            /* refused, queued */
    seed_out(dir, "open-gpadls-queue", 0x23);

    /* pre-2.4 with interrupt and monitor pages, monitored channel open */
    setup(2);
    fz_connect(VMBW_VERSION_WIN7, 0, 0x9000, 0xA000, 0x8000);
    fz_request_offers();
    fz_gpadl(1, 9, 6, 0x100);
    fz_open(1, 9, 3, 0);
    seed_out(dir, "pre-2.4-open", 2);

    /* rescinded channel waiting for RELID_RELEASED, hv_sock channel */
    setup(3);
    fz_connect(VMBW_VERSION_IRON, 0, 0, 0, 0);
    fz_request_offers();
    memset(&t, 0, sizeof(t));
    t.hdr.msgtype = VMBW_MSG_TL_CONNECT_REQUEST;
    t.guest_endpoint_id.b[0] = 5;
    t.host_service_id.b[0] = 6;
    fz_post(4, &t, sizeof(t));
    fz_gpadl(2, 7, 4, 0x100);
    fz_open(2, 7, 2, 0);
    vmbc_rescind(vmbc_chan_by_relid(fz.core, 2));
    seed_out(dir, "rescind-hvsock", 3);

    /* Regressions (see tests/unit/test-fuzz-regress.c): a queued message
     * relabelled with a bogus type, a subchannel without
     * rescind_on_close.  Both streams must be refused. */
    {
        GByteArray *st = g_byte_array_new();
        FzOut *o;
        size_t off = 8;

        setup(0x04);
        fz_connect(VMBW_VERSION_IRON, 0, 0, 0, 0);
        fz.slot_busy = true;
        fz_request_offers();
        vmbc_offer(fz.core, &(VmbcOfferParams){ .subchannel_index = 1,
                                                .rescind_on_close = true },
                   NULL);
        vmbc_save(fz.core, st);
        while (off + 12 <= st->len) {
            uint32_t l;

            memcpy(&l, st->data + off + 4, 4);
            if (!memcmp(st->data + off, "OUTQ", 4)) {
                st->data[off + 8 + 4 + 12 + 3] = 2;     /* type 0x02000001 */
            }
            if (!memcmp(st->data + off, "CHAN", 4) &&
                st->data[off + 8 + l - 1] == 1) {
                o = g_byte_array_new();
                fo_u8(o, 0x04);
                st->data[off + 8 + l - 1] = 0;          /* rescind_on_close */
                fo_bytes(o, st->data, st->len);
                fo_write(o, dir, "regress-subchannel-rescind-flag");
                st->data[off + 8 + l - 1] = 1;
            }
            off += 8 + l;
        }
        o = g_byte_array_new();
        fo_u8(o, 0x04);
        fo_bytes(o, st->data, st->len);
        fo_write(o, dir, "regress-outq-type");
        g_byte_array_free(st, true);
        fz_env_fini();
    }

    /* 5.0 core: teardown pending on a device-pinned ring */
    setup(0x0c);
    fz_connect(VMBW_VERSION_WIN10_RS3_1, 3, 0x9000, 0xA000, 0);
    fz_request_offers();
    fz_gpadl(4, 11, 4, 0x100);
    fz_open(4, 11, 2, 0);
    {
        VmbWireGpadlTeardown td = { { VMBW_MSG_GPADL_TEARDOWN, 0 }, 4, 11 };

        fz_post(4, &td, sizeof(td));
    }
    seed_out(dir, "teardown-pending-5.0", 0x0c);

    write_unknown_section_seeds(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_seed_mode(write_seeds);
    return 0;
}
