// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the KVM runner's APIC timer (kvm/lapic_timer.c) on the
 * AVIC model, one vCPU whose thread is the fuzzer's (its kick timer made,
 * the kick signal blocked), no timer thread: LVTT, TMICT, TDCR and SVR
 * writes in any order and with any value, TMCCT and TMICT reads,
 * IA32_TSC_DEADLINE writes (0, past, due now, near, far, any value, at any
 * TSC rate) and reads, the vCPU thread's poll, INIT, accept + EOI.
 *
 * Input: operations, each an opcode byte and the operands it needs (reads
 * past the end give zeros).
 *
 * Invariants, after every operation:
 *   - in TSC-deadline mode TMICT and TMCCT read 0 and at most one of the
 *     timer thread's and the vCPU thread's deadlines is armed;
 *   - outside it no TSC deadline is armed and IA32_TSC_DEADLINE reads 0;
 *   - TMCCT never exceeds TMICT;
 *   - a vCPU-thread deadline needs its kick timer and is never further
 *     than VKVM_TIMER_NEAR_NS ahead;
 *   - an LVTT write that neither enters nor leaves TSC-deadline mode leaves
 *     the count's deadline as it was; one that does disarms everything;
 *   - a TMICT write in TSC-deadline mode changes nothing armed;
 *   - a deadline at or before the guest's TSC fires inside the write
 *     (counted; in IRR when the LVT is unmasked with a legal vector; the
 *     MSR reads 0), a near one goes to the vCPU thread, a far one to the
 *     timer thread;
 *   - IRR holds no vector below 16.
 * After the input: vkvm_lapic_fini leaves no page or byte outstanding.
 */
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>
#include <vintc/host.h>

#include "kvm/lapic.h"
#include "kvm/lapic_timer.h"

#define FUZZ_NAME "fuzz_timer"
#include "fuzz_util.h"

#define MODE_MASK	(3U << 17)
#define MODE_DEADLINE	(2U << 17)

static sigset_t kick_set;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The kick timer's signal, as the runner blocks it outside KVM_RUN. */
	sigemptyset(&kick_set);
	sigaddset(&kick_set, VKVM_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &kick_set, NULL);
	return 0;
}

static uint32_t rd(struct vkvm_lapic *l, uint32_t off)
{
	uint32_t v = 0;

	vkvm_lapic_access(l, 0, off, false, &v);
	return v;
}

static void wr(struct vkvm_lapic *l, uint32_t off, uint32_t v)
{
	vkvm_lapic_access(l, 0, off, true, &v);
}

static bool irr(struct vkvm_lapic *l, unsigned int v)
{
	return (rd(l, APIC_VECTOR_WORD(APIC_IRR, v)) >> APIC_VECTOR_BIT(v)) & 1;
}

static uint64_t msr_rd(struct vkvm_lapic *l)
{
	uint64_t v = 0xDEADBEEF;

	vkvm_lapic_tsc_deadline(l, 0, false, &v, 0, 0);
	return v;
}

static uint64_t fires(struct vkvm_lapic *l)
{
	return l->st.timer_fires;
}

static void check(struct vkvm_lapic *l)
{
	struct vkvm_timer *t = &l->timers[0];
	uint32_t lvtt = rd(l, APIC_LVTT);

	if ((lvtt & MODE_MASK) == MODE_DEADLINE) {
		CHECK(rd(l, APIC_TMICT) == 0, "TMICT 0x%x", rd(l, APIC_TMICT));
		CHECK(rd(l, APIC_TMCCT) == 0, "TMCCT 0x%x", rd(l, APIC_TMCCT));
		CHECK(!(t->deadline_ns && t->local_ns), "both armed");
	} else {
		CHECK(!t->local_ns && !t->tsc_deadline, "a TSC deadline outside its mode");
		CHECK(msr_rd(l) == 0, "IA32_TSC_DEADLINE 0x%llx", (unsigned long long)msr_rd(l));
		CHECK(rd(l, APIC_TMCCT) <= rd(l, APIC_TMICT), "TMCCT 0x%x > TMICT 0x%x",
		      rd(l, APIC_TMCCT), rd(l, APIC_TMICT));
	}
	if (t->local_ns) {
		CHECK(t->has_kick_timer, "a vCPU-thread deadline without a kick timer");
		CHECK(t->local_ns <= host_now_ns() + VKVM_TIMER_NEAR_NS, "local deadline too far");
	}
	CHECK((rd(l, APIC_IRR) & 0xFFFF) == 0, "IRR below 16: 0x%x", rd(l, APIC_IRR));
}

static void lvtt_write(struct vkvm_lapic *l, uint32_t v)
{
	struct vkvm_timer *t = &l->timers[0];
	uint32_t old = rd(l, APIC_LVTT);
	uint64_t deadline = t->deadline_ns;

	wr(l, APIC_LVTT, v);
	v = rd(l, APIC_LVTT);
	if (((old ^ v) & MODE_MASK) == 0)
		CHECK(t->deadline_ns == deadline, "same mode changed the deadline");
	else if (((old & MODE_MASK) == MODE_DEADLINE) != ((v & MODE_MASK) == MODE_DEADLINE))
		CHECK(!t->deadline_ns && !t->local_ns && !rd(l, APIC_TMICT),
		      "a TSC-deadline transition left something armed");
	else
		CHECK(t->deadline_ns == deadline, "one-shot <-> periodic stopped the count");
}

static void tmict_write(struct vkvm_lapic *l, uint32_t v)
{
	struct vkvm_timer *t = &l->timers[0];
	uint64_t deadline = t->deadline_ns, local = t->local_ns, tsc = t->tsc_deadline;

	wr(l, APIC_TMICT, v);
	if ((rd(l, APIC_LVTT) & MODE_MASK) == MODE_DEADLINE)
		CHECK(t->deadline_ns == deadline && t->local_ns == local &&
		      t->tsc_deadline == tsc, "TMICT in TSC-deadline mode changed the timer");
}

static uint64_t pick_khz(struct input *in)
{
	switch (u8(in) & 3) {
	case 0:
		return 0;
	case 1:
		return 1000000;
	case 2:
		return 2500000;
	default:
		return u32(in);
	}
}

static void deadline_write(struct vkvm_lapic *l, struct input *in)
{
	struct vkvm_timer *t = &l->timers[0];
	uint64_t tsc = u64(in), khz = pick_khz(in), val, n = fires(l), ahead, now;
	uint32_t lvtt = rd(l, APIC_LVTT);
	bool mode = (lvtt & MODE_MASK) == MODE_DEADLINE;

	switch (u8(in) % 6) {
	case 0:
		val = 0;
		break;
	case 1:
		val = tsc - u16(in);		/* past (or wraps: far) */
		break;
	case 2:
		val = tsc;
		break;
	case 3:
		val = tsc + u16(in);		/* near at most rates */
		break;
	case 4:
		val = tsc + u32(in);
		break;
	default:
		val = u64(in);
		break;
	}
	ahead = val > tsc ? vkvm_timer_tsc_to_ns(val - tsc, khz) : 0;
	now = host_now_ns();
	vkvm_lapic_tsc_deadline(l, 0, true, &val, tsc, khz);
	if (!mode) {
		CHECK(fires(l) == n && !t->local_ns, "a write outside the mode did something");
		return;
	}
	if (!val) {
		CHECK(fires(l) == n && !t->local_ns && !t->deadline_ns, "0 did not disarm");
		return;
	}
	/* Due: at or before the TSC, or less than a nanosecond ahead. */
	if (!ahead) {
		CHECK(fires(l) == n + 1, "a due deadline did not fire at once");
		CHECK(msr_rd(l) == 0, "a fired deadline still reads");
		if (!(lvtt & APIC_LVT_MASKED) && (lvtt & 0xFF) >= 16)
			CHECK(irr(l, lvtt & 0xFF), "a due deadline is not in IRR");
		return;
	}
	CHECK(fires(l) == n, "a future deadline fired");
	CHECK(msr_rd(l) == val, "MSR reads 0x%llx", (unsigned long long)msr_rd(l));
	if (ahead <= VKVM_TIMER_NEAR_NS && t->has_kick_timer) {
		CHECK(t->local_ns && !t->deadline_ns, "a near deadline is not the vCPU thread's");
		CHECK(t->local_ns >= now + ahead, "the near deadline is early");
	} else {
		CHECK(t->deadline_ns && !t->local_ns, "a far deadline is not the timer thread's");
		CHECK(t->deadline_ns >= now + ahead || t->deadline_ns == UINT64_MAX,
		      "the far deadline is early (wrapped?)");
	}
}

static void drain(struct vkvm_lapic *l)
{
	int vec;

	while ((vec = vkvm_lapic_accept(l, 0)) >= 0) {
		CHECK(vec >= 16, "accepted vector %d", vec);
		wr(l, APIC_EOI, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct timespec zero = { 0, 0 };
	static struct vkvm_lapic l;
	char why[128];

	if (vkvm_lapic_init(&l, 1, why, sizeof(why)))
		abort();
	vkvm_lapic_timer_cpu_init(&l, 0);
	for (int ops = 0; in.n && ops < 256; ops++) {
		switch (u8(&in) % 11) {
		case 0:
			lvtt_write(&l, u32(&in));
			break;
		case 1:
			/* The useful LVTT values: a vector, a mode, the mask bit. */
			lvtt_write(&l, 0x20 | (u8(&in) & 3U) << 17 | (u8(&in) & 1U) << 16);
			break;
		case 2:
			tmict_write(&l, u8(&in) & 1 ? u32(&in) : u16(&in));
			break;
		case 3:
			wr(&l, APIC_TDCR, u8(&in));
			break;
		case 4:
			wr(&l, APIC_SPIV, u8(&in) & 1 ? 0x1FF : u32(&in));
			break;
		case 5:
		case 6:
			deadline_write(&l, &in);
			break;
		case 7:
			vkvm_lapic_timer_poll(&l, 0);
			CHECK(vkvm_lapic_timer_wait_ns(&l, 0, 1000) <= 1000, "wait past max");
			break;
		case 8:
			vkvm_lapic_reset(&l, 0);
			CHECK(!l.timers[0].deadline_ns && !l.timers[0].local_ns, "INIT left a timer");
			break;
		case 9:
			drain(&l);
			break;
		default:
			(void)rd(&l, u8(&in) & 1 ? APIC_TMCCT : APIC_TMICT);
			break;
		}
		check(&l);
	}
	vkvm_lapic_timer_cpu_fini(&l, 0);
	vkvm_lapic_fini(&l);
	while (sigtimedwait(&kick_set, NULL, &zero) > 0)
		;
	CHECK(host_mem_stats(HOST_TAG_NR).pages == 0, "pages left");
	CHECK(host_mem_stats(HOST_TAG_NR).bytes == 0, "bytes left");
	return 0;
}
