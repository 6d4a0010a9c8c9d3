/*
 * qtest: the VMBus protocol through the real vmbus-bridge, with the qtest
 * playing the guest through vmbus-test-port (no guest is booted)
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


/* Guest memory used by the test. */
#define MONITOR1        0x120000ULL
#define MONITOR2        0x121000ULL
#define RING            0x200000ULL     /* 8 pages: 4 out + 4 in */
#define RING_PAGES      8


#define BALLOON_CLASS   "525074dc-8985-46e2-8057-a307dc18a502"

typedef struct Guest {
    QTestState *qts;
    uint32_t conn_id;           /* where messages go after connecting */
} Guest;

static uint32_t port_cmd(Guest *g, uint32_t cmd, uint32_t vp, uint64_t a0,
                         uint64_t a1)
{
    return vtp_cmd(g->qts, cmd, vp, a0, a1);
}

/* HvPostMessage of a channel message; returns the hypercall status. */
static uint32_t post(Guest *g, uint32_t conn_id, const void *msg, uint32_t len)
{
    return vtp_post(g->qts, conn_id, msg, len);
}

/*
 * Wait for a message in VP 0's slot, copy its payload out, free the slot
 * the way Linux does (clear the type; EOM if msg_pending).  Returns the
 * channel message type, or 0 if none arrived.
 */
static uint32_t recv_msg(Guest *g, void *buf, size_t buflen, uint32_t *len)
{
    return vtp_recv(g->qts, buf, buflen, len, 2000, 0);
}

/* Like recv_msg, but skip answers to earlier junk until 'want' comes. */
static uint32_t recv_type(Guest *g, uint32_t want, void *buf, size_t buflen)
{
    uint32_t t;

    for (int i = 0; i < 64; i++) {
        t = recv_msg(g, buf, buflen, NULL);
        if (t == want || t == 0) {
            return t;
        }
    }
    return t;
}

/* Expect no message within a short while. */
static bool no_msg(Guest *g)
{
    uint8_t m[8];

    for (int i = 0; i < 50; i++) {
        qtest_memread(g->qts, SIMP(0) + MSG_SINT * SLOT_SIZE, m, sizeof(m));
        if (ldl_le_p(m) != 0) {
            return false;
        }
        qtest_clock_step(g->qts, 1000);
    }
    return true;
}

static Guest *guest_start(const char *extra)
{
    Guest *g = g_new0(Guest, 1);

    g->qts = qtest_initf("-M q35 -nodefaults -smp 2 -device vmbus-test-port "
                         "-device vmbus-bridge %s", extra ? extra : "");
    g_assert_cmpuint(port_cmd(g, CMD_SYNIC_ENABLE, 0, SIMP(0), SIEFP(0)), ==,
                     0);
    g_assert_cmpuint(port_cmd(g, CMD_SYNIC_ENABLE, 1, SIMP(1), SIEFP(1)), ==,
                     0);
    return g;
}

static void guest_end(Guest *g)
{
    qtest_quit(g->qts);
    g_free(g);
}

static QDict *query(Guest *g)
{
    QDict *rsp = qtest_qmp(g->qts, "{'execute': 'query-vmbus'}");

    g_assert(qdict_haskey(rsp, "return"));
    return rsp;
}

static const char *query_str(Guest *g, const char *key, QDict **keep)
{
    *keep = query(g);
    return qdict_get_str(qdict_get_qdict(*keep, "return"), key);
}

/* INITIATE_CONTACT on 'conn' asking for 'version'; returns the response
 * type (15) and fills *resp. */
static uint32_t contact(Guest *g, uint32_t conn, uint32_t version,
                        VmbWireVersionResponse *resp, uint32_t *status)
{
    VmbWireInitiateContact ic = { 0 };

    ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
    ic.vmbus_version_requested = version;
    ic.target_vcpu = 0;
    if (version >= VMBW_VERSION(5, 0)) {
        ic.msg_sint = MSG_SINT;
    }
    ic.monitor_page1 = MONITOR1;
    ic.monitor_page2 = MONITOR2;
    *status = post(g, conn, &ic, sizeof(ic));
    if (*status) {
        return 0;
    }
    return recv_msg(g, resp, sizeof(*resp), NULL);
}

/* Connect the way Linux does: 6.0 (6.19 and later; 5.3 before) down to
 * 'want', skipping the versions above 'top'. */
static void connect_from(Guest *g, uint32_t top, uint32_t want)
{
    static const uint32_t versions[] = {
        VMBW_VERSION(6, 0),
        VMBW_VERSION(5, 3), VMBW_VERSION(5, 2), VMBW_VERSION(5, 1),
        VMBW_VERSION(5, 0), VMBW_VERSION(4, 1), VMBW_VERSION(4, 0),
        VMBW_VERSION(3, 0), VMBW_VERSION(2, 4),
    };

    for (int i = 0; i < ARRAY_SIZE(versions); i++) {
        VmbWireVersionResponse vr;
        uint32_t conn = versions[i] >= VMBW_VERSION(5, 0) ? 4 : 1;
        uint32_t st;

        if (versions[i] > top) {
            continue;
        }
        if (contact(g, conn, versions[i], &vr, &st) == 0) {
            /* status 18: no such connection, try the next version */
            g_assert_cmpuint(st, ==, 18);
            continue;
        }
        g_assert_cmpuint(vr.hdr.msgtype, ==, VMBW_MSG_VERSION_RESPONSE);
        if (vr.version_supported) {
            g_assert_cmpuint(versions[i], ==, want);
            g->conn_id = versions[i] >= VMBW_VERSION(5, 0) ? vr.msg_conn_id
                                                           : 1;
            return;
        }
    }
    g_assert_not_reached();
}

static void connect_at(Guest *g, uint32_t want)
{
    connect_from(g, want, want);
}

static uint32_t request_offers(Guest *g, VmbWireOfferChannel *offer)
{
    VmbWireRequestOffers ro = { .msgtype = VMBW_MSG_REQUESTOFFERS };
    VmbWireOfferChannel o;
    uint32_t n = 0, type;

    g_assert_cmpuint(post(g, g->conn_id, &ro, sizeof(ro)), ==, 0);
    while ((type = recv_msg(g, &o, sizeof(o), NULL)) ==
           VMBW_MSG_OFFERCHANNEL) {
        if (n++ == 0 && offer) {
            *offer = o;
        }
    }
    g_assert_cmpuint(type, ==, VMBW_MSG_ALLOFFERS_DELIVERED);
    return n;
}

static void test_connect_53(void)
{
    Guest *g = guest_start(NULL);
    g_autoptr(QDict) q = NULL;

    connect_at(g, VMBW_VERSION(5, 3));
    g_assert_cmpuint(g->conn_id, ==, 4);
    g_assert_cmpstr(query_str(g, "version", &q), ==, "5.3");
    guest_end(g);
}

/*
 * Linux 6.19 against the default bridge: 6.0 at once, the 20-byte
 * VERSION_RESPONSE with supported_features 0 whatever the guest asks
 * for; the 6.0 messages that need a feature are refused unanswered.
 */
static void test_connect_60(void)
{
    static const uint32_t asks[] = {
        0, VMBW_FEATURE_CONFIDENTIAL_CHANNELS, 0xffffffff,
    };
    Guest *g = guest_start(NULL);

    for (int i = 0; i < ARRAY_SIZE(asks); i++) {
        VmbWireInitiateContact ic = { 0 };
        VmbWireVersionResponse2 vr;
        g_autoptr(QDict) q = NULL;
        uint32_t len = 0;
        QDict *ret;

        ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
        ic.vmbus_version_requested = VMBW_VERSION(6, 0);
        ic.msg_sint = MSG_SINT;
        ic.feature_flags = asks[i];
        ic.monitor_page1 = MONITOR1;
        ic.monitor_page2 = MONITOR2;
        g_assert_cmpuint(post(g, 4, &ic, sizeof(ic)), ==, 0);
        memset(&vr, 0xee, sizeof(vr));
        g_assert_cmpuint(recv_msg(g, &vr, sizeof(vr), &len), ==,
                         VMBW_MSG_VERSION_RESPONSE);
        g_assert_cmpuint(len, ==, 20);
        g_assert_cmpuint(vr.base.version_supported, ==, 1);
        g_assert_cmpuint(vr.base.connection_state, ==, 0);
        g_assert_cmpuint(vr.base.msg_conn_id, ==, 4);
        g_assert_cmpuint(vr.supported_features, ==, 0);
        g->conn_id = 4;
        ret = qdict_get_qdict(q = query(g), "return");
        g_assert_cmpstr(qdict_get_str(ret, "version"), ==, "6.0");
        g_assert_cmpstr(qdict_get_str(ret, "max-version"), ==, "6.0");
        g_assert_cmpint(qdict_get_int(ret, "guest-errors"), ==, 0);
    }
    g_assert_cmpuint(request_offers(g, NULL), ==, 0);
    {
        static const struct {
            uint32_t type, len;
        } refused[] = {
            { VMBW_MSG_MODIFY_CONNECTION, 24 }, { VMBW_MSG_PAUSE, 8 },
            { VMBW_MSG_RESUME, 8 },
        };
        g_autoptr(QDict) q = NULL;
        QDict *ret;

        for (int i = 0; i < ARRAY_SIZE(refused); i++) {
            uint8_t buf[24] = { 0 };

            stl_le_p(buf, refused[i].type);
            g_assert_cmpuint(post(g, 4, buf, refused[i].len), ==, 0);
            g_assert_true(no_msg(g));
        }
        ret = qdict_get_qdict(q = query(g), "return");
        g_assert_cmpstr(qdict_get_str(ret, "state"), ==, "ready");
        g_assert_cmpint(qdict_get_int(ret, "guest-errors"), ==, 3);
        g_assert_cmpint(qdict_get_int(ret, "messages-refused"), ==, 3);
    }
    guest_end(g);
}

/*
 * max-version=0x50003: 6.0 is refused with the 16-byte answer and Linux
 * 6.19 walks down to 5.3; vmbus-set-max-version moves the cap (and
 * query-vmbus shows the cap in force).
 */
static void test_connect_capped_53(void)
{
    Guest *g = guest_start("");
    g_autoptr(QDict) q = NULL;
    g_autoptr(QDict) q2 = NULL;
    VmbWireVersionResponse2 vr;
    VmbWireInitiateContact ic = { 0 };
    uint32_t len = 0;
    QDict *rsp;

    qtest_quit(g->qts);
    g->qts = qtest_initf("-M q35 -nodefaults -device vmbus-test-port "
                         "-device vmbus-bridge,max-version=0x50003");
    port_cmd(g, CMD_SYNIC_ENABLE, 0, SIMP(0), SIEFP(0));
    g_assert_cmpstr(query_str(g, "max-version", &q), ==, "5.3");
    ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
    ic.vmbus_version_requested = VMBW_VERSION(6, 0);
    ic.msg_sint = MSG_SINT;
    g_assert_cmpuint(post(g, 4, &ic, sizeof(ic)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &vr, sizeof(vr), &len), ==,
                     VMBW_MSG_VERSION_RESPONSE);
    g_assert_cmpuint(len, ==, 16);
    g_assert_cmpuint(vr.base.version_supported, ==, 0);
    connect_from(g, VMBW_VERSION(6, 0), VMBW_VERSION(5, 3));
    g_assert_cmpuint(g->conn_id, ==, 4);
    qobject_unref(q);
    g_assert_cmpstr(query_str(g, "version", &q), ==, "5.3");
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(q, "return"),
                                  "guest-errors"), ==, 0);

    /* back to the default at run time: the next contact gets 6.0 */
    rsp = qtest_qmp(g->qts, "{'execute': 'vmbus-set-max-version',"
                    " 'arguments': {'version': 'default'}}");
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpstr(query_str(g, "max-version", &q2), ==, "6.0");
    connect_from(g, VMBW_VERSION(6, 0), VMBW_VERSION(6, 0));
    qobject_unref(q2);
    g_assert_cmpstr(query_str(g, "version", &q2), ==, "6.0");
    rsp = qtest_qmp(g->qts, "{'execute': 'vmbus-set-max-version',"
                    " 'arguments': {'version': '6.1'}}");
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    guest_end(g);
}

/* A bridge capped at 4.0: connection 4 does not exist, Linux walks down. */
static void test_connect_capped(void)
{
    Guest *g = guest_start("");
    g_autoptr(QDict) q = NULL;

    qtest_quit(g->qts);
    g->qts = qtest_initf("-M q35 -nodefaults -device vmbus-test-port "
                         "-device vmbus-bridge,max-version=0x40000");
    port_cmd(g, CMD_SYNIC_ENABLE, 0, SIMP(0), SIEFP(0));
    connect_at(g, VMBW_VERSION(4, 0));
    g_assert_cmpuint(g->conn_id, ==, 1);
    g_assert_cmpstr(query_str(g, "version", &q), ==, "4.0");
    guest_end(g);
}

static void test_unknown_version_refused(void)
{
    Guest *g = guest_start(NULL);
    VmbWireVersionResponse vr;
    uint32_t st;

    /* 3.5 is no VMBus version: refused by exact match. */
    g_assert_cmpuint(contact(g, 1, VMBW_VERSION(3, 5), &vr, &st), ==,
                     VMBW_MSG_VERSION_RESPONSE);
    g_assert_cmpuint(vr.version_supported, ==, 0);
    /* nor are versions after 6.0 */
    g_assert_cmpuint(contact(g, 4, VMBW_VERSION(6, 1), &vr, &st), ==,
                     VMBW_MSG_VERSION_RESPONSE);
    g_assert_cmpuint(vr.version_supported, ==, 0);
    g_assert_cmpuint(contact(g, 4, VMBW_VERSION(7, 0), &vr, &st), ==,
                     VMBW_MSG_VERSION_RESPONSE);
    g_assert_cmpuint(vr.version_supported, ==, 0);
    guest_end(g);
}

static void test_offer_gpadl_open_unload(void)
{
    Guest *g = guest_start("-device hv-balloon,id=b0");
    VmbWireOfferChannel offer;
    VmbWireGpadlHeader gh = { 0 };
    VmbWireGpadlCreated gc;
    VmbWireOpenChannel oc = { 0 };
    VmbWireOpenResult orr;
    VmbWireHdr unload = { .msgtype = VMBW_MSG_UNLOAD };
    g_autoptr(QDict) q = NULL;
    QDict *ret;
    QList *chans;
    char guid[64];

    connect_at(g, VMBW_VERSION(5, 3));
    g_assert_cmpuint(request_offers(g, &offer), ==, 1);
    g_assert_cmpuint(offer.child_relid, >=, 1);
    g_assert_cmpuint(offer.child_relid, <=, 2047);
    /* The balloon's class GUID, in wire (mixed-endian) order. */
    {
        const uint8_t *b = offer.if_type.b;

        snprintf(guid, sizeof(guid),
                 "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 ldl_le_p(b), lduw_le_p(b + 4), lduw_le_p(b + 6), b[8], b[9],
                 b[10], b[11], b[12], b[13], b[14], b[15]);
    }
    g_assert_cmpstr(guid, ==, BALLOON_CLASS);

    /* Ring GPADL: one range of 8 pages. */
    gh.hdr.msgtype = VMBW_MSG_GPADL_HEADER;
    gh.child_relid = offer.child_relid;
    gh.gpadl = 0xE1E10;
    gh.range_buflen = 8 + 8 * RING_PAGES;
    gh.rangecount = 1;
    gh.range0.byte_count = RING_PAGES * 4096;
    gh.range0.byte_offset = 0;
    for (int i = 0; i < RING_PAGES; i++) {
        gh.pfn[i] = (RING >> 12) + i;
    }
    qtest_memset(g->qts, RING, 0, RING_PAGES * 4096);
    g_assert_cmpuint(post(g, g->conn_id, &gh, 20 + 8 + 8 * RING_PAGES), ==,
                     0);
    g_assert_cmpuint(recv_msg(g, &gc, sizeof(gc), NULL), ==,
                     VMBW_MSG_GPADL_CREATED);
    g_assert_cmpuint(gc.gpadl, ==, 0xE1E10);
    g_assert_cmpuint(gc.creation_status, ==, 0);

    oc.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
    oc.child_relid = offer.child_relid;
    oc.openid = offer.child_relid;
    oc.ringbuffer_gpadlhandle = 0xE1E10;
    oc.target_vp = 1;
    oc.downstream_ringbuffer_pageoffset = RING_PAGES / 2;
    g_assert_cmpuint(post(g, g->conn_id, &oc, sizeof(oc)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &orr, sizeof(orr), NULL), ==,
                     VMBW_MSG_OPENCHANNEL_RESULT);
    g_assert_cmpuint(orr.status, ==, 0);

    q = query(g);
    ret = qdict_get_qdict(q, "return");
    g_assert_cmpstr(qdict_get_str(ret, "state"), ==, "ready");
    chans = qdict_get_qlist(ret, "channels");
    g_assert_cmpuint(qlist_size(chans), ==, 1);
    g_assert_cmpstr(qdict_get_str(qobject_to(QDict, qlist_peek(chans)),
                                  "state"), ==, "open");
    g_assert_cmpuint(qdict_get_int(qobject_to(QDict, qlist_peek(chans)),
                                   "target-vp"), ==, 1);
    qobject_unref(q);

    /*
     * Ring traffic: as the guest, write a Dynamic Memory version request
     * (inband packet) into our outbound ring and signal the channel; the
     * balloon answers in the inbound ring and sets our event flag (relid)
     * on VP 1.
     */
    {
        uint8_t pkt[40] = { 0 };
        uint32_t conn = 0x2000 + offer.child_relid;

        stw_le_p(pkt + 0, 6);               /* inband */
        stw_le_p(pkt + 2, 2);               /* offset8: 16 bytes */
        stw_le_p(pkt + 4, 4);               /* len8: 32 bytes */
        stq_le_p(pkt + 8, 1);               /* trans_id */
        stw_le_p(pkt + 16, 1);              /* DM_VERSION_REQUEST */
        stw_le_p(pkt + 18, 16);             /* size */
        stl_le_p(pkt + 20, 1);              /* trans_id */
        stl_le_p(pkt + 24, 0x00020000);     /* DM 2.0 */
        qtest_memwrite(g->qts, RING + 4096, pkt, sizeof(pkt));
        qtest_writel(g->qts, RING, sizeof(pkt));        /* write_index */
        g_assert_cmpuint(port_cmd(g, CMD_SIGNAL_EVENT, 0, conn, 0), ==, 0);
    }
    for (int i = 0; i < 2000; i++) {
        if (qtest_readl(g->qts, RING + 4 * 4096)) {
            break;
        }
        qtest_clock_step(g->qts, 100000);
    }
    g_assert_cmpuint(qtest_readl(g->qts, RING + 4 * 4096), !=, 0);
    g_assert_cmpuint(qtest_readl(g->qts, RING + 4), ==, 40);   /* consumed */
    g_assert_cmpuint(qtest_readl(g->qts, SIEFP(1) + MSG_SINT * 256 +
                                 (offer.child_relid / 32) * 4) &
                     (1u << (offer.child_relid % 32)), !=, 0);
    /* The answer is a DM_VERSION_RESPONSE (type 2) in an inband packet. */
    g_assert_cmpuint(qtest_readw(g->qts, RING + 5 * 4096), ==, 6);
    g_assert_cmpuint(qtest_readw(g->qts, RING + 5 * 4096 + 16), ==, 2);

    /* UNLOAD drops everything the guest owned. */
    g_assert_cmpuint(post(g, g->conn_id, &unload, sizeof(unload)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &orr, sizeof(orr), NULL), ==,
                     VMBW_MSG_UNLOAD_RESPONSE);
    q = query(g);
    ret = qdict_get_qdict(q, "return");
    g_assert_cmpstr(qdict_get_str(ret, "state"), ==, "disconnected");
    g_assert_cmpuint(qlist_size(qdict_get_qlist(ret, "gpadls")), ==, 0);
    qobject_unref(q);
    q = NULL;

    /* And the guest can connect again and gets the same relid. */
    connect_at(g, VMBW_VERSION(5, 3));
    {
        VmbWireOfferChannel again;

        g_assert_cmpuint(request_offers(g, &again), ==, 1);
        g_assert_cmpuint(again.child_relid, ==, offer.child_relid);
    }
    guest_end(g);
}

/* Hostile input: refused, QEMU stays up and consistent. */
static void test_hostile(void)
{
    Guest *g = guest_start("-device hv-balloon,id=b0");
    uint8_t junk[240];
    VmbWireOpenChannel oc = { 0 };
    VmbWireOpenResult orr;
    VmbWireGpadlHeader gh = { 0 };
    VmbWireGpadlCreated gc;
    VmbWireOfferChannel offer;
    g_autoptr(QDict) q = NULL;

    /* Unknown connection id. */
    g_assert_cmpuint(post(g, 77, junk, 16), ==, 18);
    /* Messages before connecting are refused without an answer. */
    oc.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
    oc.child_relid = 1;
    post(g, 1, &oc, sizeof(oc));
    g_assert_true(no_msg(g));

    connect_at(g, VMBW_VERSION(5, 3));
    g_assert_cmpuint(request_offers(g, &offer), ==, 1);

    /* Random junk of every length, host-only types from the guest. */
    for (uint32_t len = 0; len <= 240; len += 7) {
        for (size_t i = 0; i < sizeof(junk); i++) {
            junk[i] = g_test_rand_int();
        }
        post(g, g->conn_id, junk, len);
    }
    for (uint32_t t = 0; t < 40; t++) {
        memset(junk, 0xff, sizeof(junk));
        stl_le_p(junk, t);
        if (t == VMBW_MSG_UNLOAD || t == VMBW_MSG_INITIATE_CONTACT) {
            continue;
        }
        post(g, g->conn_id, junk, sizeof(junk));
    }
    /* Drain whatever the junk provoked. */
    while (!no_msg(g)) {
        recv_msg(g, junk, sizeof(junk), NULL);
    }

    /* A short OPENCHANNEL is refused; an open of a bad relid gets a
     * failing status. */
    oc.child_relid = 2000;
    oc.ringbuffer_gpadlhandle = 0x1234;
    g_assert_cmpuint(post(g, g->conn_id, &oc, sizeof(oc)), ==, 0);
    if (recv_type(g, VMBW_MSG_OPENCHANNEL_RESULT, &orr, sizeof(orr)) ==
        VMBW_MSG_OPENCHANNEL_RESULT) {
        g_assert_cmpuint(orr.status, !=, 0);
    }
    /* Open with a GPADL that does not exist. */
    oc.child_relid = offer.child_relid;
    oc.openid = offer.child_relid;
    oc.downstream_ringbuffer_pageoffset = 2;
    g_assert_cmpuint(post(g, g->conn_id, &oc, sizeof(oc)), ==, 0);
    g_assert_cmpuint(recv_type(g, VMBW_MSG_OPENCHANNEL_RESULT, &orr,
                               sizeof(orr)), ==, VMBW_MSG_OPENCHANNEL_RESULT);
    g_assert_cmpuint(orr.status, !=, 0);

    /* A GPADL whose range claims more pages than it carries. */
    gh.hdr.msgtype = VMBW_MSG_GPADL_HEADER;
    gh.child_relid = offer.child_relid;
    gh.gpadl = 0xE1E11;
    gh.range_buflen = 8 + 8;
    gh.rangecount = 1;
    gh.range0.byte_count = 0xffffffff;
    gh.pfn[0] = 1;
    post(g, g->conn_id, &gh, 20 + 16);
    if (recv_type(g, VMBW_MSG_GPADL_CREATED, &gc, sizeof(gc)) ==
        VMBW_MSG_GPADL_CREATED) {
        g_assert_cmpuint(gc.creation_status, !=, 0);
    }
    /* Signal events on nonsense connection ids. */
    g_assert_cmpuint(port_cmd(g, CMD_SIGNAL_EVENT, 0, 0x7777, 0), !=, 0);

    /* Still alive, still consistent. */
    g_assert_cmpstr(query_str(g, "state", &q), ==, "ready");
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(q, "return"),
                                  "guest-errors"), >, 0);
    guest_end(g);
}

/* QMP test-bench commands: cap the version, rescind/re-offer, delay. */
static void test_bench_commands(void)
{
    Guest *g = guest_start("-device hv-balloon,id=b0");
    VmbWireVersionResponse vr;
    VmbWireOfferChannel offer, again;
    VmbWireRelid rel;
    uint8_t m[8];
    QDict *rsp;
    uint32_t st;

    /* Capped at 4.0 at run time: connection 4 disappears. */
    rsp = qtest_qmp(g->qts, "{'execute': 'vmbus-set-max-version',"
                    " 'arguments': {'version': '4.0'}}");
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(contact(g, 4, VMBW_VERSION(5, 3), &vr, &st), ==, 0);
    g_assert_cmpuint(st, ==, 18);
    connect_at(g, VMBW_VERSION(4, 0));
    rsp = qtest_qmp(g->qts, "{'execute': 'vmbus-set-max-version',"
                    " 'arguments': {'version': '3.5'}}");
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);

    /* Rescind the balloon's channel: RESCIND, then our RELID_RELEASED;
     * re-offer: the same relid comes back. */
    g_assert_cmpuint(request_offers(g, &offer), ==, 1);
    rsp = qtest_qmp(g->qts, "{'execute': 'vmbus-rescind',"
                    " 'arguments': {'id': 'b0'}}");
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(recv_msg(g, &rel, sizeof(rel), NULL), ==,
                     VMBW_MSG_RESCIND_CHANNELOFFER);
    g_assert_cmpuint(rel.child_relid, ==, offer.child_relid);
    rsp = qtest_qmp(g->qts, "{'execute': 'vmbus-reoffer',"
                    " 'arguments': {'id': 'b0'}}");
    g_assert(qdict_haskey(rsp, "error"));       /* relid not released */
    qobject_unref(rsp);
    rel.hdr.msgtype = VMBW_MSG_RELID_RELEASED;
    g_assert_cmpuint(post(g, g->conn_id, &rel, sizeof(rel)), ==, 0);
    for (int i = 0; i < 100; i++) {
        qtest_clock_step(g->qts, 1000);
    }
    rsp = qtest_qmp(g->qts, "{'execute': 'vmbus-reoffer',"
                    " 'arguments': {'id': 'b0'}}");
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmpuint(recv_msg(g, &again, sizeof(again), NULL), ==,
                     VMBW_MSG_OFFERCHANNEL);
    g_assert_cmpuint(again.child_relid, ==, offer.child_relid);

    /* Delayed messages: nothing right after the post, the answer later. */
    rsp = qtest_qmp(g->qts, "{'execute': 'x-vmbus-delay-messages',"
                    " 'arguments': {'milliseconds': 1000}}");
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    {
        VmbWireOpenChannel oc = { 0 };

        oc.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
        oc.child_relid = offer.child_relid;
        oc.openid = offer.child_relid;
        oc.ringbuffer_gpadlhandle = 0x4242;     /* no such GPADL: refused */
        oc.downstream_ringbuffer_pageoffset = 2;
        g_assert_cmpuint(post(g, g->conn_id, &oc, sizeof(oc)), ==, 0);
    }
    qtest_memread(g->qts, SIMP(0) + MSG_SINT * SLOT_SIZE, m, sizeof(m));
    g_assert_cmpuint(ldl_le_p(m), ==, 0);
    for (int i = 0; i < 100 && !ldl_le_p(m); i++) {
        g_usleep(50 * 1000);
        qtest_memread(g->qts, SIMP(0) + MSG_SINT * SLOT_SIZE, m, sizeof(m));
    }
    {
        VmbWireOpenResult orr;

        g_assert_cmpuint(recv_msg(g, &orr, sizeof(orr), NULL), ==,
                         VMBW_MSG_OPENCHANNEL_RESULT);
        g_assert_cmpuint(orr.status, !=, 0);
    }
    guest_end(g);
}

/* Every version the host speaks, one after the other (capped through QMP,
 * contact at exactly that version, UNLOAD or implicit reset). */
static void test_connect_every_version(void)
{
    static const uint32_t versions[] = {
        VMBW_VERSION(6, 0),
        VMBW_VERSION(5, 3), VMBW_VERSION(5, 2), VMBW_VERSION(5, 1),
        VMBW_VERSION(5, 0), VMBW_VERSION(4, 1), VMBW_VERSION(4, 0),
        VMBW_VERSION(3, 0), VMBW_VERSION(2, 4), VMBW_VERSION(1, 1),
        VMBW_VERSION(0, 13),
    };
    Guest *g = guest_start(NULL);

    for (int i = 0; i < ARRAY_SIZE(versions); i++) {
        uint32_t v = versions[i];
        uint32_t conn = v >= VMBW_VERSION(5, 0) ? 4 : 1;
        g_autofree char *want = g_strdup_printf("%u.%u", v >> 16, v & 0xffff);
        VmbWireInitiateContact ic = { 0 };
        VmbWireVersionResponse2 vr2;
        VmbWireVersionResponse vr;
        g_autoptr(QDict) q = NULL;
        uint32_t len = 0;
        QDict *rsp;

        rsp = qtest_qmp(g->qts, "{'execute': 'vmbus-set-max-version',"
                        " 'arguments': {'version': %s}}", want);
        g_assert(qdict_haskey(rsp, "return"));
        qobject_unref(rsp);
        ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
        ic.vmbus_version_requested = v;
        if (v >= VMBW_VERSION(5, 0)) {
            ic.msg_sint = MSG_SINT;
        } else {
            ic.interrupt_page = MONITOR1 + 0x10000;
        }
        ic.monitor_page1 = MONITOR1;
        ic.monitor_page2 = MONITOR2;
        g_assert_cmpuint(post(g, conn, &ic, sizeof(ic)), ==, 0);
        g_assert_cmpuint(recv_msg(g, &vr2, sizeof(vr2), &len), ==,
                         VMBW_MSG_VERSION_RESPONSE);
        vr = vr2.base;
        g_assert_cmpuint(vr.version_supported, ==, 1);
        if (v >= VMBW_VERSION(5, 0)) {
            g_assert_cmpuint(vr.msg_conn_id, ==, 4);
        }
        /* supported_features (0) from 6.0 on */
        g_assert_cmpuint(len, ==, v >= VMBW_VERSION(6, 0) ? 20 : 16);
        if (v >= VMBW_VERSION(6, 0)) {
            g_assert_cmpuint(vr2.supported_features, ==, 0);
        }
        g_assert_cmpstr(query_str(g, "version", &q), ==, want);
        if (v >= VMBW_VERSION(3, 0)) {
            VmbWireHdr unload = { .msgtype = VMBW_MSG_UNLOAD };

            g_assert_cmpuint(post(g, conn, &unload, sizeof(unload)), ==, 0);
            g_assert_cmpuint(recv_msg(g, &vr, sizeof(vr), NULL), ==,
                             VMBW_MSG_UNLOAD_RESPONSE);
        }
    }
    guest_end(g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/proto/connect-5.3", test_connect_53);
    qtest_add_func("/vmbus/proto/connect-6.0", test_connect_60);
    qtest_add_func("/vmbus/proto/connect-capped-5.3", test_connect_capped_53);
    qtest_add_func("/vmbus/proto/connect-capped-4.0", test_connect_capped);
    qtest_add_func("/vmbus/proto/connect-every-version",
                   test_connect_every_version);
    qtest_add_func("/vmbus/proto/unknown-version", test_unknown_version_refused);
    qtest_add_func("/vmbus/proto/offer-gpadl-open-unload",
                   test_offer_gpadl_open_unload);
    qtest_add_func("/vmbus/proto/hostile", test_hostile);
    qtest_add_func("/vmbus/proto/bench-commands", test_bench_commands);
    return g_test_run();
}
