/*
 * hvclock: do the Hyper-V reference time sources agree?  A guest tool
 * (static, run as root with the msr module and msr.allow_writes=on).
 *
 *   hvclock check [N]   on every online CPU, N times (default 20000):
 *                       read the reference TSC page, TIME_REF_COUNT, the
 *                       page again; every MSR value must lie between the
 *                       two page values
 *   hvclock timer [N]   on every online CPU, N times (default 200): arm
 *                       STIMER1 one-shot at a reference time (up to 3 ms
 *                       ahead, the last one 2 s), wait until it is
 *                       delivered (its enable bit clears), then read
 *                       TIME_REF_COUNT: it must have reached the deadline
 *   hvclock drift [S]   pairs (TSC page, TIME_REF_COUNT) now and S guest
 *                       seconds later (default 10): the rate difference
 *                       in ppm
 *
 * The TSC page.  Linux maps the partition's reference TSC page into each
 * process's vDSO data area ("[vvar]", "[vvar_vclock]" on newer kernels)
 * once its hyperv_clocksource_tsc_page has been the clocksource.  The
 * tool looks at each page of those mappings (a page the kernel does not
 * map raises SIGBUS, which is caught) and takes the one whose
 * parameters are valid and whose time is within a second of
 * TIME_REF_COUNT.  Layout (TLFS, "reference TSC page"): u32 sequence,
 * u32 reserved, u64 scale, s64 offset; time in 100 ns units =
 * ((tsc * scale) >> 64) + offset; sequence 0 means "not valid, use the
 * MSR".  The sequence is read before and after the parameters and the
 * TSC, and the read is retried when it changed.
 *
 * Output: one "hvclock: ..." line per CPU and mode, key=value pairs, and
 * "hvclock: FAIL ..." / "hvclock: SKIP ..." lines.  Exit status 0 all
 * agreed, 1 a disagreement, 2 could not run (no msr device, no page).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MSR_TIME_REF_COUNT   0x40000020u
#define MSR_REFERENCE_TSC    0x40000021u
#define MSR_STIMER0_CONFIG   0x400000b0u
#define MSR_STIMER1_CONFIG   0x400000b2u
#define MSR_STIMER1_COUNT    0x400000b3u

#define ST_ENABLE       (1ull << 0)
#define ST_AUTO_ENABLE  (1ull << 3)
#define ST_VECTOR_MASK  (0xffull << 4)
#define ST_DIRECT       (1ull << 12)
#define ST_SINT_MASK    (0xfull << 16)

#define REF_HZ 10000000ull      /* TIME_REF_COUNT units per second */

struct tsc_page {
    uint32_t sequence;
    uint32_t reserved;
    uint64_t scale;
    int64_t offset;
};

static const struct tsc_page *page;
static int msr_fd = -1;
static int msr_cpu = -1;

static sigjmp_buf probe_env;

static void probe_fault(int sig)
{
    (void)sig;
    siglongjmp(probe_env, 1);
}

static uint64_t rdtsc_ordered(void)
{
    uint32_t lo, hi;

    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t mul_hi(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

/* One consistent read of @p; 0 and the time, or -1 while it is invalid. */
static int page_time(const struct tsc_page *p, uint64_t *out)
{
    int i;

    for (i = 0; i < 1000; i++) {
        uint32_t s = __atomic_load_n(&p->sequence, __ATOMIC_ACQUIRE);
        uint64_t scale, tsc;
        int64_t offset;

        if (s == 0 || s == 0xffffffffu) {
            return -1;
        }
        scale = __atomic_load_n(&p->scale, __ATOMIC_ACQUIRE);
        offset = __atomic_load_n(&p->offset, __ATOMIC_ACQUIRE);
        tsc = rdtsc_ordered();
        if (__atomic_load_n(&p->sequence, __ATOMIC_ACQUIRE) == s) {
            *out = mul_hi(tsc, scale) + (uint64_t)offset;
            return 0;
        }
    }
    return -1;
}

static int msr_open(int cpu)
{
    char path[64];

    if (msr_cpu == cpu) {
        return 0;
    }
    if (msr_fd >= 0) {
        close(msr_fd);
    }
    snprintf(path, sizeof(path), "/dev/cpu/%d/msr", cpu);
    msr_fd = open(path, O_RDWR);
    if (msr_fd < 0) {
        msr_fd = open(path, O_RDONLY);
    }
    msr_cpu = msr_fd < 0 ? -1 : cpu;
    return msr_fd < 0 ? -1 : 0;
}

static int rdmsr(uint32_t msr, uint64_t *v)
{
    return pread(msr_fd, v, 8, msr) == 8 ? 0 : -1;
}

static int wrmsr(uint32_t msr, uint64_t v)
{
    return pwrite(msr_fd, &v, 8, msr) == 8 ? 0 : -1;
}

static uint64_t ref_count(void)
{
    uint64_t v;

    if (rdmsr(MSR_TIME_REF_COUNT, &v)) {
        fprintf(stderr, "hvclock: rdmsr TIME_REF_COUNT on cpu %d: %s\n",
                msr_cpu, strerror(errno));
        exit(2);
    }
    return v;
}

static int pin(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set)) {
        return -1;
    }
    sched_yield();
    return sched_getcpu() == cpu ? 0 : -1;
}

/* Is this page of [vvar] a valid TSC page whose time is near the MSR? */
static int probe_page(const struct tsc_page *p, uint64_t *dist)
{
    volatile int ok = 0;
    uint64_t t, m;

    if (sigsetjmp(probe_env, 1) == 0) {
        uint32_t s = *(volatile const uint32_t *)&p->sequence;
        uint64_t scale = *(volatile const uint64_t *)&p->scale;

        if (s != 0 && s != 0xffffffffu && scale != 0 &&
            page_time(p, &t) == 0) {
            m = ref_count();
            *dist = t > m ? t - m : m - t;
            ok = *dist < REF_HZ;
        }
    }
    return ok;
}

static int find_page(void)
{
    struct sigaction sa = { .sa_handler = probe_fault }, obus, osegv;
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    uint64_t best = UINT64_MAX;
    long psz = sysconf(_SC_PAGESIZE);

    if (!f) {
        return -1;
    }
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &obus);
    sigaction(SIGSEGV, &sa, &osegv);
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi, a;

        if (!strstr(line, "[vvar") ||
            sscanf(line, "%lx-%lx", &lo, &hi) != 2 || hi <= lo ||
            hi - lo > 64 * (unsigned long)psz) {
            continue;
        }
        for (a = lo; a < hi; a += psz) {
            uint64_t d;

            if (probe_page((const struct tsc_page *)a, &d) && d < best) {
                best = d;
                page = (const struct tsc_page *)a;
            }
        }
    }
    fclose(f);
    sigaction(SIGBUS, &obus, NULL);
    sigaction(SIGSEGV, &osegv, NULL);
    return page ? 0 : -1;
}

static int online_cpus(int *cpus, int max)
{
    cpu_set_t set;
    int i, n = 0;

    if (sched_getaffinity(0, sizeof(set), &set)) {
        return 0;
    }
    for (i = 0; i < CPU_SETSIZE && n < max; i++) {
        if (CPU_ISSET(i, &set)) {
            cpus[n++] = i;
        }
    }
    return n;
}

/* page, MSR, page; the window t2 - t1 and where the MSR fell */
typedef struct {
    uint64_t t1, m, t2;
} Sample;

static int sample(Sample *s)
{
    if (page_time(page, &s->t1)) {
        return -1;
    }
    s->m = ref_count();
    return page_time(page, &s->t2);
}

static int do_check(const int *cpus, int ncpu, long n)
{
    int c, bad = 0;

    for (c = 0; c < ncpu; c++) {
        long i, viol = 0, invalid = 0, done = 0;
        uint64_t below = 0, above = 0, wmin = UINT64_MAX, wmax = 0;

        if (pin(cpus[c]) || msr_open(cpus[c])) {
            printf("hvclock: FAIL cpu=%d cannot pin or open its msr device\n",
                   cpus[c]);
            bad = 1;
            continue;
        }
        for (i = 0; i < n; i++) {
            Sample s;

            if (sample(&s)) {
                invalid++;
                continue;
            }
            done++;
            if (s.t2 >= s.t1) {
                wmin = s.t2 - s.t1 < wmin ? s.t2 - s.t1 : wmin;
                wmax = s.t2 - s.t1 > wmax ? s.t2 - s.t1 : wmax;
            }
            if (s.m < s.t1 || s.m > s.t2 || s.t2 < s.t1) {
                viol++;
                if (s.m < s.t1 && s.t1 - s.m > below) {
                    below = s.t1 - s.m;
                }
                if (s.m > s.t2 && s.m - s.t2 > above) {
                    above = s.m - s.t2;
                }
                if (viol <= 3) {
                    printf("hvclock: cpu=%d violation page=%" PRIu64
                           " msr=%" PRIu64 " page=%" PRIu64 "\n", cpus[c],
                           s.t1, s.m, s.t2);
                }
            }
        }
        printf("hvclock: check cpu=%d samples=%ld violations=%ld invalid=%ld"
               " msr_behind_max=%" PRIu64 " msr_ahead_max=%" PRIu64
               " window_min=%" PRIu64 " window_max=%" PRIu64 "\n", cpus[c],
               done, viol, invalid, below, above,
               wmin == UINT64_MAX ? 0 : wmin, wmax);
        if (viol || invalid || done == 0) {
            bad = 1;
        }
    }
    return bad;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int do_timer(const int *cpus, int ncpu, long n)
{
    int c, bad = 0;
    uint64_t rs = 0x9e3779b97f4a7c15ull;

    for (c = 0; c < ncpu; c++) {
        uint64_t cfg0, cfg1, early_max = 0, late_sum = 0, late_max = 0;
        long i, early = 0, lost = 0, fired = 0;

        if (pin(cpus[c]) || msr_open(cpus[c])) {
            printf("hvclock: FAIL cpu=%d cannot pin or open its msr device\n",
                   cpus[c]);
            bad = 1;
            continue;
        }
        if (rdmsr(MSR_STIMER0_CONFIG, &cfg0) || !(cfg0 & ST_ENABLE)) {
            printf("hvclock: SKIP cpu=%d stimer0 not in use (config 0x%"
                   PRIx64 ")\n", cpus[c], cfg0);
            return 2;
        }
        /*
         * STIMER1 routed as the kernel routes stimer0 (its direct vector
         * or its SINT), so the kernel's handler takes the expiry as one
         * more clockevent tick and acknowledges it; delivery clears the
         * enable bit of a one-shot timer.
         */
        cfg1 = ST_AUTO_ENABLE |
               (cfg0 & ST_DIRECT ? cfg0 & (ST_DIRECT | ST_VECTOR_MASK)
                                 : cfg0 & ST_SINT_MASK);
        if (wrmsr(MSR_STIMER1_CONFIG, cfg1)) {
            printf("hvclock: FAIL cpu=%d wrmsr STIMER1_CONFIG 0x%" PRIx64
                   ": %s (msr.allow_writes=on?)\n", cpus[c], cfg1,
                   strerror(errno));
            return 2;
        }
        for (i = 0; i < n; i++) {
            uint64_t now = ref_count(), delta, deadline, cfg, r = 0;
            long spins;

            /*
             * mostly 0..3 ms ahead; some 1..20 units; the last 2 s ahead
             * (where a rate difference between the timer's clock and
             * the counter would show)
             */
            delta = next_rand(&rs) % 30000;
            if (i % 8 == 1) {
                delta = next_rand(&rs) % 20 + 1;
            }
            if (i == n - 1) {
                delta = 2 * REF_HZ;
            }
            deadline = now + delta;
            wrmsr(MSR_STIMER1_COUNT, deadline);
            for (spins = 0; spins < 10000000; spins++) {
                if (rdmsr(MSR_STIMER1_CONFIG, &cfg)) {
                    break;
                }
                if (!(cfg & ST_ENABLE)) {
                    /* delivered before this read: the counter is later */
                    r = ref_count();
                    break;
                }
                if (ref_count() > deadline + 5 * REF_HZ) {
                    break;
                }
            }
            if (!r) {
                lost++;
                wrmsr(MSR_STIMER1_COUNT, 0);
                continue;
            }
            fired++;
            if (r < deadline) {
                early++;
                if (deadline - r > early_max) {
                    early_max = deadline - r;
                }
                if (early <= 3) {
                    printf("hvclock: cpu=%d early expiry deadline=%" PRIu64
                           " counter=%" PRIu64 "\n", cpus[c], deadline, r);
                }
            } else {
                late_sum += r - deadline;
                late_max = r - deadline > late_max ? r - deadline : late_max;
            }
        }
        wrmsr(MSR_STIMER1_CONFIG, 0);
        printf("hvclock: timer cpu=%d mode=%s armed=%ld fired=%ld early=%ld"
               " lost=%ld early_max=%" PRIu64 " late_avg=%" PRIu64
               " late_max=%" PRIu64 "\n", cpus[c],
               cfg0 & ST_DIRECT ? "direct" : "message", n, fired, early,
               lost, early_max, fired ? late_sum / fired : 0, late_max);
        if (early || lost || fired == 0) {
            bad = 1;
        }
    }
    return bad;
}

/* The sample with the narrowest window out of @n. */
static int best_sample(Sample *best, int n)
{
    int i, got = 0;

    for (i = 0; i < n; i++) {
        Sample s;

        if (sample(&s) || s.t2 < s.t1) {
            continue;
        }
        if (!got || s.t2 - s.t1 < best->t2 - best->t1) {
            *best = s;
        }
        got = 1;
    }
    return got ? 0 : -1;
}

static int do_drift(int cpu, long secs)
{
    Sample a, b;
    struct timespec ts;
    double dp, dm, drift, res, bound;
    uint64_t scale;

    if (pin(cpu) || msr_open(cpu)) {
        printf("hvclock: FAIL cpu=%d cannot pin or open its msr device\n",
               cpu);
        return 2;
    }
    if (best_sample(&a, 200)) {
        printf("hvclock: FAIL the TSC page is not valid\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += secs;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
           EINTR) {
        /* a signal: sleep on to the same deadline */
    }
    if (best_sample(&b, 200)) {
        printf("hvclock: FAIL the TSC page is not valid\n");
        return 1;
    }
    scale = __atomic_load_n(&page->scale, __ATOMIC_ACQUIRE);
    /* midpoints of the page windows against the MSR values */
    dp = ((double)b.t1 + b.t2) / 2 - ((double)a.t1 + a.t2) / 2;
    dm = (double)b.m - (double)a.m;
    if (dp <= 0) {
        printf("hvclock: FAIL the TSC page went backwards\n");
        return 1;
    }
    drift = (dm - dp) / dp * 1e6;
    /* where the MSR may sit inside the two windows */
    res = ((double)(a.t2 - a.t1) + (double)(b.t2 - b.t1)) / 2 / dp * 1e6;
    /*
     * What the page's rounding alone can explain: the scale is an
     * integer (relative step 1/scale) and each page and MSR value is
     * truncated to whole 100 ns units (2 units over the interval).
     */
    bound = 1e6 / (double)scale + 2 / dp * 1e6;
    printf("hvclock: drift cpu=%d page_delta=%.0f msr_delta=%.0f scale=%"
           PRIu64 " tsc_hz=%.0f windows=%" PRIu64 ",%" PRIu64 "\n", cpu, dp,
           dm, scale, (double)REF_HZ * 18446744073709551616.0 / scale,
           a.t2 - a.t1, b.t2 - b.t1);
    printf("hvclock: sampling resolution +-%.3f ppm\n", res);
    printf("hvclock drift over %ld s guest time: %.3f ppm (scale rounding "
           "bound: %.6f ppm)\n", secs, drift, bound);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "check";
    long n = argc > 2 ? strtol(argv[2], NULL, 0) : 0;
    int cpus[256], ncpu = online_cpus(cpus, 256);
    uint64_t tref;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (ncpu == 0 || msr_open(cpus[0])) {
        printf("hvclock: SKIP no /dev/cpu/N/msr (modprobe msr)\n");
        return 2;
    }
    if (pin(cpus[0])) {
        printf("hvclock: SKIP cannot pin to cpu %d\n", cpus[0]);
        return 2;
    }
    if (rdmsr(MSR_REFERENCE_TSC, &tref) || !(tref & 1)) {
        printf("hvclock: SKIP the reference TSC page is not enabled\n");
        return 2;
    }
    if (find_page()) {
        printf("hvclock: SKIP no valid TSC page in [vvar] (REFERENCE_TSC 0x%"
               PRIx64 "; is hyperv_clocksource_tsc_page the clocksource?)\n",
               tref);
        return 2;
    }
    printf("hvclock: page in [vvar] at %p, REFERENCE_TSC 0x%" PRIx64
           ", %d cpus\n", (const void *)page, tref, ncpu);
    if (!strcmp(mode, "check")) {
        return do_check(cpus, ncpu, n > 0 ? n : 20000);
    } else if (!strcmp(mode, "timer")) {
        return do_timer(cpus, ncpu, n > 0 ? n : 200);
    } else if (!strcmp(mode, "drift")) {
        return do_drift(cpus[0], n > 0 ? n : 10);
    }
    fprintf(stderr, "usage: hvclock check|timer|drift [N]\n");
    return 2;
}
