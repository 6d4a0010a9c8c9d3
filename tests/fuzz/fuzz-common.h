/*
 * Fuzz harness support: input decoder, seed encoder, the simulated VM
 * (tests/common/simvm.h) set up from the input
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Debugging a reproducer (build/fuzz/tests/fuzz/<target> <file>):
 *   FZ_TRACE=1    print the core's trace events
 *   FZ_VERBOSE=1  print what the run did (messages, opens, notifies...)
 *   FZ_DUMP=1     on a save/load round-trip mismatch, write both streams
 *                 to /tmp/fz-save-a and /tmp/fz-save-b
 *   VMBUS_FUZZ_WRITE_SEEDS=DIR  write the target's seed corpus and exit
 */

#ifndef TESTS_FUZZ_FUZZ_COMMON_H
#define TESTS_FUZZ_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "../common/simvm.h"

/* ---- Input decoding --------------------------------------------------- */

/*
 * The fuzzer's bytes, consumed front to back.  Reads past the end give
 * zeroes, so every input decodes to some sequence of operations.
 */
typedef struct FzIn {
    const uint8_t *p;
    size_t left;
} FzIn;

static inline bool fz_more(const FzIn *in) { return in->left > 0; }
void fz_bytes(FzIn *in, void *out, size_t n);
uint8_t fz_u8(FzIn *in);
uint16_t fz_u16(FzIn *in);
uint32_t fz_u32(FzIn *in);
uint64_t fz_u64(FzIn *in);
/* A value in [0, n) from one byte (n <= 256) or two (n > 256). */
uint32_t fz_below(FzIn *in, uint32_t n);

/* ---- Seed encoding (mirror of the decoder) ---------------------------- */

typedef GByteArray FzOut;
void fo_u8(FzOut *o, uint8_t v);
void fo_u16(FzOut *o, uint16_t v);
void fo_u32(FzOut *o, uint32_t v);
void fo_u64(FzOut *o, uint64_t v);
void fo_bytes(FzOut *o, const void *p, size_t n);
/* Write o to dir/name (dir from VMBUS_FUZZ_WRITE_SEEDS) and free it. */
void fo_write(FzOut *o, const char *dir, const char *name);
/*
 * Seed mode: when VMBUS_FUZZ_WRITE_SEEDS names a directory, call
 * writer(dir) and exit.  For LLVMFuzzerInitialize().
 */
void fz_seed_mode(void (*writer)(const char *dir));

/* ---- Simulated VM ----------------------------------------------------- */

#define FZ_MEM_SIZE     (256u * 1024u)  /* fake guest RAM */
#define FZ_INBOX        64u             /* last effects kept (keep_max) */

typedef SimMsg FzMsg;

/* The one VM of a run; its ops check every effect of the core. */
extern SimGuest fz;

/* Build config byte -> VmbcConfig and create the core. */
void fz_env_init(uint8_t cfgbyte, uint8_t behaviour, uint64_t seed);
void fz_env_fini(void);
/* abort() with a message when the invariants do not hold. */
void fz_check(const char *where);
/* Fail the run: print and abort (a finding). */
#define fz_fail(...) sim_fail(__VA_ARGS__)

/* The guest's EOM: slot free again, core retries. */
void fz_slot_freed(void);
/* Fire the monitor timer if armed (advancing time) or, if force, anyway. */
void fz_timer(bool force);
/*
 * Save, load into a fresh core (optionally with the device channels
 * offered first, as a destination VMM would), save again: both streams
 * must be equal.  The fresh core replaces fz.core.
 */
void fz_save_load_roundtrip(bool preoffer);
/* Post one message the way the glue does (status check, then handle). */
uint32_t fz_post(uint32_t conn_id, const void *msg, uint32_t len);
/* Most recent message of type 'type' among the last FZ_INBOX, or NULL. */
const FzMsg *fz_last_msg(uint32_t type);
/* Channel with the i-th smallest relid (i modulo the count), or NULL. */
VmbcChannel *fz_nth_channel(uint32_t i);
uint32_t fz_nchannels(void);

/* Offer parameters from a compact description. */
VmbcOfferParams fz_params(uint8_t cls, uint8_t inst, uint16_t sub,
                          uint8_t flags);

/* Message helpers for seeds and prefixes (all little-endian hosts). */
void fz_connect(uint32_t version, uint32_t vcpu, uint64_t mon1,
                uint64_t mon2, uint64_t int_page);
void fz_request_offers(void);
/* Single-range GPADL of npages pages from base_pfn; returns status. */
uint32_t fz_gpadl(uint32_t relid, uint32_t handle, uint32_t npages,
                  uint64_t base_pfn);
uint32_t fz_open(uint32_t relid, uint32_t handle, uint32_t split,
                 uint32_t vp);

/* Every protocol version, oldest first (index 10: 6.0). */
#define FZ_NVERSIONS    11u
extern const uint32_t fz_versions[FZ_NVERSIONS];

#endif /* TESTS_FUZZ_FUZZ_COMMON_H */
