/*
 * Simulated Linux VMBus guest driving the VMBus core in unit tests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_UNIT_SIMGUEST_H
#define TESTS_UNIT_SIMGUEST_H

#include <check.h>
#include "hw/hyperv/vmbus-core.h"

#define SIM_MEM_SIZE        (1u << 20)      /* fake guest RAM: 1 MiB */
#define SIM_INT_PAGE        0x10000ull
#define SIM_MON_PAGE1       0x20000ull
#define SIM_MON_PAGE2       0x21000ull
#define SIM_FIRST_GPADL     0xE1E10u
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
    VmbcOps ops;
    VmbcConfig cfg;
    uint32_t nvps;

    /* host -> guest messages, in delivery order */
    GQueue inbox;
    bool slot_busy;             /* post_msg answers -EAGAIN */
    bool one_at_a_time;         /* slot becomes busy after each post */
    int post_error;             /* post_msg fails with this if != 0 */
    GArray *events;             /* SimEvent */
    uint8_t *mem;               /* SIM_MEM_SIZE bytes of guest RAM */
    int64_t now;
    bool timer_armed[VMBC_TIMER_COUNT];
    int64_t timer_expire[VMBC_TIMER_COUNT];

    /* device side */
    int open_status;            /* what chan_open returns */
    uint32_t tl_status;         /* what tl_connect returns */
    int n_open, n_close, n_notify, n_released, n_tl, n_conn_changed;
    uint32_t last_notify_relid;
    GArray *released;           /* relids, in order */
    void *tl_dev;               /* handed back by tl_connect */
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

/* Life cycle.  cfg_max_version 0 = core default (6.0). */
SimGuest *sim_new(uint32_t max_version);
SimGuest *sim_new_cfg(const VmbcConfig *cfg);
void sim_free(SimGuest *sg);
/* ck_assert on vmbc_check_invariants. */
void sim_check(SimGuest *sg);

/* Raw guest->host traffic; returns the hypercall status. */
uint32_t sim_post(SimGuest *sg, uint32_t conn_id, const void *msg,
                  uint32_t len);
/* Post on the guest's current msg_conn_id. */
uint32_t sim_send(SimGuest *sg, const void *msg, uint32_t len);
uint32_t sim_signal(SimGuest *sg, uint32_t conn_id);

/* host -> guest inspection */
uint32_t sim_inbox_len(SimGuest *sg);
SimMsg *sim_pop(SimGuest *sg);                 /* NULL if empty */
SimMsg *sim_expect(SimGuest *sg, uint32_t type); /* asserts, caller frees */
void sim_expect_none(SimGuest *sg);
/* Apply one host message to the guest model (like vmbus_onmessage). */
void sim_apply(SimGuest *sg, const SimMsg *m);
/* Pop and apply everything. */
void sim_drain(SimGuest *sg);
void sim_free_slot(SimGuest *sg);              /* slot_busy=false + EOM */

/* Guest helpers modelled on Linux */
uint32_t sim_initiate(SimGuest *sg, uint32_t version, uint32_t vcpu,
                      bool with_pages);
/* Linux's vmbus_negotiate_version walk from 5.3 (and 1.1/0.13 if old),
 * as the Debian 6.1 / 6.12 kernels do it. */
uint32_t sim_linux_connect(SimGuest *sg, bool try_old);
/* The same walk from 'top' down (6.0 for Linux 6.19 and later, or what
 * hv_vmbus.max_version= caps it at): versions above 'top' are skipped. */
uint32_t sim_linux_connect_from(SimGuest *sg, uint32_t top, bool try_old);
/* Connect at exactly 'version' (asserts success; at 6.0 and later the
 * 20-byte answer with supported_features 0). */
void sim_connect(SimGuest *sg, uint32_t version);
/* REQUESTOFFERS; returns the number of offers received. */
int sim_request_offers(SimGuest *sg);
/* GPADL_HEADER + bodies for a single range of npages (PFNs base..). */
uint32_t sim_gpadl_post(SimGuest *sg, uint32_t relid, uint32_t handle,
                        uint32_t npages, uint64_t base_pfn);
/* Same, then expects GPADL_CREATED and returns its status. */
uint32_t sim_gpadl(SimGuest *sg, uint32_t relid, uint32_t npages,
                   uint32_t *handle);
uint32_t sim_open(SimGuest *sg, uint32_t relid, uint32_t gpadl,
                  uint32_t split, uint32_t vp);
/* GPADL of 8 pages + OPENCHANNEL split 4 on vp 0; asserts success. */
void sim_open_channel(SimGuest *sg, uint32_t relid);
/* CLOSECHANNEL + GPADL teardown like vmbus_close(). */
void sim_close_channel(SimGuest *sg, uint32_t relid);
uint32_t sim_teardown(SimGuest *sg, uint32_t relid, uint32_t gpadl);
void sim_relid_released(SimGuest *sg, uint32_t relid);
void sim_unload(SimGuest *sg);
/* kexec: the new kernel restarts GPADL handles and the whole model. */
void sim_kexec(SimGuest *sg);
/* Hibernation as vmbus_bus_suspend()/vmbus_bus_resume() do it. */
void sim_suspend(SimGuest *sg);
void sim_resume(SimGuest *sg);
/* Advance the fake clock, firing timers. */
void sim_advance(SimGuest *sg, int64_t ns);

/* Offers */
VmbcOfferParams sim_params(uint32_t cls, uint32_t inst, uint16_t sub);
VmbcChannel *sim_offer(SimGuest *sg, uint32_t cls, uint32_t inst,
                       uint16_t sub);

/* Message builders */
void sim_hdr(void *msg, uint32_t type);

/* Number of channels the core holds. */
uint32_t sim_nchan(SimGuest *sg);

/* Suite runner used by every test main(). */
int sim_run_suite(Suite *s);

#endif /* TESTS_UNIT_SIMGUEST_H */
