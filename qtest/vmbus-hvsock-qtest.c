/*
 * qtest: the hv-sock device through the real vmbus-bridge, with the
 * qtest playing a Linux hv_sock guest through vmbus-test-port: TL
 * connect (refused, accepted, connection limit), pipe-mode data both
 * ways, host-initiated connections, and hostile pipe packets.
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
#include <sys/un.h>


#define MONITOR1        0x120000ULL
#define MONITOR2        0x121000ULL
#define RING            0x200000ULL     /* 8 pages: 4 out + 4 in */
#define RING_PAGES      8
#define OUT_DATA        (RING + 4096)
#define IN_HDR          (RING + 4 * 4096)
#define IN_DATA         (RING + 5 * 4096)

typedef struct Guest {
    QTestState *qts;
    uint32_t conn_id;
    char *dir;
    char *prefix;
    uint32_t out_write;         /* our outbound ring's write index */
    uint32_t gpadl;
} Guest;

static uint32_t port_cmd(Guest *g, uint32_t cmd, uint32_t vp, uint64_t a0,
                         uint64_t a1)
{
    return vtp_cmd(g->qts, cmd, vp, a0, a1);
}

static uint32_t post(Guest *g, uint32_t conn_id, const void *msg, uint32_t len)
{
    return vtp_post(g->qts, conn_id, msg, len);
}

/* Next message in VP 0's slot (type), or 0 if none arrives; host socket
 * I/O runs in real time, so the polls sleep a little after a while. */
static uint32_t recv_msg(Guest *g, void *buf, size_t buflen)
{
    return vtp_recv(g->qts, buf, buflen, NULL, 5000, 1000);
}

static Guest *guest_start(const char *props)
{
    Guest *g = g_new0(Guest, 1);
    VmbWireInitiateContact ic = { 0 };
    VmbWireVersionResponse vr;
    VmbWireRequestOffers ro = { .msgtype = VMBW_MSG_REQUESTOFFERS };

    g->dir = g_dir_make_tmp("hvsock-qtest.XXXXXX", NULL);
    g_assert(g->dir);
    g->prefix = g_strdup_printf("%s/hvs", g->dir);
    g->gpadl = 0xE1E10;
    g->qts = qtest_initf("-M q35 -nodefaults -device vmbus-test-port "
                         "-device vmbus-bridge "
                         "-device hv-sock,id=hvs0,path=%s%s",
                         g->prefix, props ? props : "");
    g_assert_cmpuint(port_cmd(g, CMD_SYNIC_ENABLE, 0, SIMP(0), SIEFP(0)), ==,
                     0);
    /* Connect at 5.3, as Linux does first. */
    ic.hdr.msgtype = VMBW_MSG_INITIATE_CONTACT;
    ic.vmbus_version_requested = VMBW_VERSION(5, 3);
    ic.msg_sint = MSG_SINT;
    ic.monitor_page1 = MONITOR1;
    ic.monitor_page2 = MONITOR2;
    g_assert_cmpuint(post(g, 4, &ic, sizeof(ic)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &vr, sizeof(vr)), ==,
                     VMBW_MSG_VERSION_RESPONSE);
    g_assert_cmpuint(vr.version_supported, ==, 1);
    g->conn_id = vr.msg_conn_id;
    /* hv-sock offers nothing up front. */
    g_assert_cmpuint(post(g, g->conn_id, &ro, sizeof(ro)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &vr, sizeof(vr)), ==,
                     VMBW_MSG_ALLOFFERS_DELIVERED);
    return g;
}

static void guest_end(Guest *g)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", g->dir);

    qtest_quit(g->qts);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(g->prefix);
    g_free(g->dir);
    g_free(g);
}

/* Linux's hv_sock service GUID for a port, in wire order. */
static VmbWireGuid port_guid(uint32_t port)
{
    static const uint8_t tail[12] = { 0xcb, 0xfa, 0xe6, 0x11, 0xbd, 0x58,
                                      0x64, 0x00, 0x6a, 0x79, 0x86, 0xd3 };
    VmbWireGuid gd;

    stl_le_p(gd.b, port);
    memcpy(gd.b + 4, tail, sizeof(tail));
    return gd;
}

static int host_listen(Guest *g, uint32_t port)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s_%u", g->prefix, port);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    return fd;
}

static uint32_t tl_connect(Guest *g, uint32_t ep_port, uint32_t svc_port,
                           void *reply, size_t len)
{
    VmbWireTlConnectRequest t = { 0 };

    t.hdr.msgtype = VMBW_MSG_TL_CONNECT_REQUEST;
    t.guest_endpoint_id = port_guid(ep_port);
    t.host_service_id = port_guid(svc_port);
    g_assert_cmpuint(post(g, g->conn_id, &t, sizeof(t)), ==, 0);
    return recv_msg(g, reply, len);
}

/* Ring GPADL + OPENCHANNEL for relid; fresh ring memory. */
static void open_channel(Guest *g, uint32_t relid)
{
    VmbWireGpadlHeader gh = { 0 };
    VmbWireGpadlCreated gc;
    VmbWireOpenChannel oc = { 0 };
    VmbWireOpenResult orr;

    g->gpadl++;
    gh.hdr.msgtype = VMBW_MSG_GPADL_HEADER;
    gh.child_relid = relid;
    gh.gpadl = g->gpadl;
    gh.range_buflen = 8 + 8 * RING_PAGES;
    gh.rangecount = 1;
    gh.range0.byte_count = RING_PAGES * 4096;
    for (int i = 0; i < RING_PAGES; i++) {
        gh.pfn[i] = (RING >> 12) + i;
    }
    qtest_memset(g->qts, RING, 0, RING_PAGES * 4096);
    qtest_writel(g->qts, RING + 64, 1);            /* feat_pending_send_sz */
    qtest_writel(g->qts, IN_HDR + 64, 1);
    g->out_write = 0;
    g_assert_cmpuint(post(g, g->conn_id, &gh, 20 + 8 + 8 * RING_PAGES), ==,
                     0);
    g_assert_cmpuint(recv_msg(g, &gc, sizeof(gc)), ==, VMBW_MSG_GPADL_CREATED);
    g_assert_cmpuint(gc.creation_status, ==, 0);
    oc.hdr.msgtype = VMBW_MSG_OPENCHANNEL;
    oc.child_relid = relid;
    oc.openid = relid;
    oc.ringbuffer_gpadlhandle = g->gpadl;
    oc.downstream_ringbuffer_pageoffset = RING_PAGES / 2;
    g_assert_cmpuint(post(g, g->conn_id, &oc, sizeof(oc)), ==, 0);
    g_assert_cmpuint(recv_msg(g, &orr, sizeof(orr)), ==,
                     VMBW_MSG_OPENCHANNEL_RESULT);
    g_assert_cmpuint(orr.status, ==, 0);
}

/*
 * Write one packet into our outbound ring (type, pipe header words,
 * payload) and signal the channel.  hdr_words: 0 = no pipe header.
 */
static void send_pkt(Guest *g, uint32_t relid, uint16_t type,
                     int hdr_words, uint32_t pipe_type, uint32_t data_size,
                     const void *data, uint32_t len)
{
    uint8_t pkt[256] = { 0 };
    uint32_t body = hdr_words ? 8 + len : len;
    uint32_t total = ROUND_UP(16 + body, 8);

    g_assert(total + 8 <= sizeof(pkt));
    stw_le_p(pkt + 0, type);
    stw_le_p(pkt + 2, 2);
    stw_le_p(pkt + 4, total / 8);
    if (hdr_words) {
        stl_le_p(pkt + 16, pipe_type);
        stl_le_p(pkt + 20, data_size);
        if (len) {
            memcpy(pkt + 24, data, len);
        }
    } else if (len) {
        memcpy(pkt + 16, data, len);
    }
    stq_le_p(pkt + total, (uint64_t)g->out_write << 32);   /* trailer */
    qtest_memwrite(g->qts, OUT_DATA + g->out_write, pkt, total + 8);
    g->out_write += total + 8;
    qtest_writel(g->qts, RING, g->out_write);
    port_cmd(g, CMD_SIGNAL_EVENT, 0, 0x2000 + relid, 0);
}

/* Read from the host socket until 'want' bytes or EOF (-1 on timeout). */
static int host_read(Guest *g, int fd, char *buf, int want)
{
    int got = 0;

    for (int i = 0; i < 3000 && got < want; i++) {
        ssize_t n = recv(fd, buf + got, want - got, MSG_DONTWAIT);

        if (n == 0) {
            return got;
        }
        if (n > 0) {
            got += n;
            continue;
        }
        qtest_clock_step(g->qts, 1000);
        g_usleep(1000);
    }
    return got ? got : -1;
}

static uint32_t n_conns(Guest *g)
{
    QDict *rsp = qtest_qmp(g->qts, "{'execute': 'query-hv-sock'}");
    uint32_t n = qlist_size(qdict_get_qlist(rsp, "return"));

    qobject_unref(rsp);
    return n;
}

/* RELID_RELEASED; then the connection must be gone. */
static void release_relid(Guest *g, uint32_t relid)
{
    VmbWireRelid r = { .hdr.msgtype = VMBW_MSG_RELID_RELEASED,
                       .child_relid = relid };

    g_assert_cmpuint(post(g, g->conn_id, &r, sizeof(r)), ==, 0);
    for (int i = 0; i < 1000 && n_conns(g); i++) {
        qtest_clock_step(g->qts, 1000);
    }
    g_assert_cmpuint(n_conns(g), ==, 0);
}

/* Nothing listens on PREFIX_P: TL_CONNECT_RESULT with an error. */
static void test_refused(void)
{
    Guest *g = guest_start(NULL);
    VmbWireTlConnectResult r;

    g_assert_cmpuint(tl_connect(g, 0x4321, 4000, &r, sizeof(r)), ==,
                     VMBW_MSG_TL_CONNECT_RESULT);
    g_assert_cmpuint(r.status, ==, VMBW_STATUS_CONNECTION_REFUSED);
    g_assert_cmpuint(ldl_le_p(r.service_id.b), ==, 4000);
    g_assert_cmpuint(n_conns(g), ==, 0);
    guest_end(g);
}

/* Accepted connect: offer, open, data both ways, EOF both ways, rescind. */
static void test_stream(void)
{
    Guest *g = guest_start(NULL);
    int lfd = host_listen(g, 4001), fd;
    VmbWireOfferChannel o;
    VmbWireRelid resc;
    char buf[64];
    uint8_t in[64];

    g_assert_cmpuint(tl_connect(g, 0x8001, 4001, &o, sizeof(o)), ==,
                     VMBW_MSG_OFFERCHANNEL);
    g_assert_cmpuint(o.chn_flags & VMBW_OFFER_FLAG_TLNPI_PROVIDER, !=, 0);
    g_assert_cmpuint(ldl_le_p(o.if_type.b), ==, 4001);
    g_assert_cmpuint(ldl_le_p(o.if_instance.b), ==, 0x8001);
    g_assert_cmpuint(o.user_def[VMBW_HVSOCK_USER_DEF_FOR_GUEST_ACCEPT], ==, 0);
    fd = accept(lfd, NULL, NULL);
    g_assert_cmpint(fd, >=, 0);
    open_channel(g, o.child_relid);

    /* guest -> host */
    send_pkt(g, o.child_relid, 6, 1, 1, 5, "hello", 5);
    g_assert_cmpint(host_read(g, fd, buf, 5), ==, 5);
    g_assert(!memcmp(buf, "hello", 5));

    /* host -> guest: inband packet, pipe header {1, 5}, payload */
    g_assert_cmpint(write(fd, "world", 5), ==, 5);
    for (int i = 0; i < 3000 && !qtest_readl(g->qts, IN_HDR); i++) {
        qtest_clock_step(g->qts, 1000);
        g_usleep(1000);
    }
    qtest_memread(g->qts, IN_DATA, in, sizeof(in));
    g_assert_cmpuint(lduw_le_p(in), ==, 6);
    g_assert_cmpuint(lduw_le_p(in + 2), ==, 2);
    g_assert_cmpuint(ldl_le_p(in + 16), ==, 1);
    g_assert_cmpuint(ldl_le_p(in + 20), ==, 5);
    g_assert(!memcmp(in + 24, "world", 5));
    g_assert_cmpuint(n_conns(g), ==, 1);

    /* guest EOF -> host sees EOF; host closes -> EOF packet + rescind */
    send_pkt(g, o.child_relid, 6, 1, 1, 0, NULL, 0);
    g_assert_cmpint(host_read(g, fd, buf, sizeof(buf)), ==, 0);
    close(fd);
    g_assert_cmpuint(recv_msg(g, &resc, sizeof(resc)), ==,
                     VMBW_MSG_RESCIND_CHANNELOFFER);
    g_assert_cmpuint(resc.child_relid, ==, o.child_relid);
    qtest_memread(g->qts, IN_DATA + 40, in, 32);
    g_assert_cmpuint(ldl_le_p(in + 20), ==, 0);      /* the EOF packet */
    release_relid(g, o.child_relid);
    close(lfd);
    guest_end(g);
}

/* A host client through PREFIX reaches a guest "listening" on 5000. */
static void test_host_initiated(void)
{
    Guest *g = guest_start(NULL);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    VmbWireOfferChannel o;
    char buf[64] = { 0 };
    int n;

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", g->prefix);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(write(fd, "CONNECT 5000\n", 13), ==, 13);
    g_assert_cmpuint(recv_msg(g, &o, sizeof(o)), ==, VMBW_MSG_OFFERCHANNEL);
    g_assert_cmpuint(ldl_le_p(o.if_type.b), ==, 5000);
    g_assert_cmpuint(o.user_def[VMBW_HVSOCK_USER_DEF_FOR_GUEST_ACCEPT], ==, 1);
    open_channel(g, o.child_relid);
    n = host_read(g, fd, buf, 3);
    g_assert_cmpint(n, ==, 3);
    g_assert(!memcmp(buf, "OK ", 3));
    close(fd);
    guest_end(g);
}

/* max-connections=1: the second connect is refused. */
static void test_limit(void)
{
    Guest *g = guest_start(",max-connections=1");
    int lfd = host_listen(g, 4002);
    VmbWireOfferChannel o;
    VmbWireTlConnectResult r;

    g_assert_cmpuint(tl_connect(g, 0x8001, 4002, &o, sizeof(o)), ==,
                     VMBW_MSG_OFFERCHANNEL);
    g_assert_cmpuint(tl_connect(g, 0x8002, 4002, &r, sizeof(r)), ==,
                     VMBW_MSG_TL_CONNECT_RESULT);
    g_assert_cmpuint(r.status, ==, VMBW_STATUS_INSUFFICIENT_RESOURCES);
    close(lfd);
    guest_end(g);
}

/* Bad pipe packets: the connection is closed and rescinded; QEMU lives. */
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

static void test_hostile(void)
{
    static const struct {
        const char *what;
        uint16_t type;
        int hdr;
        uint32_t pipe_type, size, len;
    } bad[] = {
        { "completion packet", 0xb, 1, 1, 4, 4 },
        { "no pipe header", 6, 0, 0, 0, 4 },
        { "pipe type 2", 6, 1, 2, 4, 4 },
        { "size beyond packet", 6, 1, 1, 0x10000, 4 },
        { "size huge", 6, 1, 1, 0xffffffff, 4 },
    };
    Guest *g = guest_start(NULL);
    int lfd = host_listen(g, 4003);

    for (int i = 0; i < ARRAY_SIZE(bad); i++) {
        VmbWireOfferChannel o;
        VmbWireRelid resc;
        char buf[16];
        int fd;

        g_test_message("%s", bad[i].what);
        g_assert_cmpuint(tl_connect(g, 0x9000 + i, 4003, &o, sizeof(o)), ==,
                         VMBW_MSG_OFFERCHANNEL);
        fd = accept(lfd, NULL, NULL);
        g_assert_cmpint(fd, >=, 0);
        open_channel(g, o.child_relid);
        send_pkt(g, o.child_relid, bad[i].type, bad[i].hdr, bad[i].pipe_type,
                 bad[i].size, "abcd", bad[i].len);
        g_assert_cmpuint(recv_msg(g, &resc, sizeof(resc)), ==,
                         VMBW_MSG_RESCIND_CHANNELOFFER);
        g_assert_cmpuint(resc.child_relid, ==, o.child_relid);
        g_assert_cmpint(host_read(g, fd, buf, sizeof(buf)), ==, 0);
        close(fd);
        release_relid(g, o.child_relid);
    }
    close(lfd);
    /* each bad packet is one hv_sock protocol fault */
    g_assert_cmpint(fault_count(g, "hvsock_protocol"), ==, ARRAY_SIZE(bad));
    guest_end(g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/hvsock/refused", test_refused);
    qtest_add_func("/vmbus/hvsock/stream", test_stream);
    qtest_add_func("/vmbus/hvsock/host-initiated", test_host_initiated);
    qtest_add_func("/vmbus/hvsock/limit", test_limit);
    qtest_add_func("/vmbus/hvsock/hostile", test_hostile);
    return g_test_run();
}
