/*
 * qtest: the integration-service framework against a hostile guest, with
 * the qtest playing the guest through vmbus-test-port (no guest booted)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The qtest connects, opens hv-heartbeat's channel and answers the
 * host's packets in the ring by hand: first with malformed, unsolicited
 * and mismatched answers (each refused and counted in guest-errors; a
 * malformed NEGOTIATE answer leaves the service "refused" until the
 * channel is reopened), then as Linux does, after which heartbeats flow;
 * bad heartbeat answers are refused without counting a beat; bad KVP
 * enumeration answers (short, oversized key, invalid UTF-16) end the
 * enumeration without an item.  After a rescind the host leaves the
 * channel's ring pages alone, though the device stays.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "libqtest.h"
#include "vmbus-qtest-port.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "hw/hyperv/vmbus-wire.h"
#include "hw/hyperv/vmbus-devices/ic/ic-proto.h"


#define MONITOR1        0x120000ULL
#define MONITOR2        0x121000ULL
#define RING            0x200000ULL     /* 8 pages: 4 out + 4 in */
#define RING_PAGES      8
#define OUT_HDR         RING
#define IN_HDR          (RING + 4 * 4096)
#define DATA_SIZE       (3 * 4096)


#define PKT_INBAND      6
#define PKT_COMP        11

typedef struct Guest {
    QTestState *qts;
    uint32_t conn_id;
    uint32_t relid;
    uint32_t chan_conn;
    uint32_t out_write;         /* our write index in the outbound ring */
    uint32_t in_read;           /* our read index in the inbound ring */
} Guest;

static uint32_t port_cmd(Guest *g, uint32_t cmd, uint32_t vp, uint64_t a0,
                         uint64_t a1)
{
    return vtp_cmd(g->qts, cmd, vp, a0, a1);
}

static uint32_t post(Guest *g, const void *msg, uint32_t len)
{
    return vtp_post(g->qts, g->conn_id, msg, len);
}

static uint32_t recv_msg(Guest *g, void *buf, size_t buflen)
{
    return vtp_recv(g->qts, buf, buflen, NULL, 20000, 0);
}

static const char *dev_path = "/machine/peripheral/hb";

static int64_t qom_int(Guest *g, const char *prop)
{
    QDict *rsp = qtest_qmp(g->qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': %s, 'property': %s}}", dev_path, prop);
    int64_t v = qdict_get_int(rsp, "return");

    qobject_unref(rsp);
    return v;
}

/* query-vmbus: faults counted under @cond by the guest-fault reporter. */
static int64_t fault_count(Guest *g, const char *cond)
{
    QDict *rsp = qtest_qmp(g->qts, "{'execute': 'query-vmbus'}");
    QList *faults = qdict_get_qlist(qdict_get_qdict(rsp, "return"), "faults");
    QListEntry *e;
    int64_t n = -1;

    g_assert_nonnull(faults);
    QLIST_FOREACH_ENTRY(faults, e) {
        QDict *f = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(f, "condition"), cond)) {
            n = qdict_get_int(f, "count");
        }
    }
    qobject_unref(rsp);
    return n;
}

static char *qom_str(Guest *g, const char *prop)
{
    QDict *rsp = qtest_qmp(g->qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': %s, 'property': %s}}", dev_path, prop);
    char *v = g_strdup(qdict_get_str(rsp, "return"));

    qobject_unref(rsp);
    return v;
}

static void open_channel(Guest *g)
{
    VmbWireOpenChannel oc = { 0 };
    VmbWireOpenResult orr;

    qtest_memset(g->qts, RING, 0, RING_PAGES * 4096);
    g->out_write = 0;
    g->in_read = 0;
    oc.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
    oc.child_relid = g->relid;
    oc.openid = g->relid;
    oc.ringbuffer_gpadlhandle = 0xE1E10;
    oc.target_vp = 0;
    oc.downstream_ringbuffer_pageoffset = RING_PAGES / 2;
    g_assert_cmpuint(post(g, &oc, sizeof(oc)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &orr, sizeof(orr)),
                     ==, VMBW_MSG_OPENCHANNEL_RESULT);
    g_assert_cmpuint(orr.status, ==, 0);
}

static Guest *guest_open_dev(const char *dev)
{
    Guest *g = g_new0(Guest, 1);
    VmbWireInitiateContact ic = { 0 };
    VmbWireVersionResponse vr;
    VmbWireRequestOffers ro = { .msgtype = VMBW_MSG_REQUESTOFFERS };
    VmbWireOfferChannel o;
    VmbWireGpadlHeader gh = { 0 };
    VmbWireGpadlCreated gc;

    g->qts = qtest_initf("-M q35 -nodefaults -device vmbus-test-port "
                         "-device vmbus-bridge -device %s", dev);
    g_assert_cmpuint(port_cmd(g, CMD_SYNIC_ENABLE, 0, SIMP(0), SIEFP(0)), ==,
                     0);
    ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
    ic.vmbus_version_requested = VMBW_VERSION(5, 3);
    ic.msg_sint = MSG_SINT;
    ic.monitor_page1 = MONITOR1;
    ic.monitor_page2 = MONITOR2;
    g->conn_id = 4;
    g_assert_cmpuint(post(g, &ic, sizeof(ic)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &vr, sizeof(vr)), ==,
                     VMBW_MSG_VERSION_RESPONSE);
    g_assert(vr.version_supported);
    g->conn_id = vr.msg_conn_id;

    g_assert_cmpuint(post(g, &ro, sizeof(ro)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &o, sizeof(o)), ==, VMBW_MSG_OFFERCHANNEL);
    g->relid = o.child_relid;
    g->chan_conn = o.connection_id;
    g_assert_cmpuint(recv_msg(g, &o, sizeof(o)), ==,
                     VMBW_MSG_ALLOFFERS_DELIVERED);

    gh.hdr.msgtype = VMBW_MSG_GPADL_HEADER;
    gh.child_relid = g->relid;
    gh.gpadl = 0xE1E10;
    gh.range_buflen = 8 + 8 * RING_PAGES;
    gh.rangecount = 1;
    gh.range0.byte_count = RING_PAGES * 4096;
    for (int i = 0; i < RING_PAGES; i++) {
        gh.pfn[i] = (RING >> 12) + i;
    }
    g_assert_cmpuint(post(g, &gh, 20 + 8 + 8 * RING_PAGES), ==, 0);
    g_assert_cmpuint(recv_msg(g, &gc, sizeof(gc)), ==,
                     VMBW_MSG_GPADL_CREATED);
    g_assert_cmpuint(gc.creation_status, ==, 0);
    open_channel(g);
    return g;
}

static Guest *guest_open(void)
{
    return guest_open_dev("hv-heartbeat,id=hb,interval=1000");
}

/* Read @n bytes at @off of the inbound ring's data, wrapping around. */
static void in_read(Guest *g, uint32_t off, void *buf, uint32_t n)
{
    uint32_t first;

    off %= DATA_SIZE;
    first = MIN(n, DATA_SIZE - off);
    qtest_memread(g->qts, IN_HDR + 4096 + off, buf, first);
    if (n > first) {
        qtest_memread(g->qts, IN_HDR + 4096, (uint8_t *)buf + first,
                      n - first);
    }
}

/* The host's next packet in the inbound ring: payload into buf. */
static uint32_t host_pkt(Guest *g, uint8_t *buf, size_t cap, uint64_t *trans)
{
    uint8_t d[16];
    uint32_t off, len;

    for (int i = 0; i < 5000; i++) {
        if (qtest_readl(g->qts, IN_HDR) != g->in_read) {
            break;
        }
        qtest_clock_step(g->qts, 1000000);
    }
    g_assert_cmpuint(qtest_readl(g->qts, IN_HDR), !=, g->in_read);
    in_read(g, g->in_read, d, sizeof(d));
    g_assert_cmpuint(lduw_le_p(d), ==, PKT_INBAND);
    off = lduw_le_p(d + 2) * 8;
    len = lduw_le_p(d + 4) * 8 - off;
    *trans = ldq_le_p(d + 8);
    g_assert_cmpuint(len, <=, cap);
    in_read(g, g->in_read + off, buf, len);
    g->in_read = (g->in_read + lduw_le_p(d + 4) * 8 + 8) % DATA_SIZE;
    qtest_writel(g->qts, IN_HDR + 4, g->in_read);
    return len;
}

/* Write a packet of @type with @len payload bytes and signal the host. */
static void guest_pkt(Guest *g, uint16_t type, const void *msg, uint32_t len,
                      uint64_t trans)
{
    uint32_t plen = ROUND_UP(len, 8);
    g_autofree uint8_t *p = g_malloc0(16 + plen + 8);

    stw_le_p(p, type);
    stw_le_p(p + 2, 2);
    stw_le_p(p + 4, (16 + plen) / 8);
    stq_le_p(p + 8, trans);
    memcpy(p + 16, msg, len);
    g_assert_cmpuint(g->out_write + 16 + plen + 8, <=, DATA_SIZE);
    qtest_memwrite(g->qts, OUT_HDR + 4096 + g->out_write, p, 16 + plen + 8);
    g->out_write += 16 + plen + 8;
    qtest_writel(g->qts, OUT_HDR, g->out_write);
    g_assert_cmpuint(port_cmd(g, CMD_SIGNAL_EVENT, 0, g->chan_conn, 0), ==,
                     0);
    qtest_clock_step(g->qts, 1000000);
}

/* Answer a NEGOTIATE in place the way Linux does (heartbeat 3.0/3.0). */
static void linux_negotiate(uint8_t *buf, uint32_t len)
{
    uint8_t *p = buf + VMBIC_HDR_SIZE;

    g_assert_cmpuint(len, >=, VMBIC_HDR_SIZE + 16);
    stw_le_p(buf + VMBIC_OFF_MSGSIZE, 16);
    stw_le_p(p, 1);
    stw_le_p(p + 2, 1);
    stw_le_p(p + 8, 3);
    stw_le_p(p + 10, 0);
    stw_le_p(p + 12, 3);
    stw_le_p(p + 14, 0);
    buf[VMBIC_OFF_FLAGS] = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_RESPONSE;
}

static void assert_state(Guest *g, const char *want)
{
    g_autofree char *s = qom_str(g, "state");

    g_assert_cmpstr(s, ==, want);
}

static void test_hostile_negotiate(void)
{
    Guest *g = guest_open();
    uint8_t buf[512], bad[512];
    uint64_t trans;
    uint32_t len;
    VmbicHdr h;
    VmbWireRelid close = { .hdr.msgtype = VMBW_MSG_CLOSECHANNEL };

    len = host_pkt(g, buf, sizeof(buf), &trans);
    g_assert_cmpint(vmbic_parse_hdr(buf, len, &h), ==, VMBIC_OK);
    g_assert_cmpuint(h.type, ==, VMBIC_MSG_NEGOTIATE);
    g_assert_cmpuint(h.flags, ==, VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_REQUEST);
    assert_state(g, "negotiating");

    /* another transaction, a completion packet: refused, not consumed */
    memcpy(bad, buf, len);
    linux_negotiate(bad, len);
    guest_pkt(g, PKT_INBAND, bad, len, trans + 1);
    guest_pkt(g, PKT_COMP, bad, len, trans);
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, 2);
    assert_state(g, "negotiating");

    /* the right transaction, too short: the service refuses to go on */
    guest_pkt(g, PKT_INBAND, bad, 20, trans);
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, 3);
    assert_state(g, "refused");
    /* anything more is unsolicited */
    guest_pkt(g, PKT_INBAND, bad, len, trans);
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, 4);

    /* closing and reopening starts over (cold reset) */
    close.child_relid = g->relid;
    g_assert_cmpuint(post(g, &close, sizeof(close)), ==, 0);
    qtest_clock_step(g->qts, 1000000);
    assert_state(g, "closed");
    open_channel(g);
    len = host_pkt(g, buf, sizeof(buf), &trans);
    assert_state(g, "negotiating");

    /* versions the host did not offer */
    memcpy(bad, buf, len);
    linux_negotiate(bad, len);
    stw_le_p(bad + VMBIC_HDR_SIZE + 12, 7);
    guest_pkt(g, PKT_INBAND, bad, len, trans);
    assert_state(g, "refused");
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, 5);
    /* each of them an ic_protocol fault, and no other kind */
    g_assert_cmpint(fault_count(g, "ic_protocol"), ==, 5);
    g_assert_cmpint(fault_count(g, "ring_packet"), ==, 0);
    qtest_quit(g->qts);
    g_free(g);
}

/* The device's own lines in HMP 'info vmbus' (its class's hmp_info). */
static void test_hmp_info(void)
{
    Guest *g = guest_open();
    uint8_t buf[512];
    uint64_t trans;
    g_autofree char *out = NULL;

    host_pkt(g, buf, sizeof(buf), &trans);
    assert_state(g, "negotiating");
    out = qtest_hmp(g->qts, "info vmbus");
    if (!strstr(out, "    negotiating, framework")) {
        g_test_message("info vmbus: %s", out);
    }
    /* HMP ends lines with CR LF */
    g_assert_nonnull(strstr(out, "  device hb (hv-heartbeat)\r\n"
                                 "    negotiating, framework 0.0, message 0.0,"
                                 " requests 1, responses 0"));
    g_assert_nonnull(strstr(out, "request outstanding"));
    qtest_quit(g->qts);
    g_free(g);
}

/* One device per integration service, as Hyper-V offers them. */
static void test_one_per_service(void)
{
    QTestState *qts = qtest_init("-M q35 -nodefaults -device vmbus-test-port "
                                 "-device vmbus-bridge "
                                 "-device hv-heartbeat,id=hb");
    QDict *rsp;
    const char *desc;

    rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                    "{'driver': 'hv-heartbeat', 'id': 'hb2'}}");
    g_assert_true(qdict_haskey(rsp, "error"));
    desc = qdict_get_str(qdict_get_qdict(rsp, "error"), "desc");
    g_assert_nonnull(strstr(desc, "only one hv-heartbeat on the VMBus (hb "
                                  "exists)"));
    qobject_unref(rsp);
    /* another service is fine */
    rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                    "{'driver': 'hv-timesync', 'id': 'ts'}}");
    g_assert_false(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    qtest_quit(qts);
}

static void test_hostile_heartbeat(void)
{
    Guest *g = guest_open();
    uint8_t buf[512], bad[512];
    uint64_t trans;
    uint32_t len;
    int64_t errs;

    len = host_pkt(g, buf, sizeof(buf), &trans);
    linux_negotiate(buf, len);
    guest_pkt(g, PKT_INBAND, buf, len, trans);
    assert_state(g, "ready");
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, 0);

    for (int round = 0; round < 6; round++) {
        uint64_t seq;

        len = host_pkt(g, buf, sizeof(buf), &trans);
        g_assert_cmpuint(len, >=, VMBIC_HDR_SIZE + 40);
        g_assert_cmpuint(lduw_le_p(buf + VMBIC_OFF_TYPE), ==,
                         VMBIC_MSG_HEARTBEAT);
        seq = ldq_le_p(buf + VMBIC_HDR_SIZE);
        memcpy(bad, buf, len);
        bad[VMBIC_OFF_FLAGS] = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_RESPONSE;
        errs = qom_int(g, "guest-errors");
        switch (round) {
        case 0:     /* wrong sequence */
            stq_le_p(bad + VMBIC_HDR_SIZE, seq + 5);
            break;
        case 1:     /* no RESPONSE flag */
            stq_le_p(bad + VMBIC_HDR_SIZE, seq + 1);
            bad[VMBIC_OFF_FLAGS] = VMBIC_FLAG_REQUEST;
            break;
        case 2:     /* icmsgsize beyond the packet */
            stq_le_p(bad + VMBIC_HDR_SIZE, seq + 1);
            stw_le_p(bad + VMBIC_OFF_MSGSIZE, 0xffff);
            break;
        case 3:     /* another message type */
            stq_le_p(bad + VMBIC_HDR_SIZE, seq + 1);
            stw_le_p(bad + VMBIC_OFF_TYPE, VMBIC_MSG_SHUTDOWN);
            break;
        case 4:     /* header only */
            len = VMBIC_HDR_SIZE;
            break;
        case 5:     /* good */
            stq_le_p(bad + VMBIC_HDR_SIZE, seq + 1);
            break;
        }
        guest_pkt(g, PKT_INBAND, bad, len, trans);
        if (round < 5) {
            g_assert_cmpint(qom_int(g, "guest-errors"), ==, errs + 1);
            g_assert_cmpint(qom_int(g, "beats"), ==, 0);
        } else {
            g_assert_cmpint(qom_int(g, "guest-errors"), ==, errs);
            g_assert_cmpint(qom_int(g, "beats"), ==, 1);
            g_assert_cmpint(qom_int(g, "sequence"), ==, seq + 1);
        }
        assert_state(g, "ready");
    }
    /* A guest that stops answering shows as stalled after 3 intervals. */
    {
        QDict *rsp;
        uint64_t seq;

        len = host_pkt(g, buf, sizeof(buf), &trans);
        seq = ldq_le_p(buf + VMBIC_HDR_SIZE);
        qtest_clock_step(g->qts, 1500 * 1000000LL);
        rsp = qtest_qmp(g->qts, "{'execute': 'qom-get', 'arguments': "
                        "{'path': '/machine/peripheral/hb', "
                        "'property': 'stalled'}}");
        g_assert(!qdict_get_bool(rsp, "return"));
        qobject_unref(rsp);
        qtest_clock_step(g->qts, 1000 * 1000000LL);
        rsp = qtest_qmp(g->qts, "{'execute': 'qom-get', 'arguments': "
                        "{'path': '/machine/peripheral/hb', "
                        "'property': 'stalled'}}");
        g_assert(qdict_get_bool(rsp, "return"));
        qobject_unref(rsp);
        /* a late but good answer ends the stall */
        buf[VMBIC_OFF_FLAGS] = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_RESPONSE;
        stq_le_p(buf + VMBIC_HDR_SIZE, seq + 1);
        guest_pkt(g, PKT_INBAND, buf, len, trans);
        g_assert_cmpint(qom_int(g, "beats"), ==, 2);
        rsp = qtest_qmp(g->qts, "{'execute': 'qom-get', 'arguments': "
                        "{'path': '/machine/peripheral/hb', "
                        "'property': 'stalled'}}");
        g_assert(!qdict_get_bool(rsp, "return"));
        qobject_unref(rsp);
    }
    /* QMP still answers and shows the counters */
    {
        QDict *rsp = qtest_qmp(g->qts, "{'execute': 'query-vmbus-ic', "
                               "'arguments': {'device': 'hb'}}");

        g_assert(qdict_haskey(rsp, "return"));
        qobject_unref(rsp);
    }
    qtest_quit(g->qts);
    g_free(g);
}

/* KVP enumerate answer: status, then body index + value struct. */
static uint32_t kvp_answer(uint8_t *buf, uint32_t status, uint32_t index,
                           const char *key, const char *value,
                           uint32_t key_size)
{
    uint8_t *p = buf + VMBIC_HDR_SIZE;
    uint8_t *v = p + 4 + 4;         /* kvp header, index */
    uint32_t len = VMBIC_HDR_SIZE + 4 + 4 + 12 + 512 + 2048;

    stl_le_p(buf + VMBIC_OFF_STATUS, status);
    buf[VMBIC_OFF_FLAGS] = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_RESPONSE;
    stw_le_p(buf + VMBIC_OFF_MSGSIZE, len - VMBIC_HDR_SIZE);
    stl_le_p(p + 4, index);
    memset(v, 0, 12 + 512 + 2048);
    stl_le_p(v, 1);
    for (int i = 0; key[i]; i++) {
        stw_le_p(v + 12 + 2 * i, key[i]);
    }
    for (int i = 0; value[i]; i++) {
        stw_le_p(v + 12 + 512 + 2 * i, value[i]);
    }
    stl_le_p(v + 4, key_size ? key_size : 2 * (strlen(key) + 1));
    stl_le_p(v + 8, 2 * (strlen(value) + 1));
    return len;
}

static void kvp_refresh(Guest *g)
{
    QDict *rsp = qtest_qmp(g->qts, "{'execute': 'vmbus-kvp-refresh'}");

    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
}

static void test_hostile_kvp(void)
{
    Guest *g;
    g_autofree uint8_t *buf = g_malloc(16384);
    uint64_t trans;
    uint32_t len;
    QDict *rsp;
    QList *items;
    QDict *it;

    dev_path = "/machine/peripheral/kvp";
    g = guest_open_dev("hv-kvp,id=kvp,refresh=0");
    len = host_pkt(g, buf, 16384, &trans);
    linux_negotiate(buf, len);
    guest_pkt(g, PKT_INBAND, buf, len, trans);
    assert_state(g, "ready");

    /* enumeration starts at once: index 0 of pool 2 */
    len = host_pkt(g, buf, 16384, &trans);
    g_assert_cmpuint(len, >=, VMBIC_HDR_SIZE + 7430);
    g_assert_cmpuint(buf[VMBIC_HDR_SIZE], ==, 3);       /* ENUMERATE */
    g_assert_cmpuint(buf[VMBIC_HDR_SIZE + 1], ==, 2);   /* auto pool */
    /* a success too short for the index */
    buf[VMBIC_OFF_FLAGS] = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_RESPONSE;
    stw_le_p(buf + VMBIC_OFF_MSGSIZE, 0);
    guest_pkt(g, PKT_INBAND, buf, VMBIC_HDR_SIZE + 6, trans);
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, 1);

    /* a key size beyond the key field */
    kvp_refresh(g);
    len = host_pkt(g, buf, 16384, &trans);
    len = kvp_answer(buf, 0, 0, "FullyQualifiedDomainName", "x", 4096);
    guest_pkt(g, PKT_INBAND, buf, len, trans);
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, 2);

    /* a lone surrogate in the value */
    kvp_refresh(g);
    len = host_pkt(g, buf, 16384, &trans);
    len = kvp_answer(buf, 0, 0, "OSName", "ab", 0);
    stw_le_p(buf + VMBIC_HDR_SIZE + 8 + 12 + 512, 0xdc00);
    guest_pkt(g, PKT_INBAND, buf, len, trans);
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, 3);

    /* good: one item, then "no more items" */
    kvp_refresh(g);
    len = host_pkt(g, buf, 16384, &trans);
    len = kvp_answer(buf, 0, 0, "FullyQualifiedDomainName", "qtest-guest", 0);
    guest_pkt(g, PKT_INBAND, buf, len, trans);
    len = host_pkt(g, buf, 16384, &trans);
    g_assert_cmpuint(ldl_le_p(buf + VMBIC_HDR_SIZE + 4), ==, 1);
    stl_le_p(buf + VMBIC_OFF_STATUS, VMBIC_S_CONT);
    stw_le_p(buf + VMBIC_OFF_MSGSIZE, 8);
    buf[VMBIC_OFF_FLAGS] = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_RESPONSE;
    guest_pkt(g, PKT_INBAND, buf, VMBIC_HDR_SIZE + 8, trans);
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, 3);

    rsp = qtest_qmp(g->qts, "{'execute': 'query-vmbus-ic', "
                    "'arguments': {'device': 'kvp'}}");
    it = qobject_to(QDict, qlist_peek(qdict_get_qlist(rsp, "return")));
    items = qdict_get_qlist(qdict_get_qdict(it, "kvp"), "items");
    g_assert_cmpuint(qlist_size(items), ==, 1);
    it = qobject_to(QDict, qlist_peek(items));
    g_assert_cmpstr(qdict_get_str(it, "key"), ==, "FullyQualifiedDomainName");
    g_assert_cmpstr(qdict_get_str(it, "value"), ==, "qtest-guest");
    qobject_unref(rsp);
    qtest_quit(g->qts);
    g_free(g);
    dev_path = "/machine/peripheral/hb";
}

/* The channel's notification count in query-vmbus. */
static int64_t chan_notifications(Guest *g)
{
    QDict *rsp = qtest_qmp(g->qts, "{'execute': 'query-vmbus'}");
    QList *l = qdict_get_qlist(qdict_get_qdict(rsp, "return"), "channels");
    QListEntry *e;
    int64_t n = -1;

    QLIST_FOREACH_ENTRY(l, e) {
        QDict *c = qobject_to(QDict, qlist_entry_obj(e));

        if (qdict_get_int(c, "relid") == g->relid) {
            n = qdict_get_int(c, "notifications");
        }
    }
    qobject_unref(rsp);
    g_assert_cmpint(n, >=, 0);
    return n;
}

#define BIG_RING        0x300000ULL
#define BIG_OUT_PAGES   20              /* header + 19 data pages */
#define BIG_PAGES       (BIG_OUT_PAGES + 4)
#define FLOOD_PKTS      2000u

/*
 * A ring full of minimal packets, signalled once, is read in slices of a
 * bounded number of packets, each slice a separate run of the channel's
 * handler from the main loop (counted in query-vmbus notifications), so
 * the main loop is never held for the whole ring.
 */
static void test_flood_sliced(void)
{
    Guest *g = guest_open();
    VmbWireRelid close = { .hdr.msgtype = VMBW_MSG_CLOSECHANNEL };
    VmbWireGpadlHeader gh = { 0 };
    VmbWireGpadlCreated gc;
    VmbWireOpenChannel oc = { 0 };
    VmbWireOpenResult orr;
    g_autofree uint8_t *pkts = g_malloc0(FLOOD_PKTS * 24);
    int64_t errs, before;

    /* reopen the channel on a bigger ring */
    close.child_relid = g->relid;
    g_assert_cmpuint(post(g, &close, sizeof(close)), ==, 0);
    qtest_clock_step(g->qts, 1000000);
    assert_state(g, "closed");
    qtest_memset(g->qts, BIG_RING, 0, BIG_PAGES * 4096);
    gh.hdr.msgtype = VMBW_MSG_GPADL_HEADER;
    gh.child_relid = g->relid;
    gh.gpadl = 0xB16;
    gh.range_buflen = 8 + 8 * BIG_PAGES;
    gh.rangecount = 1;
    gh.range0.byte_count = BIG_PAGES * 4096;
    for (int i = 0; i < BIG_PAGES; i++) {
        gh.pfn[i] = (BIG_RING >> 12) + i;
    }
    g_assert_cmpuint(post(g, &gh, 20 + 8 + 8 * BIG_PAGES), ==, 0);
    g_assert_cmpuint(recv_msg(g, &gc, sizeof(gc)), ==,
                     VMBW_MSG_GPADL_CREATED);
    g_assert_cmpuint(gc.creation_status, ==, 0);
    oc.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
    oc.child_relid = g->relid;
    oc.openid = g->relid;
    oc.ringbuffer_gpadlhandle = 0xB16;
    oc.downstream_ringbuffer_pageoffset = BIG_OUT_PAGES;
    g_assert_cmpuint(post(g, &oc, sizeof(oc)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &orr, sizeof(orr)), ==,
                     VMBW_MSG_OPENCHANNEL_RESULT);
    g_assert_cmpuint(orr.status, ==, 0);
    qtest_clock_step(g->qts, 1000000);

    /* descriptor only (offset8 = len8 = 2), each unsolicited */
    for (uint32_t i = 0; i < FLOOD_PKTS; i++) {
        uint8_t *p = pkts + i * 24;

        stw_le_p(p, PKT_INBAND);
        stw_le_p(p + 2, 2);
        stw_le_p(p + 4, 2);
        stq_le_p(p + 8, 0x10000 + i);
        stq_le_p(p + 16, (uint64_t)(i * 24) << 32);
    }
    g_assert_cmpuint(FLOOD_PKTS * 24, <, (BIG_OUT_PAGES - 1) * 4096);
    qtest_memwrite(g->qts, BIG_RING + 4096, pkts, FLOOD_PKTS * 24);
    qtest_writel(g->qts, BIG_RING, FLOOD_PKTS * 24);
    errs = qom_int(g, "guest-errors");
    before = chan_notifications(g);
    g_assert_cmpuint(port_cmd(g, CMD_SIGNAL_EVENT, 0, g->chan_conn, 0), ==,
                     0);
    for (int i = 0; i < 10000 &&
         qom_int(g, "guest-errors") < errs + FLOOD_PKTS; i++) {
        qtest_clock_step(g->qts, 1000);
    }
    g_assert_cmpint(qom_int(g, "guest-errors"), ==, errs + FLOOD_PKTS);
    g_assert_cmpuint(qtest_readl(g->qts, BIG_RING + 4), ==, FLOOD_PKTS * 24);
    /* one guest signal, many slices */
    g_assert_cmpint(chan_notifications(g) - before, >=, FLOOD_PKTS / 64);
    qtest_quit(g->qts);
    g_free(g);
}

/*
 * A device takes a GPADL of its channel only while the channel is open:
 * closing drops its references, and rescind or unload free GPADLs of a
 * channel that is not open at once.
 */
static void test_gpadl_ref_needs_open(void)
{
    Guest *g = guest_open();
    VmbWireRelid close = { .hdr.msgtype = VMBW_MSG_CLOSECHANNEL };

    g_assert_cmpuint(port_cmd(g, CMD_GPADL_GET, 0, g->relid, 0xE1E10), ==, 0);
    g_assert_cmpuint(port_cmd(g, CMD_GPADL_PUT, 0, 0, 0), ==, 0);
    g_assert_cmpuint(port_cmd(g, CMD_GPADL_GET, 0, g->relid, 0xBAD), ==, 1);
    close.child_relid = g->relid;
    g_assert_cmpuint(post(g, &close, sizeof(close)), ==, 0);
    qtest_clock_step(g->qts, 1000000);
    assert_state(g, "closed");
    /* the GPADL still exists, its channel is closed */
    g_assert_cmpuint(port_cmd(g, CMD_GPADL_GET, 0, g->relid, 0xE1E10), ==, 1);
    qtest_qmp_assert_success(g->qts, "{'execute': 'vmbus-rescind', "
                             "'arguments': {'id': 'hb'}}");
    qtest_quit(g->qts);
    g_free(g);
}

/*
 * Rescind closes the channel on the host side before RESCIND_CHANNELOFFER
 * goes out, and a rescinded guest skips GPADL_TEARDOWN and frees its ring
 * pages at once.  The device stays (vmbus-rescind) and would beat again
 * if it could: from RESCIND on the host must never touch those pages,
 * whatever the guest sends (CLOSECHANNEL, a signal, RELID_RELEASED) and
 * however much time passes.  The guest reuses the pages and checks
 * that what it wrote there survives.
 */
static void test_rescind_no_late_write(void)
{
    Guest *g = guest_open();
    VmbWireRelid close = { .hdr.msgtype = VMBW_MSG_CLOSECHANNEL };
    VmbWireRelid released = { .hdr.msgtype = VMBW_MSG_RELID_RELEASED };
    VmbWireRelid resc;
    g_autofree uint8_t *ring = g_malloc(RING_PAGES * 4096);
    g_autofree uint8_t *want = g_malloc(RING_PAGES * 4096);
    uint8_t buf[512];
    uint64_t trans;
    uint32_t len;
    int64_t requests;

    len = host_pkt(g, buf, sizeof(buf), &trans);
    linux_negotiate(buf, len);
    guest_pkt(g, PKT_INBAND, buf, len, trans);
    assert_state(g, "ready");
    /* one heartbeat answered, the next one due in a second */
    len = host_pkt(g, buf, sizeof(buf), &trans);
    stq_le_p(buf + VMBIC_HDR_SIZE, ldq_le_p(buf + VMBIC_HDR_SIZE) + 1);
    buf[VMBIC_OFF_FLAGS] = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_RESPONSE;
    guest_pkt(g, PKT_INBAND, buf, len, trans);
    g_assert_cmpint(qom_int(g, "responses"), ==, 2);

    qtest_qmp_assert_success(g->qts, "{'execute': 'vmbus-rescind', "
                             "'arguments': {'id': 'hb'}}");
    g_assert_cmpuint(recv_msg(g, &resc, sizeof(resc)), ==,
                     VMBW_MSG_RESCIND_CHANNELOFFER);
    g_assert_cmpuint(resc.child_relid, ==, g->relid);
    requests = qom_int(g, "requests");
    /*
     * Reused memory: a pattern everywhere but the ring indices, which keep
     * their values so that a host still using the ring would take it for
     * sound and write to it (moved indices would make it refuse the ring).
     */
    qtest_memread(g->qts, RING, want, RING_PAGES * 4096);
    memset(want + 64, 0xA5, IN_HDR - RING - 64);
    memset(want + (IN_HDR - RING) + 64, 0xA5, RING + RING_PAGES * 4096 -
           IN_HDR - 64);
    qtest_memwrite(g->qts, RING, want, RING_PAGES * 4096);

    for (int i = 0; i < 5; i++) {
        qtest_clock_step(g->qts, 1000 * 1000000LL);
    }
    close.child_relid = g->relid;
    g_assert_cmpuint(post(g, &close, sizeof(close)), ==, 0);
    port_cmd(g, CMD_SIGNAL_EVENT, 0, g->chan_conn, 0);
    qtest_clock_step(g->qts, 1000 * 1000000LL);
    released.child_relid = g->relid;
    g_assert_cmpuint(post(g, &released, sizeof(released)), ==, 0);
    for (int i = 0; i < 5; i++) {
        qtest_clock_step(g->qts, 1000 * 1000000LL);
    }

    qtest_memread(g->qts, RING, ring, RING_PAGES * 4096);
    for (uint32_t i = 0; i < RING_PAGES * 4096; i++) {
        if (ring[i] != want[i]) {
            g_test_message("ring byte 0x%x (page %u offset 0x%x) is 0x%02x",
                           i, i / 4096, i % 4096, ring[i]);
        }
        g_assert_cmphex(ring[i], ==, want[i]);
    }
    g_assert_cmpint(qom_int(g, "requests"), ==, requests);
    qtest_quit(g->qts);
    g_free(g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/ic/hostile-negotiate", test_hostile_negotiate);
    qtest_add_func("/vmbus/ic/hostile-heartbeat", test_hostile_heartbeat);
    qtest_add_func("/vmbus/ic/hmp-info", test_hmp_info);
    qtest_add_func("/vmbus/ic/one-per-service", test_one_per_service);
    qtest_add_func("/vmbus/ic/hostile-kvp", test_hostile_kvp);
    qtest_add_func("/vmbus/ic/flood-sliced", test_flood_sliced);
    qtest_add_func("/vmbus/ic/gpadl-ref-needs-open",
                   test_gpadl_ref_needs_open);
    qtest_add_func("/vmbus/ic/rescind-no-late-write",
                   test_rescind_no_late_write);
    return g_test_run();
}
