/*
 * VMBus host protocol core: GPADLs (guest physical address descriptor lists)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * A GPADL arrives as one GPADL_HEADER and any number of GPADL_BODY
 * messages, posted back to back.  Together they carry a stream of 8-byte
 * words: for each of 'rangecount' ranges a header word {u32 byte_count,
 * u32 byte_offset} followed by one PFN per page the range spans.  The
 * header's u16 range_buflen is the stream length in bytes; Linux stores
 * it truncated to 16 bits for big buffers, so it is checked modulo 2^16
 * once the stream is complete.  The stream is parsed word by word, so
 * every allocation is bounded by what a range header declares, and each
 * range header is charged against the per-VM quota before its PFNs are
 * accepted.
 *
 * Refusal: GPADL_CREATED with a non-zero status is sent as soon as the
 * problem is seen (Linux matches it on (relid, gpadl) and copes with an
 * early answer).  The GPADL then stays as FAILED, holding nothing, to
 * swallow the body messages still on their way; it goes away when they
 * have all arrived (when their number is known), on GPADL_TEARDOWN, on
 * rescind of its channel, or at unload.
 */

#include "core-priv.h"

/* PFNs beyond 2^40 (GPAs beyond 2^52) cannot be guest memory. */
#define VMBC_PFN_LIMIT      (1ull << 40)
/* Hard cap on one GPADL, whatever the quota says: 4 TiB. */
#define VMBC_GPADL_MAX_PFNS (1u << 30)

VmbcGpadl *vmbc_gpadl_find(VmbcCore *core, uint32_t handle)
{
    return g_hash_table_lookup(core->gpadls, GUINT_TO_POINTER(handle));
}

VmbcGpadl *vmbc_gpadl_alloc(VmbcCore *core, uint32_t handle, uint32_t relid)
{
    VmbcGpadl *g = g_new0(VmbcGpadl, 1);
    VmbcChannel *chan = vmbc_chan_by_relid(core, relid);

    g->core = core;
    g->handle = handle;
    g->relid = relid;
    g_hash_table_insert(core->gpadls, GUINT_TO_POINTER(handle), g);
    if (chan) {
        chan->gpadls = g_list_prepend(chan->gpadls, g);
        g->chan_link = chan->gpadls;
    }
    return g;
}

/* Give back PFNs, ranges and quota (FAILED or destroyed). */
static void vmbc_gpadl_strip(VmbcGpadl *g)
{
    g->core->gpadl_bytes -= g->quota_bytes;
    g->quota_bytes = 0;
    g_free(g->pfns);
    g->pfns = NULL;
    g->npfns = g->pfn_cap = 0;
    g->pfns_left = 0;
    g_free(g->ranges);
    g->ranges = NULL;
    g->ranges_done = g->ranges_cap = 0;
}

void vmbc_gpadl_destroy(VmbcGpadl *g)
{
    VmbcCore *core = g->core;

    vmbc_trace(core, "vmbc_gpadl_destroy", "gpadl 0x%x relid %u", g->handle,
               g->relid);
    if (g->chan_link) {
        VmbcChannel *chan = vmbc_chan_by_relid(core, g->relid);

        if (chan) {
            chan->gpadls = g_list_delete_link(chan->gpadls, g->chan_link);
        }
        g->chan_link = NULL;
    }
    g_hash_table_remove(core->gpadls, GUINT_TO_POINTER(g->handle));
    vmbc_gpadl_strip(g);
    g_free(g);
}

void vmbc_gpadl_release_chan(VmbcChannel *chan)
{
    while (chan->gpadls) {
        vmbc_gpadl_destroy(chan->gpadls->data);
    }
}

void vmbc_gpadl_free_all(VmbcCore *core)
{
    GHashTableIter it;
    gpointer v;
    GPtrArray *all = g_ptr_array_new();

    g_hash_table_iter_init(&it, core->gpadls);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        g_ptr_array_add(all, v);
    }
    for (guint i = 0; i < all->len; i++) {
        vmbc_gpadl_destroy(all->pdata[i]);
    }
    g_ptr_array_free(all, true);
}

static void vmbc_send_created(VmbcCore *core, uint32_t relid, uint32_t handle,
                              uint32_t status)
{
    VmbWireGpadlCreated c;

    memset(&c, 0, sizeof(c));
    c.hdr.msgtype = GUINT32_TO_LE(VMBW_MSG_GPADL_CREATED);
    c.child_relid = GUINT32_TO_LE(relid);
    c.gpadl = GUINT32_TO_LE(handle);
    c.creation_status = GUINT32_TO_LE(status);
    vmbc_send(core, &c, sizeof(c));
}

static void vmbc_send_torndown(VmbcCore *core, uint32_t handle)
{
    VmbWireGpadlTorndown t;

    memset(&t, 0, sizeof(t));
    t.hdr.msgtype = GUINT32_TO_LE(VMBW_MSG_GPADL_TORNDOWN);
    t.gpadl = GUINT32_TO_LE(handle);
    vmbc_send(core, &t, sizeof(t));
}

static uint64_t vmbc_range_pages(uint32_t byte_count, uint32_t byte_offset)
{
    return ((uint64_t)byte_offset + byte_count + VMBW_PAGE_SIZE - 1) /
           VMBW_PAGE_SIZE;
}

/*
 * Feed one word of the range stream.  Returns false (and a status for
 * GPADL_CREATED) when the word is invalid.
 */
bool vmbc_gpadl_add_word(VmbcGpadl *g, uint64_t w, uint32_t *status)
{
    VmbcCore *core = g->core;

    *status = VMBW_STATUS_INVALID_PARAMETER;
    if (g->pfns_left == 0) {
        uint32_t count = (uint32_t)w, off = (uint32_t)(w >> 32);
        uint64_t pages;
        VmbcRange *r;

        if (g->ranges_done >= g->rangecount) {
            vmbc_guest_error(core, VMBC_FAULT_GPADL,
                             "GPADL 0x%x: more data than its ranges",
                             g->handle);
            return false;
        }
        if (count == 0 || off >= VMBW_PAGE_SIZE) {
            vmbc_guest_error(core, VMBC_FAULT_GPADL,
                             "GPADL 0x%x range %u: byte_count %u "
                             "byte_offset %u", g->handle, g->ranges_done,
                             count, off);
            return false;
        }
        pages = vmbc_range_pages(count, off);
        if (g->ranges_done + 1 == g->rangecount) {
            /* Stream length now known, even if refused below. */
            g->expect_words = g->words_seen + 1 + pages;
        }
        if ((uint64_t)g->npfns + pages > VMBC_GPADL_MAX_PFNS) {
            vmbc_guest_error(core, VMBC_FAULT_GPADL,
                             "GPADL 0x%x too large", g->handle);
            *status = VMBW_STATUS_QUOTA_EXCEEDED;
            return false;
        }
        if (core->gpadl_bytes + pages * VMBW_PAGE_SIZE > core->gpadl_quota) {
            vmbc_guest_error(core, VMBC_FAULT_GPADL,
                             "GPADL 0x%x: quota of %" G_GUINT64_FORMAT
                             " bytes exceeded", g->handle, core->gpadl_quota);
            *status = VMBW_STATUS_QUOTA_EXCEEDED;
            return false;
        }
        if (g->ranges_done == g->ranges_cap) {
            g->ranges_cap = MIN(MAX(g->ranges_cap * 2, 4u), g->rangecount);
            g->ranges = g_renew(VmbcRange, g->ranges, g->ranges_cap);
        }
        g->quota_bytes += pages * VMBW_PAGE_SIZE;
        core->gpadl_bytes += pages * VMBW_PAGE_SIZE;
        if (g->npfns + pages > g->pfn_cap) {
            g->pfn_cap = g->npfns + pages;
            g->pfns = g_renew(uint64_t, g->pfns, g->pfn_cap);
        }
        r = &g->ranges[g->ranges_done++];
        r->byte_count = count;
        r->byte_offset = off;
        r->pfn_start = g->npfns;
        r->npfns = pages;
        g->bytes += count;
        g->pfns_left = pages;
    } else {
        if (w >= VMBC_PFN_LIMIT) {
            vmbc_guest_error(core, VMBC_FAULT_GPADL,
                             "GPADL 0x%x: PFN 0x%" G_GINT64_MODIFIER
                             "x out of range", g->handle, w);
            return false;
        }
        g->pfns[g->npfns++] = w;
        g->pfns_left--;
    }
    g->words_seen++;
    return true;
}

/* Refuse a GPADL that is still receiving: answer, keep as FAILED. */
static void vmbc_gpadl_fail(VmbcGpadl *g, uint32_t status)
{
    VmbcCore *core = g->core;

    vmbc_send_created(core, g->relid, g->handle, status);
    vmbc_gpadl_strip(g);
    g->state = VMBC_GPADL_FAILED;
}

/* Consume 'n' stream words from a message at 'p' (unaligned LE u64s). */
static void vmbc_gpadl_feed(VmbcGpadl *g, const uint8_t *p, uint32_t n)
{
    VmbcCore *core = g->core;
    uint32_t status;
    uint32_t i = 0;

    if (g->state == VMBC_GPADL_RECEIVING) {
        for (; i < n; i++) {
            uint64_t w;

            memcpy(&w, p + i * 8, 8);
            if (!vmbc_gpadl_add_word(g, GUINT64_FROM_LE(w), &status)) {
                g->words_seen++;
                i++;
                vmbc_gpadl_fail(g, status);
                break;
            }
        }
        if (g->state == VMBC_GPADL_RECEIVING) {
            if (g->ranges_done != g->rangecount || g->pfns_left) {
                return;                 /* more bodies to come */
            }
            if (((g->words_seen * 8) & 0xffff) == g->range_buflen) {
                g->state = VMBC_GPADL_COMPLETE;
                vmbc_trace(core, "vmbc_gpadl_created", "gpadl 0x%x relid %u "
                           "pfns %u", g->handle, g->relid, g->npfns);
                vmbc_send_created(core, g->relid, g->handle,
                                  VMBW_STATUS_SUCCESS);
                return;
            }
            vmbc_guest_error(core, VMBC_FAULT_GPADL,
                             "GPADL 0x%x: range_buflen %u does not "
                             "match %" G_GUINT64_FORMAT " bytes", g->handle,
                             g->range_buflen, g->words_seen * 8);
            vmbc_gpadl_fail(g, VMBW_STATUS_INVALID_PARAMETER);
        }
    }
    /* FAILED: swallow what is left of this message. */
    g->words_seen += n - i;
    if (g->expect_words && g->words_seen >= g->expect_words) {
        if (g->words_seen > g->expect_words) {
            vmbc_guest_error(core, VMBC_FAULT_GPADL,
                             "GPADL 0x%x: more data than announced",
                             g->handle);
        }
        vmbc_gpadl_destroy(g);
    }
}

void vmbc_h_gpadl_header(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    const VmbWireGpadlHeader *h = (const void *)m->bytes;
    uint32_t relid = vmbc_le32(h->child_relid);
    uint32_t handle = vmbc_le32(h->gpadl);
    uint16_t buflen = vmbc_le16(h->range_buflen);
    uint16_t rangecount = vmbc_le16(h->rangecount);
    uint32_t data = len - VMBW_GPADL_HEADER_FIXED;
    VmbcChannel *chan = vmbc_chan_by_relid(core, relid);
    bool owner_ok = chan && chan->offered &&
                    chan->state != VMBC_CHAN_RESCINDED;
    VmbcGpadl *g;
    const char *why = NULL;
    uint32_t status = VMBW_STATUS_INVALID_PARAMETER;

    if (handle == 0 || vmbc_gpadl_find(core, handle)) {
        /* Cannot keep a FAILED entry under a handle in use. */
        vmbc_guest_error(core, VMBC_FAULT_GPADL,
                         "GPADL_HEADER: handle 0x%x %s", handle,
                         handle ? "already in use" : "invalid");
        vmbc_send_created(core, relid, handle, VMBW_STATUS_INVALID_PARAMETER);
        return;
    }
    if (g_hash_table_size(core->gpadls) >= core->gpadl_max) {
        vmbc_guest_error(core, VMBC_FAULT_GPADL,
                         "GPADL_HEADER: more than %u GPADLs",
                         core->gpadl_max);
        vmbc_send_created(core, relid, handle,
                          VMBW_STATUS_INSUFFICIENT_RESOURCES);
        return;
    }

    if (!owner_ok) {
        why = "unknown relid";
    } else if (rangecount == 0) {
        why = "no ranges";
    } else if (buflen % 8) {
        why = "range_buflen not a multiple of 8";
    } else if (data % 8) {
        why = "partial word";
    }
    /* Without a valid owner it has no channel link and can only FAIL. */
    g = vmbc_gpadl_alloc(core, handle, owner_ok ? relid : 0);
    g->relid = relid;
    g->range_buflen = buflen;
    g->rangecount = rangecount;
    vmbc_trace(core, "vmbc_gpadl_header", "gpadl 0x%x relid %u ranges %u "
               "buflen %u", handle, relid, rangecount, buflen);
    if (why) {
        uint32_t c, off;

        vmbc_guest_error(core, VMBC_FAULT_GPADL,
                         "GPADL_HEADER 0x%x refused: %s", handle, why);
        /* Guess how many words are still coming so the FAILED entry
         * does not live forever: only a single sane range tells. */
        memcpy(&c, m->bytes + VMBW_GPADL_HEADER_FIXED, 4);
        memcpy(&off, m->bytes + VMBW_GPADL_HEADER_FIXED + 4, 4);
        c = GUINT32_FROM_LE(c);
        off = GUINT32_FROM_LE(off);
        if (rangecount == 1 && c && off < VMBW_PAGE_SIZE && data % 8 == 0) {
            g->expect_words = 1 + vmbc_range_pages(c, off);
        }
        vmbc_gpadl_fail(g, status);
        vmbc_gpadl_feed(g, m->bytes + VMBW_GPADL_HEADER_FIXED, data / 8);
        return;
    }
    vmbc_gpadl_feed(g, m->bytes + VMBW_GPADL_HEADER_FIXED, data / 8);
}

void vmbc_h_gpadl_body(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    const VmbWireGpadlBody *b = (const void *)m->bytes;
    uint32_t handle = vmbc_le32(b->gpadl);
    uint32_t data = len - VMBW_GPADL_BODY_FIXED;
    VmbcGpadl *g = vmbc_gpadl_find(core, handle);

    if (!g) {
        vmbc_guest_error(core, VMBC_FAULT_GPADL,
                         "GPADL_BODY for unknown GPADL 0x%x", handle);
        return;
    }
    if (g->state == VMBC_GPADL_COMPLETE) {
        vmbc_guest_error(core, VMBC_FAULT_GPADL,
                         "GPADL_BODY for complete GPADL 0x%x", handle);
        return;
    }
    if (data % 8 || data == 0) {
        vmbc_guest_error(core, VMBC_FAULT_GPADL,
                         "GPADL_BODY 0x%x: %u data bytes", handle,
                         data);
        if (g->state == VMBC_GPADL_RECEIVING) {
            vmbc_gpadl_fail(g, VMBW_STATUS_INVALID_PARAMETER);
        }
        vmbc_gpadl_feed(g, m->bytes + VMBW_GPADL_BODY_FIXED, data / 8);
        return;
    }
    vmbc_gpadl_feed(g, m->bytes + VMBW_GPADL_BODY_FIXED, data / 8);
}

void vmbc_h_gpadl_teardown(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len)
{
    const VmbWireGpadlTeardown *t = (const void *)m->bytes;
    uint32_t relid = vmbc_le32(t->child_relid);
    uint32_t handle = vmbc_le32(t->gpadl);
    VmbcGpadl *g = vmbc_gpadl_find(core, handle);

    if (!g) {
        VmbcChannel *chan = vmbc_chan_by_relid(core, relid);

        /*
         * Rescind released it already and the guest's teardown crossed
         * our rescind: legitimate.  Anything else is a guest bug.  Both
         * get TORNDOWN so no guest thread waits forever.
         */
        if (chan && chan->state == VMBC_CHAN_RESCINDED) {
            vmbc_trace(core, "vmbc_teardown_after_rescind", "gpadl 0x%x",
                       handle);
        } else {
            vmbc_guest_error(core, VMBC_FAULT_GPADL,
                             "GPADL_TEARDOWN of unknown GPADL 0x%x",
                             handle);
        }
        vmbc_send_torndown(core, handle);
        return;
    }
    if (g->relid != relid) {
        vmbc_guest_error(core, VMBC_FAULT_GPADL,
                         "GPADL_TEARDOWN 0x%x: relid %u, owner %u",
                         handle, relid, g->relid);
        return;
    }
    if (g->teardown_pending) {
        vmbc_guest_error(core, VMBC_FAULT_GPADL,
                         "GPADL_TEARDOWN 0x%x repeated", handle);
        return;
    }
    if (g->pins) {
        /* In use (open ring or device): answer once released. */
        vmbc_trace(core, "vmbc_teardown_deferred", "gpadl 0x%x pins %u",
                   handle, g->pins);
        g->teardown_pending = true;
        return;
    }
    vmbc_gpadl_destroy(g);
    vmbc_send_torndown(core, handle);
}

/* ---- Accessors ---------------------------------------------------------- */

uint32_t vmbc_gpadl_handle(const VmbcGpadl *g) { return g->handle; }
uint32_t vmbc_gpadl_relid(const VmbcGpadl *g) { return g->relid; }
bool vmbc_gpadl_complete(const VmbcGpadl *g)
{
    return g->state == VMBC_GPADL_COMPLETE;
}
uint32_t vmbc_gpadl_range_count(const VmbcGpadl *g)
{
    return g->state == VMBC_GPADL_COMPLETE ? g->rangecount : 0;
}
bool vmbc_gpadl_range(const VmbcGpadl *g, uint32_t i, uint32_t *byte_count,
                      uint32_t *byte_offset, const uint64_t **pfns,
                      uint32_t *npfns)
{
    const VmbcRange *r;

    if (g->state != VMBC_GPADL_COMPLETE || i >= g->rangecount) {
        return false;
    }
    r = &g->ranges[i];
    *byte_count = r->byte_count;
    *byte_offset = r->byte_offset;
    *pfns = g->pfns + r->pfn_start;
    *npfns = r->npfns;
    return true;
}
uint32_t vmbc_gpadl_pfn_count(const VmbcGpadl *g)
{
    return g->state == VMBC_GPADL_COMPLETE ? g->npfns : 0;
}
const uint64_t *vmbc_gpadl_pfns(const VmbcGpadl *g)
{
    return g->state == VMBC_GPADL_COMPLETE ? g->pfns : NULL;
}
uint64_t vmbc_gpadl_bytes(const VmbcGpadl *g)
{
    return g->state == VMBC_GPADL_COMPLETE ? g->bytes : 0;
}

void vmbc_gpadl_pin(VmbcGpadl *g)
{
    g->pins++;
}

void vmbc_gpadl_unpin(VmbcGpadl *g)
{
    VmbcCore *core = g->core;
    uint32_t handle = g->handle;

    if (g->pins == 0) {
        return;
    }
    if (--g->pins == 0 && g->teardown_pending) {
        vmbc_gpadl_destroy(g);
        if (core->conn.state != VMBC_CONN_DISCONNECTED) {
            vmbc_send_torndown(core, handle);
        }
    }
}
