/*
 * libFuzzer target: monitor-page polling and the pre-2.4 interrupt page, with guest-written page memory
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Input: cfg byte, version byte, page-choice byte, channel count byte,
 * one latency byte per channel, then operations: the guest writes its
 * monitor / interrupt pages (raw bytes or trigger bits), the monitor
 * timer fires, the shared event is signalled, channels close, reopen,
 * move VP, are rescinded and re-offered, the guest unloads and
 * reconnects with other pages, the core is migrated.
 *
 * Oracles (besides the invariants and the fake host's checks that the
 * core writes only inside the guest's pages): a poll notifies exactly
 * the open monitored channels whose pending bit was set and clears the
 * groups it served; the shared event notifies exactly the open channels
 * whose bit was set; the polling timer runs iff a monitored channel is
 * open on a connection with a second monitor page that has not faulted.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "core-priv.h"

#define PG_INT  0x8000ull
#define PG_MON1 0x9000ull
#define PG_MON2 0xA000ull
#define MAX_CH  8
#define MAX_OPS 512

enum {
    OP_POKE, OP_TRIGGER, OP_INTBITS, OP_TIMER, OP_SHARED, OP_SIGNAL,
    OP_CLOSE, OP_REOPEN, OP_MODIFY, OP_RESCIND, OP_REOFFER, OP_RECONNECT,
    OP_SAVELOAD, OP_ADVANCE, OP_COUNT
};

static uint8_t lat[MAX_CH];
static uint32_t nch;

static uint32_t msg_conn(void)
{
    VmbcConnInfo ci;

    vmbc_conn_info(fz.core, &ci);
    return ci.msg_conn_id ? ci.msg_conn_id : 1;
}

static uint64_t pick_page(uint8_t sel, uint64_t dflt)
{
    switch (sel % 8) {
    case 0: case 1: case 2: case 3: return dflt;
    case 4: return 0;
    case 5: return PG_MON1;                         /* shared */
    case 6: return FZ_MEM_SIZE;                     /* not RAM */
    default: return FZ_MEM_SIZE - VMBW_PAGE_SIZE;
    }
}

static void offer_all(void)
{
    for (uint32_t i = 0; i < nch; i++) {
        VmbcOfferParams p = fz_params(1 + i, 1, 0, (i % 4 == 3) ? 0 :
                                      1 | ((lat[i] & 0xf7) | 8));

        vmbc_offer(fz.core, &p, NULL);
    }
}

/* GPADL + OPENCHANNEL for every offered, closed channel. */
static void open_all(void)
{
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        VmbcChannel *c = vmbc_chan_by_relid(fz.core, r);

        if (!c || !c->offered || c->state != VMBC_CHAN_CLOSED) {
            continue;
        }
        if (!vmbc_gpadl_find(fz.core, 0x100 + r)) {
            fz_gpadl(r, 0x100 + r, 4, 0x10 + r);
        }
        fz_open(r, 0x100 + r, 2, r % fz.nvps);
    }
}

static void connect(uint32_t version, uint8_t pages)
{
    fz_connect(version, 0, pick_page(pages, PG_MON1),
               pick_page(pages >> 3, PG_MON2),
               pick_page(pages >> 5, PG_INT));
    fz_request_offers();
    open_all();
}

/* Expected timer state. */
static void check_timer(void)
{
    VmbcCore *core = fz.core;
    bool want = false, armed = fz.timer_armed[VMBC_TIMER_MONITOR];

    /* A page 2 that faulted once stops polling until reconnect. */
    if (core->conn.state != VMBC_CONN_DISCONNECTED &&
        core->conn.monitor_page2 && !core->monitor_fault) {
        for (uint32_t id = 0; id < VMBW_MONITOR_IDS; id++) {
            VmbcChannel *c = core->by_monitor[id];

            if (c && c->state == VMBC_CHAN_OPEN) {
                want = true;
            }
        }
    }
    if (want != armed) {
        fz_fail("monitor timer %s, expected %s", armed ? "armed" : "off",
                want ? "armed" : "off");
    }
}

static bool page_in_ram(uint64_t gpa)
{
    return gpa && gpa + VMBW_PAGE_SIZE <= FZ_MEM_SIZE;
}

static void timer_fire(bool force)
{
    VmbcCore *core = fz.core;
    uint64_t mon2 = core->conn.monitor_page2;
    uint32_t pend[VMBW_MONITOR_GROUPS] = { 0 };
    uint32_t want[VMBW_MONITOR_GROUPS] = { 0 };
    bool judge = fz.timer_armed[VMBC_TIMER_MONITOR] && page_in_ram(mon2) &&
                 !fz.fault_pct && core->conn.state != VMBC_CONN_DISCONNECTED;
    uint32_t before[VMBW_MAX_RELIDS];

    if (judge) {
        for (uint32_t g = 0; g < VMBW_MONITOR_GROUPS; g++) {
            memcpy(&pend[g], fz.mem + mon2 + 8 + g * 8, 4);
        }
        for (uint32_t id = 0; id < VMBW_MONITOR_IDS; id++) {
            VmbcChannel *c = core->by_monitor[id];

            if (c && c->state == VMBC_CHAN_OPEN) {
                want[id / 32] |= 1u << (id % 32);
            }
        }
        memcpy(before, fz.notified, sizeof(before));
    }
    fz_timer(force);
    if (!judge) {
        return;
    }
    for (uint32_t id = 0; id < VMBW_MONITOR_IDS; id++) {
        VmbcChannel *c = fz.core->by_monitor[id];
        bool fired = pend[id / 32] & want[id / 32] & (1u << (id % 32));
        uint32_t r;

        if (!(want[id / 32] & (1u << (id % 32))) || !c) {
            continue;
        }
        r = c->relid;
        if (fired != (fz.notified[r] != before[r])) {
            fz_fail("monitor id %u (relid %u): pending %d, notified %d", id,
                    r, fired, fz.notified[r] != before[r]);
        }
    }
    for (uint32_t g = 0; g < VMBW_MONITOR_GROUPS; g++) {
        uint32_t now;

        memcpy(&now, fz.mem + mon2 + 8 + g * 8, 4);
        if ((pend[g] & want[g]) && now) {
            fz_fail("trigger group %u still pending 0x%x", g, now);
        }
    }
}

static void shared_event(void)
{
    VmbcCore *core = fz.core;
    uint64_t page = core->conn.interrupt_page;
    uint32_t before[VMBW_MAX_RELIDS];
    uint8_t bits[256];
    bool judge = core->conn.state != VMBC_CONN_DISCONNECTED &&
                 core->conn.version < VMBW_VERSION_WIN8 &&
                 page_in_ram(page) && !fz.fault_pct;

    if (judge) {
        memcpy(bits, fz.mem + page + VMBW_INT_PAGE_SEND_OFFSET, 256);
        memcpy(before, fz.notified, sizeof(before));
    }
    vmbc_signal_event(core, VMBW_CONN_ID_EVENT);
    if (!judge) {
        return;
    }
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        VmbcChannel *c = fz.core->by_relid[r];
        bool set = bits[r / 8] & (1u << (r % 8));

        if (c && c->state == VMBC_CHAN_OPEN &&
            set != (fz.notified[r] != before[r])) {
            fz_fail("shared event: relid %u bit %d notified %d", r, set,
                    fz.notified[r] != before[r]);
        }
        if ((!c || c->state != VMBC_CHAN_OPEN) &&
            fz.notified[r] != before[r]) {
            fz_fail("shared event notified relid %u (not open)", r);
        }
    }
}

static VmbcChannel *pick_chan(FzIn *in)
{
    return fz_nth_channel(fz_u8(in));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FzIn in = { data, size };
    uint8_t cfgb = fz_u8(&in) & 0x8f;
    uint32_t version = fz_versions[fz_u8(&in) % 10];
    uint8_t pages = fz_u8(&in);

    fz_env_init(cfgb | 0x0f, fz_u8(&in) & 0x18, 7);
    nch = 1 + fz_u8(&in) % MAX_CH;
    for (uint32_t i = 0; i < nch; i++) {
        lat[i] = fz_u8(&in);
    }
    offer_all();
    connect(version, pages);
    fz_check("prefix");
    check_timer();
    for (int n = 0; n < MAX_OPS && fz_more(&in); n++) {
        uint8_t op = fz_u8(&in) % OP_COUNT;
        VmbcChannel *c;

        switch (op) {
        case OP_POKE: {
            static const uint64_t base[3] = { PG_MON1, PG_MON2, PG_INT };
            uint64_t gpa = base[fz_u8(&in) % 3] + fz_u16(&in) % 4096;
            uint32_t len = fz_u8(&in) % 64;
            uint8_t buf[64];

            fz_bytes(&in, buf, len);
            if (gpa + len <= FZ_MEM_SIZE) {
                memcpy(fz.mem + gpa, buf, len);
            }
            break;
        }
        case OP_TRIGGER: {
            uint32_t g = fz_u8(&in) % 4, v = fz_u32(&in);
            uint64_t mon2 = fz.core->conn.monitor_page2;

            if (page_in_ram(mon2)) {
                memcpy(fz.mem + mon2 + 8 + g * 8, &v, 4);
            }
            break;
        }
        case OP_INTBITS: {
            uint32_t w = fz_u8(&in) % 64, v = fz_u32(&in);
            uint64_t ip = fz.core->conn.interrupt_page;

            if (page_in_ram(ip)) {
                memcpy(fz.mem + ip + VMBW_INT_PAGE_SEND_OFFSET + w * 4, &v, 4);
            }
            break;
        }
        case OP_TIMER: timer_fire(fz_u8(&in) & 1); break;
        case OP_SHARED: shared_event(); break;
        case OP_SIGNAL:
            c = pick_chan(&in);
            if (c) {
                vmbc_signal_event(fz.core, vmbc_chan_connection_id(c));
                vmbc_channel_notify_guest(c);
            }
            break;
        case OP_CLOSE:
            c = pick_chan(&in);
            if (c) {
                VmbWireRelid m = { { VMBW_MSG_CLOSECHANNEL, 0 }, c->relid };

                fz_post(msg_conn(), &m, sizeof(m));
            }
            break;
        case OP_REOPEN: open_all(); break;
        case OP_MODIFY:
            c = pick_chan(&in);
            if (c) {
                VmbWireModifyChannel m = { { VMBW_MSG_MODIFYCHANNEL, 0 },
                                           c->relid, fz_u8(&in) % 6 };

                fz_post(msg_conn(), &m, sizeof(m));
            }
            break;
        case OP_RESCIND:
            c = pick_chan(&in);
            if (c) {
                vmbc_rescind(c);
            }
            break;
        case OP_REOFFER: offer_all(); break;
        case OP_RECONNECT: {
            VmbWireHdr h = { VMBW_MSG_UNLOAD, 0 };
            uint8_t v = fz_u8(&in);

            if (v & 1) {
                fz_post(msg_conn(), &h, sizeof(h));
            }
            connect(fz_versions[(v >> 1) % 10], fz_u8(&in));
            break;
        }
        case OP_SAVELOAD: fz_save_load_roundtrip(fz_u8(&in) & 1); break;
        case OP_ADVANCE: fz.now += fz_u16(&in) * 100; break;
        }
        fz_check("monitor op");
        check_timer();
    }
    fz_env_fini();
    return 0;
}

/* ---- Seeds ------------------------------------------------------------ */

static void write_seeds(const char *dir)
{
    static const struct {
        const char *name;
        uint8_t version, pages, nch;
    } s[] = {
        { "monitor-5.3", 9, 0, 6 },
        { "int-page-1.1", 1, 0, 4 },
        { "int-page-0.13", 0, 0, 3 },
        { "shared-pages-4.0", 4, 5 | (5 << 3), 5 },
    };

    for (size_t k = 0; k < G_N_ELEMENTS(s); k++) {
        FzOut *o = g_byte_array_new();

        fo_u8(o, 0x0f);
        fo_u8(o, s[k].version);
        fo_u8(o, s[k].pages);
        fo_u8(o, 0);
        fo_u8(o, s[k].nch - 1);
        for (int i = 0; i < s[k].nch; i++) {
            fo_u8(o, i * 37);
        }
        for (int rep = 0; rep < 3; rep++) {
            fo_u8(o, OP_TRIGGER); fo_u8(o, rep); fo_u32(o, 0x2a << rep);
            fo_u8(o, OP_TIMER); fo_u8(o, 0);
            fo_u8(o, OP_INTBITS); fo_u8(o, 0); fo_u32(o, 0x1e);
            fo_u8(o, OP_SHARED);
            fo_u8(o, OP_CLOSE); fo_u8(o, rep);
            fo_u8(o, OP_TIMER); fo_u8(o, 1);
            fo_u8(o, OP_REOPEN);
            fo_u8(o, OP_SAVELOAD); fo_u8(o, rep & 1);
            fo_u8(o, OP_ADVANCE); fo_u16(o, 500);
        }
        fo_u8(o, OP_RECONNECT); fo_u8(o, 1 | (9 << 1)); fo_u8(o, 0);
        fo_u8(o, OP_TIMER); fo_u8(o, 0);
        fo_write(o, dir, s[k].name);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_seed_mode(write_seeds);
    return 0;
}
