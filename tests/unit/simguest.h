/*
 * Simulated Linux VMBus guest driving the VMBus core in unit tests (the
 * guest model and Check assertions over tests/common/simvm.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_UNIT_SIMGUEST_H
#define TESTS_UNIT_SIMGUEST_H

#include <check.h>
#include "../common/simvm.h"

#define SIM_MEM_SIZE        (1u << 20)      /* fake guest RAM: 1 MiB */
#define SIM_INT_PAGE        0x10000ull
#define SIM_MON_PAGE1       0x20000ull
#define SIM_MON_PAGE2       0x21000ull
#define SIM_FIRST_GPADL     0xE1E10u

/* Life cycle.  cfg_max_version 0 = core default (6.0). */
SimGuest *sim_new(uint32_t max_version);
SimGuest *sim_new_cfg(const VmbcConfig *cfg);
void sim_free(SimGuest *sg);
/* ck_assert on vmbc_check_invariants. */
void sim_check(SimGuest *sg);


/* host -> guest inspection */
uint32_t sim_inbox_len(SimGuest *sg);
SimMsg *sim_expect(SimGuest *sg, uint32_t type); /* asserts, caller frees */
void sim_expect_none(SimGuest *sg);
/* Apply one host message to the guest model (like vmbus_onmessage). */
void sim_apply(SimGuest *sg, const SimMsg *m);
/* Pop and apply everything. */
void sim_drain(SimGuest *sg);

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


/* Suite runner used by every test main(). */
int sim_run_suite(Suite *s);

#endif /* TESTS_UNIT_SIMGUEST_H */
