/*
 * Hyper-V enlightenments under TCG: the pure rules.
 *
 * Decoding of hypercall inputs (control word, both calling conventions,
 * HvPostMessage/HvSignalEvent input checks) and the guest-write rules of
 * the Hyper-V MSRs, as plain functions over plain values: no QEMU
 * headers, no guest memory access, no side effects.  hyperv-tcg.c
 * applies them; unit tests and fuzzers link them without QEMU.
 *
 * Numbers follow Microsoft's Hypervisor Top Level Functional
 * Specification (TLFS) and, where the TLFS is silent, what Hyper-V and
 * KVM's Hyper-V emulation answer.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_HYPERV_TCG_HV_TCG_RULES_H
#define HW_HYPERV_TCG_HV_TCG_RULES_H

#include <stdbool.h>
#include <stdint.h>

/* Hypercall status codes (TLFS; the same numbers as hyperv-proto.h). */
enum {
    HVTCG_STATUS_SUCCESS = 0,
    HVTCG_STATUS_INVALID_HYPERCALL_CODE = 2,
    HVTCG_STATUS_INVALID_HYPERCALL_INPUT = 3,
    HVTCG_STATUS_INVALID_ALIGNMENT = 4,
    HVTCG_STATUS_INVALID_PARAMETER = 5,
    HVTCG_STATUS_INSUFFICIENT_MEMORY = 11,
    HVTCG_STATUS_INVALID_PORT_ID = 17,
    HVTCG_STATUS_INVALID_CONNECTION_ID = 18,
};

/* Call codes we implement. */
#define HVTCG_CALL_FLUSH_VA_SPACE     0x0002
#define HVTCG_CALL_FLUSH_VA_LIST      0x0003
#define HVTCG_CALL_SEND_IPI           0x000b
#define HVTCG_CALL_FLUSH_VA_SPACE_EX  0x0013
#define HVTCG_CALL_FLUSH_VA_LIST_EX   0x0014
#define HVTCG_CALL_SEND_IPI_EX        0x0015
#define HVTCG_CALL_POST_MESSAGE   0x005c
#define HVTCG_CALL_SIGNAL_EVENT   0x005d

/* Hypercall input control word (TLFS "Hypercall Inputs"). */
#define HVTCG_HC_CODE_MASK        0xffffull
#define HVTCG_HC_FAST             (1ull << 16)
#define HVTCG_HC_VARHDR_SHIFT     17
#define HVTCG_HC_VARHDR_MASK      (0x3ffull << HVTCG_HC_VARHDR_SHIFT)
#define HVTCG_HC_REP_COUNT_SHIFT  32
#define HVTCG_HC_REP_COUNT_MASK   (0xfffull << HVTCG_HC_REP_COUNT_SHIFT)
#define HVTCG_HC_REP_START_SHIFT  48
#define HVTCG_HC_REP_START_MASK   (0xfffull << HVTCG_HC_REP_START_SHIFT)
/* bits 27-31 (31 is "nested", not offered), 44-47, 60-63 */
#define HVTCG_HC_RSVD_MASK        (0xf000000000000000ull | \
                                   0x0000f00000000000ull | \
                                   0x00000000f8000000ull)

/* The guest registers a hypercall reads and writes. */
typedef struct HvTcgRegs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, r8;
} HvTcgRegs;

/* A decoded hypercall. */
typedef struct HvTcgHcall {
    uint64_t control;
    uint16_t code;
    bool fast;
    uint16_t var_hdr;       /* variable header size, in 8-byte units */
    uint16_t rep_count;
    uint16_t rep_start;
    uint64_t in_param;      /* input GPA, or the first fast parameter */
    uint64_t out_param;     /* output GPA, or the second fast parameter */
} HvTcgHcall;

/*
 * Read the hypercall from the registers: 64-bit convention (RCX control,
 * RDX input, R8 output) when @mode64, else the 32-bit one (EDX:EAX
 * control, EBX:ECX input, EDI:ESI output).
 */
void hvtcg_hcall_decode(const HvTcgRegs *r, bool mode64, HvTcgHcall *hc);

/*
 * Checks that do not touch guest memory: reserved control bits, known
 * code, rep/variable-header use, fast flag, alignment of the input GPA.
 * Returns an HVTCG_STATUS_*; SUCCESS means the call may proceed.
 * hvtcg_hcall_check knows HvPostMessage/HvSignalEvent only;
 * hvtcg_hcall_check_f also the calls of the HVTCG_F_IPI/HVTCG_F_TLBFLUSH
 * enlightenments in @features.
 */
uint16_t hvtcg_hcall_check(const HvTcgHcall *hc);
uint16_t hvtcg_hcall_check_f(const HvTcgHcall *hc, unsigned features);

/* Size of a slow call's fixed input header, in bytes (0: no input). */
unsigned hvtcg_hcall_fixed_size(uint16_t code);

/* ---- VP sets (TLFS HV_VP_SET: format, valid_bank_mask, banks) ---- */
#define HVTCG_VPSET_SPARSE_4K     0
#define HVTCG_VPSET_ALL           1

/*
 * Check a VP set header against the call's variable header size
 * @var_cnt (8-byte units: one per bank).  *all tells "every VP".
 */
uint16_t hvtcg_vpset_check(uint64_t format, uint64_t valid_bank_mask,
                           unsigned var_cnt, bool *all);

/* Is VP @vp in the sparse set (@banks: one word per bit of @mask)? */
bool hvtcg_vpset_has(uint64_t valid_bank_mask, const uint64_t *banks,
                     unsigned vp);

/* HvCallFlushVirtualAddress* flags */
#define HVTCG_FLUSH_ALL_PROCESSORS          (1ull << 0)
#define HVTCG_FLUSH_ALL_ADDRESS_SPACES      (1ull << 1)
#define HVTCG_FLUSH_NON_GLOBAL_ONLY         (1ull << 2)

/* IPI vector rule (KVM: INVALID_HYPERCALL_INPUT outside 0x10..0xff). */
uint16_t hvtcg_ipi_vector_check(uint64_t vector);

/*
 * Write the result (status in bits 15:0, reps completed in 43:32) back
 * to RAX (64-bit) or EDX:EAX (32-bit).
 */
void hvtcg_hcall_result(HvTcgRegs *r, bool mode64, uint16_t status,
                        uint16_t reps_done);

/* HvPostMessage input block, as the guest lays it out (256 bytes). */
#define HVTCG_MESSAGE_PAYLOAD_SIZE 240
typedef struct HvTcgPostMessageInput {
    uint32_t connection_id;
    uint32_t reserved;
    uint32_t message_type;
    uint32_t payload_size;
    uint8_t payload[HVTCG_MESSAGE_PAYLOAD_SIZE];
} HvTcgPostMessageInput;

#define HVTCG_CONNECTION_ID_MASK  0x00ffffffu

/*
 * Validate a copied HvPostMessage input block (host byte order).
 * Returns an HVTCG_STATUS_*.
 */
uint16_t hvtcg_post_message_check(const HvTcgPostMessageInput *in);

/*
 * Validate an HvSignalEvent parameter (connection id in bits 23:0, flag
 * number in 47:32).  On SUCCESS *conn_id is the connection id.
 */
uint16_t hvtcg_signal_event_check(uint64_t param, uint32_t *conn_id);

/* ---- MSRs ---- */

#define HVTCG_MSR_GUEST_OS_ID     0x40000000u
#define HVTCG_MSR_HYPERCALL       0x40000001u
#define HVTCG_MSR_VP_INDEX        0x40000002u
#define HVTCG_MSR_RESET           0x40000003u
#define HVTCG_MSR_VP_RUNTIME      0x40000010u
#define HVTCG_MSR_TIME_REF_COUNT  0x40000020u
#define HVTCG_MSR_REFERENCE_TSC   0x40000021u
#define HVTCG_MSR_TSC_FREQUENCY   0x40000022u
#define HVTCG_MSR_APIC_FREQUENCY  0x40000023u
#define HVTCG_MSR_EOI             0x40000070u
#define HVTCG_MSR_ICR             0x40000071u
#define HVTCG_MSR_TPR             0x40000072u
#define HVTCG_MSR_VP_ASSIST_PAGE  0x40000073u
#define HVTCG_MSR_SCONTROL        0x40000080u
#define HVTCG_MSR_SVERSION        0x40000081u
#define HVTCG_MSR_SIEFP           0x40000082u
#define HVTCG_MSR_SIMP            0x40000083u
#define HVTCG_MSR_EOM             0x40000084u
#define HVTCG_MSR_SINT0           0x40000090u
#define HVTCG_MSR_SINT15          0x4000009fu
#define HVTCG_MSR_STIMER0_CONFIG  0x400000b0u  /* CONFIG/COUNT pairs */
#define HVTCG_MSR_STIMER3_COUNT   0x400000b7u
#define HVTCG_MSR_CRASH_P0        0x40000100u
#define HVTCG_MSR_CRASH_P4        0x40000104u
#define HVTCG_MSR_CRASH_CTL       0x40000105u

#define HVTCG_CRASH_CTL_NOTIFY    (1ull << 63)

/* Synthetic timer configuration register (TLFS "Synthetic Timers"). */
#define HVTCG_STIMER_ENABLE       (1ull << 0)
#define HVTCG_STIMER_PERIODIC     (1ull << 1)
#define HVTCG_STIMER_LAZY         (1ull << 2)
#define HVTCG_STIMER_AUTO_ENABLE  (1ull << 3)
#define HVTCG_STIMER_VECTOR_SHIFT 4             /* direct mode: bits 11:4 */
#define HVTCG_STIMER_VECTOR_MASK  (0xffull << HVTCG_STIMER_VECTOR_SHIFT)
#define HVTCG_STIMER_DIRECT       (1ull << 12)
#define HVTCG_STIMER_SINT_SHIFT   16            /* bits 19:16 */
#define HVTCG_STIMER_SINT_MASK    (0xfull << HVTCG_STIMER_SINT_SHIFT)
/* the bits a guest can set; the rest read back as zero */
#define HVTCG_STIMER_CONFIG_MASK  (HVTCG_STIMER_ENABLE | HVTCG_STIMER_PERIODIC | \
                                   HVTCG_STIMER_LAZY | HVTCG_STIMER_AUTO_ENABLE | \
                                   HVTCG_STIMER_VECTOR_MASK | HVTCG_STIMER_DIRECT | \
                                   HVTCG_STIMER_SINT_MASK)

#define HVTCG_HYPERCALL_ENABLE    (1ull << 0)
#define HVTCG_HYPERCALL_LOCKED    (1ull << 1)
#define HVTCG_SINT_VECTOR_MASK    0xffull
#define HVTCG_SINT_MASKED         (1ull << 16)
#define HVTCG_SINT_AUTO_EOI       (1ull << 17)
#define HVTCG_SINT_POLLING        (1ull << 18)
#define HVTCG_SYNIC_VERSION       1

/* Which enlightenments are on (HvTcgMsrCtx.features). */
#define HVTCG_F_VPINDEX  (1u << 0)
#define HVTCG_F_SYNIC    (1u << 1)
#define HVTCG_F_TIME     (1u << 2)
#define HVTCG_F_STIMER   (1u << 3)
#define HVTCG_F_STIMER_DIRECT (1u << 4)
#define HVTCG_F_CRASH    (1u << 5)
#define HVTCG_F_RUNTIME  (1u << 6)
#define HVTCG_F_RESET    (1u << 7)
#define HVTCG_F_FREQ     (1u << 8)
#define HVTCG_F_VAPIC    (1u << 9)
#define HVTCG_F_IPI      (1u << 10)
#define HVTCG_F_TLBFLUSH (1u << 11)

typedef enum HvTcgMsrVerdict {
    HVTCG_MSR_NOT_OURS,  /* unimplemented: keep TCG's old behaviour */
    HVTCG_MSR_OK,        /* access allowed; for a write, store *stored */
    HVTCG_MSR_IGNORE,    /* write allowed but has no effect */
    HVTCG_MSR_GP,        /* raise #GP(0) */
} HvTcgMsrVerdict;

/*
 * May the guest read @msr?  (Values are produced by the caller.)
 */
HvTcgMsrVerdict hvtcg_msr_read_rule(uint32_t msr, unsigned features);

/*
 * May the guest write @val to @msr, and what is stored?  @cur is the
 * MSR's current value, @guest_os_id the partition's GUEST_OS_ID.
 */
HvTcgMsrVerdict hvtcg_msr_write_rule(uint32_t msr, uint64_t val, uint64_t cur,
                                     uint64_t guest_os_id, unsigned features,
                                     uint64_t *stored);

/*
 * For the MSRs that hold a guest page (HYPERCALL, VP_ASSIST_PAGE, SIMP,
 * SIEFP): false when the page in @stored lies beyond a @phys_bits wide
 * physical address space (the write is then a #GP).
 */
bool hvtcg_msr_gpa_valid(uint32_t msr, uint64_t stored, unsigned phys_bits);

/*
 * Does SINT register value @sint deliver an interrupt, and with which
 * vector?  (Unmasked, not polling, vector >= 16.)
 */
bool hvtcg_sint_deliverable(uint64_t sint, uint8_t *vector);

/* ---- synthetic timers (KVM's rules, arch/x86/kvm/hyperv.c) ---- */

/*
 * The guest writes @val to a timer's CONFIG whose value was @old.  Returns
 * what is stored: unknown bits dropped, and a timer reprogrammed with
 * message mode and SINT 0 while it was enabled is disabled (as KVM).
 */
uint64_t hvtcg_stimer_config_write(uint64_t old, uint64_t val);

/*
 * The guest writes @count to a timer's COUNT: returns the new CONFIG.
 * A zero count disables the timer; a non-zero one enables it when
 * auto-enable is set.
 */
uint64_t hvtcg_stimer_count_write(uint64_t config, uint64_t count);

/*
 * The next expiration of a periodic timer of period @period (100 ns
 * units, > 0) at reference time @now whose previous expiration was @exp
 * (0: none yet): keeps the phase, skipping missed periods.
 */
uint64_t hvtcg_stimer_periodic_next(uint64_t exp, uint64_t now,
                                    uint64_t period);

/* HVMSG_TIMER_EXPIRED payload (little-endian in the message slot). */
#define HVTCG_MSG_TIMER_EXPIRED   0x80000010u
typedef struct HvTcgTimerPayload {
    uint32_t timer_index;
    uint32_t reserved;
    uint64_t expiration_time;
    uint64_t delivery_time;
} HvTcgTimerPayload;

/* ---- reference TSC page ---- */

/*
 * The page's scale for a TSC running at @tsc_hz: reference time (100 ns
 * units) = ((tsc * scale) >> 64) + offset.  0 when @tsc_hz is not above
 * 10 MHz (the scale would not fit).
 */
uint64_t hvtcg_tsc_scale(uint64_t tsc_hz);

/* ((tsc * scale) >> 64) + offset, with wrap-around arithmetic. */
uint64_t hvtcg_tsc_ref(uint64_t tsc, uint64_t scale, uint64_t offset);

/* The offset that makes hvtcg_tsc_ref(@tsc, @scale, offset) == @ref. */
uint64_t hvtcg_tsc_offset_for(uint64_t tsc, uint64_t scale, uint64_t ref);

/* The next valid sequence number after @seq (never 0 or 0xffffffff). */
uint32_t hvtcg_tsc_next_seq(uint32_t seq);

#endif
