/*
 * VMBus host protocol core: save/restore of the whole core state
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Stream format (all little-endian):
 *
 *   u32 magic "VMBC", u32 format version (1)
 *   sections: u32 tag, u32 length, payload
 *
 *     CONN  once: connection state, version, targets, pages, relid cursor
 *     FEAT  once, exactly when connected at 6.0 or later: granted feature
 *           flags (u32); a stream below 6.0 is the same as before 6.0
 *           existed, so it still loads into older builds.  Required: the
 *           guest was told which features it has and relies on them, so a
 *           destination granting none would break the guest silently
 *     CHAN  per channel: relid, state, offer parameters, open state
 *     GPDL  per GPADL: handle, owner, parser state, ranges, PFNs
 *     OUTQ  once: messages still waiting for the guest's slot
 *     END   once, last
 *
 * A tag is four ASCII characters.  The case of the first one says what a
 * loader that does not know the section does with it: upper case means
 * required (the load is refused: the section holds state the destination
 * cannot do without), lower case optional (the loader skips its payload,
 * as QEMU skips a vmstate subsection it does not need).  Every section
 * above is required; a later section whose absence a destination can
 * safely ignore takes a lower-case tag.  The encoding needs no format
 * version change: every stream written before it used upper-case tags,
 * which it reads as required, so such streams load exactly as before.
 *
 * The saved schema is independent of the runtime structs.  A stream is
 * guest-influenced input: vmbc_load() parses everything into a staging
 * area, checks every bound and cross-reference, and only then touches the
 * core, so a bad stream leaves the core exactly as it was (reset).
 */

#include "core-priv.h"

#define VMBC_SAVE_MAGIC     0x43424d56u     /* "VMBC" */
#define VMBC_SAVE_VERSION   1u
#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | \
                         (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define VMBC_TAG_CONN   TAG('C', 'O', 'N', 'N')
#define VMBC_TAG_FEAT   TAG('F', 'E', 'A', 'T')
#define VMBC_TAG_CHAN   TAG('C', 'H', 'A', 'N')
#define VMBC_TAG_GPDL   TAG('G', 'P', 'D', 'L')
#define VMBC_TAG_OUTQ   TAG('O', 'U', 'T', 'Q')
#define VMBC_TAG_END    TAG('E', 'N', 'D', ' ')
/* Lower-case first character: a section a loader may skip. */
#define VMBC_TAG_OPTIONAL 0x20u

/* ---- Writer ------------------------------------------------------------- */

static void put8(GByteArray *b, uint8_t v) { g_byte_array_append(b, &v, 1); }
static void put16(GByteArray *b, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    g_byte_array_append(b, (uint8_t *)&v, 2);
}
static void put32(GByteArray *b, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    g_byte_array_append(b, (uint8_t *)&v, 4);
}
static void put64(GByteArray *b, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    g_byte_array_append(b, (uint8_t *)&v, 8);
}
static void putn(GByteArray *b, const void *p, size_t n)
{
    g_byte_array_append(b, p, n);
}

static guint section_begin(GByteArray *b, uint32_t tag)
{
    put32(b, tag);
    put32(b, 0);
    return b->len;
}

static void section_end(GByteArray *b, guint start)
{
    uint32_t len = GUINT32_TO_LE(b->len - start);

    memcpy(b->data + start - 4, &len, 4);
}

static void save_params(GByteArray *b, const VmbcOfferParams *p)
{
    putn(b, p->class_id.b, 16);
    putn(b, p->instance_id.b, 16);
    put16(b, p->flags);
    put16(b, p->mmio_megabytes);
    putn(b, p->user_def, VMBW_USER_DEF_SIZE);
    put16(b, p->subchannel_index);
    put8(b, p->monitor_allocated);
    put16(b, p->monitor_latency);
    put8(b, p->dedicated_interrupt);
    put8(b, p->rescind_on_close);
}

static int cmp_handle(const void *a, const void *b)
{
    uint32_t x = GPOINTER_TO_UINT(*(gpointer const *)a);
    uint32_t y = GPOINTER_TO_UINT(*(gpointer const *)b);

    return x < y ? -1 : x > y;
}

void vmbc_save(const VmbcCore *core, GByteArray *b)
{
    guint s, nkeys;
    gpointer *keys;

    put32(b, VMBC_SAVE_MAGIC);
    put32(b, VMBC_SAVE_VERSION);

    s = section_begin(b, VMBC_TAG_CONN);
    put32(b, core->conn.state);
    put32(b, core->conn.version);
    put32(b, core->conn.target_vcpu);
    put32(b, core->conn.msg_sint);
    put32(b, core->conn.msg_conn_id);
    put64(b, core->conn.interrupt_page);
    put64(b, core->conn.monitor_page1);
    put64(b, core->conn.monitor_page2);
    put32(b, core->next_relid);
    section_end(b, s);

    if (core->conn.state != VMBC_CONN_DISCONNECTED &&
        core->conn.version >= VMBW_VERSION_COPPER) {
        s = section_begin(b, VMBC_TAG_FEAT);
        put32(b, core->conn.features);
        section_end(b, s);
    }

    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        const VmbcChannel *c = core->by_relid[r];

        if (!c) {
            continue;
        }
        s = section_begin(b, VMBC_TAG_CHAN);
        put32(b, c->relid);
        put32(b, c->state);
        put8(b, c->offered);
        put8(b, c->tl_channel);
        put8(b, c->has_monitor);
        put8(b, c->monitor_id);
        put32(b, c->target_vp);
        put32(b, c->open_id);
        put32(b, c->ring_gpadl ? c->ring_gpadl->handle : 0);
        put32(b, c->ring_split);
        putn(b, c->open_userdata, VMBW_USER_DEF_SIZE);
        save_params(b, &c->params);
        section_end(b, s);
    }

    /* Sorted by handle so equal states give equal streams. */
    keys = g_hash_table_get_keys_as_array(core->gpadls, &nkeys);
    qsort(keys, nkeys, sizeof(gpointer), cmp_handle);
    for (guint k = 0; k < nkeys; k++) {
        const VmbcGpadl *g = g_hash_table_lookup(core->gpadls, keys[k]);

        s = section_begin(b, VMBC_TAG_GPDL);
        put32(b, g->handle);
        put32(b, g->relid);
        put32(b, g->state);
        put16(b, g->range_buflen);
        put16(b, g->rangecount);
        put32(b, g->ranges_done);
        put32(b, g->pfns_left);
        put64(b, g->words_seen);
        put64(b, g->expect_words);
        put8(b, g->teardown_pending);
        put8(b, g->chan_link != NULL);
        for (uint32_t i = 0; i < g->ranges_done; i++) {
            put32(b, g->ranges[i].byte_count);
            put32(b, g->ranges[i].byte_offset);
        }
        put32(b, g->npfns);
        for (uint32_t i = 0; i < g->npfns; i++) {
            put64(b, g->pfns[i]);
        }
        section_end(b, s);
    }
    g_free(keys);

    s = section_begin(b, VMBC_TAG_OUTQ);
    put32(b, g_queue_get_length((GQueue *)&core->out));
    for (GList *l = core->out.head; l; l = l->next) {
        const VmbcOutMsg *o = l->data;

        put32(b, o->vp);
        put32(b, o->sint);
        put32(b, o->len);
        putn(b, o->data, o->len);
    }
    section_end(b, s);

    s = section_begin(b, VMBC_TAG_END);
    section_end(b, s);
}

/*
 * Upper bound of vmbc_save()'s output for this core's limits: every relid
 * taken, every GPADL, the whole quota in one-page ranges (16 bytes per
 * page: its range header and its PFN), a full message queue.
 */
uint64_t vmbc_save_max_len(const VmbcCore *core)
{
    const uint64_t sec = 8;                     /* tag, length */
    const uint64_t conn = sec + 5 * 4 + 3 * 8 + 4;
    const uint64_t chan = sec + 2 * 4 + 4 + 4 * 4 + VMBW_USER_DEF_SIZE +
                          16 + 16 + 2 + 2 + VMBW_USER_DEF_SIZE + 2 + 1 + 2 +
                          1 + 1;
    const uint64_t gpadl = sec + 3 * 4 + 2 * 2 + 2 * 4 + 2 * 8 + 2 + 4;
    const uint64_t outq_msg = 3 * 4 + VMBW_MAX_PAYLOAD;

    return 8 + conn + (uint64_t)(VMBW_MAX_RELIDS - 1) * chan +
           (uint64_t)core->gpadl_max * gpadl +
           core->gpadl_quota / VMBW_PAGE_SIZE * 16 +
           sec + 4 + (uint64_t)core->out_max * outq_msg + sec;
}

/* ---- Reader ------------------------------------------------------------- */

typedef struct Rd {
    const uint8_t *p;
    size_t left;
    bool bad;
} Rd;

static bool getn(Rd *r, void *out, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = true;
        memset(out, 0, n);
        return false;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return true;
}
static uint8_t get8(Rd *r) { uint8_t v; getn(r, &v, 1); return v; }
static uint16_t get16(Rd *r)
{
    uint16_t v;
    getn(r, &v, 2);
    return GUINT16_FROM_LE(v);
}
static uint32_t get32(Rd *r)
{
    uint32_t v;
    getn(r, &v, 4);
    return GUINT32_FROM_LE(v);
}
static uint64_t get64(Rd *r)
{
    uint64_t v;
    getn(r, &v, 8);
    return GUINT64_FROM_LE(v);
}

typedef struct SChan {
    uint32_t relid, state, target_vp, open_id, ring_handle, ring_split;
    uint8_t offered, tl, has_monitor, monitor_id;
    uint8_t open_userdata[VMBW_USER_DEF_SIZE];
    VmbcOfferParams params;
} SChan;

typedef struct SGpadl {
    uint32_t handle, relid, state, ranges_done, pfns_left, npfns;
    uint16_t range_buflen, rangecount;
    uint64_t words_seen, expect_words, quota;
    uint8_t teardown_pending, owned;
    VmbcRange *ranges;
    uint64_t *pfns;
} SGpadl;

typedef struct Staging {
    VmbcConn conn;
    uint32_t next_relid;
    SChan *chans[VMBW_MAX_RELIDS];
    GHashTable *gpadls;             /* handle -> SGpadl */
    GPtrArray *out;                 /* VmbcOutMsg */
    bool have_conn, have_feat, have_outq;
    uint32_t skipped;               /* optional sections not known */
} Staging;

static void sgpadl_free(gpointer p)
{
    SGpadl *g = p;

    g_free(g->ranges);
    g_free(g->pfns);
    g_free(g);
}

static void staging_free(Staging *st)
{
    for (uint32_t r = 0; r < VMBW_MAX_RELIDS; r++) {
        g_free(st->chans[r]);
    }
    g_hash_table_destroy(st->gpadls);
    g_ptr_array_free(st->out, true);
}

#define FAIL(...) do { g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID, \
                                   "vmbus load: " __VA_ARGS__); \
                       return false; } while (0)

static bool load_params(Rd *r, VmbcOfferParams *p)
{
    memset(p, 0, sizeof(*p));
    getn(r, p->class_id.b, 16);
    getn(r, p->instance_id.b, 16);
    p->flags = get16(r);
    p->mmio_megabytes = get16(r);
    getn(r, p->user_def, VMBW_USER_DEF_SIZE);
    p->subchannel_index = get16(r);
    p->monitor_allocated = get8(r) != 0;
    p->monitor_latency = get16(r);
    p->dedicated_interrupt = get8(r) != 0;
    p->rescind_on_close = get8(r) != 0;
    return !r->bad;
}

static bool parse_conn(const VmbcCore *core, Staging *st, Rd *r,
                       GError **errp)
{
    VmbcConn *c = &st->conn;

    if (st->have_conn) {
        FAIL("duplicate CONN");
    }
    st->have_conn = true;
    c->state = get32(r);
    c->version = get32(r);
    c->target_vcpu = get32(r);
    c->msg_sint = get32(r);
    c->msg_conn_id = get32(r);
    c->interrupt_page = get64(r);
    c->monitor_page1 = get64(r);
    c->monitor_page2 = get64(r);
    st->next_relid = get32(r);
    if (r->bad || r->left) {
        FAIL("CONN size");
    }
    if ((unsigned)c->state >= VMBC_CONN_STATE_COUNT) {
        FAIL("connection state %u", c->state);
    }
    if (st->next_relid == 0 || st->next_relid >= VMBW_MAX_RELIDS) {
        FAIL("relid cursor %u", st->next_relid);
    }
    if (c->state == VMBC_CONN_DISCONNECTED) {
        if (c->version || c->msg_conn_id || c->interrupt_page ||
            c->monitor_page1 || c->monitor_page2 || c->target_vcpu ||
            c->msg_sint != VMBW_MESSAGE_SINT) {
            FAIL("disconnected with connection data");
        }
        return true;
    }
    if (!vmbc_version_known(c->version) || c->version > core->max_version) {
        FAIL("version 0x%x not allowed", c->version);
    }
    if (c->msg_conn_id != (c->version >= VMBW_VERSION_WIN10_RS3_1 ? 4u : 1u)) {
        FAIL("msg_conn_id %u", c->msg_conn_id);
    }
    if (c->msg_sint > 15 || !core->ops->vp_exists(core->opaque,
                                                  c->target_vcpu)) {
        FAIL("message target vp %u sint %u", c->target_vcpu, c->msg_sint);
    }
    if ((c->interrupt_page | c->monitor_page1 | c->monitor_page2) &
        (VMBW_PAGE_SIZE - 1)) {
        FAIL("page not aligned");
    }
    if (c->version >= VMBW_VERSION_WIN8 ? c->interrupt_page != 0
                                        : c->interrupt_page == 0) {
        FAIL("interrupt page vs version");
    }
    return true;
}

static bool parse_feat(const VmbcCore *core, Staging *st, Rd *r,
                       GError **errp)
{
    if (st->have_feat) {
        FAIL("duplicate FEAT");
    }
    st->have_feat = true;
    st->conn.features = get32(r);
    if (r->bad || r->left) {
        FAIL("FEAT size");
    }
    /* Whether it fits the connection is checked once CONN is known. */
    if (st->conn.features & ~VMBC_GRANTABLE_FEATURES) {
        FAIL("feature flags 0x%x not granted by this host",
             st->conn.features);
    }
    return true;
}

static bool parse_chan(const VmbcCore *core, Staging *st, Rd *r,
                       GError **errp)
{
    SChan c;

    memset(&c, 0, sizeof(c));
    c.relid = get32(r);
    c.state = get32(r);
    c.offered = get8(r);
    c.tl = get8(r);
    c.has_monitor = get8(r);
    c.monitor_id = get8(r);
    c.target_vp = get32(r);
    c.open_id = get32(r);
    c.ring_handle = get32(r);
    c.ring_split = get32(r);
    getn(r, c.open_userdata, VMBW_USER_DEF_SIZE);
    load_params(r, &c.params);
    if (r->bad || r->left) {
        FAIL("CHAN size");
    }
    if (c.relid == 0 || c.relid >= VMBW_MAX_RELIDS || st->chans[c.relid]) {
        FAIL("channel relid %u", c.relid);
    }
    if (c.state >= VMBC_CHAN_STATE_COUNT || c.offered > 1 || c.tl > 1 ||
        c.has_monitor > 1) {
        FAIL("channel %u state", c.relid);
    }
    if (c.params.flags & VMBC_OFFER_FLAGS_FORBIDDEN) {
        FAIL("channel %u confidential offer flags", c.relid);
    }
    if (c.has_monitor && (c.monitor_id >= VMBW_MONITOR_IDS ||
                          !c.params.monitor_allocated)) {
        FAIL("channel %u monitor id", c.relid);
    }
    /* vmbc_chan_create() forces it for these: a stream cannot clear it. */
    if ((c.params.subchannel_index ||
         (c.params.flags & VMBW_OFFER_FLAG_TLNPI_PROVIDER)) &&
        !c.params.rescind_on_close) {
        FAIL("channel %u: subchannel / hv_sock without rescind_on_close",
             c.relid);
    }
    if (c.state == VMBC_CHAN_OPEN && !core->ops->vp_exists(core->opaque,
                                                           c.target_vp)) {
        FAIL("channel %u target vp", c.relid);
    }
    st->chans[c.relid] = g_memdup2(&c, sizeof(c));
    return true;
}

static bool parse_gpadl(const VmbcCore *core, Staging *st, Rd *r,
                        GError **errp)
{
    SGpadl *g = g_new0(SGpadl, 1);
    uint64_t pages = 0;

    g->handle = get32(r);
    g->relid = get32(r);
    g->state = get32(r);
    g->range_buflen = get16(r);
    g->rangecount = get16(r);
    g->ranges_done = get32(r);
    g->pfns_left = get32(r);
    g->words_seen = get64(r);
    g->expect_words = get64(r);
    g->teardown_pending = get8(r);
    g->owned = get8(r);
    if (r->bad || g->handle == 0 ||
        g_hash_table_contains(st->gpadls, GUINT_TO_POINTER(g->handle))) {
        sgpadl_free(g);
        FAIL("GPADL header / handle");
    }
    g_hash_table_insert(st->gpadls, GUINT_TO_POINTER(g->handle), g);
    if (g->state >= VMBC_GPADL_STATE_COUNT ||
        (g->rangecount == 0 && g->state != VMBC_GPADL_FAILED) ||
        g->ranges_done > g->rangecount || g->teardown_pending > 1 ||
        g->owned > 1 || (!g->owned && g->state != VMBC_GPADL_FAILED)) {
        FAIL("GPADL 0x%x state", g->handle);
    }
    /* Each range costs 8 bytes of stream: bound before allocating. */
    if ((uint64_t)g->ranges_done * 8 > r->left) {
        FAIL("GPADL 0x%x ranges", g->handle);
    }
    g->ranges = g_new0(VmbcRange, g->ranges_done ? g->ranges_done : 1);
    for (uint32_t i = 0; i < g->ranges_done; i++) {
        VmbcRange *rg = &g->ranges[i];

        rg->byte_count = get32(r);
        rg->byte_offset = get32(r);
        if (rg->byte_count == 0 || rg->byte_offset >= VMBW_PAGE_SIZE) {
            FAIL("GPADL 0x%x range %u", g->handle, i);
        }
        rg->pfn_start = pages;
        rg->npfns = ((uint64_t)rg->byte_offset + rg->byte_count +
                     VMBW_PAGE_SIZE - 1) / VMBW_PAGE_SIZE;
        pages += rg->npfns;
    }
    g->npfns = get32(r);
    if (r->bad || (uint64_t)g->npfns * 8 != r->left) {
        FAIL("GPADL 0x%x PFN count", g->handle);
    }
    if ((uint64_t)g->npfns + g->pfns_left != pages ||
        (g->ranges_done && g->pfns_left >
         g->ranges[g->ranges_done - 1].npfns)) {
        FAIL("GPADL 0x%x PFNs vs ranges", g->handle);
    }
    if (g->state == VMBC_GPADL_COMPLETE &&
        (g->ranges_done != g->rangecount || g->pfns_left)) {
        FAIL("GPADL 0x%x incomplete", g->handle);
    }
    if (g->state == VMBC_GPADL_FAILED && (g->ranges_done || g->npfns)) {
        FAIL("GPADL 0x%x failed with data", g->handle);
    }
    g->pfns = g_new(uint64_t, g->npfns ? g->npfns : 1);
    for (uint32_t i = 0; i < g->npfns; i++) {
        g->pfns[i] = get64(r);
        if (g->pfns[i] >= (1ull << 40)) {
            FAIL("GPADL 0x%x PFN", g->handle);
        }
    }
    g->quota = pages * VMBW_PAGE_SIZE;
    return true;
}

/* Is len the length of a message of this type the core queues? */
static bool host_msg_len_ok(uint32_t type, uint32_t len)
{
    switch (type) {
    case VMBW_MSG_OFFERCHANNEL:
        return len == sizeof(VmbWireOfferChannel);
    case VMBW_MSG_RESCIND_CHANNELOFFER:
        return len == sizeof(VmbWireRelid);
    case VMBW_MSG_ALLOFFERS_DELIVERED:
    case VMBW_MSG_UNLOAD_RESPONSE:
        return len == sizeof(VmbWireHdr);
    case VMBW_MSG_OPENCHANNEL_RESULT:
        return len == sizeof(VmbWireOpenResult);
    case VMBW_MSG_GPADL_CREATED:
        return len == sizeof(VmbWireGpadlCreated);
    case VMBW_MSG_GPADL_TORNDOWN:
        return len == sizeof(VmbWireGpadlTorndown);
    case VMBW_MSG_VERSION_RESPONSE:
        /* 20 bytes answer an accepted 6.0 contact, 16 everything else */
        return len == sizeof(VmbWireVersionResponse) ||
               len == sizeof(VmbWireVersionResponse2);
    case VMBW_MSG_TL_CONNECT_RESULT:
        return len == sizeof(VmbWireTlConnectResult);
    case VMBW_MSG_MODIFYCHANNEL_RESPONSE:
        return len == sizeof(VmbWireModifyChannelResponse);
    default:
        return false;
    }
}

static bool parse_outq(const VmbcCore *core, Staging *st, Rd *r,
                       GError **errp)
{
    uint32_t n;

    if (st->have_outq) {
        FAIL("duplicate OUTQ");
    }
    st->have_outq = true;
    n = get32(r);
    if (n > core->out_max || (uint64_t)n * 20 > r->left) {
        FAIL("OUTQ count %u", n);
    }
    for (uint32_t i = 0; i < n; i++) {
        VmbcOutMsg *o = g_new0(VmbcOutMsg, 1);

        g_ptr_array_add(st->out, o);
        o->vp = get32(r);
        o->sint = get32(r);
        o->len = get32(r);
        if (r->bad || o->len < sizeof(VmbWireHdr) ||
            o->len > VMBW_MAX_PAYLOAD || o->sint > 15 ||
            !core->ops->vp_exists(core->opaque, o->vp)) {
            FAIL("OUTQ message %u", i);
        }
        getn(r, o->data, o->len);
        /* Only what the core itself would have queued goes to the guest. */
        if (r->bad || !host_msg_len_ok(vmbc_le32(((const VmbWireHdr *)
                                                  o->data)->msgtype),
                                        o->len)) {
            FAIL("OUTQ message %u type / length", i);
        }
        if (o->len == sizeof(VmbWireVersionResponse2) &&
            vmbc_le32(((const VmbWireHdr *)o->data)->msgtype) ==
            VMBW_MSG_VERSION_RESPONSE) {
            const VmbWireVersionResponse2 *v = (const void *)o->data;

            /* the 6.0 form only accepts, granting what this host can */
            if (v->base.version_supported != 1 ||
                (vmbc_le32(v->supported_features) &
                 ~VMBC_GRANTABLE_FEATURES)) {
                FAIL("OUTQ message %u: 6.0 VERSION_RESPONSE", i);
            }
        }
        if (vmbc_le32(((const VmbWireHdr *)o->data)->msgtype) ==
            VMBW_MSG_OFFERCHANNEL) {
            VmbWireOfferChannel oc;
            uint32_t relid;

            /* an offer the core makes: a real relid, its connection id */
            memcpy(&oc, o->data, sizeof(oc));
            relid = vmbc_le32(oc.child_relid);
            if (relid == 0 || relid >= VMBW_MAX_RELIDS ||
                vmbc_le32(oc.connection_id) != VMBC_CHAN_CONN_ID_BASE + relid ||
                (vmbc_le16(oc.chn_flags) & VMBC_OFFER_FLAGS_FORBIDDEN)) {
                FAIL("OUTQ message %u: OFFERCHANNEL relid %u", i, relid);
            }
        }
    }
    if (r->bad || r->left) {
        FAIL("OUTQ size");
    }
    return true;
}

/* Cross-checks once everything is parsed. */
static bool validate(const VmbcCore *core, Staging *st, GError **errp)
{
    GHashTableIter it;
    gpointer v;
    uint64_t quota = 0;
    bool mon[VMBW_MONITOR_IDS] = { false };
    GHashTable *keys;
    uint32_t nchans = 0;
    bool ok = true;

    if (!st->have_conn || !st->have_outq) {
        FAIL("missing section");
    }
    if (st->have_feat != (st->conn.state != VMBC_CONN_DISCONNECTED &&
                          st->conn.version >= VMBW_VERSION_COPPER)) {
        FAIL("FEAT %s at version 0x%x", st->have_feat ? "present" : "missing",
             st->conn.version);
    }
    if (g_hash_table_size(st->gpadls) > core->gpadl_max) {
        FAIL("too many GPADLs");
    }
    keys = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                 (GDestroyNotify)g_bytes_unref, NULL);
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS && ok; r++) {
        SChan *c = st->chans[r];
        GBytes *key;

        if (!c) {
            continue;
        }
        key = vmbc_chan_key(&c->params.class_id, &c->params.instance_id,
                            c->params.subchannel_index);
        if (g_hash_table_contains(keys, key)) {
            g_bytes_unref(key);
            g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                        "vmbus load: duplicate channel %u", r);
            ok = false;
            break;
        }
        g_hash_table_add(keys, key);
        nchans++;
        if (c->has_monitor) {
            if (mon[c->monitor_id]) {
                g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                            "vmbus load: monitor id %u reused",
                            c->monitor_id);
                ok = false;
                break;
            }
            mon[c->monitor_id] = true;
        }
    }
    /*
     * Device channels the stream does not know need a relid of their own
     * after the stream's channels took theirs: refuse the stream rather
     * than drop a channel a device still holds.
     */
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS && ok; r++) {
        const VmbcChannel *c = core->by_relid[r];
        GBytes *key;

        if (!c) {
            continue;
        }
        key = vmbc_chan_key(&c->params.class_id, &c->params.instance_id,
                            c->params.subchannel_index);
        if (!g_hash_table_contains(keys, key)) {
            nchans++;
        }
        g_bytes_unref(key);
    }
    g_hash_table_destroy(keys);
    if (ok && nchans > VMBW_MAX_RELIDS - 1) {
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                    "vmbus load: %u channels with the destination's devices, "
                    "more than the %u relids", nchans, VMBW_MAX_RELIDS - 1);
        ok = false;
    }
    if (!ok) {
        return false;
    }
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        SChan *c = st->chans[r];
        SGpadl *g;

        if (!c) {
            continue;
        }
        if (st->conn.state == VMBC_CONN_DISCONNECTED &&
            (c->offered || c->state != VMBC_CHAN_CLOSED)) {
            FAIL("channel %u active while disconnected", r);
        }
        if (c->offered && st->conn.state != VMBC_CONN_READY) {
            FAIL("channel %u offered before REQUESTOFFERS", r);
        }
        if (c->state != VMBC_CHAN_CLOSED && !c->offered) {
            FAIL("channel %u not offered", r);
        }
        if (c->state != VMBC_CHAN_OPEN) {
            if (c->ring_handle || c->ring_split) {
                FAIL("channel %u ring while not open", r);
            }
            continue;
        }
        g = g_hash_table_lookup(st->gpadls, GUINT_TO_POINTER(c->ring_handle));
        if (!g || g->relid != r || g->state != VMBC_GPADL_COMPLETE ||
            c->ring_split < 2 || c->ring_split + 2 > g->npfns) {
            FAIL("channel %u ring GPADL", r);
        }
        for (uint32_t i = 0; i < g->ranges_done; i++) {
            if (g->ranges[i].byte_offset ||
                g->ranges[i].byte_count % VMBW_PAGE_SIZE) {
                FAIL("channel %u ring layout", r);
            }
        }
    }
    g_hash_table_iter_init(&it, st->gpadls);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        SGpadl *g = v;
        SChan *c = g->relid < VMBW_MAX_RELIDS ? st->chans[g->relid] : NULL;

        if (st->conn.state == VMBC_CONN_DISCONNECTED) {
            FAIL("GPADL while disconnected");
        }
        if (g->owned && (!c || c->state == VMBC_CHAN_RESCINDED ||
                         !c->offered)) {
            FAIL("GPADL 0x%x owner", g->handle);
        }
        quota += g->quota;
    }
    if (quota > core->gpadl_quota) {
        FAIL("GPADL quota");
    }
    return true;
}

static void apply(VmbcCore *core, Staging *st)
{
    VmbcChannel *old[VMBW_MAX_RELIDS];
    uint32_t nold = 0;
    GHashTableIter it;
    gpointer v;

    /* Take the device-offered channels out; they are re-placed below. */
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        if (core->by_relid[r]) {
            old[nold++] = core->by_relid[r];
            core->by_relid[r] = NULL;
        }
    }
    g_hash_table_remove_all(core->by_key);
    memset(core->by_monitor, 0, sizeof(core->by_monitor));
    core->n_channels = 0;
    core->conn = st->conn;
    core->next_relid = st->next_relid;

    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        SChan *s = st->chans[r];
        VmbcChannel *c = NULL;

        if (!s) {
            continue;
        }
        for (uint32_t i = 0; i < nold; i++) {
            VmbcOfferParams *p = old[i] ? &old[i]->params : NULL;

            if (p && !memcmp(&p->class_id, &s->params.class_id, 16) &&
                !memcmp(&p->instance_id, &s->params.instance_id, 16) &&
                p->subchannel_index == s->params.subchannel_index) {
                c = old[i];
                old[i] = NULL;
                break;
            }
        }
        if (c) {
            void *dev = c->params.dev_opaque;

            c->params = s->params;
            c->params.dev_opaque = dev;
            c->relid = r;
            c->connection_id = VMBC_CHAN_CONN_ID_BASE + r;
            c->gpadls = NULL;
            core->by_relid[r] = c;
        } else {
            s->params.dev_opaque = NULL;
        }
        if (!c) {
            c = vmbc_chan_create(core, &s->params, r);
            /* chan_create may have taken a monitor id: undo. */
            if (c->has_monitor) {
                core->by_monitor[c->monitor_id] = NULL;
            }
        } else {
            core->n_channels++;
        }
        c->state = s->state;
        c->offered = s->offered;
        c->tl_channel = s->tl;
        c->has_monitor = s->has_monitor;
        c->monitor_id = s->monitor_id;
        c->target_vp = s->target_vp;
        c->open_id = s->open_id;
        c->ring_split = s->ring_split;
        c->ring_gpadl = NULL;
        memcpy(c->open_userdata, s->open_userdata, VMBW_USER_DEF_SIZE);
    }
    /* Rebuild key and monitor maps for the placed channels. */
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        VmbcChannel *c = core->by_relid[r];
        uint8_t k[34];

        if (!c) {
            continue;
        }
        memcpy(k, c->params.class_id.b, 16);
        memcpy(k + 16, c->params.instance_id.b, 16);
        k[32] = c->params.subchannel_index & 0xff;
        k[33] = c->params.subchannel_index >> 8;
        g_hash_table_replace(core->by_key, g_bytes_new(k, sizeof(k)), c);
        if (c->has_monitor) {
            core->by_monitor[c->monitor_id] = c;
        }
    }
    /* Device channels the stream does not know: new offers. */
    for (uint32_t i = 0; i < nold; i++) {
        VmbcChannel *c = old[i];
        uint32_t relid;

        if (!c) {
            continue;
        }
        /* validate() made sure a relid is left for each of these. */
        relid = vmbc_relid_alloc(core, &c->params);
        c->relid = relid;
        c->connection_id = VMBC_CHAN_CONN_ID_BASE + relid;
        c->state = VMBC_CHAN_CLOSED;
        c->offered = false;
        c->ring_gpadl = NULL;
        c->gpadls = NULL;
        c->has_monitor = false;
        if (c->params.monitor_allocated) {
            for (uint32_t id = 0; id < VMBW_MONITOR_IDS; id++) {
                if (!core->by_monitor[id]) {
                    c->monitor_id = id;
                    c->has_monitor = true;
                    core->by_monitor[id] = c;
                    break;
                }
            }
        }
        core->by_relid[relid] = c;
        core->n_channels++;
        {
            uint8_t k[34];

            memcpy(k, c->params.class_id.b, 16);
            memcpy(k + 16, c->params.instance_id.b, 16);
            k[32] = c->params.subchannel_index & 0xff;
            k[33] = c->params.subchannel_index >> 8;
            g_hash_table_replace(core->by_key, g_bytes_new(k, sizeof(k)), c);
        }
        if (core->conn.state == VMBC_CONN_READY) {
            vmbc_send_offer(core, c);
        }
    }

    g_hash_table_iter_init(&it, st->gpadls);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        SGpadl *s = v;
        VmbcGpadl *g = vmbc_gpadl_alloc(core, s->handle,
                                        s->owned ? s->relid : 0);

        g->relid = s->relid;
        g->state = s->state;
        g->range_buflen = s->range_buflen;
        g->rangecount = s->rangecount;
        g->ranges_done = g->ranges_cap = s->ranges_done;
        g->ranges = s->ranges;
        s->ranges = NULL;
        g->pfns_left = s->pfns_left;
        g->words_seen = s->words_seen;
        g->expect_words = s->expect_words;
        g->teardown_pending = s->teardown_pending;
        g->npfns = s->npfns;
        g->pfn_cap = s->npfns + s->pfns_left;
        g->pfns = g_renew(uint64_t, s->pfns, g->pfn_cap ? g->pfn_cap : 1);
        s->pfns = NULL;
        g->quota_bytes = s->quota;
        for (uint32_t i = 0; i < g->ranges_done; i++) {
            g->bytes += g->ranges[i].byte_count;
        }
        core->gpadl_bytes += s->quota;
    }
    for (uint32_t r = 1; r < VMBW_MAX_RELIDS; r++) {
        VmbcChannel *c = core->by_relid[r];

        if (c && c->state == VMBC_CHAN_OPEN && st->chans[r]) {
            c->ring_gpadl = vmbc_gpadl_find(core, st->chans[r]->ring_handle);
            vmbc_gpadl_pin(c->ring_gpadl);
        }
    }
    for (guint i = 0; i < st->out->len; i++) {
        g_queue_push_tail(&core->out, st->out->pdata[i]);
        st->out->pdata[i] = NULL;
    }
    /* Deferred teardowns whose only pin was a device's: answer now. */
    g_hash_table_iter_init(&it, core->gpadls);
    {
        GPtrArray *done = g_ptr_array_new();

        while (g_hash_table_iter_next(&it, NULL, &v)) {
            VmbcGpadl *g = v;

            if (g->teardown_pending && !g->pins) {
                g_ptr_array_add(done, g);
            }
        }
        for (guint i = 0; i < done->len; i++) {
            VmbcGpadl *g = done->pdata[i];

            g->pins = 1;
            vmbc_gpadl_unpin(g);
        }
        g_ptr_array_free(done, true);
    }
    vmbc_monitor_update(core);
    if (core->ops->conn_state_changed) {
        core->ops->conn_state_changed(core->opaque);
    }
}

bool vmbc_load(VmbcCore *core, const void *data, size_t len, GError **errp)
{
    Rd r = { data, len, false };
    Staging st;
    bool ok = false, end = false;

    if (core->conn.state != VMBC_CONN_DISCONNECTED ||
        g_hash_table_size(core->gpadls) || !g_queue_is_empty(&core->out)) {
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_BUSY,
                    "vmbus load: core not in reset state");
        return false;
    }
    memset(&st, 0, sizeof(st));
    st.gpadls = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                      sgpadl_free);
    st.out = g_ptr_array_new_with_free_func(g_free);

    if (get32(&r) != VMBC_SAVE_MAGIC) {
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                    "vmbus load: bad magic");
        goto out;
    }
    if (get32(&r) != VMBC_SAVE_VERSION) {
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                    "vmbus load: unsupported format version");
        goto out;
    }
    while (!end) {
        uint32_t tag = get32(&r), slen = get32(&r);
        Rd sec;
        bool sok;

        if (r.bad || slen > r.left) {
            g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                        "vmbus load: truncated stream");
            goto out;
        }
        sec.p = r.p;
        sec.left = slen;
        sec.bad = false;
        r.p += slen;
        r.left -= slen;
        switch (tag) {
        case VMBC_TAG_CONN:
            sok = parse_conn(core, &st, &sec, errp);
            break;
        case VMBC_TAG_FEAT:
            sok = parse_feat(core, &st, &sec, errp);
            break;
        case VMBC_TAG_CHAN:
            sok = parse_chan(core, &st, &sec, errp);
            break;
        case VMBC_TAG_GPDL:
            sok = parse_gpadl(core, &st, &sec, errp);
            break;
        case VMBC_TAG_OUTQ:
            sok = parse_outq(core, &st, &sec, errp);
            break;
        case VMBC_TAG_END:
            sok = slen == 0;
            end = true;
            if (!sok) {
                g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                            "vmbus load: END not empty");
            }
            break;
        default:
            if (tag & VMBC_TAG_OPTIONAL) {
                /* Its length was bounded above; nothing else is read. */
                vmbc_trace(core, "vmbc_load_skip_section",
                           "tag 0x%08x length %u", tag, slen);
                st.skipped++;
                sok = true;
                break;
            }
            g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                        "vmbus load: unknown required section 0x%08x "
                        "(state this build does not have)", tag);
            sok = false;
        }
        if (!sok) {
            goto out;
        }
    }
    if (r.left) {
        g_set_error(errp, VMBC_ERROR, VMBC_ERROR_INVALID,
                    "vmbus load: data after END");
        goto out;
    }
    if (!validate(core, &st, errp)) {
        goto out;
    }
    apply(core, &st);
    core->counters.load_sections_skipped += st.skipped;
    ok = true;
out:
    staging_free(&st);
    return ok;
}
