/*
 * libFuzzer target: GPADL_HEADER / GPADL_BODY sequences (multi-range, interleaved) on a connected core
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Input: cfg byte, behaviour byte, version byte, then operations.  The
 * prefix connects at the chosen version and offers three channels (relids
 * 1-3, the third a subchannel).  Operations:
 *
 *   BUILD   a GPADL described range by range (byte_count, byte_offset,
 *           PFN count and values, each either right or chosen), a
 *           range_buflen, rangecount and how its words are split into
 *           HEADER + BODY messages; sent at once or left pending
 *   NEXT    send the next pending BODY of pending GPADL k
 *   BODY    a raw GPADL_BODY for some handle
 *   TEARDOWN / OPEN / CLOSE / RELEASED / RESCIND / REOFFER / UNLOAD
 *   EOM / BUSY / SAVELOAD
 *
 * Oracle: a GPADL sent at once whose stream is aligned (every range
 * followed by exactly its PFNs) must end COMPLETE with exactly the
 * ranges and PFNs sent if and only if it satisfies every rule; the
 * invariants hold after each operation.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

#define MAX_WORDS   320
#define MAX_RANGES  6
#define MAX_PENDING 4
#define MAX_OPS     512

enum {
    OP_BUILD, OP_NEXT, OP_BODY, OP_TEARDOWN, OP_OPEN, OP_CLOSE, OP_RELEASED,
    OP_RESCIND, OP_REOFFER, OP_UNLOAD, OP_EOM, OP_BUSY, OP_SAVELOAD,
    OP_COUNT
};

typedef struct Pending {
    bool used;
    uint32_t handle;
    uint64_t words[MAX_WORDS];
    uint32_t nwords, sent;
    uint32_t chunk;             /* words per BODY */
} Pending;

static Pending pend[MAX_PENDING];

static uint32_t msg_conn(void)
{
    VmbcConnInfo ci;

    vmbc_conn_info(fz.core, &ci);
    return ci.msg_conn_id ? ci.msg_conn_id : 1;
}

static uint32_t pick_relid(FzIn *in)
{
    uint8_t b = fz_u8(in);

    return b < 250 ? b % 6 : fz_u32(in);
}

static uint32_t pick_handle(FzIn *in)
{
    uint8_t b = fz_u8(in);

    return b < 250 ? b % 7 : fz_u32(in);
}

static void send_header(uint32_t relid, uint32_t handle, uint16_t buflen,
                        uint16_t rangecount, const uint64_t *w, uint32_t n,
                        uint32_t extra_bytes)
{
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlHeader *h = (void *)buf;
    uint32_t len = VMBW_GPADL_HEADER_FIXED + n * 8 + extra_bytes;

    memset(buf, 0, sizeof(buf));
    h->hdr.msgtype = VMBW_MSG_GPADL_HEADER;
    h->child_relid = relid;
    h->gpadl = handle;
    h->range_buflen = buflen;
    h->rangecount = rangecount;
    memcpy(buf + VMBW_GPADL_HEADER_FIXED, w, n * 8);
    fz_post(msg_conn(), buf, MIN(len, VMBW_MAX_PAYLOAD));
}

static void send_body(uint32_t handle, const uint64_t *w, uint32_t n,
                      uint32_t extra_bytes)
{
    uint8_t buf[VMBW_MAX_PAYLOAD];
    VmbWireGpadlBody *b = (void *)buf;
    uint32_t len = VMBW_GPADL_BODY_FIXED + n * 8 + extra_bytes;

    memset(buf, 0, sizeof(buf));
    b->hdr.msgtype = VMBW_MSG_GPADL_BODY;
    b->gpadl = handle;
    memcpy(buf + VMBW_GPADL_BODY_FIXED, w, n * 8);
    fz_post(msg_conn(), buf, MIN(len, VMBW_MAX_PAYLOAD));
}

typedef struct Range {
    uint32_t count, offset, npfns;
} Range;

static void op_build(FzIn *in)
{
    uint64_t w[MAX_WORDS];
    Range r[MAX_RANGES];
    uint32_t nw = 0, nr = 1 + fz_u8(in) % MAX_RANGES;
    uint8_t mode = fz_u8(in);
    uint32_t relid = pick_relid(in), handle = pick_handle(in);
    uint16_t rangecount, buflen;
    bool aligned = true, valid = true, sane_pfns = true;
    uint32_t first, chunk;
    uint64_t pages = 0;
    VmbcChannel *chan = vmbc_chan_by_relid(fz.core, relid);
    VmbcConnInfo ci;
    bool existed = vmbc_gpadl_find(fz.core, handle) != NULL;
    bool quiet_slot = !fz.slot_busy && !fz.busy_pct && !fz.drop_pct;
    uint64_t posted_before = fz.n_posted;

    vmbc_conn_info(fz.core, &ci);
    for (uint32_t i = 0; i < nr; i++) {
        uint8_t rm = fz_u8(in);
        uint32_t need, give;

        r[i].count = (rm & 1) ? fz_u32(in)
                              : (1 + fz_u8(in) % 40) * VMBW_PAGE_SIZE -
                                ((rm & 2) ? fz_u16(in) % VMBW_PAGE_SIZE : 0);
        r[i].offset = (rm & 4) ? fz_u16(in) % 4200 : 0;
        need = (uint32_t)(((uint64_t)r[i].offset + r[i].count +
                           VMBW_PAGE_SIZE - 1) / VMBW_PAGE_SIZE);
        give = need;
        if (rm & 8) {
            give = fz_u8(in) % 48;
            if (give != need) {
                aligned = false;
            }
        }
        if (r[i].count == 0 || r[i].offset >= VMBW_PAGE_SIZE) {
            valid = false;
        }
        if (nw + 1 + give > MAX_WORDS) {
            nr = i;
            aligned = false;
            break;
        }
        w[nw++] = (uint64_t)r[i].count | (uint64_t)r[i].offset << 32;
        r[i].npfns = give;
        for (uint32_t k = 0; k < give; k++) {
            uint64_t pfn = 0x100 + nw;

            if ((rm & 16) && k == 0) {
                pfn = fz_u64(in);
                if (pfn >= (1ull << 40)) {
                    sane_pfns = false;
                }
            }
            w[nw++] = pfn;
        }
        pages += need;
    }
    if (nr == 0) {
        return;
    }
    rangecount = (mode & 1) ? fz_u16(in) : nr;
    buflen = (mode & 2) ? fz_u16(in) : (uint16_t)(nw * 8);
    first = (mode & 4) ? fz_u8(in) % 28 : MIN(nw, 27u);
    first = MIN(first, nw);
    chunk = (mode & 8) ? 1 + fz_u8(in) % 28 : 28;

    if (mode & 0x10) {
        /* Leave the bodies for later NEXT operations. */
        Pending *p = &pend[fz_u8(in) % MAX_PENDING];

        send_header(relid, handle, buflen, rangecount, w, first, 0);
        p->used = true;
        p->handle = handle;
        memcpy(p->words, w, nw * 8);
        p->nwords = nw;
        p->sent = first;
        p->chunk = chunk;
        return;
    }
    send_header(relid, handle, buflen, rangecount, w, first,
                (mode & 0x20) ? 4 : 0);
    for (uint32_t s = first; s < nw; s += chunk) {
        send_body(handle, w + s, MIN(chunk, nw - s), 0);
    }

    /* Oracle for an aligned stream sent in one go. */
    if (!aligned || (mode & 0x20) || existed) {
        return;
    }
    /* A HEADER without its first range word is refused for its size. */
    valid = valid && sane_pfns && handle != 0 && rangecount == nr &&
            first > 0 &&
            buflen == (uint16_t)(nw * 8) && chan && vmbc_chan_offered(chan) &&
            vmbc_chan_state(chan) != VMBC_CHAN_RESCINDED &&
            ci.n_gpadls < (fz.cfg.gpadl_max_count ? fz.cfg.gpadl_max_count
                                                  : VMBC_DEFAULT_GPADL_COUNT) &&
            ci.gpadl_bytes + pages * VMBW_PAGE_SIZE <=
            (fz.cfg.gpadl_quota_bytes ? fz.cfg.gpadl_quota_bytes
                                      : VMBC_DEFAULT_GPADL_QUOTA);
    {
        VmbcGpadl *g = vmbc_gpadl_find(fz.core, handle);
        bool complete = g && vmbc_gpadl_complete(g);
        uint32_t pi = 1;

        if (complete != valid) {
            fz_fail("GPADL 0x%x: complete %d, expected %d", handle, complete,
                    valid);
        }
        if (!valid) {
            return;
        }
        if (vmbc_gpadl_relid(g) != relid ||
            vmbc_gpadl_range_count(g) != nr) {
            fz_fail("GPADL 0x%x: relid/range count", handle);
        }
        for (uint32_t i = 0; i < nr; i++) {
            uint32_t bc, bo, np;
            const uint64_t *pfns;

            if (!vmbc_gpadl_range(g, i, &bc, &bo, &pfns, &np) ||
                bc != r[i].count || bo != r[i].offset || np != r[i].npfns ||
                memcmp(pfns, w + pi, np * 8)) {
                fz_fail("GPADL 0x%x range %u differs", handle, i);
            }
            pi += 1 + np;
        }
        if (quiet_slot) {
            const FzMsg *m = fz_last_msg(VMBW_MSG_GPADL_CREATED);
            const VmbWireGpadlCreated *c = m ? (const void *)m->data : NULL;

            if (fz.n_posted == posted_before || !c || c->gpadl != handle ||
                c->creation_status != 0 || c->child_relid != relid) {
                fz_fail("GPADL 0x%x: no GPADL_CREATED(0)", handle);
            }
        }
    }
}

static void op_next(FzIn *in)
{
    Pending *p = &pend[fz_u8(in) % MAX_PENDING];
    uint32_t n;

    if (!p->used || p->sent >= p->nwords) {
        return;
    }
    n = MIN(p->chunk, p->nwords - p->sent);
    send_body(p->handle, p->words + p->sent, n, 0);
    p->sent += n;
}

static void op_body(FzIn *in)
{
    uint64_t w[28];
    uint32_t handle = pick_handle(in);
    uint8_t n = fz_u8(in);

    fz_bytes(in, w, 8 * MIN(n % 32, 28));
    send_body(handle, w, MIN(n % 32, 28), n >= 128 ? n % 8 : 0);
}

static void relid_msg(uint32_t type, uint32_t relid)
{
    VmbWireRelid m = { { type, 0 }, relid };

    fz_post(msg_conn(), &m, sizeof(m));
}

static void offer3(void)
{
    VmbcOfferParams p;

    for (int i = 0; i < 3; i++) {
        p = fz_params(1 + (i == 2 ? 0 : i), 1 + (i == 2 ? 0 : i), i == 2, 0);
        vmbc_offer(fz.core, &p, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FzIn in = { data, size };
    uint8_t cfgb = fz_u8(&in), beh = fz_u8(&in);
    uint32_t version = fz_versions[fz_u8(&in) % 10];

    fz_env_init(cfgb, beh, 0x9e3779b97f4a7c15ull);
    memset(pend, 0, sizeof(pend));
    offer3();
    fz_connect(version, 0, 0x9000, 0xA000, 0x8000);
    fz_request_offers();
    fz_check("prefix");
    for (int n = 0; n < MAX_OPS && fz_more(&in); n++) {
        uint8_t op = fz_u8(&in) % OP_COUNT;
        VmbcChannel *c;

        switch (op) {
        case OP_BUILD: op_build(&in); break;
        case OP_NEXT: op_next(&in); break;
        case OP_BODY: op_body(&in); break;
        case OP_TEARDOWN: {
            VmbWireGpadlTeardown t = { { VMBW_MSG_GPADL_TEARDOWN, 0 }, 0, 0 };

            t.child_relid = pick_relid(&in);
            t.gpadl = pick_handle(&in);
            fz_post(msg_conn(), &t, sizeof(t));
            break;
        }
        case OP_OPEN: {
            uint32_t relid = pick_relid(&in), handle = pick_handle(&in);

            fz_open(relid, handle, fz_u8(&in) % 10, fz_u8(&in) % 5);
            break;
        }
        case OP_CLOSE: relid_msg(VMBW_MSG_CLOSECHANNEL, pick_relid(&in));
            break;
        case OP_RELEASED: relid_msg(VMBW_MSG_RELID_RELEASED, pick_relid(&in));
            break;
        case OP_RESCIND:
            c = vmbc_chan_by_relid(fz.core, pick_relid(&in));
            if (c) {
                vmbc_rescind(c);
            }
            break;
        case OP_REOFFER: offer3(); break;
        case OP_UNLOAD: {
            VmbWireHdr h = { VMBW_MSG_UNLOAD, 0 };
            uint8_t v = fz_u8(&in);

            fz_post(msg_conn(), &h, sizeof(h));
            if (v & 1) {
                fz_connect(fz_versions[v % 10], 0, 0x9000, 0xA000, 0x8000);
                fz_request_offers();
            }
            break;
        }
        case OP_EOM: fz_slot_freed(); break;
        case OP_BUSY: fz.slot_busy = true; break;
        case OP_SAVELOAD: fz_save_load_roundtrip(fz_u8(&in) & 1); break;
        }
        fz_check("gpadl op");
    }
    fz_env_fini();
    return 0;
}

/* ---- Seeds ------------------------------------------------------------ */

static FzOut *s_begin(uint8_t cfgb, uint8_t beh, uint8_t vi)
{
    FzOut *o = g_byte_array_new();

    fo_u8(o, cfgb);
    fo_u8(o, beh);
    fo_u8(o, vi);
    return o;
}

/* BUILD of nr whole-page ranges, all right, sent at once or pending. */
static void s_build(FzOut *o, uint8_t relid, uint8_t handle, uint8_t nr,
                    const uint8_t *pages, uint8_t mode)
{
    fo_u8(o, OP_BUILD);
    fo_u8(o, nr - 1);
    fo_u8(o, mode);
    fo_u8(o, relid);
    fo_u8(o, handle);
    for (int i = 0; i < nr; i++) {
        fo_u8(o, 0);                /* range mode: whole pages */
        fo_u8(o, pages[i] - 1);
    }
    if (mode & 0x10) {
        fo_u8(o, 0);                /* pending slot */
    }
}

static void write_seeds(const char *dir)
{
    static const uint8_t one8[] = { 8 }, three[] = { 2, 30, 5 };
    static const uint8_t big[] = { 40, 40, 40, 40, 40, 40 };
    FzOut *o;

    o = s_begin(0x0f, 0, 9);
    s_build(o, 1, 1, 1, one8, 0);
    fo_u8(o, OP_OPEN); fo_u8(o, 1); fo_u8(o, 1); fo_u8(o, 4); fo_u8(o, 0);
    fo_u8(o, OP_CLOSE); fo_u8(o, 1);
    fo_u8(o, OP_TEARDOWN); fo_u8(o, 1); fo_u8(o, 1);
    fo_write(o, dir, "single-open-close");

    o = s_begin(0x0f, 0, 9);
    s_build(o, 2, 2, 3, three, 0);
    s_build(o, 3, 3, 6, big, 0);
    fo_u8(o, OP_SAVELOAD); fo_u8(o, 1);
    fo_u8(o, OP_TEARDOWN); fo_u8(o, 2); fo_u8(o, 2);
    fo_write(o, dir, "multi-range");

    o = s_begin(0x0f, 0, 6);
    s_build(o, 1, 4, 3, three, 0x10);
    s_build(o, 2, 5, 1, one8, 0x10);
    for (int i = 0; i < 4; i++) {
        fo_u8(o, OP_NEXT); fo_u8(o, 0);
    }
    fo_u8(o, OP_RESCIND); fo_u8(o, 1);
    fo_u8(o, OP_TEARDOWN); fo_u8(o, 1); fo_u8(o, 4);
    fo_write(o, dir, "pending-rescind");

    o = s_begin(0x3f, 0, 2);         /* small quota, few GPADLs */
    for (int i = 1; i <= 6; i++) {
        s_build(o, 1 + i % 3, i, 6, big, 0);
    }
    fo_u8(o, OP_UNLOAD); fo_u8(o, 3);
    s_build(o, 1, 1, 1, one8, 0);
    fo_write(o, dir, "quota");

    o = s_begin(0x0f, 0, 1);
    s_build(o, 1, 1, 1, one8, 0x04);
    fo_u8(o, 3);
    fo_u8(o, OP_BODY); fo_u8(o, 1); fo_u8(o, 3);
    fo_bytes(o, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24);
    fo_write(o, dir, "split-body");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_seed_mode(write_seeds);
    return 0;
}
