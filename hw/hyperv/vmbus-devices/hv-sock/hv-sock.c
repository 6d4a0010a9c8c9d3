/*
 * hv-sock: Hyper-V sockets (Linux AF_VSOCK over hv_sock) relayed to host
 * AF_UNIX sockets
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 *   -device hv-sock,id=hvs0,path=PREFIX[,max-connections=N]
 *                  [,accept-timeout=MS]
 *
 * Guest -> host.  A guest connect() to vsock port P sends
 * TL_CONNECT_REQUEST {endpoint, service}; Linux builds both GUIDs from
 * one template (hyperv_transport.c, srv_id_template
 * 00000000-facb-11e6-bd58-64006a7986d3) with the port in the first 32
 * bits.  We connect to the AF_UNIX socket "PREFIX_P" (a service GUID
 * that is not port-based: "PREFIX_<guid>").  If that fails the request
 * is refused with a TL_CONNECT_RESULT status; Linux ignores that message,
 * so the guest's connect() fails with its own timeout (ETIMEDOUT, 2 s by
 * default).  Otherwise the core offers an hv_sock channel (class =
 * service, instance = endpoint) and the guest opens it.
 *
 * Host -> guest.  We listen on "PREFIX".  A host process connects and
 * writes one line "CONNECT <port>\n" (or "CONNECT <service-guid>\n"); we
 * offer a channel with class = the guest's service GUID, instance = a
 * host endpoint GUID (template with a fresh host port) and
 * is_for_guest_accept set.  When the guest opens it (someone listens on
 * that port) we answer "OK <host-port>\n" and relay; if it is not opened
 * within accept-timeout the channel is rescinded and the host socket is
 * closed without an answer.
 *
 * Data.  Every ring packet is an inband packet holding a pipe header
 * {u32 pkt_type = 1 (data); u32 data_size} and data_size bytes; a
 * data_size of 0 is EOF (the sender shut down its sending side).  Linux
 * accepts host packets of up to HVS_MTU_SIZE (16 KiB) of data.
 *
 * Back-pressure.  Host -> guest: we read the host socket only while the
 * ring has room for a whole packet (vmbus_channel_reserve sets
 * pending_send_sz; the guest's signal resumes us).  Guest -> host: one
 * ring packet at most is held while the host socket is not writable;
 * the ring is not read meanwhile, so the guest blocks on a full ring.
 *
 * Close.  Linux never closes an hv_sock channel on its own: it sends EOF
 * and waits (8 s) for the host to rescind.  So the channel is rescinded
 * once both directions saw EOF (guest EOF passed on with
 * shutdown(SHUT_WR), host EOF sent as an empty packet), or at once on an
 * error (host socket gone, bad packet).  A guest CLOSECHANNEL (process
 * killed, hibernation) closes the host socket; the core rescinds.
 *
 * Connections cannot migrate (they hold host sockets): a migration
 * blocker is held while any connection has a channel.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/cutils.h"
#include "qemu/sockets.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands-vmbus-dev-hv-sock.h"
#include "qapi/qapi-types-vmbus-dev-hv-sock.h"
#include "hw/qdev-properties.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "hw/hyperv/vmbus.h"
#include "hw/hyperv/vmbus-fault.h"
#include "trace.h"

#define TYPE_HV_SOCK "hv-sock"
OBJECT_DECLARE_SIMPLE_TYPE(HvSock, HV_SOCK)

/* Linux hyperv_transport.c: struct vmpipe_proto_header, HVS_MTU_SIZE. */
#define HVS_PIPE_HDR_LEN        8
#define HVS_PIPE_PKT_DATA       1
#define HVS_HOST_CHUNK          (16 * 1024)
#define HVS_MIN_CHUNK           256
/* Largest guest data packet we take (Linux sends < 4 KiB). */
#define HVS_GUEST_MAX_DATA      (64 * 1024)
/* Work per callback before yielding to the main loop. */
#define HVS_BUDGET              32
#define HVS_HANDSHAKE_MAX       80
#define HVS_HANDSHAKE_TIMEOUT_MS 10000
/* Host endpoint ports for host-initiated connections start here. */
#define HVS_HOST_PORT_BASE      0x40000000u

/* 00000000-facb-11e6-bd58-64006a7986d3 */
static const QemuUUID hvs_template = {
    .data = { 0x00, 0x00, 0x00, 0x00, 0xfa, 0xcb, 0x11, 0xe6,
              0xbd, 0x58, 0x64, 0x00, 0x6a, 0x79, 0x86, 0xd3 },
};

typedef enum HvsState {
    HVS_HANDSHAKE,      /* host client, waiting for its CONNECT line */
    HVS_OFFERED,        /* channel offered, guest has not opened it */
    HVS_OPEN,           /* relaying */
    HVS_CLOSING,        /* rescinded or closed; waiting for the release */
} HvsState;

static const char *const hvs_state_name[] = {
    [HVS_HANDSHAKE] = "handshake",
    [HVS_OFFERED] = "offered",
    [HVS_OPEN] = "open",
    [HVS_CLOSING] = "closing",
};

typedef struct HvSockConn HvSockConn;

struct HvSock {
    VMBusDevice parent_obj;

    char *path;
    uint32_t max_conns;
    uint32_t accept_timeout_ms;

    int listen_fd;
    QTAILQ_HEAD(, HvSockConn) conns;
    uint32_t n_conns;           /* all of them */
    uint32_t n_chan_conns;      /* with a channel: these block migration */
    uint64_t next_id;
    uint32_t next_host_port;
    Error *mig_blocker;
    uint8_t *rbuf;              /* host -> guest packet being built */
    /* Guest errors (also counted by vmbus_guest_fault). */
    uint64_t guest_errors;
};

struct HvSockConn {
    QTAILQ_ENTRY(HvSockConn) next;
    HvSock *s;
    uint64_t id;
    int fd;
    bool from_host;
    uint32_t port;              /* service port (0: not port-based) */
    uint32_t host_port;         /* host-initiated: our endpoint's port */
    QemuUUID service, endpoint;
    VMBusChannel *chan;
    HvsState state;
    bool open;                  /* ring usable */
    bool ring_full;             /* waiting for the guest to free space */
    bool guest_eof, host_eof, shut_wr;
    uint32_t chunk;             /* host bytes per packet (small rings: less) */
    /* Guest -> host data not yet written to the host socket. */
    VMBusChanReq *pend;
    uint32_t pend_off, pend_len;
    uint64_t bytes_to_host, bytes_to_guest;
    QEMUTimer *timer;           /* handshake / accept timeout */
    char line[HVS_HANDSHAKE_MAX + 1];
    uint32_t line_len;
};

static void hvs_conn_fd_read(void *opaque);
static void hvs_conn_fd_write(void *opaque);
static void hvs_conn_pump(HvSockConn *c);

static const char *hvs_dev_name(HvSock *s)
{
    DeviceState *d = DEVICE(s);

    return d->id ? d->id : "hv-sock";
}

/*
 * Service GUIDs.  QemuUUID holds the text order (data1 big-endian);
 * the bus converts to the wire form (data1 little-endian), where Linux
 * reads the port as the first 32 bits: so in text order the port is
 * data1, big-endian, and the other 12 bytes are the template's.
 */
static QemuUUID hvs_service_uuid(uint32_t port)
{
    QemuUUID u = hvs_template;

    stl_be_p(u.data, port);
    return u;
}

static bool hvs_service_port(const QemuUUID *svc, uint32_t *port)
{
    if (memcmp(svc->data + 4, hvs_template.data + 4, 12)) {
        return false;
    }
    *port = ldl_be_p(svc->data);
    return true;
}

/* ---- migration blocker ------------------------------------------------ */

static bool hvs_blocker_get(HvSock *s, Error **errp)
{
    if (s->n_chan_conns++) {
        return true;
    }
    error_setg(&s->mig_blocker, "hv-sock '%s': open hv_sock connections "
               "hold host sockets and cannot migrate; close them first",
               hvs_dev_name(s));
    if (migrate_add_blocker(&s->mig_blocker, errp) < 0) {
        s->n_chan_conns--;
        return false;
    }
    return true;
}

static void hvs_blocker_put(HvSock *s)
{
    if (s->n_chan_conns && !--s->n_chan_conns) {
        migrate_del_blocker(&s->mig_blocker);
    }
}

/* ---- connections ------------------------------------------------------- */

static HvSockConn *hvs_conn_new(HvSock *s, int fd, bool from_host)
{
    HvSockConn *c = g_new0(HvSockConn, 1);

    c->s = s;
    c->id = ++s->next_id;
    c->fd = fd;
    c->from_host = from_host;
    c->chunk = HVS_HOST_CHUNK;
    QTAILQ_INSERT_TAIL(&s->conns, c, next);
    s->n_conns++;
    return c;
}

static void hvs_conn_update_fd(HvSockConn *c)
{
    bool rd, wr;

    if (c->fd < 0) {
        return;
    }
    rd = c->state == HVS_HANDSHAKE ||
         (c->open && !c->host_eof && !c->ring_full);
    wr = c->open && c->pend;
    qemu_set_fd_handler(c->fd, rd ? hvs_conn_fd_read : NULL,
                        wr ? hvs_conn_fd_write : NULL, c);
}

static void hvs_conn_close_fd(HvSockConn *c)
{
    if (c->fd >= 0) {
        qemu_set_fd_handler(c->fd, NULL, NULL, NULL);
        close(c->fd);
        c->fd = -1;
    }
    vmbus_free_req(c->pend);
    c->pend = NULL;
}

static void hvs_conn_free(HvSockConn *c)
{
    HvSock *s = c->s;

    trace_hvsock_conn_free(c->id, c->bytes_to_host, c->bytes_to_guest);
    hvs_conn_close_fd(c);
    if (c->timer) {
        timer_free(c->timer);
    }
    QTAILQ_REMOVE(&s->conns, c, next);
    s->n_conns--;
    g_free(c);
}

/*
 * End the connection: close the host socket and rescind the channel.
 * The connection is freed when the channel is released, which may
 * happen inside this call: callers must not touch @c afterwards.
 */
static void hvs_conn_end(HvSockConn *c, const char *why)
{
    VMBusChannel *chan = c->chan;

    trace_hvsock_conn_end(c->id, why);
    hvs_conn_close_fd(c);
    if (c->timer) {
        timer_del(c->timer);
    }
    c->open = false;
    if (!chan) {
        hvs_conn_free(c);
        return;
    }
    c->state = HVS_CLOSING;
    vmbus_channel_rescind(chan);
}

/* Both directions done: end it (Linux waits for our rescind). */
static bool hvs_conn_check_done(HvSockConn *c)
{
    if (c->guest_eof && c->shut_wr && c->host_eof && !c->pend) {
        hvs_conn_end(c, "both sides closed");
        return true;
    }
    return false;
}

/* A protocol error on one connection (it is closed after this). */
static void hvs_guest_error(HvSockConn *c, const char *what, uint32_t v)
{
    HvSock *s = c->s;

    s->guest_errors++;
    vmbus_guest_fault(OBJECT(s), VMBUS_FAULT_HVSOCK_PROTOCOL,
                      "hv-sock %s: connection %" PRIu64 " (relid %u): %s "
                      "(%u); connection closed", hvs_dev_name(s), c->id,
                      vmbus_channel_relid(c->chan), what, v);
}

/* Host -> guest: read the host socket while the ring has room. */
static bool hvs_pump_to_guest(HvSockConn *c)
{
    HvSock *s = c->s;

    for (int budget = HVS_BUDGET; budget; budget--) {
        ssize_t n;
        int r;

        if (!c->open || c->host_eof || c->fd < 0) {
            break;
        }
        r = vmbus_channel_reserve(c->chan, 0, HVS_PIPE_HDR_LEN + c->chunk);
        if (r == -EINVAL && c->chunk > HVS_MIN_CHUNK) {
            c->chunk /= 2;      /* a packet that size never fits the ring */
            budget++;
            continue;
        }
        if (r == -ENOSPC) {
            c->ring_full = true;
            trace_hvsock_ring_full(c->id);
            break;
        }
        if (r < 0) {
            hvs_conn_end(c, "ring unusable");
            return false;
        }
        n = recv(c->fd, s->rbuf + HVS_PIPE_HDR_LEN, c->chunk, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                      errno == EINTR)) {
            break;
        }
        if (n < 0) {
            trace_hvsock_host_error(c->id, "recv", errno);
            n = 0;              /* a broken host socket is its EOF */
        }
        stl_le_p(s->rbuf, HVS_PIPE_PKT_DATA);
        stl_le_p(s->rbuf + 4, n);
        if (vmbus_channel_send(c->chan, VMBUS_PACKET_DATA_INBAND, NULL, 0,
                               s->rbuf, HVS_PIPE_HDR_LEN + n, false, 0) < 0) {
            hvs_conn_end(c, "ring write failed");
            return false;
        }
        if (!n) {
            c->host_eof = true;
            trace_hvsock_host_eof(c->id);
            if (hvs_conn_check_done(c)) {
                return false;
            }
            break;
        }
        c->bytes_to_guest += n;
    }
    return true;
}

/* Write held guest data: 0 all written, 1 the host socket is full,
 * -1 the host socket is gone (the caller ends the connection). */
static int hvs_flush_pending(HvSockConn *c)
{
    while (c->pend) {
        ssize_t n = send(c->fd, (uint8_t *)c->pend->msg + c->pend_off,
                         c->pend_len, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 1;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            trace_hvsock_host_error(c->id, "send", errno);
            return -1;
        }
        c->bytes_to_host += n;
        c->pend_off += n;
        c->pend_len -= n;
        if (!c->pend_len) {
            vmbus_free_req(c->pend);
            c->pend = NULL;
        }
    }
    return 0;
}

/* Guest -> host: consume ring packets while the host socket takes them.
 * False if the connection ended. */
static bool hvs_pump_to_host(HvSockConn *c)
{
    const char *bad = NULL;
    uint32_t badv = 0;
    int fl;

    if (!c->open || c->fd < 0) {
        return true;
    }
    fl = hvs_flush_pending(c);
    if (fl < 0) {
        hvs_conn_end(c, "host socket closed");
        return false;
    }
    if (fl > 0) {
        return true;
    }
    if (vmbus_channel_recv_start(c->chan) < 0) {
        hvs_conn_end(c, "ring corrupt");
        return false;
    }
    for (int budget = HVS_BUDGET; budget && !c->pend && fl == 0; budget--) {
        VMBusChanReq *req = vmbus_channel_recv_peek(c->chan,
                                                    sizeof(VMBusChanReq));
        uint32_t type, size = 0;

        if (!req) {
            break;
        }
        vmbus_channel_recv_pop(c->chan);
        if (req->pkt_type != VMBUS_PACKET_DATA_INBAND) {
            bad = "packet type not inband";
            badv = req->pkt_type;
        } else if (req->msglen < HVS_PIPE_HDR_LEN) {
            bad = "packet shorter than the pipe header";
            badv = req->msglen;
        } else if ((type = ldl_le_p(req->msg)) != HVS_PIPE_PKT_DATA) {
            bad = "pipe packet type not data";
            badv = type;
        } else if ((size = ldl_le_p((uint8_t *)req->msg + 4)) >
                   req->msglen - HVS_PIPE_HDR_LEN ||
                   size > HVS_GUEST_MAX_DATA) {
            bad = "pipe data size beyond the packet";
            badv = size;
        } else if (c->guest_eof && size) {
            bad = "data after EOF";
            badv = size;
        }
        if (bad) {
            vmbus_free_req(req);
            break;
        }
        if (!size) {
            vmbus_free_req(req);
            c->guest_eof = true;
            trace_hvsock_guest_eof(c->id);
            continue;
        }
        c->pend = req;
        c->pend_off = HVS_PIPE_HDR_LEN;
        c->pend_len = size;
        fl = hvs_flush_pending(c);
    }
    vmbus_channel_recv_done(c->chan);
    /* Packets left (budget, or written before recv_done published our
     * read index): the guest will not signal for them. */
    if (!bad && fl == 0 && vmbus_channel_recv_pending(c->chan)) {
        vmbus_channel_notify_host(c->chan);
    }
    if (bad) {
        hvs_guest_error(c, bad, badv);
        hvs_conn_end(c, "bad packet from the guest");
        return false;
    }
    if (fl < 0) {
        hvs_conn_end(c, "host socket closed");
        return false;
    }
    if (c->guest_eof && !c->pend && !c->shut_wr) {
        shutdown(c->fd, SHUT_WR);
        c->shut_wr = true;
        if (hvs_conn_check_done(c)) {
            return false;
        }
    }
    return true;
}

static void hvs_conn_pump(HvSockConn *c)
{
    if (!hvs_pump_to_host(c)) {
        return;
    }
    if (!hvs_pump_to_guest(c)) {
        return;
    }
    hvs_conn_update_fd(c);
}

static void hvs_conn_fd_write(void *opaque)
{
    hvs_conn_pump(opaque);
}

/* ---- host-initiated: handshake ----------------------------------------- */

static void hvs_conn_timeout(void *opaque)
{
    HvSockConn *c = opaque;

    trace_hvsock_timeout(c->id, hvs_state_name[c->state]);
    hvs_conn_end(c, c->state == HVS_HANDSHAKE ? "handshake timeout"
                                              : "guest did not accept");
}

static void hvs_arm_timer(HvSockConn *c, uint32_t ms)
{
    if (!c->timer) {
        c->timer = timer_new_ms(QEMU_CLOCK_REALTIME, hvs_conn_timeout, c);
    }
    timer_mod(c->timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + ms);
}

static void hvs_reply(HvSockConn *c, const char *text)
{
    size_t len = strlen(text);

    /* A fresh socket always has room for one short line. */
    if (send(c->fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len) {
        trace_hvsock_host_error(c->id, "reply", errno);
    }
}

static bool hvs_parse_target(const char *arg, QemuUUID *svc, uint32_t *port)
{
    uint64_t v;

    if (!qemu_strtou64(arg, NULL, 10, &v) && v <= UINT32_MAX) {
        *port = v;
        *svc = hvs_service_uuid(v);
        return true;
    }
    if (!qemu_uuid_parse(arg, svc)) {
        if (!hvs_service_port(svc, port)) {
            *port = 0;
        }
        return true;
    }
    return false;
}

static void hvs_handshake_line(HvSockConn *c)
{
    HvSock *s = c->s;
    VMBusChannelOffer offer = { 0 };
    g_autoptr(GError) gerr = NULL;
    Error *err = NULL;
    char *arg;

    c->line[c->line_len] = 0;
    g_strchomp(c->line);
    arg = c->line + 8;
    if (strncmp(c->line, "CONNECT ", 8) ||
        !hvs_parse_target(g_strstrip(arg), &c->service, &c->port)) {
        trace_hvsock_handshake_bad(c->id);
        hvs_reply(c, "ERROR bad request\n");
        hvs_conn_end(c, "bad handshake");
        return;
    }
    c->host_port = s->next_host_port++;
    if (s->next_host_port < HVS_HOST_PORT_BASE) {
        s->next_host_port = HVS_HOST_PORT_BASE;
    }
    c->endpoint = hvs_service_uuid(c->host_port);
    if (!hvs_blocker_get(s, &err)) {
        trace_hvsock_refused(c->id, c->port, "migration in progress");
        error_free(err);
        hvs_reply(c, "ERROR migration in progress\n");
        hvs_conn_end(c, "migration blocker");
        return;
    }
    offer.classid = c->service;
    offer.instanceid = c->endpoint;
    offer.flags = VMBW_OFFER_FLAG_TLNPI_PROVIDER |
                  VMBW_OFFER_FLAG_NAMED_PIPE_MODE |
                  VMBW_OFFER_FLAG_ENUMERATE_DEVICE_INTERFACE;
    offer.user_def[VMBW_HVSOCK_USER_DEF_FOR_GUEST_ACCEPT] = 1;
    c->chan = vmbus_device_add_channel(VMBUS_DEVICE(s), &offer, c, &err);
    if (!c->chan) {
        trace_hvsock_refused(c->id, c->port, error_get_pretty(err));
        error_free(err);
        hvs_blocker_put(s);
        hvs_reply(c, "ERROR cannot offer\n");
        hvs_conn_end(c, "offer failed");
        return;
    }
    c->state = HVS_OFFERED;
    qemu_set_fd_handler(c->fd, NULL, NULL, NULL);
    hvs_arm_timer(c, s->accept_timeout_ms);
    trace_hvsock_host_connect(c->id, c->port, c->host_port,
                              vmbus_channel_relid(c->chan));
}

static void hvs_handshake_read(HvSockConn *c)
{
    uint32_t room = HVS_HANDSHAKE_MAX - c->line_len;
    ssize_t n = recv(c->fd, c->line + c->line_len, room,
                     MSG_PEEK | MSG_DONTWAIT);
    char *nl;

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        hvs_conn_end(c, "host closed during handshake");
        return;
    }
    nl = memchr(c->line + c->line_len, '\n', n);
    if (nl) {
        n = nl - (c->line + c->line_len) + 1;
    }
    /* Consume exactly what we keep: data after the line is the guest's. */
    n = recv(c->fd, c->line + c->line_len, n, MSG_DONTWAIT);
    if (n <= 0) {
        hvs_conn_end(c, "host closed during handshake");
        return;
    }
    c->line_len += n;
    if (nl) {
        hvs_handshake_line(c);
    } else if (c->line_len >= HVS_HANDSHAKE_MAX) {
        trace_hvsock_handshake_bad(c->id);
        hvs_conn_end(c, "handshake line too long");
    }
}

static void hvs_conn_fd_read(void *opaque)
{
    HvSockConn *c = opaque;

    if (c->state == HVS_HANDSHAKE) {
        hvs_handshake_read(c);
        return;
    }
    hvs_conn_pump(c);
}

static void hvs_listen_accept(void *opaque)
{
    HvSock *s = opaque;
    HvSockConn *c;
    int fd = qemu_accept(s->listen_fd, NULL, NULL);

    if (fd < 0) {
        return;
    }
    if (s->n_conns >= s->max_conns) {
        trace_hvsock_refused(0, 0, "connection limit");
        close(fd);
        return;
    }
    qemu_socket_set_nonblock(fd);
    c = hvs_conn_new(s, fd, true);
    c->state = HVS_HANDSHAKE;
    trace_hvsock_accept(c->id);
    hvs_arm_timer(c, HVS_HANDSHAKE_TIMEOUT_MS);
    hvs_conn_update_fd(c);
}

/* ---- guest-initiated ---------------------------------------------------- */

static uint32_t hvs_tl_connect(VMBusDevice *vdev, const QemuUUID *endpoint,
                               const QemuUUID *service, VMBusChannel **chan)
{
    HvSock *s = HV_SOCK(vdev);
    g_autofree char *svc = qemu_uuid_unparse_strdup(service);
    g_autofree char *path = NULL;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    Error *err = NULL;
    HvSockConn *c;
    uint32_t port = 0;
    int fd;

    if (hvs_service_port(service, &port)) {
        path = g_strdup_printf("%s_%u", s->path, port);
    } else {
        path = g_strdup_printf("%s_%s", s->path, svc);
    }
    trace_hvsock_guest_connect(svc, port, path);
    if (s->n_conns >= s->max_conns) {
        trace_hvsock_refused(0, port, "connection limit");
        return VMBUS_TL_STATUS_NO_RESOURCES;
    }
    if (strlen(path) >= sizeof(sun.sun_path)) {
        trace_hvsock_refused(0, port, "path too long");
        return VMBUS_TL_STATUS_REFUSED;
    }
    pstrcpy(sun.sun_path, sizeof(sun.sun_path), path);
    fd = qemu_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return VMBUS_TL_STATUS_NO_RESOURCES;
    }
    qemu_socket_set_nonblock(fd);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
        errno != EINPROGRESS) {
        trace_hvsock_refused(0, port, strerror(errno));
        close(fd);
        return VMBUS_TL_STATUS_REFUSED;
    }
    if (!hvs_blocker_get(s, &err)) {
        trace_hvsock_refused(0, port, "migration in progress");
        error_free(err);
        close(fd);
        return VMBUS_TL_STATUS_REFUSED;
    }
    c = hvs_conn_new(s, fd, false);
    c->port = port;
    c->service = *service;
    c->endpoint = *endpoint;
    c->state = HVS_OFFERED;
    c->chan = vmbus_device_new_tl_channel(vdev, c);
    hvs_arm_timer(c, s->accept_timeout_ms);
    *chan = c->chan;
    return 0;
}

/* ---- channel hooks ---------------------------------------------------- */

static int hvs_open_channel(VMBusChannel *chan)
{
    HvSockConn *c = vmbus_channel_get_opaque(chan);

    if (!c || c->state != HVS_OFFERED || c->fd < 0) {
        return -EINVAL;
    }
    c->state = HVS_OPEN;
    c->open = true;
    timer_del(c->timer);
    trace_hvsock_open(c->id, vmbus_channel_relid(chan));
    if (c->from_host) {
        g_autofree char *ok = g_strdup_printf("OK %u\n", c->host_port);

        hvs_reply(c, ok);
    }
    /* Start relaying after OPENCHANNEL_RESULT is on its way. */
    vmbus_channel_notify_host(chan);
    return 0;
}

static void hvs_close_channel(VMBusChannel *chan)
{
    HvSockConn *c = vmbus_channel_get_opaque(chan);

    if (!c) {
        return;
    }
    trace_hvsock_close(c->id, vmbus_channel_relid(chan));
    c->open = false;
    c->state = HVS_CLOSING;
    hvs_conn_close_fd(c);
    if (c->timer) {
        timer_del(c->timer);
    }
}

static void hvs_chan_notify(VMBusChannel *chan)
{
    HvSockConn *c = vmbus_channel_get_opaque(chan);

    if (!c || !c->open) {
        return;
    }
    c->ring_full = false;
    hvs_conn_pump(c);
}

static void hvs_channel_released(VMBusChannel *chan)
{
    HvSockConn *c = vmbus_channel_get_opaque(chan);

    if (!c) {
        return;
    }
    c->chan = NULL;
    hvs_blocker_put(c->s);
    hvs_conn_free(c);
}

static uint16_t hvs_num_channels(VMBusDevice *vdev)
{
    return 0;
}

/* ---- device ------------------------------------------------------------ */

static void hvs_realize(VMBusDevice *vdev, Error **errp)
{
    HvSock *s = HV_SOCK(vdev);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd;

    if (!s->path || !*s->path) {
        error_setg(errp, "hv-sock: 'path' is required (the AF_UNIX socket "
                   "prefix)");
        return;
    }
    /* PREFIX_<guid> must fit too. */
    if (strlen(s->path) + 1 + 36 >= sizeof(sun.sun_path)) {
        error_setg(errp, "hv-sock: path '%s' is too long for AF_UNIX "
                   "sockets", s->path);
        return;
    }
    if (!s->max_conns) {
        error_setg(errp, "hv-sock: max-connections must be at least 1");
        return;
    }
    pstrcpy(sun.sun_path, sizeof(sun.sun_path), s->path);
    fd = qemu_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "hv-sock: socket");
        return;
    }
    unlink(s->path);            /* a stale socket from an earlier run */
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        listen(fd, 16) < 0) {
        error_setg_errno(errp, errno, "hv-sock: cannot listen on '%s'",
                         s->path);
        close(fd);
        return;
    }
    qemu_socket_set_nonblock(fd);
    s->listen_fd = fd;
    s->rbuf = g_malloc(HVS_PIPE_HDR_LEN + HVS_HOST_CHUNK);
    s->next_host_port = HVS_HOST_PORT_BASE;
    qemu_set_fd_handler(fd, hvs_listen_accept, NULL, s);
}

static void hvs_unrealize(VMBusDevice *vdev)
{
    HvSock *s = HV_SOCK(vdev);
    HvSockConn *c, *tmp;

    /* Channel-less connections (handshake); the bus released the rest. */
    QTAILQ_FOREACH_SAFE(c, &s->conns, next, tmp) {
        if (!c->chan) {
            hvs_conn_free(c);
        }
    }
    if (s->listen_fd >= 0) {
        qemu_set_fd_handler(s->listen_fd, NULL, NULL, NULL);
        close(s->listen_fd);
        unlink(s->path);
        s->listen_fd = -1;
    }
    migrate_del_blocker(&s->mig_blocker);
    g_free(s->rbuf);
    s->rbuf = NULL;
}

static void hvs_instance_init(Object *obj)
{
    HvSock *s = HV_SOCK(obj);

    s->listen_fd = -1;
    QTAILQ_INIT(&s->conns);
}

/*
 * Migrates (nothing of its own) while no connection is open; open ones
 * hold a migration blocker.
 */
static const VMStateDescription vmstate_hv_sock = {
    .name = "hv-sock",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(parent_obj, HvSock, 0, vmstate_vmbus_dev,
                       VMBusDevice),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hvs_props[] = {
    DEFINE_PROP_STRING("path", HvSock, path),
    DEFINE_PROP_UINT32("max-connections", HvSock, max_conns, 64),
    DEFINE_PROP_UINT32("accept-timeout", HvSock, accept_timeout_ms, 5000),
};

static void hvs_hmp_info(VMBusDevice *vdev, Monitor *mon)
{
    HvSock *s = (HvSock *)vdev;
    HvSockConn *c;
    unsigned n = 0;

    QTAILQ_FOREACH(c, &s->conns, next) {
        n++;
    }
    monitor_printf(mon, "    %u connection(s)\n", n);
    QTAILQ_FOREACH(c, &s->conns, next) {
        monitor_printf(mon, "    conn %" PRIu64 ": %s port %u relid %u %s, "
                       "to host %" PRIu64 ", to guest %" PRIu64 "%s%s\n",
                       c->id, c->from_host ? "host" : "guest", c->port,
                       c->chan ? vmbus_channel_relid(c->chan) : 0,
                       hvs_state_name[c->state], c->bytes_to_host,
                       c->bytes_to_guest, c->guest_eof ? ", guest EOF" : "",
                       c->host_eof ? ", host EOF" : "");
    }
}

static void hvs_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);

    /* The class GUID names the device only (instance GUID derivation);
     * the device offers no channel of that class. */
    qemu_uuid_parse("00000000-facb-11e6-bd58-64006a7986d3", &vdc->classid);
    vdc->vmdev_realize = hvs_realize;
    vdc->vmdev_unrealize = hvs_unrealize;
    vdc->num_channels = hvs_num_channels;
    vdc->open_channel = hvs_open_channel;
    vdc->close_channel = hvs_close_channel;
    vdc->chan_notify_cb = hvs_chan_notify;
    vdc->tl_connect = hvs_tl_connect;
    vdc->channel_released = hvs_channel_released;
    vdc->hmp_info = hvs_hmp_info;
    dc->desc = "Hyper-V sockets (hv_sock) relayed to host AF_UNIX sockets";
    dc->vmsd = &vmstate_hv_sock;
    device_class_set_props(dc, hvs_props);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo hvs_type_info = {
    .name = TYPE_HV_SOCK,
    .parent = TYPE_VMBUS_DEVICE,
    .instance_size = sizeof(HvSock),
    .instance_init = hvs_instance_init,
    .class_init = hvs_class_init,
};

static void hvs_register_types(void)
{
    type_register_static(&hvs_type_info);
}

type_init(hvs_register_types)

/* ---- QMP ---------------------------------------------------------------- */

typedef struct HvsQueryCtx {
    HvSockConnectionInfoList **tail;
} HvsQueryCtx;

static int hvs_query_one(Object *obj, void *opaque)
{
    HvsQueryCtx *q = opaque;
    HvSock *s = (HvSock *)object_dynamic_cast(obj, TYPE_HV_SOCK);
    HvSockConn *c;

    if (!s || !DEVICE(s)->realized) {
        return 0;
    }
    QTAILQ_FOREACH(c, &s->conns, next) {
        HvSockConnectionInfo *i = g_new0(HvSockConnectionInfo, 1);

        i->device = DEVICE(s)->id ? g_strdup(DEVICE(s)->id)
                                  : object_get_canonical_path(obj);
        i->id = c->id;
        i->direction = g_strdup(c->from_host ? "host" : "guest");
        i->port = c->port;
        i->service_id = qemu_uuid_unparse_strdup(&c->service);
        i->endpoint_id = qemu_uuid_unparse_strdup(&c->endpoint);
        i->relid = c->chan ? vmbus_channel_relid(c->chan) : 0;
        i->state = g_strdup(hvs_state_name[c->state]);
        i->bytes_to_host = c->bytes_to_host;
        i->bytes_to_guest = c->bytes_to_guest;
        i->guest_eof = c->guest_eof;
        i->host_eof = c->host_eof;
        QAPI_LIST_APPEND(q->tail, i);
    }
    return 0;
}

HvSockConnectionInfoList *qmp_query_hv_sock(Error **errp)
{
    HvSockConnectionInfoList *head = NULL;
    HvsQueryCtx q = { .tail = &head };

    object_child_foreach_recursive(object_get_root(), hvs_query_one, &q);
    return head;
}
