/*
 * VMBus host protocol core (control plane): public API, QEMU-free
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The core plays the host end of the VMBus control plane: connection
 * negotiation (0.13 .. 6.0), channel offers / rescinds / open / close /
 * modify, GPADLs, hv_sock connect requests, guest notification (SIEF
 * bits, the pre-2.4 interrupt page, monitor pages) and save/restore.
 *
 * It performs no I/O of its own: every effect leaves through VmbcOps,
 * which the glue (QEMU) or a test implements.  It is single-threaded:
 * every function runs in one context (the main loop), except those
 * marked THREAD-SAFE, which the glue may call from a vCPU thread at
 * hypercall time.  Guest input is copied, then validated; bad input gets
 * a protocol status where the protocol has one, otherwise
 * ops->guest_error() plus a trace event.  Nothing a guest sends can make
 * the core abort or allocate without bound.
 *
 * Typical glue flow:
 *   HvPostMessage -> vmbc_post_message_check() (vCPU thread, returns the
 *     hypercall status) -> queue -> vmbc_handle_message() (main loop).
 *   HvSignalEvent -> vmbc_signal_event().
 *   Guest EOM on the message slot -> vmbc_msg_slot_freed().
 *   Timer expiry -> vmbc_timer_fired().
 *   Machine reset -> vmbc_reset().
 */

#ifndef HW_HYPERV_VMBUS_CORE_H
#define HW_HYPERV_VMBUS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "hw/hyperv/vmbus-wire.h"

typedef struct VmbcCore VmbcCore;
typedef struct VmbcChannel VmbcChannel;
typedef struct VmbcGpadl VmbcGpadl;

/* Timers the core asks for (one each). */
typedef enum VmbcTimer {
    VMBC_TIMER_MONITOR = 0,     /* monitor-page polling */
    VMBC_TIMER_COUNT,
} VmbcTimer;

/* Atomic operations on a 32-bit word of guest memory. */
typedef enum VmbcAtomicOp {
    VMBC_ATOMIC_OR = 0,         /* *p |= val, return old */
    VMBC_ATOMIC_XCHG,           /* *p = val, return old */
} VmbcAtomicOp;

/*
 * Effects.  All callbacks run in the core's context.  opaque is
 * VmbcConfig.opaque.  Optional callbacks may be NULL.  Callbacks may use
 * the accessors and vmbc_channel_notify_guest(); chan_released may also
 * call vmbc_offer() (e.g. to replace a subchannel).  Other re-entry into
 * the core from a callback is not supported.
 */
/*
 * What kind of guest error the core refused (VmbcOps.guest_error).  The
 * glue maps these 1:1, in this order, onto its fault conditions.
 */
typedef enum VmbcFault {
    VMBC_FAULT_MSG_MALFORMED,   /* size, header, type, connection id */
    VMBC_FAULT_MSG_STATE,       /* message not valid in this state/version */
    VMBC_FAULT_CONTACT,         /* INITIATE_CONTACT refused */
    VMBC_FAULT_GUEST_PAGE,      /* interrupt or monitor page unusable */
    VMBC_FAULT_SIGNAL,          /* event signalling the version forbids */
    VMBC_FAULT_CHANNEL,         /* open/close/modify/relid/TL messages */
    VMBC_FAULT_GPADL,           /* GPADL header/body/teardown */
    VMBC_FAULT_QUEUE_FULL,      /* host messages dropped, guest not reading */
    VMBC_FAULT_COUNT
} VmbcFault;

typedef struct VmbcOps {
    /*
     * Post a message to SIMP slot 'sint' of VP 'vp' with HvMessage type
     * 'msg_type' (always 1 here).  Returns 0 when written, -EAGAIN when
     * the slot is busy (the glue then sets msg_pending and calls
     * vmbc_msg_slot_freed() on the guest's EOM; the core keeps the message
     * and everything after it queued, in order), any other negative
     * errno to drop the message (e.g. SynIC disabled, as Hyper-V does).
     */
    int (*post_msg)(void *opaque, uint32_t vp, uint32_t sint,
                    uint32_t msg_type, const void *payload, size_t len);
    /* Set SIEF bit 'flag' of slot 'sint' on VP 'vp' and assert the SINT. */
    void (*signal_event)(void *opaque, uint32_t vp, uint32_t sint,
                         uint32_t flag);
    /* Guest physical memory; 0 or -EFAULT. */
    int (*read_gpa)(void *opaque, uint64_t gpa, void *buf, size_t len);
    int (*write_gpa)(void *opaque, uint64_t gpa, const void *buf,
                     size_t len);
    /* Optional: atomic op on an aligned u32 of guest memory (0/-EFAULT).
     * Without it the core falls back to read + write (racy vs. the guest
     * setting bits concurrently). */
    int (*atomic32)(void *opaque, uint64_t gpa, VmbcAtomicOp op,
                    uint32_t val, uint32_t *old);
    /* Timers: absolute expiry in now_ns() time. */
    void (*timer_mod)(void *opaque, VmbcTimer timer, int64_t expire_ns);
    void (*timer_del)(void *opaque, VmbcTimer timer);
    int64_t (*now_ns)(void *opaque);
    /* Does VP index 'vp' exist? */
    bool (*vp_exists)(void *opaque, uint32_t vp);

    /* Device hooks (chan's device: vmbc_chan_get_opaque()). */
    /* Guest asked to open: ring GPADL, split and target VP are set.
     * Return 0 to accept; non-zero is sent to the guest as the
     * OPENCHANNEL_RESULT status (negative values as UNSUCCESSFUL). */
    int (*chan_open)(void *opaque, VmbcChannel *chan);
    /* The channel is closing (guest CLOSECHANNEL, rescind, unload or
     * reset): stop touching the ring and drop every GPADL pin
     * (vmbc_gpadl_unpin) before returning; the GPADLs may be freed next. */
    void (*chan_close)(void *opaque, VmbcChannel *chan);
    /* The guest signalled the channel. */
    void (*chan_notify)(void *opaque, VmbcChannel *chan);
    /* The channel object is about to be freed (rescind completed by
     * RELID_RELEASED, or an auto-rescinded / TL channel dropped at
     * unload).  Last callback for chan. */
    void (*chan_released)(void *opaque, VmbcChannel *chan);
    /*
     * TL_CONNECT_REQUEST (hv_sock connect from the guest).  Return 0 to
     * accept: the core then offers an hv_sock channel (class = service,
     * instance = endpoint) whose device opaque is *chan_opaque.  Any
     * other value is sent back in TL_CONNECT_RESULT.  NULL: refused.
     */
    uint32_t (*tl_connect)(void *opaque, const VmbWireGuid *endpoint,
                           const VmbWireGuid *service, void **chan_opaque);
    /* Connection state or version changed (for QMP events / traces). */
    void (*conn_state_changed)(void *opaque);

    /* Optional: false skips formatting trace events (hot paths). */
    bool (*trace_enabled)(void *opaque);
    /* A trace event: 'event' is a stable name, the rest printf-style. */
    void (*trace)(void *opaque, const char *event, const char *fmt, ...)
        G_GNUC_PRINTF(3, 4);
    /*
     * The guest did something wrong: @fault says what kind of thing (glue:
     * a per-condition count, trace event and rate-limited LOG_GUEST_ERROR).
     */
    void (*guest_error)(void *opaque, VmbcFault fault, const char *fmt, ...)
        G_GNUC_PRINTF(3, 4);
} VmbcOps;

/* Configuration, fixed at creation. */
typedef struct VmbcConfig {
    const VmbcOps *ops;
    void *opaque;
    /* Highest version offered (exact VMBW_VERSION_* value); 0 =
     * VMBC_DEFAULT_MAX_VERSION. */
    uint32_t max_version;
    /* Per-VM GPADL limits; 0 = defaults (1280 MiB, 16384 GPADLs). */
    uint64_t gpadl_quota_bytes;
    uint32_t gpadl_max_count;
    /* Outgoing message queue limit; 0 = default (8192). */
    uint32_t out_queue_max;
} VmbcConfig;

/* Highest version offered unless configured otherwise: 6.0. */
#define VMBC_DEFAULT_MAX_VERSION    VMBW_VERSION_COPPER
/*
 * 6.0 feature flags this host can grant (VMBW_FEATURE_*): none.  A guest
 * asking for some connects at 6.0 all the same, with supported_features
 * 0; the messages those features allow (25..29) stay refused and offers
 * never carry the confidential flags.
 */
#define VMBC_GRANTABLE_FEATURES     0u
/* Offer flags a device may not set (VmbcOfferParams.flags). */
#define VMBC_OFFER_FLAGS_FORBIDDEN \
    (VMBW_OFFER_FLAG_CONFIDENTIAL_RING_BUFFER | \
     VMBW_OFFER_FLAG_CONFIDENTIAL_EXT_MEMORY)
#define VMBC_DEFAULT_GPADL_QUOTA    (1280ull << 20)
#define VMBC_DEFAULT_GPADL_COUNT    16384u
#define VMBC_DEFAULT_OUT_QUEUE      8192u
/* Channel connection ids are VMBC_CHAN_CONN_ID_BASE + relid. */
#define VMBC_CHAN_CONN_ID_BASE      0x2000u

/* GError domain of this API. */
#define VMBC_ERROR vmbc_error_quark()
typedef enum VmbcError {
    VMBC_ERROR_INVALID,         /* bad argument or stream */
    VMBC_ERROR_EXISTS,          /* duplicate channel */
    VMBC_ERROR_NO_SPACE,        /* relids exhausted */
    VMBC_ERROR_BUSY,            /* core not in the required state */
} VmbcError;
GQuark vmbc_error_quark(void);

/* Create / destroy.  Returns NULL and sets errp on a bad config. */
VmbcCore *vmbc_new(const VmbcConfig *cfg, GError **errp);
/* Frees everything; no callbacks are made. */
void vmbc_free(VmbcCore *core);

/* ---- Glue entry points ---------------------------------------------- */

/*
 * THREAD-SAFE.  Decide the HvPostMessage status at hypercall time:
 * unknown connection id -> INVALID_CONNECTION_ID (id 4 exists only when
 * max_version >= 5.0), message_type != 1 or len > 240 ->
 * INVALID_PARAMETER, else SUCCESS (the message may then be queued for
 * vmbc_handle_message()).  When its own queue is full the glue answers
 * INSUFFICIENT_BUFFERS itself (Linux retries on 11 and 19).
 */
uint32_t vmbc_post_message_check(const VmbcCore *core, uint32_t connection_id,
                                 uint32_t msg_type, uint32_t len);
/* THREAD-SAFE.  HvSignalEvent status: 0 for a channel or shared-event id,
 * else INVALID_CONNECTION_ID. */
uint32_t vmbc_signal_event_check(const VmbcCore *core, uint32_t connection_id);
/*
 * Change the highest version offered (0 = VMBC_DEFAULT_MAX_VERSION); it
 * applies from the next
 * INITIATE_CONTACT on (a connected guest keeps its version).  false for an
 * unknown version.
 */
bool vmbc_set_max_version(VmbcCore *core, uint32_t version);
uint32_t vmbc_get_max_version(const VmbcCore *core);

/*
 * Process one channel message (payload starts at the channel header).
 * Accepted on connection id 1, and on 4 when max_version >= 5.0, in any
 * state (Linux posts on the msg_conn_id VERSION_RESPONSE gave it; the
 * core does not insist on which of the two).  Then: length >= the
 * type's minimum, negotiated version >= the type's minimum, type allowed
 * in the connection state, handler.
 */
void vmbc_handle_message(VmbcCore *core, uint32_t connection_id,
                         const void *payload, size_t len);
/* HvSignalEvent: notify the channel (or scan the pre-2.4 interrupt page
 * for id 2).  Returns the hypercall status. */
uint32_t vmbc_signal_event(VmbcCore *core, uint32_t connection_id);
/* The guest freed the message slot (EOM): retry queued messages. */
void vmbc_msg_slot_freed(VmbcCore *core);
/* A timer set through ops->timer_mod expired. */
void vmbc_timer_fired(VmbcCore *core, VmbcTimer timer);
/* Machine reset: drop all guest state (connection, GPADLs, open state,
 * queued messages, auto-rescind channels); keep the device offers. */
void vmbc_reset(VmbcCore *core);

/* ---- Channels (device side) ----------------------------------------- */

typedef struct VmbcOfferParams {
    VmbWireGuid class_id;           /* if_type */
    VmbWireGuid instance_id;        /* if_instance */
    uint16_t flags;                 /* VMBW_OFFER_FLAG_* */
    uint16_t mmio_megabytes;
    uint8_t user_def[VMBW_USER_DEF_SIZE];
    uint16_t subchannel_index;      /* 0 = primary */
    bool monitor_allocated;         /* guest signals through monitor page */
    uint16_t monitor_latency;       /* 100 ns units; 0 = 100 us */
    bool dedicated_interrupt;
    /* Rescind after the guest closes it (automatic for subchannels and
     * hv_sock channels, as Hyper-V does). */
    bool rescind_on_close;
    void *dev_opaque;               /* vmbc_chan_get_opaque() */
} VmbcOfferParams;

/*
 * Offer a channel.  Before the guest asked for offers it is just stored;
 * afterwards OFFERCHANNEL is sent at once (hot-plug).  The relid is
 * stable: a (class, instance, subchannel) seen before gets its old relid
 * back if free; otherwise relids are given in creation order.  Fails
 * (NULL, errp set) on a duplicate, on VMBC_OFFER_FLAGS_FORBIDDEN in
 * params->flags, or when relids run out.
 */
VmbcChannel *vmbc_offer(VmbcCore *core, const VmbcOfferParams *params,
                        GError **errp);
/*
 * Withdraw a channel (hot-unplug, or a device's subchannel teardown).
 * If the guest knows the offer: the channel is closed (chan_close), its
 * GPADLs are released, RESCIND_CHANNELOFFER is sent and the relid stays
 * reserved until RELID_RELEASED, then chan_released is called.  If the
 * guest never saw it, chan_released is called at once.
 */
void vmbc_rescind(VmbcChannel *chan);

typedef enum VmbcChanState {
    VMBC_CHAN_CLOSED = 0,       /* offered (or waiting to be), not open */
    VMBC_CHAN_OPEN,             /* guest opened it; ring GPADL pinned */
    VMBC_CHAN_RESCINDED,        /* rescind sent, waiting RELID_RELEASED */
    VMBC_CHAN_STATE_COUNT,
} VmbcChanState;

VmbcCore *vmbc_chan_core(const VmbcChannel *chan);
void *vmbc_chan_get_opaque(const VmbcChannel *chan);
void vmbc_chan_set_opaque(VmbcChannel *chan, void *dev_opaque);
uint32_t vmbc_chan_relid(const VmbcChannel *chan);
uint32_t vmbc_chan_connection_id(const VmbcChannel *chan);
VmbcChanState vmbc_chan_state(const VmbcChannel *chan);
bool vmbc_chan_offered(const VmbcChannel *chan);   /* guest saw the offer */
const VmbcOfferParams *vmbc_chan_params(const VmbcChannel *chan);
uint32_t vmbc_chan_target_vp(const VmbcChannel *chan);
/* Valid while open: the ring GPADL and the send-ring size in pages
 * (guest->host ring first, host->guest ring after it). */
VmbcGpadl *vmbc_chan_ring_gpadl(const VmbcChannel *chan);
uint32_t vmbc_chan_ring_split(const VmbcChannel *chan);
const uint8_t *vmbc_chan_open_userdata(const VmbcChannel *chan);
VmbcChannel *vmbc_chan_by_relid(VmbcCore *core, uint32_t relid);
/*
 * Notify the guest that the channel has something for it: SIEF bit
 * relid on the channel's target VP (>= 2.4) or the pre-2.4 interrupt
 * page + event flag 0.  No-op unless open.
 */
void vmbc_channel_notify_guest(VmbcChannel *chan);

/* ---- GPADLs ----------------------------------------------------------- */

/*
 * GPADLs are built from GPADL_HEADER + GPADL_BODY messages (any number of
 * ranges, each range's PFN count = pages spanned by byte_offset +
 * byte_count) and charged to the per-VM quota as they arrive.  Refusals
 * are answered at once with GPADL_CREATED(status != 0); the remaining
 * body messages of a refused GPADL are swallowed silently.  GPADL_TEARDOWN
 * is answered with GPADL_TORNDOWN: at once, or once the last pin is gone
 * (open ring, device pins); unknown handles are answered too (a guest
 * error unless the channel was rescinded) so no guest thread hangs.
 * Rescind, UNLOAD and reset release GPADLs without any message.
 * Accessors below report a GPADL's data only once it is complete.
 */

VmbcGpadl *vmbc_gpadl_find(VmbcCore *core, uint32_t handle);
uint32_t vmbc_gpadl_handle(const VmbcGpadl *gpadl);
uint32_t vmbc_gpadl_relid(const VmbcGpadl *gpadl);
bool vmbc_gpadl_complete(const VmbcGpadl *gpadl);
uint32_t vmbc_gpadl_range_count(const VmbcGpadl *gpadl);
/* Range i: byte count, offset into its first page, its PFNs. */
bool vmbc_gpadl_range(const VmbcGpadl *gpadl, uint32_t i,
                      uint32_t *byte_count, uint32_t *byte_offset,
                      const uint64_t **pfns, uint32_t *npfns);
uint32_t vmbc_gpadl_pfn_count(const VmbcGpadl *gpadl);
const uint64_t *vmbc_gpadl_pfns(const VmbcGpadl *gpadl); /* all ranges */
uint64_t vmbc_gpadl_bytes(const VmbcGpadl *gpadl);      /* sum byte_count */
/* Pin a GPADL while a device uses it: a guest teardown is answered only
 * once the last pin is dropped. */
void vmbc_gpadl_pin(VmbcGpadl *gpadl);
void vmbc_gpadl_unpin(VmbcGpadl *gpadl);

/* ---- Save / restore ------------------------------------------------- */

/*
 * Append the whole core state (connection, channels, GPADLs, queued
 * messages) to 'out', versioned little-endian; equal states give equal
 * bytes.  Not saved: counters, device GPADL pins (devices pin again after
 * load), the relid memory of freed channels.  vmbc_load() validates
 * the stream completely before applying it.  It expects a core in the
 * reset state (as after vmbc_new + device offers): saved channels are
 * matched with existing ones by (class, instance, subchannel) and take
 * their saved relid and state; saved channels not offered yet are
 * created with dev_opaque NULL (the glue claims them with
 * vmbc_chan_set_opaque or rescinds them); device channels the stream
 * does not know get fresh relids and are offered if the guest is ready.
 * No device hooks are called, and queued messages are not posted until
 * the glue calls vmbc_msg_slot_freed() (e.g. when the VM runs again).
 * On failure the core is left untouched (reset state) and errp is set.
 */
void vmbc_save(const VmbcCore *core, GByteArray *out);
/* No stream vmbc_save() writes for this core is longer (for loaders that
 * must bound a length read from the stream before allocating). */
uint64_t vmbc_save_max_len(const VmbcCore *core);
bool vmbc_load(VmbcCore *core, const void *data, size_t len, GError **errp);

/* ---- Introspection -------------------------------------------------- */

typedef enum VmbcConnState {
    VMBC_CONN_DISCONNECTED = 0, /* no version agreed (initial, unload) */
    VMBC_CONN_CONNECTED,        /* version agreed, offers not requested */
    VMBC_CONN_READY,            /* REQUESTOFFERS seen: offers flow */
    VMBC_CONN_STATE_COUNT,
} VmbcConnState;

typedef struct VmbcConnInfo {
    VmbcConnState state;
    uint32_t version;           /* 0 when disconnected */
    uint32_t features;          /* 6.0 feature flags granted */
    uint32_t target_vcpu;
    uint32_t msg_sint;
    uint32_t msg_conn_id;
    uint64_t interrupt_page;
    uint64_t monitor_page1;
    uint64_t monitor_page2;
    uint32_t n_channels;
    uint32_t n_gpadls;
    uint64_t gpadl_bytes;       /* counted against the quota (pages) */
    uint32_t out_queue_len;
} VmbcConnInfo;

void vmbc_conn_info(const VmbcCore *core, VmbcConnInfo *info);
const char *vmbc_conn_state_name(VmbcConnState s);
const char *vmbc_chan_state_name(VmbcChanState s);
const char *vmbc_msg_name(uint32_t msgtype);

/* Channels in relid order; stop when fn returns false. */
void vmbc_foreach_channel(VmbcCore *core,
                          bool (*fn)(VmbcChannel *chan, void *arg),
                          void *arg);
/* GPADLs in handle order. */
void vmbc_foreach_gpadl(VmbcCore *core,
                        bool (*fn)(VmbcGpadl *gpadl, void *arg), void *arg);

typedef struct VmbcCounters {
    uint64_t in[VMBW_MSG_COUNT];        /* guest messages by type */
    uint64_t refused[VMBW_MSG_COUNT];   /* of which refused */
    uint64_t out[VMBW_MSG_COUNT];       /* host messages queued by type */
    uint64_t in_bad_type;               /* type outside 0..29 */
    uint64_t out_dropped;               /* queue overflow / post error */
    uint64_t guest_errors;
    uint64_t load_sections_skipped;     /* optional sections not known */
    uint64_t faults[VMBC_FAULT_COUNT];  /* guest_errors by condition */
} VmbcCounters;
const VmbcCounters *vmbc_counters(const VmbcCore *core);

/* ---- Helpers -------------------------------------------------------- */

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into wire order. */
bool vmbc_guid_parse(const char *str, VmbWireGuid *guid);
/* Format into buf (at least 37 bytes). */
void vmbc_guid_format(const VmbWireGuid *guid, char *buf);
bool vmbc_version_known(uint32_t version);

/* Consistency check of the whole state; false + *reason on violation. */
bool vmbc_check_invariants(const VmbcCore *core, const char **reason);

#endif /* HW_HYPERV_VMBUS_CORE_H */
