/*
 * VMBus host protocol core: private state shared by the core's files
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_HYPERV_VMBUS_CORE_PRIV_H
#define HW_HYPERV_VMBUS_CORE_PRIV_H

#include <errno.h>
#include <string.h>

#include "hw/hyperv/vmbus-core.h"

/* Zero-padded private copy of a guest message. */
typedef union VmbcMsgBuf {
    uint8_t bytes[VMBW_MAX_PAYLOAD];
    uint64_t align;
    VmbWireHdr hdr;
} VmbcMsgBuf;

/* A host->guest message waiting for a free slot. */
typedef struct VmbcOutMsg {
    uint32_t vp;
    uint32_t sint;
    uint32_t len;
    uint8_t data[VMBW_MAX_PAYLOAD];
} VmbcOutMsg;

typedef enum VmbcGpadlState {
    VMBC_GPADL_RECEIVING = 0,   /* header seen, PFNs still arriving */
    VMBC_GPADL_COMPLETE,        /* GPADL_CREATED(0) sent */
    VMBC_GPADL_FAILED,          /* refused; absorbs its remaining bodies */
    VMBC_GPADL_STATE_COUNT,
} VmbcGpadlState;

typedef struct VmbcRange {
    uint32_t byte_count;
    uint32_t byte_offset;
    uint32_t pfn_start;         /* index into pfns[] */
    uint32_t npfns;
} VmbcRange;

struct VmbcGpadl {
    VmbcCore *core;
    uint32_t handle;
    uint32_t relid;
    VmbcGpadlState state;
    uint16_t range_buflen;      /* as sent (mod 2^16) */
    uint16_t rangecount;
    /* Range stream parser. */
    uint32_t ranges_done;       /* ranges whose header was parsed */
    uint32_t pfns_left;         /* PFNs still due for the current range */
    uint64_t words_seen;        /* 8-byte stream words consumed */
    /* Stream length in words if known (0: unknown); a FAILED GPADL is
     * dropped once that many words have arrived. */
    uint64_t expect_words;
    VmbcRange *ranges;          /* ranges_done used, grown as parsed */
    uint32_t ranges_cap;
    uint64_t *pfns;
    uint32_t npfns;
    uint32_t pfn_cap;
    uint64_t quota_bytes;       /* pages * 4096 charged to the quota */
    uint64_t bytes;             /* sum of byte_count */
    uint32_t pins;              /* open channel ring + device pins */
    bool teardown_pending;      /* answer TORNDOWN when pins drop to 0 */
    GList *chan_link;           /* in owner channel's gpadls; NULL only
                                 * for a FAILED GPADL with a bad relid */
};

struct VmbcChannel {
    VmbcCore *core;
    VmbcOfferParams params;
    uint32_t relid;
    uint32_t connection_id;
    VmbcChanState state;
    bool offered;               /* OFFERCHANNEL sent in this connection */
    bool tl_channel;            /* created for a TL_CONNECT_REQUEST */
    uint8_t monitor_id;         /* valid if monitor_allocated */
    bool has_monitor;
    uint32_t target_vp;
    uint32_t open_id;
    VmbcGpadl *ring_gpadl;      /* while open */
    uint32_t ring_split;
    uint8_t open_userdata[VMBW_USER_DEF_SIZE];
    uint64_t seq;               /* creation order */
    GList *gpadls;              /* VmbcGpadl * owned by relid */
};

typedef struct VmbcConn {
    VmbcConnState state;
    uint32_t version;
    uint32_t features;          /* granted 6.0 feature flags */
    uint32_t target_vcpu;
    uint32_t msg_sint;
    uint32_t msg_conn_id;
    uint64_t interrupt_page;
    uint64_t monitor_page1;
    uint64_t monitor_page2;
} VmbcConn;

struct VmbcCore {
    const VmbcOps *ops;
    void *opaque;
    uint32_t max_version;
    uint64_t gpadl_quota;
    uint32_t gpadl_max;
    uint32_t out_max;

    VmbcConn conn;
    /* Channels by relid; relid_busy also covers rescinded channels. */
    VmbcChannel *by_relid[VMBW_MAX_RELIDS];
    uint32_t n_channels;
    uint32_t next_relid;        /* creation-order cursor */
    uint64_t next_seq;
    /* (class, instance, subidx) -> relid last used, for stability. */
    GHashTable *relid_memory;   /* key: 34-byte g_bytes, value: relid */
    VmbcChannel *by_monitor[VMBW_MONITOR_IDS];

    GHashTable *gpadls;         /* handle -> VmbcGpadl */
    uint64_t gpadl_bytes;

    GQueue out;                 /* VmbcOutMsg * */
    bool flushing;              /* inside vmbc_out_flush() */
    uint32_t cur_type;          /* message being dispatched ... */
    bool dispatching;           /* ... valid while this is set */
    GHashTable *by_key;         /* (class, instance, subidx) -> channel */

    bool monitor_timer_armed;
    bool monitor_fault;         /* page 2 unreadable: stop polling */
    int64_t monitor_interval_ns;

    VmbcCounters counters;
};

/* core.c */
void vmbc_trace(VmbcCore *core, const char *event, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
void vmbc_guest_error(VmbcCore *core, VmbcFault fault, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
void vmbc_send(VmbcCore *core, const void *msg, size_t len);
void vmbc_send_offer(VmbcCore *core, VmbcChannel *chan);
/* A channel's identity (class, instance, subchannel index) as a hash key. */
GBytes *vmbc_chan_key(const VmbWireGuid *cls, const VmbWireGuid *inst,
                      uint16_t subidx);
bool vmbc_vp_valid(VmbcCore *core, uint32_t vp);
void vmbc_monitor_update(VmbcCore *core);
void vmbc_monitor_publish(VmbcCore *core, VmbcChannel *chan);
void vmbc_drop_guest_state(VmbcCore *core);

static inline uint32_t vmbc_le32(uint32_t v) { return GUINT32_FROM_LE(v); }
static inline uint16_t vmbc_le16(uint16_t v) { return GUINT16_FROM_LE(v); }
static inline uint64_t vmbc_le64(uint64_t v) { return GUINT64_FROM_LE(v); }

static inline bool vmbc_version_at_least(const VmbcCore *core, uint32_t v)
{
    return core->conn.state != VMBC_CONN_DISCONNECTED &&
           core->conn.version >= v;
}

/* chan.c */
void vmbc_h_open(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len);
void vmbc_h_close(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len);
void vmbc_h_relid_released(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len);
void vmbc_h_modify(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len);
void vmbc_h_tl_connect(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len);
void vmbc_chan_free(VmbcChannel *chan, bool notify);
void vmbc_chan_do_close(VmbcChannel *chan);
uint32_t vmbc_relid_alloc(VmbcCore *core, const VmbcOfferParams *p);
void vmbc_relid_remember(VmbcCore *core, const VmbcChannel *chan);
VmbcChannel *vmbc_chan_create(VmbcCore *core, const VmbcOfferParams *p,
                              uint32_t relid);
VmbcChannel *vmbc_chan_find_key(VmbcCore *core, const VmbWireGuid *cls,
                                const VmbWireGuid *inst, uint16_t subidx);

/* gpadl.c */
void vmbc_h_gpadl_header(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len);
void vmbc_h_gpadl_body(VmbcCore *core, const VmbcMsgBuf *m, uint32_t len);
void vmbc_h_gpadl_teardown(VmbcCore *core, const VmbcMsgBuf *m,
                           uint32_t len);
void vmbc_gpadl_destroy(VmbcGpadl *gpadl);
void vmbc_gpadl_release_chan(VmbcChannel *chan);
VmbcGpadl *vmbc_gpadl_alloc(VmbcCore *core, uint32_t handle, uint32_t relid);
bool vmbc_gpadl_add_word(VmbcGpadl *g, uint64_t w, uint32_t *status);
void vmbc_gpadl_free_all(VmbcCore *core);

#endif /* HW_HYPERV_VMBUS_CORE_PRIV_H */
