// SPDX-License-Identifier: MIT
/*
 * timer: the local APIC timer on the BSP, with no calibration.  Divide by
 * 1, so one count is one APIC bus cycle (1 ns on both irqchips: vintc's
 * documented 1 GHz and KVM's own).  One-shot: a small count, then halt
 * until the handler ran.  Periodic: five ticks.  Count: TMCCT decreases
 * from the initial count.  Masked: a masked LVT that expires delivers
 * nothing.
 */
#include "guest.h"

#define APIC_LVTT	0x320
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3E0

#define LVT_MASKED	(1U << 16)
#define LVT_PERIODIC	(1U << 17)
#define LVT_TSC_DEADLINE (2U << 17)
#define TSC_AHEAD	100000ULL	/* TSC ticks */
#define TSC_FAR		(100 * TSC_AHEAD)	/* far beyond two exits' time */
#define TDCR_DIV_1	0xB

#define VEC_TIMER	0x30
#define ONE_SHOT_COUNT	100000U		/* 100 us */
#define PERIOD_COUNT	1000000U	/* 1 ms */
#define PERIODIC_TICKS	5

static volatile uint32_t ticks;

void irq_handler(uint32_t vector)
{
	if (vector == VEC_TIMER)
		ticks++;
	apic_write(APIC_EOI, 0);
}

/* Halt until ticks reaches want; 0 if that never happens.  Returns with IF = 1. */
static int wait_ticks(uint32_t want)
{
	int ok = wait_halting(&ticks, want);

	__asm__ volatile("sti");
	return ok;
}

static void timer_stop(void)
{
	apic_write(APIC_LVTT, LVT_MASKED | VEC_TIMER);
	apic_write(APIC_TMICT, 0);
}

/*
 * Spin for `ticks` TSC ticks.  RDTSC loops, not counting loops: some
 * hosts run 32-bit ring-0 loads and stores through an emulator, slowly.
 */
static void tsc_wait(uint64_t n)
{
	uint64_t end = rdtsc() + n;

	while (rdtsc() < end)
		__asm__ volatile("pause");
}

static int fail(const char *what, uint32_t v)
{
	puts("FAIL ");
	puts(what);
	puts(" ");
	put_u32(v);
	putc('\n');
	return 1;
}

/*
 * TSC-deadline mode: a deadline 100 us ahead fires once and reads back 0
 * afterwards; one in the past fires at once; writing 0 disarms; a write
 * in one-shot mode is ignored (reads 0).  The TSC rate is unknown here,
 * so "ahead" is a fixed TSC delta: any rate from 100 MHz to 10 GHz keeps
 * it between 10 us and 1 ms.
 */
static int tsc_deadline(void)
{
	uint32_t a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	if (!(c & CPUID_1_ECX_TSC_DEADLINE)) {
		puts("SKIP timer tsc-deadline: not in CPUID\n");
		return 0;
	}
	ticks = 0;
	apic_write(APIC_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + TSC_AHEAD);
	if (!wait_ticks(1))
		return fail("timer tsc-deadline: ticks", ticks);
	if (rdmsr(MSR_TSC_DEADLINE) != 0)
		return fail("timer tsc-deadline: MSR after expiry", (uint32_t)rdmsr(MSR_TSC_DEADLINE));
	puts("PASS timer tsc-deadline\n");

	wrmsr(MSR_TSC_DEADLINE, 1);	/* long past */
	if (!wait_ticks(2))
		return fail("timer tsc-deadline past: ticks", ticks);
	puts("PASS timer tsc-deadline past\n");

	/*
	 * Armed far ahead, then disarmed: nothing may arrive.  A vCPU the
	 * host deschedules between the two writes may find the deadline
	 * passed before it disarms, and then the interrupt is due: that
	 * round proves nothing and is tried again.
	 */
	for (int round = 0;; round++) {
		uint64_t deadline = rdtsc() + TSC_FAR, before = ticks;

		wrmsr(MSR_TSC_DEADLINE, deadline);
		wrmsr(MSR_TSC_DEADLINE, 0);
		if (rdtsc() >= deadline) {
			if (round == 10)
				return fail("timer tsc-deadline disarm: never disarmed in time", round);
			tsc_wait(2 * TSC_FAR);
			continue;
		}
		tsc_wait(2 * TSC_FAR);
		if (ticks != before)
			return fail("timer tsc-deadline disarm: ticks", ticks - before);
		break;
	}
	puts("PASS timer tsc-deadline disarm\n");

	apic_write(APIC_LVTT, VEC_TIMER);	/* one-shot mode */
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + TSC_AHEAD);
	if (rdmsr(MSR_TSC_DEADLINE) != 0)
		return fail("timer tsc-deadline outside the mode", (uint32_t)rdmsr(MSR_TSC_DEADLINE));
	puts("PASS timer tsc-deadline ignored in one-shot mode\n");
	timer_stop();
	return 0;
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t a, b, before;

	(void)magic;
	(void)info;
	cpu_init();
	apic_write(APIC_TDCR, TDCR_DIV_1);

	/* One-shot. */
	ticks = 0;
	apic_write(APIC_LVTT, VEC_TIMER);
	apic_write(APIC_TMICT, ONE_SHOT_COUNT);
	if (!wait_ticks(1))
		return fail("timer one-shot: ticks", ticks);
	if (apic_read(APIC_TMCCT) != 0)
		return fail("timer one-shot: TMCCT after expiry", apic_read(APIC_TMCCT));
	puts("PASS timer one-shot\n");

	/* Periodic. */
	ticks = 0;
	apic_write(APIC_LVTT, LVT_PERIODIC | VEC_TIMER);
	apic_write(APIC_TMICT, PERIOD_COUNT);
	if (!wait_ticks(PERIODIC_TICKS))
		return fail("timer periodic: ticks", ticks);
	timer_stop();
	puts("PASS timer periodic\n");

	/* The current count, on a masked timer that will not fire meanwhile. */
	apic_write(APIC_LVTT, LVT_MASKED | VEC_TIMER);
	apic_write(APIC_TMICT, 0xFFFFFFFFU);
	a = apic_read(APIC_TMCCT);
	tsc_wait(TSC_AHEAD / 10);
	b = apic_read(APIC_TMCCT);
	apic_write(APIC_TMICT, 0);
	if (!a || b >= a)
		return fail("timer count: TMCCT did not decrease", b);
	puts("PASS timer count\n");

	/* Masked: the timer expires (TMCCT reaches 0) and nothing arrives. */
	before = ticks;
	apic_write(APIC_LVTT, LVT_MASKED | VEC_TIMER);
	apic_write(APIC_TMICT, ONE_SHOT_COUNT);
	while (apic_read(APIC_TMCCT))
		__asm__ volatile("pause");
	tsc_wait(TSC_AHEAD);
	if (ticks != before)
		return fail("timer masked: ticks", ticks - before);
	puts("PASS timer masked\n");
	timer_stop();
	return tsc_deadline();
}
