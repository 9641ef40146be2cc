// SPDX-License-Identifier: MIT
/*
 * timer2: what the APIC timer must keep doing across mode switches, and
 * TSC deadlines that are due when written, on the BSP.
 *
 * Mode switches (SDM 10.5.4.1; KVM's LAPIC does the same): between
 * one-shot and periodic the count goes on: a one-shot made periodic
 * reloads, a periodic made one-shot fires once more and stops.  Entering
 * or leaving TSC-deadline mode disarms the timer and clears TMICT; in
 * TSC-deadline mode TMICT writes are ignored (and do not disarm the
 * deadline) and TMCCT reads 0.
 *
 * Due deadlines: a TSC deadline already past when written is taken before
 * the next instruction with IF = 1 (before a CPUID after it, too), and
 * with IF = 0 is in IRR when the WRMSR completes; a near one fires while
 * the CPU spins and while it halts.
 *
 * Times are real: TSC ticks per microsecond are calibrated against the
 * APIC count at divide-by-1, one count a nanosecond on both irqchips.
 *
 * Benchmarks (bench/kvm.c; the tests are skipped): "lat=N" arms N TSC
 * deadlines "ahead=US" microseconds ahead (default 50), each waited for
 * halting ("spin=1": spinning with IF = 1), and prints the
 * deadline-to-handler latency; "now=N" writes N deadlines that are due
 * at once, each taken before the next, and prints the time per deadline.
 * Both print one "BENCH ..." line, in nanoseconds.
 */
#include "guest.h"

#define APIC_LVTT	0x320
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3E0
#define APIC_IRR	0x200

#define LVT_MASKED	(1U << 16)
#define LVT_ONESHOT	0
#define LVT_PERIODIC	(1U << 17)
#define LVT_TSC_DEADLINE (2U << 17)
#define TDCR_DIV_1	0xB

#define VEC_TIMER	0x31
#define PERIOD_NS	1000000U	/* 1 ms: counts at divide-by-1 */
#define PAST_ROUNDS	200
#define MAX_SAMPLES	4096
#define MAX_ARG		10000000U
/* How long to wait for an interrupt that must come: a loaded host is slow. */
#define SPIN_LIMIT_US	2000000U

static volatile uint32_t ticks, handler_tsc;
static uint32_t tsc_per_us;

void irq_handler(uint32_t vector)
{
	if (vector == VEC_TIMER) {
		handler_tsc = (uint32_t)rdtsc();
		ticks++;
	}
	apic_write(APIC_EOI, 0);
}

static int fail(const char *what, uint32_t v)
{
	return report(0, what, v);
}

static void tsc_wait_us(uint32_t us)
{
	uint64_t end = rdtsc() + (uint64_t)us * tsc_per_us;

	while (rdtsc() < end)
		__asm__ volatile("pause");
}

/* Spin with IF = 1 until ticks reaches want or us microseconds pass. */
static int spin_ticks(uint32_t want, uint32_t us)
{
	uint64_t end = rdtsc() + (uint64_t)us * tsc_per_us;

	__asm__ volatile("sti");
	while (ticks < want)
		if (rdtsc() > end)
			return 0;
	return 1;
}

static void timer_stop(void)
{
	apic_write(APIC_LVTT, LVT_MASKED | VEC_TIMER);
	apic_write(APIC_TMICT, 0);
	wrmsr(MSR_TSC_DEADLINE, 0);
}

/* The APIC counts nanoseconds at divide-by-1: TSC ticks per microsecond. */
static int calibrate(void)
{
	uint32_t c0, c1, t0, t1;

	apic_write(APIC_LVTT, LVT_MASKED | VEC_TIMER);
	apic_write(APIC_TMICT, 0xFFFFFFFFU);
	c0 = apic_read(APIC_TMCCT);
	t0 = (uint32_t)rdtsc();
	while (apic_read(APIC_TMCCT) > c0 - 20000000U)	/* 20 ms */
		__asm__ volatile("pause");
	c1 = apic_read(APIC_TMCCT);
	t1 = (uint32_t)rdtsc();
	apic_write(APIC_TMICT, 0);
	tsc_per_us = (t1 - t0) / ((c0 - c1) / 1000);
	return tsc_per_us ? 0 : fail("timer2 calibration", c0 - c1);
}

static uint32_t ticks_to_ns(uint32_t t)
{
	return t / tsc_per_us * 1000 + t % tsc_per_us * 1000 / tsc_per_us;
}

/*
 * The mode-switch checks race the count they switch: a host that stalls
 * the guest for longer than the count can make one end before the switch.
 * Each check takes its period, says RETRY when it saw that happen (the
 * TSC between arming and switching passed half the period), and is run
 * again with twice the period, up to 1 << MAX_TRIES times the first.
 */
#define RETRY		2
#define MAX_TRIES	5

/* Microseconds since tsc, for spans under a second (32-bit arithmetic). */
static uint32_t us_since(uint64_t tsc)
{
	return (uint32_t)(rdtsc() - tsc) / tsc_per_us;
}

/*
 * Stop the timer, then take with IF = 1 what it may have fired before it
 * stopped: no stale tick may count in the next check.
 */
static void timer_quiesce(void)
{
	__asm__ volatile("cli");
	timer_stop();
	__asm__ volatile("sti");
	tsc_wait_us(1000);
	__asm__ volatile("cli");
}

static int retried(int (*check)(uint32_t period_ns), const char *what)
{
	int ret = RETRY;

	for (uint32_t i = 0, ns = PERIOD_NS; i < MAX_TRIES && ret == RETRY; i++, ns *= 2) {
		ret = check(ns);
		timer_quiesce();
	}
	return ret == RETRY ? fail(what, MAX_TRIES) : ret;
}

/* One-shot made periodic mid-count: it keeps counting, then reloads. */
static int oneshot_to_periodic(uint32_t ns)
{
	uint64_t t0;
	uint32_t cur;

	ticks = 0;
	apic_write(APIC_LVTT, LVT_ONESHOT | VEC_TIMER);
	t0 = rdtsc();
	apic_write(APIC_TMICT, ns);
	apic_write(APIC_LVTT, LVT_PERIODIC | VEC_TIMER);
	cur = apic_read(APIC_TMCCT);
	if (us_since(t0) > ns / 2000)
		return RETRY;
	if (!cur || cur > ns)
		return fail("timer2 one-shot to periodic: TMCCT", cur);
	if (!spin_ticks(3, SPIN_LIMIT_US))
		return fail("timer2 one-shot to periodic: ticks", ticks);
	return report(1, "timer2 one-shot to periodic keeps counting", 0);
}

/* Periodic made one-shot mid-count: the count ends once more, then nothing. */
static int periodic_to_oneshot(uint32_t ns)
{
	uint64_t t0;

	ticks = 0;
	apic_write(APIC_LVTT, LVT_PERIODIC | VEC_TIMER);
	t0 = rdtsc();
	apic_write(APIC_TMICT, ns);
	if (!spin_ticks(1, SPIN_LIMIT_US))
		return fail("timer2 periodic: first tick", ticks);
	__asm__ volatile("cli");
	apic_write(APIC_LVTT, LVT_ONESHOT | VEC_TIMER);
	/* The switch must come inside the second period, not after it. */
	if (us_since(t0) > ns / 1000 * 3 / 2)
		return RETRY;
	if (!spin_ticks(2, SPIN_LIMIT_US))
		return fail("timer2 periodic to one-shot: last tick", ticks);
	tsc_wait_us(5 * (ns / 1000));
	if (ticks != 2)
		return fail("timer2 periodic to one-shot: ticks after", ticks);
	if (apic_read(APIC_TMCCT))
		return fail("timer2 periodic to one-shot: TMCCT", apic_read(APIC_TMCCT));
	return report(1, "timer2 periodic to one-shot fires once", 0);
}

/* Into TSC-deadline mode: the armed count is gone and TMICT reads 0. */
static int into_deadline(uint32_t ns)
{
	uint64_t t0;
	uint32_t v;

	ticks = 0;
	apic_write(APIC_LVTT, LVT_ONESHOT | VEC_TIMER);
	t0 = rdtsc();
	apic_write(APIC_TMICT, ns);
	apic_write(APIC_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
	if (us_since(t0) > ns / 2000)
		return RETRY;
	if ((v = apic_read(APIC_TMICT)) != 0)
		return fail("timer2 into tsc-deadline: TMICT", v);
	if ((v = apic_read(APIC_TMCCT)) != 0)
		return fail("timer2 into tsc-deadline: TMCCT", v);
	if (spin_ticks(1, 3 * (ns / 1000)))
		return fail("timer2 into tsc-deadline: the count fired", ticks);
	return report(1, "timer2 entering tsc-deadline mode disarms", 0);
}

/* Out of it: the armed deadline is gone, IA32_TSC_DEADLINE reads 0. */
static int out_of_deadline(uint32_t ns)
{
	uint64_t t0;

	ticks = 0;
	apic_write(APIC_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
	t0 = rdtsc();
	wrmsr(MSR_TSC_DEADLINE, t0 + (uint64_t)(ns / 1000) * tsc_per_us);
	apic_write(APIC_LVTT, LVT_ONESHOT | VEC_TIMER);
	if (us_since(t0) > ns / 2000)
		return RETRY;
	if (rdmsr(MSR_TSC_DEADLINE) != 0)
		return fail("timer2 out of tsc-deadline: MSR", (uint32_t)rdmsr(MSR_TSC_DEADLINE));
	apic_write(APIC_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
	if (rdmsr(MSR_TSC_DEADLINE) != 0)
		return fail("timer2 back in tsc-deadline: MSR", (uint32_t)rdmsr(MSR_TSC_DEADLINE));
	if (spin_ticks(1, 3 * (ns / 1000)))
		return fail("timer2 out of tsc-deadline: the deadline fired", ticks);
	return report(1, "timer2 leaving tsc-deadline mode disarms", 0);
}

/* TMICT in TSC-deadline mode: ignored, and the deadline stays armed. */
static int tmict_in_deadline(void)
{
	uint32_t v;

	ticks = 0;
	apic_write(APIC_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + 2000ULL * tsc_per_us);
	apic_write(APIC_TMICT, 12345);
	if ((v = apic_read(APIC_TMICT)) != 0)
		return fail("timer2 tsc-deadline TMICT write: TMICT", v);
	if ((v = apic_read(APIC_TMCCT)) != 0)
		return fail("timer2 tsc-deadline TMICT write: TMCCT", v);
	if (!spin_ticks(1, SPIN_LIMIT_US))
		return fail("timer2 tsc-deadline TMICT write: the deadline", ticks);
	timer_quiesce();
	return report(1, "timer2 tmict ignored in tsc-deadline mode", 0);
}

static int deadline_transitions(void)
{
	if (retried(into_deadline, "timer2 into tsc-deadline: too slow to tell, tries"))
		return 1;
	if (tmict_in_deadline())
		return 1;
	return retried(out_of_deadline, "timer2 out of tsc-deadline: too slow to tell, tries");
}

/*
 * A deadline already due when written: with IF = 1 the interrupt is taken
 * before the next instruction, every time; with IF = 0 it is in IRR when
 * the WRMSR completes.  Taken later instead (KVM's LAPIC on some hosts,
 * e.g. kvm_pvm, sets IRR only at a later exit) prints a SKIP line naming
 * the round; never taken is a FAIL.
 */
static int due_deadlines(void)
{
	uint32_t a, b, c, d, irr, late = 0;

	ticks = 0;
	apic_write(APIC_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
	__asm__ volatile("sti");
	for (uint32_t i = 0; i < PAST_ROUNDS; i++) {
		uint32_t at_once;

		wrmsr(MSR_TSC_DEADLINE, i & 1 ? 1 : rdtsc());
		at_once = ticks;		/* the very next instruction */
		cpuid(0, &a, &b, &c, &d);
		if ((at_once != i + 1 || ticks != i + 1) && !late)
			late = i + 1;
		if (!spin_ticks(i + 1, SPIN_LIMIT_US))
			return fail("timer2 past deadline: never taken at round", i);
		if (rdmsr(MSR_TSC_DEADLINE) != 0)
			return fail("timer2 past deadline: MSR", (uint32_t)rdmsr(MSR_TSC_DEADLINE));
	}
	if (late) {
		puts("SKIP timer2 past deadline taken before the next instruction: later, round ");
		put_u32(late - 1);
		putc('\n');
	} else {
		report(1, "timer2 past deadline taken before the next instruction", 0);
	}

	__asm__ volatile("cli");
	wrmsr(MSR_TSC_DEADLINE, 1);
	irr = apic_read(APIC_IRR + (VEC_TIMER / 32) * 0x10);
	if (!spin_ticks(PAST_ROUNDS + 1, SPIN_LIMIT_US))
		return fail("timer2 past deadline, IF=0: never taken after STI", ticks);
	if (irr & (1U << (VEC_TIMER % 32)))
		report(1, "timer2 past deadline with IF=0 pending in IRR", 0);
	else
		puts("SKIP timer2 past deadline with IF=0 pending in IRR: later\n");

	/* Near: 20 us ahead, spinning, then halting. */
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + 20ULL * tsc_per_us);
	if (!spin_ticks(PAST_ROUNDS + 2, SPIN_LIMIT_US))
		return fail("timer2 near deadline spinning", ticks);
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + 20ULL * tsc_per_us);
	if (!wait_halting(&ticks, PAST_ROUNDS + 3))
		return fail("timer2 near deadline halting", ticks);
	timer_stop();
	return report(1, "timer2 near deadline fires", 0);
}

/* N from "KEY=N" in the Multiboot command line (key includes '='), or def. */
static uint32_t cmdline_u32(uint32_t info, const char *key, uint32_t def)
{
	const struct mb_info *mbi = (const struct mb_info *)info;
	const char *s;

	if (!info || !(mbi->flags & MB_INFO_CMDLINE) || !mbi->cmdline)
		return def;
	for (s = (const char *)mbi->cmdline; *s; s++) {
		uint32_t i = 0, n = 0;

		if (s != (const char *)mbi->cmdline && s[-1] != ' ')
			continue;
		while (key[i] && s[i] == key[i])
			i++;
		if (key[i])
			continue;
		for (s += i; *s >= '0' && *s <= '9'; s++)
			if ((n = n * 10 + (uint32_t)(*s - '0')) > MAX_ARG)
				return def;
		return n;
	}
	return def;
}

static uint32_t samples[MAX_SAMPLES];

static void sort(uint32_t *v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j && v[j - 1] > v[j]; j--) {
			uint32_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static void bench_line(const char *what, uint32_t n, uint32_t median, uint32_t mean)
{
	puts("BENCH ");
	puts(what);
	puts(" n=");
	put_u32(n);
	puts(" median_ns=");
	put_u32(median);
	puts(" mean_ns=");
	put_u32(mean);
	putc('\n');
}

/* Deadline to handler, N times: the deadline's TSC to the handler's. */
static void bench_latency(uint32_t n, uint32_t ahead_us, uint32_t spin)
{
	uint64_t sum = 0;

	if (n > MAX_SAMPLES)
		n = MAX_SAMPLES;
	ticks = 0;
	apic_write(APIC_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t dl = rdtsc() + (uint64_t)ahead_us * tsc_per_us;
		int32_t late;

		wrmsr(MSR_TSC_DEADLINE, dl);
		if (spin)
			spin_ticks(i + 1, 1000000);
		else
			wait_halting(&ticks, i + 1);
		late = (int32_t)(handler_tsc - (uint32_t)dl);
		samples[i] = ticks_to_ns(late > 0 ? (uint32_t)late : 0);
		sum += samples[i];
	}
	timer_stop();
	sort(samples, n);
	bench_line(spin ? "latency spinning" : "latency halting", n, n ? samples[n / 2] : 0,
		   n ? (uint32_t)sum / n : 0);
}

/* N deadlines due when written, each taken (IF = 1) before the next. */
static void bench_now(uint32_t n)
{
	uint32_t t0, t1;

	ticks = 0;
	apic_write(APIC_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
	__asm__ volatile("sti");
	t0 = (uint32_t)rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		wrmsr(MSR_TSC_DEADLINE, rdtsc());
		while (ticks < i + 1)
			__asm__ volatile("pause");
	}
	t1 = (uint32_t)rdtsc();
	timer_stop();
	bench_line("immediate", n, 0, n ? ticks_to_ns(t1 - t0) / n : 0);
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t a, b, c, d, lat, now;

	info = magic == MB_BOOT_MAGIC ? info : 0;
	cpu_init();
	apic_write(APIC_TDCR, TDCR_DIV_1);
	if (calibrate())
		return 1;
	cpuid(1, &a, &b, &c, &d);
	lat = cmdline_u32(info, "lat=", 0);
	now = cmdline_u32(info, "now=", 0);
	if (lat || now) {
		if (!(c & CPUID_1_ECX_TSC_DEADLINE)) {
			puts("SKIP timer2 bench: no TSC deadline in CPUID\n");
			return 0;
		}
		if (lat)
			bench_latency(lat, cmdline_u32(info, "ahead=", 50),
				      cmdline_u32(info, "spin=", 0));
		if (now)
			bench_now(now);
		return 0;
	}
	if (retried(oneshot_to_periodic, "timer2 one-shot to periodic: too slow to tell, tries") ||
	    retried(periodic_to_oneshot, "timer2 periodic to one-shot: too slow to tell, tries"))
		return 1;
	if (!(c & CPUID_1_ECX_TSC_DEADLINE)) {
		puts("SKIP timer2 tsc-deadline: not in CPUID\n");
		return 0;
	}
	if (deadline_transitions() || due_deadlines())
		return 1;
	return 0;
}
