// SPDX-License-Identifier: MIT
/*
 * ipi: destination forms and delivery modes on every CPU (xAPIC MMIO).
 * The BSP starts the APs, then checks, each IPI counted by the CPU that
 * takes it: the all-including-self and all-excluding-self shorthands, the
 * physical broadcast 0xFF, logical flat destinations (one bit per CPU,
 * DFR flat), logical cluster destinations (DFR cluster, 4 CPUs a
 * cluster), an NMI to AP 1 (which answers with a fixed IPI), and a
 * ping-pong with AP 1 where both sides spin instead of halting.  Needs at
 * least 2 CPUs; with one it prints one SKIP line.
 */
#include "guest.h"

#define TRAMPOLINE	0x8000U
#define MAX_CPUS	64
#define VEC_COUNT	0x44
#define VEC_FLAT	0x45	/* "set your LDR for flat mode" */
#define VEC_CLUSTER	0x46	/* "set your LDR for cluster mode" */
#define VEC_PING	0x47
#define VEC_PONG	0x48
#define VEC_SPIN	0x49	/* "spin with interrupts on until told otherwise" */
#define APIC_DFR	0x0E0
#define DFR_FLAT	0xFFFFFFFFU
#define DFR_CLUSTER	0x0FFFFFFFU
#define ICR_DEST_LOGICAL (1U << 11)
#define SPIN_ROUNDS	200
#define SPIN_LIMIT	200000000U

static volatile uint32_t online, pongs, nmis, spinning, stop_spin;
static volatile uint32_t counts[MAX_CPUS], acks[MAX_CPUS];

static void set_ldr(uint32_t id, int cluster)
{
	if (cluster) {
		apic_write(APIC_DFR, DFR_CLUSTER);
		apic_write(APIC_LDR, (((id / 4) << 4) | (1U << (id % 4))) << 24);
	} else {
		apic_write(APIC_DFR, DFR_FLAT);
		apic_write(APIC_LDR, id < 8 ? (1U << id) << 24 : 0);
	}
}

void irq_handler(uint32_t vector)
{
	uint32_t id = apic_id() & (MAX_CPUS - 1);

	switch (vector) {
	case 2:		/* NMI: no EOI */
		nmis++;
		apic_send(0, ICR_DM_FIXED | VEC_PONG);
		return;
	case VEC_COUNT:
		__atomic_add_fetch(&counts[id], 1, __ATOMIC_RELAXED);
		break;
	case VEC_FLAT:
	case VEC_CLUSTER:
		set_ldr(id, vector == VEC_CLUSTER);
		__atomic_add_fetch(&acks[id], 1, __ATOMIC_RELEASE);
		break;
	case VEC_PING:
		apic_write(APIC_EOI, 0);
		apic_send(0, ICR_DM_FIXED | VEC_PONG);
		return;
	case VEC_PONG:
		pongs++;
		break;
	case VEC_SPIN:
		/* Leave the handler first: the spin runs with interrupts on. */
		spinning = 1;
		break;
	}
	apic_write(APIC_EOI, 0);
}

static void ap_main(uint32_t id)
{
	cpu_init();
	set_ldr(id, 0);
	__atomic_add_fetch(&online, 1, __ATOMIC_RELEASE);
	for (;;) {
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		if (spinning && id == 1) {
			__asm__ volatile("sti");
			while (!stop_spin)
				__asm__ volatile("pause");
			__asm__ volatile("cli");
			spinning = 0;
		}
	}
}

/* Spin (interrupts on) until every CPU in `mask` counted `want`. */
static int wait_counts(volatile uint32_t *c, uint64_t mask, uint32_t n, uint32_t want)
{
	__asm__ volatile("sti");
	for (uint32_t s = 0; s < SPIN_LIMIT; s++) {
		int done = 1;

		for (uint32_t i = 0; i < n; i++)
			if ((mask >> i) & 1)
				done &= c[i] >= want;
		if (done)
			return 1;
		__asm__ volatile("pause");
	}
	return 0;
}

/* Every count exactly as expected: want for CPUs in mask, base otherwise. */
static int counts_are(uint64_t mask, uint32_t n, uint32_t want, uint32_t base)
{
	for (uint32_t i = 0; i < n; i++)
		if (counts[i] != (((mask >> i) & 1) ? want : base))
			return 0;
	return 1;
}

static uint64_t all_mask(uint32_t n)
{
	return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t n = fw_cfg_u32(FW_CFG_NB_CPUS) & 0xffff, want = 0;
	uint64_t all, mask;

	(void)magic;
	(void)info;
	if (n < 2 || n > MAX_CPUS) {
		puts("SKIP ipi: needs 2..64 CPUs\n");
		return 0;
	}
	all = all_mask(n);
	cpu_init();
	set_ldr(0, 0);
	smp_start_aps(TRAMPOLINE, ap_main);
	for (uint32_t s = 0; online < n - 1; s++)
		if (s > SPIN_LIMIT) {
			report(0, "ipi aps online", online);
			return 1;
		}

	apic_send(0, ICR_SH_ALL | ICR_DM_FIXED | VEC_COUNT);
	want++;
	report(wait_counts(counts, all, n, want) && counts_are(all, n, want, 0),
	      "ipi all-including-self", counts[0]);

	apic_send(0, ICR_SH_OTHERS | ICR_DM_FIXED | VEC_COUNT);
	report(wait_counts(counts, all & ~1ULL, n, want + 1) &&
	      counts_are(all & ~1ULL, n, want + 1, want) , "ipi all-excluding-self", counts[0]);
	/* The BSP missed one: catch it up with a self-IPI. */
	apic_send(0, ICR_SH_SELF | ICR_DM_FIXED | VEC_COUNT);
	want++;
	wait_counts(counts, 1, n, want);

	apic_send(0xFF, ICR_DM_FIXED | VEC_COUNT);
	want++;
	report(wait_counts(counts, all, n, want) && counts_are(all, n, want, 0) ,
	      "ipi physical broadcast 0xff", counts[1]);

	/* Flat: every AP below 8 by its bit, one IPI for all of them. */
	mask = all & 0xFE;
	apic_send((uint32_t)mask, ICR_DEST_LOGICAL | ICR_DM_FIXED | VEC_COUNT);
	report(wait_counts(counts, mask, n, want + 1) && counts_are(mask, n, want + 1, want),
	      "ipi logical flat", (uint32_t)mask);
	for (uint32_t i = 0; i < n; i++)
		if (!((mask >> i) & 1))
			apic_send(i, ICR_DM_FIXED | VEC_COUNT);
	want++;
	wait_counts(counts, all, n, want);

	/* Cluster: everyone switches, then clusters 0 and 1 minus the BSP. */
	apic_send(0, ICR_SH_OTHERS | ICR_DM_FIXED | VEC_CLUSTER);
	set_ldr(0, 1);
	wait_counts(acks, all & ~1ULL, n, 1);
	mask = all & 0xFE;
	apic_send(0x0E, ICR_DEST_LOGICAL | ICR_DM_FIXED | VEC_COUNT);
	if (n > 4)
		apic_send(0x10 | 0x0F, ICR_DEST_LOGICAL | ICR_DM_FIXED | VEC_COUNT);
	report(wait_counts(counts, mask, n, want + 1) && counts_are(mask, n, want + 1, want),
	      "ipi logical cluster", (uint32_t)mask);

	apic_send(1, ICR_DM_NMI);
	__asm__ volatile("sti");
	for (uint32_t s = 0; !pongs && s < SPIN_LIMIT; s++)
		__asm__ volatile("pause");
	report(nmis == 1 && pongs == 1, "ipi nmi", nmis);

	/* Spinning ping-pong: AP 1 leaves its HLT loop and spins. */
	apic_send(1, ICR_DM_FIXED | VEC_SPIN);
	for (uint32_t i = 0; i < SPIN_ROUNDS; i++) {
		apic_send(1, ICR_DM_FIXED | VEC_PING);
		for (uint32_t s = 0; pongs < i + 2 && s < SPIN_LIMIT; s++)
			__asm__ volatile("pause");
	}
	stop_spin = 1;
	report(pongs == SPIN_ROUNDS + 1, "ipi pingpong spinning", pongs);
	return 0;
}
