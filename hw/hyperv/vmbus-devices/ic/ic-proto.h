/*
 * Hyper-V integration components (ICs): wire format and negotiation
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Every IC service (heartbeat, shutdown, timesync, KVP, VSS, file copy)
 * exchanges inband VMBus packets that start with a pipe header (8 bytes)
 * and an ICMSG header (20 bytes), then the service's payload.  The host
 * asks, the guest answers in the same buffer with the RESPONSE flag set.
 * The first exchange on a freshly opened channel is NEGOTIATE: the host
 * lists the framework and message versions it speaks, the guest picks one
 * of each.
 *
 * This file is QEMU-free (GLib and stdint only) so the unit tests link it.
 * All fields are little-endian; everything is read byte-wise from a copy.
 */

#ifndef HW_HYPERV_VMBUS_IC_PROTO_H
#define HW_HYPERV_VMBUS_IC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMBIC_PIPE_HDR_SIZE     8
#define VMBIC_ICMSG_HDR_SIZE    20
/* Offset of the payload: pipe header + ICMSG header (Linux's ICMSG_HDR). */
#define VMBIC_HDR_SIZE          (VMBIC_PIPE_HDR_SIZE + VMBIC_ICMSG_HDR_SIZE)
/* NEGOTIATE payload: u16 framework count, u16 message count, u32 reserved,
 * then the versions (u16 major, u16 minor each). */
#define VMBIC_NEGOTIATE_SIZE    8
/* Linux refuses a NEGOTIATE listing more versions than this. */
#define VMBIC_NEGOTIATE_MAX_VERSIONS 100
/* Largest IC packet we send or accept (Linux reads into 4 pages at most). */
#define VMBIC_MAX_PACKET        (4 * 4096)

/* ICMSG header field offsets, from the start of the packet. */
#define VMBIC_OFF_FW_VERSION    8   /* u16 major, u16 minor */
#define VMBIC_OFF_TYPE          12  /* u16 */
#define VMBIC_OFF_MSG_VERSION   14  /* u16 major, u16 minor */
#define VMBIC_OFF_MSGSIZE       18  /* u16 */
#define VMBIC_OFF_STATUS        20  /* u32 */
#define VMBIC_OFF_TID           24  /* u8 */
#define VMBIC_OFF_FLAGS         25  /* u8 */

/* Message types (icmsgtype). */
enum {
    VMBIC_MSG_NEGOTIATE = 0,
    VMBIC_MSG_HEARTBEAT = 1,
    VMBIC_MSG_KVP = 2,
    VMBIC_MSG_SHUTDOWN = 3,
    VMBIC_MSG_TIMESYNC = 4,
    VMBIC_MSG_VSS = 5,
    VMBIC_MSG_FCOPY = 7,
};

/* icflags */
#define VMBIC_FLAG_TRANSACTION  1
#define VMBIC_FLAG_REQUEST      2
#define VMBIC_FLAG_RESPONSE     4

/* Status codes (HRESULTs) the guest puts in the ICMSG header. */
#define VMBIC_S_OK                  0x00000000u
#define VMBIC_E_FAIL                0x80004005u
#define VMBIC_S_CONT                0x80070103u
#define VMBIC_E_NOT_SUPPORTED       0x80070032u
#define VMBIC_E_INVALIDARG          0x80070057u

/* major << 16 | minor, as Linux writes them. */
#define VMBIC_VERSION(maj, min) ((uint32_t)(maj) << 16 | (uint16_t)(min))
#define VMBIC_VERSION_MAJOR(v)  ((uint16_t)((v) >> 16))
#define VMBIC_VERSION_MINOR(v)  ((uint16_t)(v))

/* The fields of both headers, decoded. */
typedef struct VmbicHdr {
    uint32_t pipe_flags;
    uint32_t pipe_msgsize;
    uint32_t fw_version;
    uint16_t type;
    uint32_t msg_version;
    uint16_t msgsize;
    uint32_t status;
    uint8_t tid;
    uint8_t flags;
} VmbicHdr;

typedef enum VmbicError {
    VMBIC_OK = 0,
    VMBIC_ERR_SHORT,        /* shorter than the headers or the payload */
    VMBIC_ERR_LONG,         /* longer than any IC packet */
    VMBIC_ERR_MSGSIZE,      /* icmsgsize beyond the packet */
    VMBIC_ERR_NOT_RESPONSE, /* RESPONSE flag missing */
    VMBIC_ERR_TYPE,         /* not the message type asked for */
    VMBIC_ERR_TID,          /* not the transaction asked for */
    VMBIC_ERR_COUNTS,       /* NEGOTIATE version counts invalid */
    VMBIC_ERR_VERSION,      /* a version the host did not offer */
    VMBIC_ERR_NO_MATCH,     /* the guest found no common version */
    VMBIC_ERR_BUFFER,       /* host-side buffer too small (a host bug) */
} VmbicError;

const char *vmbic_strerror(VmbicError err);
const char *vmbic_msg_type_name(uint16_t type);

/* Format a version as "major.minor" into buf (at least 12 bytes). */
void vmbic_version_str(uint32_t v, char *buf, size_t len);

/*
 * Write both headers and @payload_len payload bytes (copied from @payload,
 * or zeroed when NULL) into @buf.  Returns the packet length, or 0 if it
 * does not fit in @cap.
 */
size_t vmbic_build(uint8_t *buf, size_t cap, const VmbicHdr *hdr,
                   const void *payload, size_t payload_len);

/*
 * A host NEGOTIATE request listing @fw (n_fw) framework versions and @msg
 * (n_msg) message versions, best first.  Returns the packet length, or 0
 * if it does not fit or the counts are 0 or above the limit.
 */
size_t vmbic_build_negotiate(uint8_t *buf, size_t cap, uint8_t tid,
                             const uint32_t *fw, unsigned n_fw,
                             const uint32_t *msg, unsigned n_msg);

/* Decode both headers of @len bytes; checks lengths only. */
VmbicError vmbic_parse_hdr(const uint8_t *buf, size_t len, VmbicHdr *hdr);

/*
 * Check a guest's answer: headers valid, RESPONSE flag set, the type and
 * ICMSG transaction id of the request it answers.
 */
VmbicError vmbic_check_response(const uint8_t *buf, size_t len,
                                uint16_t type, uint8_t tid, VmbicHdr *hdr);

/*
 * Check a guest's NEGOTIATE answer to a request that offered @fw and @msg:
 * exactly one framework and one message version, each one of those
 * offered.  On VMBIC_OK *fw_out and *msg_out hold the chosen versions.
 * A guest that found no common version answers with both counts 0:
 * VMBIC_ERR_NO_MATCH.
 */
VmbicError vmbic_parse_negotiate(const uint8_t *buf, size_t len, uint8_t tid,
                                 const uint32_t *fw, unsigned n_fw,
                                 const uint32_t *msg, unsigned n_msg,
                                 uint32_t *fw_out, uint32_t *msg_out);

/*
 * KVP strings are UTF-16LE with a byte count.  Decode at most @bytes bytes
 * of @p, stopping at a NUL unit; invalid UTF-16 gives NULL.  g_free().
 */
char *vmbic_utf16_to_utf8(const uint8_t *p, size_t bytes);
/*
 * Encode @s as UTF-16LE with a terminating NUL into @out (@cap bytes).
 * Returns the bytes written including the NUL, or 0 if @s is not UTF-8
 * or does not fit.
 */
size_t vmbic_utf8_to_utf16(const char *s, uint8_t *out, size_t cap);

/* Little-endian accessors for payloads. */
static inline uint16_t vmbic_ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t vmbic_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t vmbic_ld64(const uint8_t *p)
{
    return (uint64_t)vmbic_ld32(p) | (uint64_t)vmbic_ld32(p + 4) << 32;
}
static inline void vmbic_st16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}
static inline void vmbic_st32(uint8_t *p, uint32_t v)
{
    vmbic_st16(p, v);
    vmbic_st16(p + 2, v >> 16);
}
static inline void vmbic_st64(uint8_t *p, uint64_t v)
{
    vmbic_st32(p, v);
    vmbic_st32(p + 4, v >> 32);
}

#endif
