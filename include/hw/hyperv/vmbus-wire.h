/*
 * VMBus channel-message wire format (guest <-> host control plane)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Layouts as the Hyper-V guest drivers (Linux include/linux/hyperv.h,
 * Debian 6.1/6.12 binaries) expect them.  Every multi-byte field is
 * little-endian; structs are packed because some 64-bit fields sit at
 * 4-byte offsets (GPADL_HEADER's PFN array).  Offsets below are from the
 * start of the HvPostMessage payload, i.e. they include the 8-byte
 * channel-message header.  Structs, constants and size checks only.
 */

#ifndef HW_HYPERV_VMBUS_WIRE_H
#define HW_HYPERV_VMBUS_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* ---- SynIC / hypercall level -------------------------------------- */

/* Maximum HvPostMessage payload (bytes). */
#define VMBW_MAX_PAYLOAD            240u
/* HvPostMessage message_type used for all VMBus channel messages. */
#define VMBW_HV_MESSAGE_TYPE        1u
/* SINT on which the guest receives channel messages (below 5.0). */
#define VMBW_MESSAGE_SINT           2u

/* Connection ids. */
#define VMBW_CONN_ID_MESSAGE        1u  /* channel messages, below 5.0 */
#define VMBW_CONN_ID_EVENT          2u  /* shared event, pre-2.4 int page */
#define VMBW_CONN_ID_MONITOR        3u  /* monitor page */
#define VMBW_CONN_ID_MESSAGE_4      4u  /* channel messages, 5.0 and later */

/* Hypercall status codes (RAX[15:0]). */
#define VMBW_HV_STATUS_SUCCESS                  0u
#define VMBW_HV_STATUS_INVALID_HYPERCALL_CODE   2u
#define VMBW_HV_STATUS_INVALID_HYPERCALL_INPUT  3u
#define VMBW_HV_STATUS_INVALID_PARAMETER        5u
#define VMBW_HV_STATUS_INSUFFICIENT_MEMORY      11u
#define VMBW_HV_STATUS_INVALID_CONNECTION_ID    18u
#define VMBW_HV_STATUS_INSUFFICIENT_BUFFERS     19u

/*
 * Status values carried inside channel messages (OPENCHANNEL_RESULT,
 * GPADL_CREATED, MODIFYCHANNEL_RESPONSE, TL_CONNECT_RESULT).  Linux only
 * tests for non-zero; Hyper-V uses NTSTATUS values, so do we.
 */
#define VMBW_STATUS_SUCCESS                 0x00000000u
#define VMBW_STATUS_UNSUCCESSFUL            0xC0000001u
#define VMBW_STATUS_INVALID_PARAMETER       0xC000000Du
#define VMBW_STATUS_QUOTA_EXCEEDED          0xC0000044u
#define VMBW_STATUS_INSUFFICIENT_RESOURCES  0xC000009Au
#define VMBW_STATUS_BAD_NETWORK_NAME        0xC00000CCu
#define VMBW_STATUS_INVALID_DEVICE_STATE    0xC0000184u
#define VMBW_STATUS_CONNECTION_REFUSED      0xC0000236u

/* ---- Protocol versions --------------------------------------------- */

#define VMBW_VERSION(major, minor)  ((uint32_t)(((major) << 16) | (minor)))
#define VMBW_VERSION_WS2008         VMBW_VERSION(0, 13)
#define VMBW_VERSION_WIN7           VMBW_VERSION(1, 1)
#define VMBW_VERSION_WIN8           VMBW_VERSION(2, 4)
#define VMBW_VERSION_WIN8_1         VMBW_VERSION(3, 0)
#define VMBW_VERSION_WIN10          VMBW_VERSION(4, 0)
#define VMBW_VERSION_WIN10_RS3_0    VMBW_VERSION(4, 1)  /* MODIFYCHANNEL */
#define VMBW_VERSION_WIN10_RS3_1    VMBW_VERSION(5, 0)  /* conn id 4, sint */
#define VMBW_VERSION_WIN10_RS4      VMBW_VERSION(5, 1)
#define VMBW_VERSION_WIN10_RS5      VMBW_VERSION(5, 2)
#define VMBW_VERSION_IRON           VMBW_VERSION(5, 3)  /* MODIFY response */
#define VMBW_VERSION_COPPER         VMBW_VERSION(6, 0)  /* feature flags */
#define VMBW_VERSION_MAJOR(v)       ((uint32_t)(v) >> 16)
#define VMBW_VERSION_MINOR(v)       ((uint32_t)(v) & 0xffffu)

/*
 * 6.0 feature flags: the guest asks for them in INITIATE_CONTACT, the
 * host grants a subset in VERSION_RESPONSE (supported_features).  Linux
 * asks for CONFIDENTIAL_CHANNELS only inside a confidential VM with a
 * paravisor, otherwise for nothing.
 */
#define VMBW_FEATURE_GUEST_SIGNAL_PARAMS        0x01u
#define VMBW_FEATURE_INTERRUPT_REDIRECTION      0x02u
#define VMBW_FEATURE_MODIFY_CONNECTION          0x04u  /* msgs 25, 26 */
#define VMBW_FEATURE_CLIENT_ID                  0x08u  /* 56-byte contact */
#define VMBW_FEATURE_CONFIDENTIAL_CHANNELS      0x10u  /* paravisor only */
#define VMBW_FEATURE_PAUSE_RESUME               0x20u  /* msgs 27..29 */
#define VMBW_FEATURE_SERVER_MONITOR_PAGES       0x40u
#define VMBW_FEATURE_GPA_PINNING                0x80u

/* ---- Channel message types ----------------------------------------- */

typedef enum VmbWireMsgType {
    VMBW_MSG_INVALID                    = 0,
    VMBW_MSG_OFFERCHANNEL               = 1,   /* host -> guest */
    VMBW_MSG_RESCIND_CHANNELOFFER       = 2,   /* host -> guest */
    VMBW_MSG_REQUESTOFFERS              = 3,   /* guest -> host */
    VMBW_MSG_ALLOFFERS_DELIVERED        = 4,   /* host -> guest */
    VMBW_MSG_OPENCHANNEL                = 5,   /* guest -> host */
    VMBW_MSG_OPENCHANNEL_RESULT         = 6,   /* host -> guest */
    VMBW_MSG_CLOSECHANNEL               = 7,   /* guest -> host */
    VMBW_MSG_GPADL_HEADER               = 8,   /* guest -> host */
    VMBW_MSG_GPADL_BODY                 = 9,   /* guest -> host */
    VMBW_MSG_GPADL_CREATED              = 10,  /* host -> guest */
    VMBW_MSG_GPADL_TEARDOWN             = 11,  /* guest -> host */
    VMBW_MSG_GPADL_TORNDOWN             = 12,  /* host -> guest */
    VMBW_MSG_RELID_RELEASED             = 13,  /* guest -> host */
    VMBW_MSG_INITIATE_CONTACT           = 14,  /* guest -> host */
    VMBW_MSG_VERSION_RESPONSE           = 15,  /* host -> guest */
    VMBW_MSG_UNLOAD                     = 16,  /* guest -> host */
    VMBW_MSG_UNLOAD_RESPONSE            = 17,  /* host -> guest */
    VMBW_MSG_OPEN_RESERVED_CHANNEL      = 18,  /* guest -> host (kdnet) */
    VMBW_MSG_CLOSE_RESERVED_CHANNEL     = 19,  /* guest -> host (kdnet) */
    VMBW_MSG_CLOSE_RESERVED_RESPONSE    = 20,  /* host -> guest */
    VMBW_MSG_TL_CONNECT_REQUEST         = 21,  /* guest -> host, 4.0+ */
    VMBW_MSG_MODIFYCHANNEL              = 22,  /* guest -> host, 4.1+ */
    VMBW_MSG_TL_CONNECT_RESULT          = 23,  /* host -> guest */
    VMBW_MSG_MODIFYCHANNEL_RESPONSE     = 24,  /* host -> guest, 5.3+ */
    VMBW_MSG_MODIFY_CONNECTION          = 25,  /* guest -> host, 6.0 */
    VMBW_MSG_MODIFY_CONNECTION_RESPONSE = 26,  /* host -> guest, 6.0 */
    VMBW_MSG_PAUSE                      = 27,  /* guest -> host, 6.0 */
    VMBW_MSG_PAUSE_RESPONSE             = 28,  /* host -> guest, 6.0 */
    VMBW_MSG_RESUME                     = 29,  /* guest -> host, 6.0 */
    VMBW_MSG_COUNT                      = 30,
} VmbWireMsgType;

/* ---- GUIDs ----------------------------------------------------------- */

/*
 * A GUID in wire order: data1 (u32), data2 (u16) and data3 (u16) are
 * little-endian, data4 is 8 plain bytes.  VMBW_GUID_INIT() builds that
 * byte layout from the textual form
 * "d1-d2-d3-d4[0]d4[1]-d4[2..7]", e.g. hv_netvsc's f8615163-df3e-46c5-...
 */
typedef struct VmbWireGuid {
    uint8_t b[16];
} VmbWireGuid;

#define VMBW_GUID_INIT(d1, d2, d3, a, b_, c, d, e, f, g, h)             \
    { { (uint8_t)(d1), (uint8_t)((d1) >> 8), (uint8_t)((d1) >> 16),      \
        (uint8_t)((d1) >> 24), (uint8_t)(d2), (uint8_t)((d2) >> 8),      \
        (uint8_t)(d3), (uint8_t)((d3) >> 8), (a), (b_), (c), (d), (e),   \
        (f), (g), (h) } }

/* ---- Messages ------------------------------------------------------- */

#define VMBW_PACKED __attribute__((packed))

/* Common 8-byte header of every channel message. */
typedef struct VMBW_PACKED VmbWireHdr {
    uint32_t msgtype;           /* VmbWireMsgType */
    uint32_t padding;
} VmbWireHdr;

/* Offer flags (chn_flags). */
#define VMBW_OFFER_FLAG_ENUMERATE_DEVICE_INTERFACE  0x0001u
/* 6.0 with CONFIDENTIAL_CHANNELS granted only; a host that does not
 * grant it never sets them (Linux then drops the offer). */
#define VMBW_OFFER_FLAG_CONFIDENTIAL_RING_BUFFER    0x0002u
#define VMBW_OFFER_FLAG_CONFIDENTIAL_EXT_MEMORY     0x0004u
#define VMBW_OFFER_FLAG_NAMED_PIPE_MODE             0x0010u
#define VMBW_OFFER_FLAG_TLNPI_PROVIDER              0x2000u  /* hv_sock */

/* user_def pipe modes (first u32 of user_def in pipe mode). */
#define VMBW_PIPE_TYPE_BYTE         0u
#define VMBW_PIPE_TYPE_MESSAGE      4u
#define VMBW_USER_DEF_SIZE          120u
/* hv_sock: offset in user_def of "is_for_guest_accept" (Linux's
 * u.pipe.user_def[0], i.e. "connection initiated by the host"). */
#define VMBW_HVSOCK_USER_DEF_FOR_GUEST_ACCEPT 4u

/* 1: OFFERCHANNEL, 196 bytes. */
typedef struct VMBW_PACKED VmbWireOfferChannel {
    VmbWireHdr hdr;
    VmbWireGuid if_type;                /* +8  class id */
    VmbWireGuid if_instance;            /* +24 instance id */
    uint64_t reserved1;                 /* +40 */
    uint64_t reserved2;                 /* +48 */
    uint16_t chn_flags;                 /* +56 */
    uint16_t mmio_megabytes;            /* +58 */
    uint8_t user_def[VMBW_USER_DEF_SIZE]; /* +60 (pipe: u32 mode + 116) */
    uint16_t sub_channel_index;         /* +180 */
    uint16_t mmio_megabytes_optional;   /* +182 */
    uint32_t child_relid;               /* +184 */
    uint8_t monitorid;                  /* +188 */
    uint8_t monitor_allocated;          /* +189 bit 0 */
    uint16_t is_dedicated_interrupt;    /* +190 bit 0 */
    uint32_t connection_id;             /* +192 */
} VmbWireOfferChannel;

/* 2: RESCIND_CHANNELOFFER; 7: CLOSECHANNEL; 13: RELID_RELEASED. */
typedef struct VMBW_PACKED VmbWireRelid {
    VmbWireHdr hdr;
    uint32_t child_relid;
} VmbWireRelid;
typedef VmbWireRelid VmbWireRescindOffer;
typedef VmbWireRelid VmbWireCloseChannel;
typedef VmbWireRelid VmbWireRelidReleased;

/* 5: OPENCHANNEL, 148 bytes. */
typedef struct VMBW_PACKED VmbWireOpenChannel {
    VmbWireHdr hdr;
    uint32_t child_relid;                       /* +8 */
    uint32_t openid;                            /* +12 */
    uint32_t ringbuffer_gpadlhandle;            /* +16 */
    uint32_t target_vp;                         /* +20 */
    uint32_t downstream_ringbuffer_pageoffset;  /* +24 */
    uint8_t userdata[VMBW_USER_DEF_SIZE];       /* +28 */
} VmbWireOpenChannel;

/* 6: OPENCHANNEL_RESULT, 20 bytes. */
typedef struct VMBW_PACKED VmbWireOpenResult {
    VmbWireHdr hdr;
    uint32_t child_relid;
    uint32_t openid;
    uint32_t status;
} VmbWireOpenResult;

/* One GPA range of a GPADL: followed by ceil((off+count)/4096) PFNs. */
typedef struct VMBW_PACKED VmbWireGpaRange {
    uint32_t byte_count;
    uint32_t byte_offset;
} VmbWireGpaRange;

#define VMBW_PAGE_SIZE              4096u
#define VMBW_GPADL_HEADER_MAX_PFNS  26u
#define VMBW_GPADL_BODY_MAX_PFNS    28u

/* 8: GPADL_HEADER; the range stream starts at +20. */
typedef struct VMBW_PACKED VmbWireGpadlHeader {
    VmbWireHdr hdr;
    uint32_t child_relid;       /* +8 */
    uint32_t gpadl;             /* +12 */
    uint16_t range_buflen;      /* +16 bytes of the range stream (mod 2^16) */
    uint16_t rangecount;        /* +18 */
    VmbWireGpaRange range0;     /* +20 */
    uint64_t pfn[VMBW_GPADL_HEADER_MAX_PFNS]; /* +28 */
} VmbWireGpadlHeader;
#define VMBW_GPADL_HEADER_FIXED     20u     /* bytes before range[0] */

/* 9: GPADL_BODY; more of the range stream from +16. */
typedef struct VMBW_PACKED VmbWireGpadlBody {
    VmbWireHdr hdr;
    uint32_t msgnumber;         /* +8 (Linux leaves 0) */
    uint32_t gpadl;             /* +12 */
    uint64_t pfn[VMBW_GPADL_BODY_MAX_PFNS]; /* +16 */
} VmbWireGpadlBody;
#define VMBW_GPADL_BODY_FIXED       16u

/* 10: GPADL_CREATED, 20 bytes. */
typedef struct VMBW_PACKED VmbWireGpadlCreated {
    VmbWireHdr hdr;
    uint32_t child_relid;
    uint32_t gpadl;
    uint32_t creation_status;
} VmbWireGpadlCreated;

/* 11: GPADL_TEARDOWN, 16 bytes. */
typedef struct VMBW_PACKED VmbWireGpadlTeardown {
    VmbWireHdr hdr;
    uint32_t child_relid;
    uint32_t gpadl;
} VmbWireGpadlTeardown;

/* 12: GPADL_TORNDOWN, 12 bytes. */
typedef struct VMBW_PACKED VmbWireGpadlTorndown {
    VmbWireHdr hdr;
    uint32_t gpadl;
} VmbWireGpadlTorndown;

/* 14: INITIATE_CONTACT, 40 bytes. */
typedef struct VMBW_PACKED VmbWireInitiateContact {
    VmbWireHdr hdr;
    uint32_t vmbus_version_requested;   /* +8 */
    uint32_t target_vcpu;               /* +12 VP index */
    union {
        uint64_t interrupt_page;        /* +16, below 5.0 */
        struct VMBW_PACKED {
            uint8_t msg_sint;           /* +16, 5.0 and later */
            uint8_t msg_vtl;            /* +17 */
            uint8_t reserved[2];
            uint32_t feature_flags;     /* +20, 6.0 and later */
        };
    };
    uint64_t monitor_page1;             /* +24 host -> guest */
    uint64_t monitor_page2;             /* +32 guest -> host */
} VmbWireInitiateContact;

/* 15: VERSION_RESPONSE, 16 bytes. */
typedef struct VMBW_PACKED VmbWireVersionResponse {
    VmbWireHdr hdr;
    uint8_t version_supported;          /* +8 */
    uint8_t connection_state;           /* +9 0 = ok */
    uint16_t padding;
    uint32_t msg_conn_id;               /* +12 */
} VmbWireVersionResponse;

/* 15: VERSION_RESPONSE as the host answers an accepted 6.0 contact,
 * 20 bytes (Linux reads the first 16). */
typedef struct VMBW_PACKED VmbWireVersionResponse2 {
    VmbWireVersionResponse base;
    uint32_t supported_features;        /* +16 granted VMBW_FEATURE_* */
} VmbWireVersionResponse2;

/* 3, 4, 16, 17, 27, 28, 29: header only. */
typedef VmbWireHdr VmbWireRequestOffers;
typedef VmbWireHdr VmbWireAllOffersDelivered;
typedef VmbWireHdr VmbWireUnload;
typedef VmbWireHdr VmbWireUnloadResponse;

/* 18: OPEN_RESERVED_CHANNEL, 28 bytes. */
typedef struct VMBW_PACKED VmbWireOpenReservedChannel {
    VmbWireHdr hdr;
    uint32_t channel_id;
    uint32_t target_vp;
    uint32_t target_sint;
    uint32_t ring_buffer_gpadl;
    uint32_t downstream_page_offset;
} VmbWireOpenReservedChannel;

/* 19: CLOSE_RESERVED_CHANNEL, 20 bytes. */
typedef struct VMBW_PACKED VmbWireCloseReservedChannel {
    VmbWireHdr hdr;
    uint32_t channel_id;
    uint32_t target_vp;
    uint32_t target_sint;
} VmbWireCloseReservedChannel;

/* 20: CLOSE_RESERVED_RESPONSE, 12 bytes. */
typedef VmbWireRelid VmbWireCloseReservedResponse;

/* 21: TL_CONNECT_REQUEST, 40 bytes. */
typedef struct VMBW_PACKED VmbWireTlConnectRequest {
    VmbWireHdr hdr;
    VmbWireGuid guest_endpoint_id;      /* +8 */
    VmbWireGuid host_service_id;        /* +24 */
} VmbWireTlConnectRequest;

/* 22: MODIFYCHANNEL, 16 bytes. */
typedef struct VMBW_PACKED VmbWireModifyChannel {
    VmbWireHdr hdr;
    uint32_t child_relid;
    uint32_t target_vp;
} VmbWireModifyChannel;

/* 23: TL_CONNECT_RESULT, 44 bytes. */
typedef struct VMBW_PACKED VmbWireTlConnectResult {
    VmbWireHdr hdr;
    VmbWireGuid endpoint_id;
    VmbWireGuid service_id;
    uint32_t status;
} VmbWireTlConnectResult;

/* 24: MODIFYCHANNEL_RESPONSE, 16 bytes. */
typedef struct VMBW_PACKED VmbWireModifyChannelResponse {
    VmbWireHdr hdr;
    uint32_t child_relid;
    uint32_t status;
} VmbWireModifyChannelResponse;

/* 25: MODIFY_CONNECTION, 24 bytes. */
typedef struct VMBW_PACKED VmbWireModifyConnection {
    VmbWireHdr hdr;
    uint64_t parent_to_child_monitor_page_gpa;
    uint64_t child_to_parent_monitor_page_gpa;
} VmbWireModifyConnection;

/* 26: MODIFY_CONNECTION_RESPONSE, 12 bytes. */
typedef struct VMBW_PACKED VmbWireModifyConnectionResponse {
    VmbWireHdr hdr;
    uint8_t connection_state;
    uint8_t padding[3];
} VmbWireModifyConnectionResponse;

/* ---- Monitor page (one 4 KiB page; two per connection) ------------- */

#define VMBW_MONITOR_GROUPS         4u
#define VMBW_MONITOR_PER_GROUP      32u
#define VMBW_MONITOR_IDS            128u

typedef struct VMBW_PACKED VmbWireMonitorTriggerGroup {
    uint32_t pending;
    uint32_t armed;
} VmbWireMonitorTriggerGroup;

typedef struct VMBW_PACKED VmbWireMonitorParameter {
    uint32_t connection_id;
    uint16_t flag_number;
    uint16_t rsvd;
} VmbWireMonitorParameter;

typedef struct VMBW_PACKED VmbWireMonitorPage {
    uint32_t trigger_state;                                         /* 0 */
    uint32_t rsvd1;
    VmbWireMonitorTriggerGroup trigger_group[VMBW_MONITOR_GROUPS];  /* 8 */
    uint64_t rsvd2[3];
    int32_t next_checktime[VMBW_MONITOR_GROUPS][VMBW_MONITOR_PER_GROUP]; /* 64 */
    uint16_t latency[VMBW_MONITOR_GROUPS][VMBW_MONITOR_PER_GROUP];  /* 576 */
    uint64_t rsvd3[32];
    VmbWireMonitorParameter parameter[VMBW_MONITOR_GROUPS]
                                     [VMBW_MONITOR_PER_GROUP];      /* 1088 */
    uint8_t rsvd4[1984];
} VmbWireMonitorPage;

/* Pre-2.4 interrupt page: host->guest bits in the first half, guest->host
 * bits in the second half (bit n = relid n). */
#define VMBW_INT_PAGE_RECV_OFFSET   0u
#define VMBW_INT_PAGE_SEND_OFFSET   2048u

/* Relids: 1..2047 (event bit 0 is not a channel). */
#define VMBW_MAX_RELIDS             2048u

/* ---- Compile-time checks -------------------------------------------- */

#define VMBW_CHECK_SIZE(t, n) \
    _Static_assert(sizeof(t) == (n), "sizeof(" #t ") != " #n)
#define VMBW_CHECK_OFF(t, f, n) \
    _Static_assert(offsetof(t, f) == (n), "offsetof(" #t ", " #f ") != " #n)

VMBW_CHECK_SIZE(VmbWireGuid, 16);
VMBW_CHECK_SIZE(VmbWireHdr, 8);
VMBW_CHECK_SIZE(VmbWireOfferChannel, 196);
VMBW_CHECK_OFF(VmbWireOfferChannel, if_type, 8);
VMBW_CHECK_OFF(VmbWireOfferChannel, if_instance, 24);
VMBW_CHECK_OFF(VmbWireOfferChannel, chn_flags, 56);
VMBW_CHECK_OFF(VmbWireOfferChannel, mmio_megabytes, 58);
VMBW_CHECK_OFF(VmbWireOfferChannel, user_def, 60);
VMBW_CHECK_OFF(VmbWireOfferChannel, sub_channel_index, 180);
VMBW_CHECK_OFF(VmbWireOfferChannel, child_relid, 184);
VMBW_CHECK_OFF(VmbWireOfferChannel, monitorid, 188);
VMBW_CHECK_OFF(VmbWireOfferChannel, monitor_allocated, 189);
VMBW_CHECK_OFF(VmbWireOfferChannel, is_dedicated_interrupt, 190);
VMBW_CHECK_OFF(VmbWireOfferChannel, connection_id, 192);
VMBW_CHECK_SIZE(VmbWireRelid, 12);
VMBW_CHECK_SIZE(VmbWireOpenChannel, 148);
VMBW_CHECK_OFF(VmbWireOpenChannel, downstream_ringbuffer_pageoffset, 24);
VMBW_CHECK_OFF(VmbWireOpenChannel, userdata, 28);
VMBW_CHECK_SIZE(VmbWireOpenResult, 20);
VMBW_CHECK_SIZE(VmbWireGpaRange, 8);
VMBW_CHECK_OFF(VmbWireGpadlHeader, range_buflen, 16);
VMBW_CHECK_OFF(VmbWireGpadlHeader, rangecount, 18);
VMBW_CHECK_OFF(VmbWireGpadlHeader, range0, VMBW_GPADL_HEADER_FIXED);
VMBW_CHECK_OFF(VmbWireGpadlHeader, pfn, 28);
VMBW_CHECK_SIZE(VmbWireGpadlHeader, 236);
_Static_assert(sizeof(VmbWireGpadlHeader) <= VMBW_MAX_PAYLOAD,
               "GPADL header exceeds payload");
VMBW_CHECK_OFF(VmbWireGpadlBody, pfn, VMBW_GPADL_BODY_FIXED);
VMBW_CHECK_SIZE(VmbWireGpadlBody, VMBW_MAX_PAYLOAD);
VMBW_CHECK_SIZE(VmbWireGpadlCreated, 20);
VMBW_CHECK_SIZE(VmbWireGpadlTeardown, 16);
VMBW_CHECK_SIZE(VmbWireGpadlTorndown, 12);
VMBW_CHECK_SIZE(VmbWireInitiateContact, 40);
VMBW_CHECK_OFF(VmbWireInitiateContact, target_vcpu, 12);
VMBW_CHECK_OFF(VmbWireInitiateContact, interrupt_page, 16);
VMBW_CHECK_OFF(VmbWireInitiateContact, msg_sint, 16);
VMBW_CHECK_OFF(VmbWireInitiateContact, msg_vtl, 17);
VMBW_CHECK_OFF(VmbWireInitiateContact, feature_flags, 20);
VMBW_CHECK_OFF(VmbWireInitiateContact, monitor_page1, 24);
VMBW_CHECK_OFF(VmbWireInitiateContact, monitor_page2, 32);
VMBW_CHECK_SIZE(VmbWireVersionResponse, 16);
VMBW_CHECK_OFF(VmbWireVersionResponse, msg_conn_id, 12);
VMBW_CHECK_SIZE(VmbWireVersionResponse2, 20);
VMBW_CHECK_OFF(VmbWireVersionResponse2, supported_features, 16);
VMBW_CHECK_SIZE(VmbWireOpenReservedChannel, 28);
VMBW_CHECK_SIZE(VmbWireCloseReservedChannel, 20);
VMBW_CHECK_SIZE(VmbWireTlConnectRequest, 40);
VMBW_CHECK_SIZE(VmbWireModifyChannel, 16);
VMBW_CHECK_SIZE(VmbWireTlConnectResult, 44);
VMBW_CHECK_SIZE(VmbWireModifyChannelResponse, 16);
VMBW_CHECK_SIZE(VmbWireModifyConnection, 24);
VMBW_CHECK_SIZE(VmbWireModifyConnectionResponse, 12);
VMBW_CHECK_SIZE(VmbWireMonitorTriggerGroup, 8);
VMBW_CHECK_SIZE(VmbWireMonitorParameter, 8);
VMBW_CHECK_OFF(VmbWireMonitorPage, trigger_group, 8);
VMBW_CHECK_OFF(VmbWireMonitorPage, next_checktime, 64);
VMBW_CHECK_OFF(VmbWireMonitorPage, latency, 576);
VMBW_CHECK_OFF(VmbWireMonitorPage, parameter, 1088);
VMBW_CHECK_SIZE(VmbWireMonitorPage, 4096);

#endif /* HW_HYPERV_VMBUS_WIRE_H */
