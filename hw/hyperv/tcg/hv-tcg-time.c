/*
 * Hyper-V enlightenments under TCG: reference time, the reference TSC
 * page (hv-time) and synthetic timers (hv-stimer, hv-stimer-direct).
 *
 * Reference time.  Under TCG the guest's TSC is cpu_get_tsc() +
 * tsc_offset: the host's cycle counter while the VM runs (frozen while
 * stopped, continuous across migration), or nanoseconds with icount.
 * QEMU_CLOCK_VIRTUAL runs on the host's CLOCK_MONOTONIC instead, a
 * different clock (NTP slews it; the TSC rate is only known by
 * calibration), so a TSC page set up against QEMU_CLOCK_VIRTUAL drifts
 * away from it.  Hence one reference clock for the partition, as KVM
 * does: until the guest first enables the TSC page, TIME_REF_COUNT is
 * QEMU_CLOCK_VIRTUAL in 100 ns units; from then on it is the TSC page's
 * formula, ((guest TSC * scale) >> 64) + offset, with the parameters
 * last written to the page, evaluated on the reading vCPU's TSC.  The
 * page and the MSR are then the same clock: a TIME_REF_COUNT read lies
 * between the page reads before and after it.  The parameters stay in
 * use when the guest disables the page and across a system reset (the
 * clock continues; only the page is dropped).  They are published
 * under a seqlock (MSR reads run without the BQL) with the page's
 * sequence already 0, so no reader, of the page or of the MSR, sees
 * the clock go back at a change.
 *
 * Reference TSC page.  Partition-wide (REFERENCE_TSC is stored in every
 * vCPU).  The TSC rate is calibrated against the host clock behind
 * QEMU_CLOCK_VIRTUAL from the first realize on (a long baseline: the
 * guest enables the page a second or more later), and the page gets
 * scale = 10^7 * 2^64 / rate (rounded down) and the offset that keeps
 * the reference time continuous.  The page is rewritten (sequence 0,
 * scale and offset, new sequence, as the TLFS asks) when the guest moves
 * or enables it and whenever the VM starts running (after migration,
 * loadvm or cont): the rate is recalibrated, and the offset keeps the
 * reference time continuous -- never backwards, and pulled forward to
 * QEMU_CLOCK_VIRTUAL if it lags.  After an incoming migration the
 * previous parameters come from the page itself (guest RAM, migrated as
 * RAM, and the guest TSC continues across migration); values a guest
 * scribbled there are only used when they are within a second of
 * QEMU_CLOCK_VIRTUAL.  A page disabled at migration leaves nothing to
 * continue from: the destination's reference time restarts from
 * QEMU_CLOCK_VIRTUAL, which differs from the source's by the drift
 * accumulated since the page was set up (calibration error and the
 * host's NTP slew, parts per million).
 *
 * Synthetic timers.  Four per vCPU, their CONFIG/COUNT in CPUX86State
 * (migrated by cpu/msr_hyperv_stimer).  Rules as KVM's (TLFS): a write
 * to CONFIG or COUNT stops the timer and restarts it when enabled and
 * the count is non-zero; a zero count disables, auto-enable enables on a
 * count write; one-shot counts are absolute reference times (an expired
 * one fires at once) and disable the timer once delivered; periodic
 * counts are periods, missed periods are skipped.  Each timer is a
 * QEMU_CLOCK_VIRTUAL timer, so it stops with the VM.  Deadlines are
 * reference times, converted to QEMU_CLOCK_VIRTUAL at the current
 * difference of the two; as they can drift apart, the expiry callback
 * reads the reference time and re-arms for the rest when the deadline
 * has not been reached: no timer is delivered before TIME_REF_COUNT
 * reads its deadline.  After migration
 * or loadvm the enabled timers are restarted from CONFIG/COUNT when the
 * VM starts (as KVM restarts them from the MSRs).
 * Expiry in direct mode: the vector in CONFIG as a fixed interrupt to
 * the vCPU's local APIC.  In message mode: HVMSG_TIMER_EXPIRED on the
 * configured SINT through QEMU's staged message path (hw/hyperv/hyperv.c,
 * the same as VMBus's): if the SINT's message slot is busy, the pending
 * flag is set and the message is posted again (with a new delivery
 * time) after the guest's EOM; the timer is not rearmed meanwhile.
 * With no message page the expiry stays pending until the guest
 * reprograms the timer (KVM: same).  A timer reprogrammed while its
 * message is staged keeps that route until the stage completes (after
 * the slot's EOM), so every timer holds at most one route (one eventfd):
 * moving a timer to another SINT while its message waits for a busy slot
 * delays its next message until that EOM (KVM drops the waiting one).  Periodic timers with a period
 * below 50 us are paced at 50 us on the host (expiration times in the
 * messages stay exact), so a guest cannot flood the main loop.
 *
 * VP runtime (hv-runtime).  VP_RUNTIME counts the CPU time of the vCPU's
 * thread under MTTCG (as KVM counts its vCPU task's run time), else
 * QEMU_CLOCK_VIRTUAL.  msr_hv_runtime holds the value at the last VM
 * stop or start; the vmstate subsection cpu/msr_hyperv_runtime migrates
 * the value saved at the stop before migration.
 *
 * Locking: everything here runs with the BQL (MSR writes take it, QEMU
 * timers and the staged-message callbacks run in the main loop).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qemu/rcu.h"
#include "qemu/seqlock.h"
#include "cpu.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "system/cpu-timers.h"
#include "system/runstate.h"
#include "hw/i386/apic.h"
#include "hw/hyperv/hyperv.h"
#include "hw/hyperv/vmbus-fault.h"
#include "target/i386/kvm/hyperv-proto.h"
#include "hv-tcg-rules.h"
#include "hv-tcg-time.h"
#include "trace.h"

/* host pacing of short periodic timers, in 100 ns units (50 us) */
#define STIMER_MIN_HOST_PERIOD 500

/* QEMU_CLOCK_VIRTUAL in reference time units */
static uint64_t virt_ref_time(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) / 100;
}

/*
 * The partition's reference clock once the TSC page was set up:
 * reference time = hvtcg_tsc_ref(guest TSC, scale, offset).  Written
 * with the BQL held, read by vCPU threads without it.
 */
static struct {
    QemuSeqLock lock;
    bool valid;
    uint64_t scale, offset;
} refclk;

static uint64_t guest_tsc(X86CPU *cpu)
{
    return cpu_get_tsc(&cpu->env) + cpu->env.tsc_offset;
}

uint64_t hvtcg_ref_time(X86CPU *cpu)
{
    uint64_t r;
    unsigned start;

    do {
        start = seqlock_read_begin(&refclk.lock);
        r = refclk.valid ?
            hvtcg_tsc_ref(guest_tsc(cpu), refclk.scale, refclk.offset) :
            virt_ref_time();
    } while (seqlock_read_retry(&refclk.lock, start));
    return r;
}

bool hvtcg_gpa_is_ram(uint64_t gpa, uint64_t len)
{
    MemoryRegion *mr;
    hwaddr xlat, l = len;

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(&address_space_memory, gpa, &xlat, &l, true,
                                 MEMTXATTRS_UNSPECIFIED);
    return l >= len && memory_region_is_ram(mr) && !memory_region_is_rom(mr) &&
           !memory_region_is_ram_device(mr);
}

int hvtcg_apic_inject(X86CPU *cpu, uint8_t vector)
{
    if (cpu->apic_id > 0xff) {
        qemu_log_mask(LOG_UNIMP, "hyperv-tcg: interrupt to APIC ID %u > 255\n",
                      cpu->apic_id);
        return -ENOTSUP;
    }
    /* fixed, physical destination, edge: an MSI into the APIC window */
    address_space_stl_le(&address_space_memory,
                         APIC_DEFAULT_ADDRESS | (cpu->apic_id << 12),
                         vector, MEMTXATTRS_UNSPECIFIED, NULL);
    return 0;
}

/* ---------------- reference TSC page ---------------- */

static struct {
    bool have_base;
    int64_t base_ticks, base_ns;    /* calibration baseline */
    bool written;                   /* this QEMU wrote the page below */
    uint64_t gpa;
    uint32_t seq;
    VMChangeStateEntry *vmstate;
} tscp;

/* The rate of the guest's TSC, in Hz (0 if unknown). */
uint64_t hvtcg_tsc_hz(void)
{
    int64_t ns, ticks;

    if (icount_enabled()) {
        return NANOSECONDS_PER_SECOND;  /* icount ticks are nanoseconds */
    }
    ns = get_clock() - tscp.base_ns;
    if (ns < 50 * SCALE_MS) {
        /* once, if the guest is that quick: a usable baseline */
        g_usleep((50 * SCALE_MS - ns) / SCALE_US + 1);
        ns = get_clock() - tscp.base_ns;
    }
    ticks = cpu_get_host_ticks() - tscp.base_ticks;
    if (ns <= 0 || ticks <= 0) {
        return 0;
    }
    return (uint64_t)((double)ticks * NANOSECONDS_PER_SECOND / ns);
}

static void page_write32(uint64_t gpa, uint32_t v)
{
    v = cpu_to_le32(v);
    address_space_write(&address_space_memory, gpa, MEMTXATTRS_UNSPECIFIED,
                        &v, sizeof(v));
}

/*
 * (Re)write the page of REFERENCE_TSC value @msr and make its parameters
 * the reference clock's, keeping the reference time continuous.
 */
static void tsc_page_write(X86CPU *cpu, uint64_t msr)
{
    uint64_t gpa = msr & ~0xfffull;
    uint64_t tsc, virt, target, scale, offset = 0, old_scale = 0;
    uint64_t old_offset = 0;
    uint32_t old_seq = 0;
    bool have_old = false;
    uint64_t buf[2];
    MemTxResult r;

    if (!(msr & 1)) {
        tscp.written = false;
        return;
    }
    if (!hvtcg_gpa_is_ram(gpa, 24)) {
        vmbus_guest_fault(NULL, VMBUS_FAULT_OVERLAY_PAGE, "reference TSC "
                          "page at 0x%" PRIx64 " is not RAM", gpa);
        tscp.written = false;
        return;
    }
    if (tscp.written) {
        old_seq = tscp.seq;
    } else if (address_space_read(&address_space_memory, gpa,
                                  MEMTXATTRS_UNSPECIFIED, &old_seq,
                                  sizeof(old_seq)) == MEMTX_OK &&
               address_space_read(&address_space_memory, gpa + 8,
                                  MEMTXATTRS_UNSPECIFIED, buf,
                                  sizeof(buf)) == MEMTX_OK) {
        /* e.g. after an incoming migration: the page as the guest had it */
        old_seq = le32_to_cpu(old_seq);
        old_scale = le64_to_cpu(buf[0]);
        old_offset = le64_to_cpu(buf[1]);
        have_old = old_seq != 0 && old_seq != 0xffffffffu;
    }
    scale = hvtcg_tsc_scale(hvtcg_tsc_hz());

    /*
     * TLFS: sequence 0 (invalid) while the parameters change.  Written
     * before the reference clock changes: a guest that read the page
     * with the old parameters did so before the TSC value taken below.
     */
    r = address_space_write(&address_space_memory, gpa, MEMTXATTRS_UNSPECIFIED,
                            &(uint32_t){0}, 4);
    if (r != MEMTX_OK) {
        vmbus_guest_fault(NULL, VMBUS_FAULT_OVERLAY_PAGE, "reference TSC "
                          "page at 0x%" PRIx64 " is not RAM", gpa);
        tscp.written = false;
        return;
    }
    seqlock_write_begin(&refclk.lock);
    tsc = guest_tsc(cpu);
    virt = virt_ref_time();
    if (refclk.valid) {
        target = hvtcg_tsc_ref(tsc, refclk.scale, refclk.offset);
    } else {
        target = virt;
        if (have_old) {
            target = hvtcg_tsc_ref(tsc, old_scale, old_offset);
            /* a page more than 1 s off is not trusted */
            if ((uint64_t)(target - virt + 10000000) > 20000000) {
                target = virt;
            }
        }
    }
    /* never backwards; pulled forward to QEMU_CLOCK_VIRTUAL if it lags */
    if ((int64_t)(virt - target) > 0) {
        target = virt;
    }
    if (scale) {
        offset = hvtcg_tsc_offset_for(tsc, scale, target);
        refclk.scale = scale;
        refclk.offset = offset;
        refclk.valid = true;
    }
    seqlock_write_end(&refclk.lock);

    tscp.gpa = gpa;
    tscp.seq = hvtcg_tsc_next_seq(MAX(old_seq, tscp.seq));
    tscp.written = scale != 0;
    /* scale 0 (no usable rate): sequence stays 0, the guest uses the MSR */
    if (scale) {
        buf[0] = cpu_to_le64(scale);
        buf[1] = cpu_to_le64(offset);
        address_space_write(&address_space_memory, gpa + 8,
                            MEMTXATTRS_UNSPECIFIED, buf, sizeof(buf));
        smp_wmb();
        page_write32(gpa, tscp.seq);
    }
    trace_hvtcg_tsc_page(gpa, scale, offset, tscp.seq, tsc, target);
}

void hvtcg_tsc_page_update(X86CPU *cpu)
{
    /* a moved page continues the old one's time */
    tsc_page_write(cpu, cpu->env.msr_hv_tsc);
}

/* ---------------- synthetic timers ---------------- */

typedef struct HvStimer HvStimer;

/* A message route of one timer; outlives the timer's use while in flight. */
typedef struct HvStimerRoute {
    HvSintRoute *route;
    HvStimer *t;                    /* NULL once abandoned */
} HvStimerRoute;

struct HvStimer {
    X86CPU *cpu;
    int index;
    QEMUTimer timer;
    uint64_t exp_time;              /* reference time of the expiry; 0 none */
    bool msg_pending;               /* expired, message not delivered yet */
    HvStimerRoute *rt;
    int rt_sint;
    bool inflight;                  /* a message is staged on rt */
    unsigned gen, post_gen;         /* stale-callback detection */
};

typedef struct HvTcgTimeVcpu {
    HvStimer st[HV_STIMER_COUNT];
    int64_t rt_base;                /* thread time at msr_hv_runtime */
} HvTcgTimeVcpu;

static HvTcgTimeVcpu **tvcpus;
static unsigned ntvcpus;

static HvTcgTimeVcpu *tvcpu(X86CPU *cpu)
{
    unsigned i = CPU(cpu)->cpu_index;

    return i < ntvcpus ? tvcpus[i] : NULL;
}

static uint64_t st_config(HvStimer *t)
{
    return qatomic_read(&t->cpu->env.msr_hv_stimer_config[t->index]);
}

static uint64_t st_count(HvStimer *t)
{
    return qatomic_read(&t->cpu->env.msr_hv_stimer_count[t->index]);
}

/* Arm @t's QEMU timer for reference time @when. */
static void st_arm(HvStimer *t, uint64_t when)
{
    uint64_t now = hvtcg_ref_time(t->cpu);
    int64_t virt = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    uint64_t left = when > now ? when - now : 0;

    /* the rest in ns on QEMU_CLOCK_VIRTUAL, saturating */
    if (left > (uint64_t)(INT64_MAX - virt) / 100) {
        timer_mod(&t->timer, INT64_MAX);
    } else {
        timer_mod(&t->timer, virt + (int64_t)left * 100);
    }
}

static void st_cleanup(HvStimer *t)
{
    timer_del(&t->timer);
    t->msg_pending = false;
    t->exp_time = 0;
    t->gen++;
}

static void st_start(HvStimer *t)
{
    uint64_t cfg = st_config(t), count = st_count(t), now, next;

    if (!(cfg & HVTCG_STIMER_ENABLE) || count == 0 || t->msg_pending) {
        return;
    }
    now = hvtcg_ref_time(t->cpu);
    if (cfg & HVTCG_STIMER_PERIODIC) {
        t->exp_time = hvtcg_stimer_periodic_next(t->exp_time, now, count);
        next = t->exp_time;
        if (count < STIMER_MIN_HOST_PERIOD) {
            next = MAX(next, now + STIMER_MIN_HOST_PERIOD);
        }
    } else {
        /* absolute; already past: expires at once (TLFS) */
        t->exp_time = count;
        next = count;
    }
    trace_hvtcg_stimer_start(CPU(t->cpu)->cpu_index, t->index, cfg, count,
                             now, t->exp_time);
    st_arm(t, next);
}

/* The expiry reached the guest. */
static void st_delivered(HvStimer *t)
{
    uint64_t cfg = st_config(t);

    t->msg_pending = false;
    if (cfg & HVTCG_STIMER_PERIODIC) {
        st_start(t);
    } else {
        qatomic_set(&t->cpu->env.msr_hv_stimer_config[t->index],
                    cfg & ~HVTCG_STIMER_ENABLE);
    }
}

static void st_post(HvStimer *t);

/* hyperv.c frees the stage only after the callback returns: post later */
static void st_retry_bh(void *opaque)
{
    HvStimer *t = opaque;

    if (t->msg_pending) {
        st_post(t);
    }
}

static void st_msg_cb(void *data, int status)
{
    HvStimerRoute *rt = data;
    HvStimer *t = rt->t;

    if (!t) {
        g_free(rt);             /* abandoned (reset): the route is gone */
        return;
    }
    t->inflight = false;
    trace_hvtcg_stimer_msg_done(CPU(t->cpu)->cpu_index, t->index, status,
                                t->post_gen != t->gen);
    if (t->post_gen != t->gen) {
        /* reprogrammed meanwhile; a newer expiry may wait for the stage */
        if (t->msg_pending) {
            aio_bh_schedule_oneshot(qemu_get_aio_context(), st_retry_bh, t);
        }
        return;
    }
    if (status == 0) {
        st_delivered(t);
    } else if (status == -EAGAIN) {
        /* the slot was busy; the guest did EOM: post again */
        aio_bh_schedule_oneshot(qemu_get_aio_context(), st_retry_bh, t);
    }
    /* else no message page: stays pending until reprogrammed (KVM) */
}

static void st_drop_route(HvStimer *t)
{
    HvStimerRoute *rt = t->rt;

    if (!rt) {
        return;
    }
    t->rt = NULL;
    rt->t = NULL;
    hyperv_sint_route_unref(rt->route);
    if (!t->inflight) {
        g_free(rt);             /* else freed by its last callback */
    }
    t->inflight = false;
}

static void st_post(HvStimer *t)
{
    uint64_t cfg = st_config(t);
    int sint = (cfg & HVTCG_STIMER_SINT_MASK) >> HVTCG_STIMER_SINT_SHIFT;
    struct hyperv_message msg = {};
    HvTcgTimerPayload p;

    if (t->inflight) {
        return;                 /* retried from the callback */
    }
    if (t->rt && t->rt_sint != sint) {
        st_drop_route(t);
    }
    if (!t->rt) {
        HvStimerRoute *rt = g_new0(HvStimerRoute, 1);

        rt->t = t;
        rt->route = hyperv_sint_route_new(hyperv_vp_index(CPU(t->cpu)), sint,
                                          st_msg_cb, rt);
        if (!rt->route) {
            g_free(rt);
            return;             /* no SynIC: stays pending */
        }
        t->rt = rt;
        t->rt_sint = sint;
    }
    msg.header.message_type = cpu_to_le32(HVTCG_MSG_TIMER_EXPIRED);
    msg.header.payload_size = sizeof(p);
    p.timer_index = cpu_to_le32(t->index);
    p.reserved = 0;
    p.expiration_time = cpu_to_le64(t->exp_time);
    p.delivery_time = cpu_to_le64(hvtcg_ref_time(t->cpu));
    memcpy(msg.payload, &p, sizeof(p));
    if (hyperv_post_msg(t->rt->route, &msg) == 0) {
        t->inflight = true;
        t->post_gen = t->gen;
    }
    trace_hvtcg_stimer_post(CPU(t->cpu)->cpu_index, t->index, sint,
                            t->inflight);
}

static void st_expire(HvStimer *t)
{
    uint64_t cfg = st_config(t);

    trace_hvtcg_stimer_expire(CPU(t->cpu)->cpu_index, t->index, cfg,
                              t->exp_time, hvtcg_ref_time(t->cpu));
    if (cfg & HVTCG_STIMER_DIRECT) {
        uint8_t vector = (cfg & HVTCG_STIMER_VECTOR_MASK) >>
                         HVTCG_STIMER_VECTOR_SHIFT;

        if (vector >= 16) {
            hvtcg_apic_inject(t->cpu, vector);
        }
        st_delivered(t);
    } else {
        t->msg_pending = true;
        st_post(t);
    }
}

static void st_timer_cb(void *opaque)
{
    HvStimer *t = opaque;

    if (!(st_config(t) & HVTCG_STIMER_ENABLE) || t->msg_pending) {
        return;
    }
    if (hvtcg_ref_time(t->cpu) < t->exp_time) {
        /* QEMU_CLOCK_VIRTUAL ran ahead of the reference time: wait more */
        st_arm(t, t->exp_time);
        return;
    }
    st_expire(t);
}

/* ---------------- VP runtime ---------------- */

static int64_t vcpu_thread_ns(X86CPU *cpu)
{
#ifdef CONFIG_POSIX
    CPUState *cs = CPU(cpu);
    struct timespec ts;
    clockid_t cid;

    if (qemu_tcg_mttcg_enabled() && cs->thread) {
        if (qemu_cpu_is_self(cs)) {
            cid = CLOCK_THREAD_CPUTIME_ID;
        } else if (pthread_getcpuclockid(cs->thread->thread, &cid)) {
            goto virt;
        }
        if (clock_gettime(cid, &ts) == 0) {
            return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
        }
    }
virt:
#endif
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

uint64_t hvtcg_runtime(X86CPU *cpu)
{
    HvTcgTimeVcpu *tv = tvcpu(cpu);
    int64_t d;

    if (!tv) {
        return cpu->env.msr_hv_runtime;
    }
    d = vcpu_thread_ns(cpu) - tv->rt_base;
    return cpu->env.msr_hv_runtime + (d > 0 ? d / 100 : 0);
}

static void runtime_rebase(X86CPU *cpu, bool save)
{
    HvTcgTimeVcpu *tv = tvcpu(cpu);

    if (!tv) {
        return;
    }
    if (save) {
        cpu->env.msr_hv_runtime = hvtcg_runtime(cpu);
    }
    tv->rt_base = vcpu_thread_ns(cpu);
}

void hvtcg_stimer_write(X86CPU *cpu, uint32_t msr, uint64_t val)
{
    CPUX86State *env = &cpu->env;
    HvTcgTimeVcpu *tv = tvcpu(cpu);
    unsigned i = (msr - HV_X64_MSR_STIMER0_CONFIG) / 2;
    HvStimer *t;

    if (!tv || i >= HV_STIMER_COUNT) {
        return;
    }
    t = &tv->st[i];
    st_cleanup(t);
    if ((msr - HV_X64_MSR_STIMER0_CONFIG) & 1) {
        qatomic_set(&env->msr_hv_stimer_count[i], val);
        qatomic_set(&env->msr_hv_stimer_config[i],
                    hvtcg_stimer_count_write(env->msr_hv_stimer_config[i],
                                             val));
    } else {
        qatomic_set(&env->msr_hv_stimer_config[i], val);
    }
    st_start(t);
}

/* ---------------- lifecycle ---------------- */

static void vm_state_change(void *opaque, bool running, RunState state)
{
    CPUState *cs;
    bool page_done = false;

    CPU_FOREACH(cs) {
        /* runtime: saved at the stop (for migration), rebased at start */
        runtime_rebase(X86_CPU(cs), !running);
    }
    if (!running) {
        return;
    }
    CPU_FOREACH(cs) {
        X86CPU *cpu = X86_CPU(cs);
        HvTcgTimeVcpu *tv = tvcpu(cpu);
        int i;

        if (!page_done && (cpu->env.msr_hv_tsc & 1)) {
            /* recalibrated, continuous; after migration: from the page */
            tsc_page_write(cpu, cpu->env.msr_hv_tsc);
            page_done = true;
        }
        if (!tv) {
            continue;
        }
        /* after migration/loadvm: timers restart from CONFIG/COUNT */
        for (i = 0; i < HV_STIMER_COUNT; i++) {
            HvStimer *t = &tv->st[i];

            if (!timer_pending(&t->timer) && !t->msg_pending &&
                !t->inflight) {
                st_start(t);
            }
        }
    }
}

void hvtcg_time_realize(X86CPU *cpu)
{
    unsigned idx = CPU(cpu)->cpu_index;
    HvTcgTimeVcpu *tv;
    int i;

    if (!tscp.have_base) {
        tscp.have_base = true;
        tscp.base_ticks = cpu_get_host_ticks();
        tscp.base_ns = get_clock();
        tscp.vmstate = qemu_add_vm_change_state_handler(vm_state_change,
                                                        NULL);
    }
    if (idx >= ntvcpus) {
        tvcpus = g_renew(HvTcgTimeVcpu *, tvcpus, idx + 1);
        memset(tvcpus + ntvcpus, 0, (idx + 1 - ntvcpus) * sizeof(*tvcpus));
        ntvcpus = idx + 1;
    }
    if (tvcpus[idx]) {
        return;
    }
    tv = g_new0(HvTcgTimeVcpu, 1);
    for (i = 0; i < HV_STIMER_COUNT; i++) {
        tv->st[i].cpu = cpu;
        tv->st[i].index = i;
        timer_init_ns(&tv->st[i].timer, QEMU_CLOCK_VIRTUAL, st_timer_cb,
                      &tv->st[i]);
    }
    tvcpus[idx] = tv;
}

void hvtcg_time_reset(X86CPU *cpu)
{
    HvTcgTimeVcpu *tv = tvcpu(cpu);
    int i;

    tscp.written = false;
    if (!tv) {
        return;
    }
    tv->rt_base = vcpu_thread_ns(cpu);      /* msr_hv_runtime is now 0 */
    for (i = 0; i < HV_STIMER_COUNT; i++) {
        st_cleanup(&tv->st[i]);
        st_drop_route(&tv->st[i]);
    }
}
