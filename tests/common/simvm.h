/*
 * Simulated VM around the VMBus core: a fake host (the VmbcOps table over
 * fake guest RAM) and the raw side of a Linux-like guest, shared by the
 * unit tests, the fuzzers and the benchmarks
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The ops record every effect the core produces and check, on every
 * callback, the rules the glue relies on: messages are host->guest types
 * of the right size for an existing VP and a valid SINT, events target
 * existing VPs, devices hear only about open channels, and (with
 * check_writes) the core writes guest memory only inside the pages the
 * guest gave it.  A violated rule calls sim_fail().
 *
 * Each user keeps its specifics in its own files: tests/unit/simguest.c
 * (the Linux guest model with Check assertions), tests/fuzz/fuzz-common.c
 * (input decoding, seeds, injected faults from the input), tests/bench.
 */

#ifndef TESTS_COMMON_SIMVM_H
#define TESTS_COMMON_SIMVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "hw/hyperv/vmbus-core.h"

#define SIM_MAX_VPS         8u

typedef struct SimMsg {
    uint32_t vp, sint, len;
    union {
        uint8_t data[VMBW_MAX_PAYLOAD];
        VmbWireHdr hdr;
        uint64_t align;
    };
} SimMsg;

typedef struct SimEvent {
    uint32_t vp, sint, flag;
} SimEvent;

/* What the guest knows about one relid (Linux's vmbus_channel, reduced). */
typedef struct SimChan {
    bool present;
    bool rescinded;
    bool open;
    VmbWireOfferChannel offer;
    uint32_t ring_gpadl;
} SimChan;

typedef struct SimGuest {
    VmbcCore *core;
    VmbcOps ops;                /* per guest, so a test can swap hooks */
    VmbcConfig cfg;
    uint32_t nvps;
    uint8_t *mem;               /* mem_size bytes of guest RAM */
    size_t mem_size;
    bool check_always;          /* invariants after every post / signal */
    bool check_writes;          /* core writes only in the guest's pages */

    /* Recorded effects: inbox, events and released keep only their last
     * keep_max entries when it is not 0 (long runs stay bounded). */
    uint32_t keep_max;
    GQueue inbox;               /* SimMsg: host -> guest, in order */
    uint64_t n_posted;
    uint64_t n_by_type[VMBW_MSG_COUNT];
    bool slot_busy;             /* post_msg answers -EAGAIN */
    bool one_at_a_time;         /* slot becomes busy after each post */
    int post_error;             /* post_msg fails with this if != 0 */
    GArray *events;             /* SimEvent */
    uint64_t n_events;          /* all signal_event calls */
    int64_t now;
    bool timer_armed[VMBC_TIMER_COUNT];
    int64_t timer_expire[VMBC_TIMER_COUNT];

    /* injected faults, in percent, drawn from rng (xorshift) */
    uint8_t busy_pct;           /* a post leaves the slot busy */
    uint8_t drop_pct;           /* a post fails (SynIC off) */
    uint8_t fault_pct;          /* a guest-memory access faults */
    uint64_t rng;

    /* device side */
    int open_status;            /* what chan_open returns */
    uint32_t tl_status;         /* what tl_connect returns */
    void *tl_dev;               /* handed back by tl_connect */
    bool device_pins;           /* devices pin their ring GPADL when open */
    bool reoffer_subchannels;   /* chan_released re-offers a subchannel */
    VmbcGpadl *pinned[VMBW_MAX_RELIDS];
    int n_open, n_close, n_notify, n_released, n_tl, n_conn_changed;
    uint32_t last_notify_relid;
    uint32_t notified[VMBW_MAX_RELIDS];     /* chan_notify per relid */
    GArray *released;           /* relids, in order */
    int n_guest_errors;
    char last_error[256];
    bool quiet;

    /* Linux's struct vmbus_connection, reduced */
    uint32_t msg_conn_id;
    int conn_state;             /* 0 disconnected, 1 connecting, 2 up */
    uint32_t version;
    uint32_t ask_features;      /* feature_flags sent at 6.0 and later */
    uint32_t granted_features;  /* supported_features of a 20-byte reply */
    uint32_t next_gpadl_handle;
    int offer_in_progress;
    int nr_chan_close_on_suspend;
    int nr_chan_fixup_on_resume;
    SimChan chans[VMBW_MAX_RELIDS];
    VmbWireGuid suspended[VMBW_MAX_RELIDS];  /* primaries at suspend */
    uint32_t suspended_relid[VMBW_MAX_RELIDS];
    uint32_t n_suspended;
} SimGuest;

/*
 * A broken rule or a failed harness step.  Calls sim_fail_hook when set
 * (the unit tests make it a Check failure), else prints and aborts (a
 * fuzzer finding).
 */
void sim_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
extern void (*sim_fail_hook)(const char *msg);

/*
 * Set up sg (all fields zero but the ones below) and create its core
 * from cfg (ops and opaque are the simulation's; without atomic32 the
 * core uses its read + write fallback).  sim_fini() frees what it made.
 */
void sim_init(SimGuest *sg, const VmbcConfig *cfg, size_t mem_size,
              bool atomic32);
void sim_fini(SimGuest *sg);
/* sim_fail() unless vmbc_check_invariants holds. */
void sim_check_at(SimGuest *sg, const char *where);
/* true with pct percent chance (rng). */
bool sim_chance(SimGuest *sg, uint8_t pct);

/* Raw guest->host traffic as the glue delivers it; hypercall status. */
uint32_t sim_post(SimGuest *sg, uint32_t conn_id, const void *msg,
                  uint32_t len);
/* Post on the guest's current msg_conn_id (1 before one is known). */
uint32_t sim_send(SimGuest *sg, const void *msg, uint32_t len);
uint32_t sim_signal(SimGuest *sg, uint32_t conn_id);
SimMsg *sim_pop(SimGuest *sg);                 /* NULL if empty */
/* Most recent message of this type still in the inbox, or NULL. */
const SimMsg *sim_last_msg(SimGuest *sg, uint32_t type);
void sim_free_slot(SimGuest *sg);              /* slot_busy=false + EOM */

/* Message builders, posted with sim_send(). */
void sim_hdr(void *msg, uint32_t type);
/* INITIATE_CONTACT as Linux sends it (feature_flags at 6.0). */
uint32_t sim_initiate_pages(SimGuest *sg, uint32_t version, uint32_t vcpu,
                            uint64_t mon1, uint64_t mon2, uint64_t int_page);
/* GPADL_HEADER + bodies for a single range of npages (PFNs base..). */
uint32_t sim_gpadl_post(SimGuest *sg, uint32_t relid, uint32_t handle,
                        uint32_t npages, uint64_t base_pfn);
/* OPENCHANNEL with openid = relid. */
uint32_t sim_open_post(SimGuest *sg, uint32_t relid, uint32_t gpadl,
                       uint32_t split, uint32_t vp);

/* Number of channels the core holds. */
uint32_t sim_nchan(SimGuest *sg);

#endif /* TESTS_COMMON_SIMVM_H */
