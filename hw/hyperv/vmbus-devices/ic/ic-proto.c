/*
 * Hyper-V integration components: ICMSG headers and version negotiation
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * QEMU-free (GLib and stdint only): the unit tests link this file as is.
 * Every check here works on a copy of what the guest wrote.
 */

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include "ic-proto.h"

const char *vmbic_strerror(VmbicError err)
{
    switch (err) {
    case VMBIC_OK: return "ok";
    case VMBIC_ERR_SHORT: return "packet too short";
    case VMBIC_ERR_LONG: return "packet too long";
    case VMBIC_ERR_MSGSIZE: return "icmsgsize beyond the packet";
    case VMBIC_ERR_NOT_RESPONSE: return "not a response";
    case VMBIC_ERR_TYPE: return "unexpected message type";
    case VMBIC_ERR_TID: return "unexpected transaction id";
    case VMBIC_ERR_COUNTS: return "bad version counts";
    case VMBIC_ERR_VERSION: return "version not offered";
    case VMBIC_ERR_NO_MATCH: return "no common version";
    case VMBIC_ERR_BUFFER: return "host buffer too small";
    }
    return "unknown error";
}

const char *vmbic_msg_type_name(uint16_t type)
{
    switch (type) {
    case VMBIC_MSG_NEGOTIATE: return "negotiate";
    case VMBIC_MSG_HEARTBEAT: return "heartbeat";
    case VMBIC_MSG_KVP: return "kvp";
    case VMBIC_MSG_SHUTDOWN: return "shutdown";
    case VMBIC_MSG_TIMESYNC: return "timesync";
    case VMBIC_MSG_VSS: return "vss";
    case VMBIC_MSG_FCOPY: return "fcopy";
    }
    return "unknown";
}

void vmbic_version_str(uint32_t v, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u", VMBIC_VERSION_MAJOR(v), VMBIC_VERSION_MINOR(v));
}

static void st_version(uint8_t *p, uint32_t v)
{
    vmbic_st16(p, VMBIC_VERSION_MAJOR(v));
    vmbic_st16(p + 2, VMBIC_VERSION_MINOR(v));
}

static uint32_t ld_version(const uint8_t *p)
{
    return VMBIC_VERSION(vmbic_ld16(p), vmbic_ld16(p + 2));
}

size_t vmbic_build(uint8_t *buf, size_t cap, const VmbicHdr *hdr,
                   const void *payload, size_t payload_len)
{
    size_t len = VMBIC_HDR_SIZE + payload_len;

    if (len > cap || len > VMBIC_MAX_PACKET || payload_len > UINT16_MAX) {
        return 0;
    }
    memset(buf, 0, VMBIC_HDR_SIZE);
    vmbic_st32(buf, hdr->pipe_flags);
    vmbic_st32(buf + 4, VMBIC_ICMSG_HDR_SIZE + payload_len);
    st_version(buf + VMBIC_OFF_FW_VERSION, hdr->fw_version);
    vmbic_st16(buf + VMBIC_OFF_TYPE, hdr->type);
    st_version(buf + VMBIC_OFF_MSG_VERSION, hdr->msg_version);
    vmbic_st16(buf + VMBIC_OFF_MSGSIZE, payload_len);
    vmbic_st32(buf + VMBIC_OFF_STATUS, hdr->status);
    buf[VMBIC_OFF_TID] = hdr->tid;
    buf[VMBIC_OFF_FLAGS] = hdr->flags;
    if (payload) {
        memcpy(buf + VMBIC_HDR_SIZE, payload, payload_len);
    } else {
        memset(buf + VMBIC_HDR_SIZE, 0, payload_len);
    }
    return len;
}

size_t vmbic_build_negotiate(uint8_t *buf, size_t cap, uint8_t tid,
                             const uint32_t *fw, unsigned n_fw,
                             const uint32_t *msg, unsigned n_msg)
{
    VmbicHdr h = {
        .type = VMBIC_MSG_NEGOTIATE,
        .tid = tid,
        .flags = VMBIC_FLAG_TRANSACTION | VMBIC_FLAG_REQUEST,
    };
    /* The guest answers in place with two versions: leave room for them. */
    unsigned n = MAX(n_fw + n_msg, 2);
    size_t plen = VMBIC_NEGOTIATE_SIZE + 4 * n;
    uint8_t *p;
    size_t len;

    if (!n_fw || !n_msg || n_fw > VMBIC_NEGOTIATE_MAX_VERSIONS ||
        n_msg > VMBIC_NEGOTIATE_MAX_VERSIONS) {
        return 0;
    }
    h.fw_version = fw[0];
    h.msg_version = msg[0];
    len = vmbic_build(buf, cap, &h, NULL, plen);
    if (!len) {
        return 0;
    }
    p = buf + VMBIC_HDR_SIZE;
    vmbic_st16(p, n_fw);
    vmbic_st16(p + 2, n_msg);
    p += VMBIC_NEGOTIATE_SIZE;
    for (unsigned i = 0; i < n_fw; i++, p += 4) {
        st_version(p, fw[i]);
    }
    for (unsigned i = 0; i < n_msg; i++, p += 4) {
        st_version(p, msg[i]);
    }
    return len;
}

VmbicError vmbic_parse_hdr(const uint8_t *buf, size_t len, VmbicHdr *hdr)
{
    if (len < VMBIC_HDR_SIZE) {
        return VMBIC_ERR_SHORT;
    }
    if (len > VMBIC_MAX_PACKET) {
        return VMBIC_ERR_LONG;
    }
    hdr->pipe_flags = vmbic_ld32(buf);
    hdr->pipe_msgsize = vmbic_ld32(buf + 4);
    hdr->fw_version = ld_version(buf + VMBIC_OFF_FW_VERSION);
    hdr->type = vmbic_ld16(buf + VMBIC_OFF_TYPE);
    hdr->msg_version = ld_version(buf + VMBIC_OFF_MSG_VERSION);
    hdr->msgsize = vmbic_ld16(buf + VMBIC_OFF_MSGSIZE);
    hdr->status = vmbic_ld32(buf + VMBIC_OFF_STATUS);
    hdr->tid = buf[VMBIC_OFF_TID];
    hdr->flags = buf[VMBIC_OFF_FLAGS];
    if (hdr->msgsize > len - VMBIC_HDR_SIZE) {
        return VMBIC_ERR_MSGSIZE;
    }
    return VMBIC_OK;
}

VmbicError vmbic_check_response(const uint8_t *buf, size_t len,
                                uint16_t type, uint8_t tid, VmbicHdr *hdr)
{
    VmbicError err = vmbic_parse_hdr(buf, len, hdr);

    if (err) {
        return err;
    }
    if (!(hdr->flags & VMBIC_FLAG_RESPONSE)) {
        return VMBIC_ERR_NOT_RESPONSE;
    }
    if (hdr->type != type) {
        return VMBIC_ERR_TYPE;
    }
    if (hdr->tid != tid) {
        return VMBIC_ERR_TID;
    }
    return VMBIC_OK;
}

static bool in_list(uint32_t v, const uint32_t *list, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (list[i] == v) {
            return true;
        }
    }
    return false;
}

VmbicError vmbic_parse_negotiate(const uint8_t *buf, size_t len, uint8_t tid,
                                 const uint32_t *fw, unsigned n_fw,
                                 const uint32_t *msg, unsigned n_msg,
                                 uint32_t *fw_out, uint32_t *msg_out)
{
    VmbicHdr h;
    VmbicError err = vmbic_check_response(buf, len, VMBIC_MSG_NEGOTIATE,
                                          tid, &h);
    const uint8_t *p = buf + VMBIC_HDR_SIZE;
    uint16_t nf, nm;
    uint32_t f, m;

    if (err) {
        return err;
    }
    /* The counts and both chosen versions, even when counts are 0. */
    if (len < VMBIC_HDR_SIZE + VMBIC_NEGOTIATE_SIZE + 8) {
        return VMBIC_ERR_SHORT;
    }
    nf = vmbic_ld16(p);
    nm = vmbic_ld16(p + 2);
    if (nf == 0 && nm == 0) {
        return VMBIC_ERR_NO_MATCH;
    }
    if (nf != 1 || nm != 1) {
        return VMBIC_ERR_COUNTS;
    }
    f = ld_version(p + VMBIC_NEGOTIATE_SIZE);
    m = ld_version(p + VMBIC_NEGOTIATE_SIZE + 4);
    if (!in_list(f, fw, n_fw) || !in_list(m, msg, n_msg)) {
        return VMBIC_ERR_VERSION;
    }
    *fw_out = f;
    *msg_out = m;
    return VMBIC_OK;
}

char *vmbic_utf16_to_utf8(const uint8_t *p, size_t bytes)
{
    size_t n = bytes / 2, i;
    gunichar2 *u = g_new(gunichar2, n + 1);
    char *s;

    for (i = 0; i < n; i++) {
        u[i] = vmbic_ld16(p + 2 * i);
        if (!u[i]) {
            break;
        }
    }
    u[i] = 0;
    s = g_utf16_to_utf8(u, i, NULL, NULL, NULL);
    g_free(u);
    return s;
}

size_t vmbic_utf8_to_utf16(const char *s, uint8_t *out, size_t cap)
{
    glong n;
    gunichar2 *u = g_utf8_to_utf16(s, -1, NULL, &n, NULL);
    size_t bytes;

    if (!u) {
        return 0;
    }
    bytes = 2 * ((size_t)n + 1);
    if (bytes > cap) {
        g_free(u);
        return 0;
    }
    for (glong i = 0; i <= n; i++) {
        vmbic_st16(out + 2 * i, u[i]);
    }
    g_free(u);
    return bytes;
}
