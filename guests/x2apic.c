// SPDX-License-Identifier: MIT
/*
 * x2apic: every CPU switches to x2APIC mode (IA32_APIC_BASE.EXTD) and the
 * APIC is used only through MSRs.  Checks: the 32-bit ID and the derived
 * LDR, SELF_IPI and self-shorthand ICR writes, TPR and PPR, #GP for
 * the accesses the architecture refuses (a write to a read-only register,
 * a read of a write-only one, registers x2APIC removed, reserved bits,
 * x2APIC back to xAPIC), then with more than one CPU a halting ping-pong
 * with AP 1 by physical and by logical (cluster, bit) destination and a
 * broadcast to 0xFFFFFFFF.  Without x2APIC in CPUID it prints one SKIP
 * line and exits 0.
 */
#include "guest.h"

#define TRAMPOLINE	0x8000U
#define VEC_PING	0x40
#define VEC_PONG	0x41
#define VEC_SELF	0x42
#define VEC_BCAST	0x43
#define ROUND_TRIPS	100
#define SPIN_LIMIT	200000000U
#define ICR_DEST_LOGICAL (1U << 11)
#define MAX_CPUS	64

static volatile uint32_t online, pongs, selfs, gps;
static volatile uint32_t bcasts[MAX_CPUS];

uint32_t gp_handler(void)
{
	gps++;
	return 2;	/* RDMSR and WRMSR are two bytes */
}

static uint32_t my_id(void)
{
	return (uint32_t)rdmsr(X2APIC_MSR(APIC_ID));
}

void irq_handler(uint32_t vector)
{
	switch (vector) {
	case VEC_PING:
		apic_eoi();
		apic_send(0, ICR_DM_FIXED | VEC_PONG);
		return;
	case VEC_PONG:
		pongs++;
		break;
	case VEC_SELF:
		selfs++;
		break;
	case VEC_BCAST:
		__atomic_add_fetch(&bcasts[my_id() & (MAX_CPUS - 1)], 1, __ATOMIC_RELAXED);
		break;
	}
	apic_eoi();
}

/* One access that must raise #GP: exactly one more #GP afterwards. */
static void expect_gp(int write, uint32_t msr, uint64_t v, const char *what)
{
	uint32_t before = gps;

	if (write)
		wrmsr(msr, v);
	else
		(void)rdmsr(msr);
	report(gps == before + 1, what, gps - before);
}

static void ap_main(uint32_t id)
{
	cpu_init();
	x2apic_enable();
	if (my_id() != id)
		report(0, "x2apic ap id", my_id());
	__atomic_add_fetch(&online, 1, __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

static void checks_single(void)
{
	uint32_t a, b, c, d, id, ldr, ppr, before, lvr, svr;

	cpuid(1, &a, &b, &c, &d);
	id = my_id();
	report(id == b >> 24, "x2apic id", id);
	ldr = (uint32_t)rdmsr(X2APIC_MSR(APIC_LDR));
	report(ldr == (((id >> 4) << 16) | (1U << (id & 0xF))), "x2apic ldr", ldr);

	/*
	 * With x2APIC in CPUID and the I/O APIC not KVM's, KVM's LAPIC offers
	 * EOI-broadcast suppression (LVR bit 24) and lets SVR bit 12 be set.
	 */
	lvr = (uint32_t)rdmsr(X2APIC_MSR(0x030));
	report(lvr == (0x14U | (5U << 16) | (1U << 24)), "x2apic lvr offers directed eoi", lvr);
	svr = (uint32_t)rdmsr(X2APIC_MSR(APIC_SVR));
	wrmsr(X2APIC_MSR(APIC_SVR), svr | (1U << 12));
	report(rdmsr(X2APIC_MSR(APIC_SVR)) == (svr | (1U << 12)), "x2apic svr directed eoi bit",
	       (uint32_t)rdmsr(X2APIC_MSR(APIC_SVR)));
	wrmsr(X2APIC_MSR(APIC_SVR), svr);

	__asm__ volatile("sti");
	wrmsr(X2APIC_MSR(0x3F0), VEC_SELF);	/* SELF_IPI */
	report(wait_halting(&selfs, 1), "x2apic self-ipi msr", selfs);
	apic_send(0, ICR_SH_SELF | ICR_DM_FIXED | VEC_SELF);
	report(wait_halting(&selfs, 2), "x2apic self-ipi icr", selfs);

	wrmsr(X2APIC_MSR(APIC_TPR), 0x50);
	ppr = (uint32_t)rdmsr(X2APIC_MSR(APIC_PPR));
	report(ppr == 0x50, "x2apic tpr to ppr", ppr);
	wrmsr(X2APIC_MSR(APIC_TPR), 0);

	expect_gp(1, X2APIC_MSR(APIC_ID), 5, "x2apic gp write id");
	expect_gp(1, X2APIC_MSR(APIC_PPR), 0, "x2apic gp write ppr");
	expect_gp(0, X2APIC_MSR(APIC_EOI), 0, "x2apic gp read eoi");
	/* The SDM's #GP; KVM's own LAPIC accepts it (a known difference). */
	before = gps;
	wrmsr(X2APIC_MSR(APIC_EOI), 1);
	console_lock();
	puts(gps == before + 1 ? "PASS x2apic gp eoi nonzero\n" :
	     "SKIP x2apic gp eoi nonzero: no #GP from this APIC\n");
	console_unlock();
	expect_gp(1, X2APIC_MSR(0x0E0), 0, "x2apic gp dfr");
	expect_gp(0, X2APIC_MSR(APIC_ICR2), 0, "x2apic gp icr2");
	expect_gp(1, X2APIC_MSR(APIC_TPR), 1ULL << 32, "x2apic gp reserved high bits");
	expect_gp(1, X2APIC_MSR(0x3F0), 0x100 | VEC_SELF, "x2apic gp self-ipi reserved");
	expect_gp(1, X2APIC_MSR(APIC_ICR), (1U << 13) | ICR_SH_SELF | ICR_DM_FIXED | VEC_SELF,
		  "x2apic gp icr reserved bits");
	expect_gp(1, MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) & ~(uint64_t)APIC_BASE_EXTD,
		  "x2apic gp back to xapic");
	report(selfs == 2, "x2apic no stray interrupt", selfs);
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t a, b, c, d, n;

	(void)magic;
	(void)info;
	cpuid(1, &a, &b, &c, &d);
	if (!(c & CPUID_1_ECX_X2APIC)) {
		puts("SKIP x2apic: not in CPUID\n");
		guest_exit(0);
	}
	n = fw_cfg_u32(FW_CFG_NB_CPUS);
	if (n < 1 || n > MAX_CPUS)
		n = 1;
	cpu_init();
	/* The APs start through the xAPIC page; then every CPU is x2APIC. */
	if (n > 1) {
		smp_start_aps(TRAMPOLINE, ap_main);
		for (uint32_t s = 0; online < n - 1; s++)
			if (s > SPIN_LIMIT) {
				report(0, "x2apic aps online", online);
				guest_exit(1);
			}
	}
	x2apic_enable();
	x2apic_mode = 1;
	checks_single();
	if (n > 1) {
		for (uint32_t i = 0; i < ROUND_TRIPS; i++) {
			apic_send(1, ICR_DM_FIXED | VEC_PING);
			if (!wait_halting(&pongs, i + 1))
				break;
		}
		report(pongs == ROUND_TRIPS, "x2apic pingpong physical", pongs);
		/* Logical: cluster 0, bit 1 is the CPU with x2APIC ID 1. */
		apic_send(1U << 1, ICR_DEST_LOGICAL | ICR_DM_FIXED | VEC_PING);
		report(wait_halting(&pongs, ROUND_TRIPS + 1), "x2apic pingpong logical", pongs);
		apic_send(0xFFFFFFFFU, ICR_DM_FIXED | VEC_BCAST);
		wait_halting(&bcasts[0], 1);
		for (uint32_t s = 0, done = 0; !done && s < SPIN_LIMIT; s++) {
			done = 1;
			for (uint32_t i = 0; i < n; i++)
				done &= bcasts[i] == 1;
		}
		a = 0;
		for (uint32_t i = 0; i < n; i++)
			a += bcasts[i] == 1;
		report(a == n, "x2apic broadcast", a);
	}
	guest_exit(0);
}
