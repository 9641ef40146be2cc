// SPDX-License-Identifier: MIT
/*
 * smp: bring every AP up with INIT-SIPI-SIPI through the xAPIC ICR, then
 * a halting IPI ping-pong between the BSP and AP 1, a self-IPI, and an
 * illegal vector that must show up in ESR.  The CPU count comes from
 * fw_cfg.  Vectors: PING (to AP 1, which answers PONG to the BSP), PONG,
 * SELF.  "rounds=N" on the command line sets the number of round trips
 * (default 1000; the benchmark runs 0 and many); "spin=1" makes both
 * sides spin with interrupts on instead of halting; "selfs=N" adds N
 * self-IPIs, each taken before the next is sent; "x2apic=1" puts every
 * CPU in x2APIC mode once the APs are up (ICR and EOI become MSRs).
 *
 * KVM's in-kernel LAPIC does not latch Send Illegal Vector in ESR, so
 * there the ESR check prints a SKIP line instead of PASS and the run goes
 * on; the model (--irqchip=avic) must print PASS (tests/test_kvm_run.c).
 */
#include "guest.h"

#define TRAMPOLINE	0x8000U
#define ROUND_TRIPS	1000
#define MAX_ROUND_TRIPS	10000000U
#define VEC_PING	0x40
#define VEC_PONG	0x41
#define VEC_SELF	0x42
#define SPIN_LIMIT	200000000U

static volatile uint32_t online, pongs, pings, selfs;
static uint32_t spin, want_x2apic;


void irq_handler(uint32_t vector)
{
	switch (vector) {
	case VEC_PING:
		pings++;
		apic_eoi();
		apic_send(0, ICR_DM_FIXED | VEC_PONG);
		return;
	case VEC_PONG:
		pongs++;
		break;
	case VEC_SELF:
		selfs++;
		break;
	}
	apic_eoi();
}

static void ap_main(uint32_t id)
{
	uint32_t a, b, c, d, cid;

	cpuid(1, &a, &b, &c, &d);
	cid = b >> 24;	/* the initial APIC ID the VMM set up */

	cpu_init();
	if (want_x2apic)
		x2apic_enable();
	console_lock();
	if (cid != id) {
		puts("FAIL ap ");
		put_u32(id);
		puts(" cpuid apic id ");
		put_u32(cid);
		putc('\n');
	}
	puts("PASS ap ");
	put_u32(id);
	puts(" online\n");
	console_unlock();
	__atomic_add_fetch(&online, 1, __ATOMIC_SEQ_CST);
	/* "spin=1": AP 1 never halts, so every ping finds it inside the guest. */
	if (spin && id == 1)
		for (;;)
			__asm__ volatile("sti; pause" ::: "memory");
	for (;;)
		__asm__ volatile("sti; hlt");
}

/* Spin with interrupts on until *counter reaches want. */
static int wait_spinning(volatile uint32_t *counter, uint32_t want)
{
	uint32_t spins = 0;

	__asm__ volatile("sti");
	while (*counter < want) {
		__asm__ volatile("pause" ::: "memory");
		if (++spins > SPIN_LIMIT)
			return 0;
	}
	return 1;
}

/* N from "KEY=N" in the Multiboot command line (key includes '='), or def. */
static uint32_t cmdline_u32(uint32_t info, const char *key, uint32_t def)
{
	const struct mb_info *mbi = (const struct mb_info *)info;
	const char *s;
	uint32_t n = 0;

	if (!info || !(mbi->flags & MB_INFO_CMDLINE) || !mbi->cmdline)
		return def;
	for (s = (const char *)mbi->cmdline; *s; s++) {
		unsigned int i = 0;

		if (s != (const char *)mbi->cmdline && s[-1] != ' ')
			continue;
		while (key[i] && s[i] == key[i])
			i++;
		if (key[i])
			continue;
		s += i;
		if (*s < '0' || *s > '9')
			return def;
		for (; *s >= '0' && *s <= '9'; s++) {
			n = n * 10 + (uint32_t)(*s - '0');
			if (n > MAX_ROUND_TRIPS)
				return def;
		}
		return n;
	}
	return def;
}

static int fail(const char *what, uint32_t v)
{
	console_lock();
	puts("FAIL ");
	puts(what);
	putc(' ');
	put_hex(v);
	putc('\n');
	console_unlock();
	return 1;
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t ncpus = fw_cfg_u32(FW_CFG_NB_CPUS) & 0xffff, esr, spins = 0, rounds, self_loop;

	info = magic == MB_BOOT_MAGIC ? info : 0;
	rounds = cmdline_u32(info, "rounds=", ROUND_TRIPS);
	spin = cmdline_u32(info, "spin=", 0);
	self_loop = cmdline_u32(info, "selfs=", 0);
	want_x2apic = cmdline_u32(info, "x2apic=", 0);
	if (want_x2apic) {
		uint32_t a, b, c, d;

		cpuid(1, &a, &b, &c, &d);
		if (!(c & CPUID_1_ECX_X2APIC))
			return fail("x2apic=1 without x2APIC in CPUID", c);
	}
	cpu_init();
	if (ncpus < 1 || ncpus > 64)
		return fail("fw_cfg cpus", ncpus);
	if (apic_id() != 0)
		return fail("bsp apic id", apic_id());
	if (ncpus > 1) {
		smp_start_aps(TRAMPOLINE, ap_main);
		while (__atomic_load_n(&online, __ATOMIC_SEQ_CST) < ncpus - 1)
			if (++spins > SPIN_LIMIT)
				return fail("aps online", online);
		/* Every AP switched before it counted itself online. */
		if (want_x2apic) {
			x2apic_enable();
			x2apic_mode = 1;
		}
		console_lock();
		puts("PASS all ");
		put_u32(ncpus - 1);
		puts(" aps online\n");
		console_unlock();

		for (uint32_t i = 0; i < rounds; i++) {
			apic_send(1, ICR_DM_FIXED | VEC_PING);
			if (!(spin ? wait_spinning(&pongs, i + 1) : wait_halting(&pongs, i + 1)))
				return fail("pingpong stuck at", i);
		}
		if (pings != rounds)
			return fail("pings", pings);
		console_lock();
		puts(spin ? "PASS pingpong spinning\n" : "PASS pingpong halting\n");
		console_unlock();
	}

	apic_send(0, ICR_SH_SELF | ICR_DM_FIXED | VEC_SELF);
	if (!wait_halting(&selfs, 1))
		return fail("self-ipi", selfs);
	/* "selfs=N": N more, each taken before the next is sent. */
	for (uint32_t i = 0; i < self_loop; i++) {
		apic_send(0, ICR_SH_SELF | ICR_DM_FIXED | VEC_SELF);
		if (!wait_spinning(&selfs, i + 2))
			return fail("self-ipi loop stuck at", i);
	}
	console_lock();
	puts("PASS self-ipi\n");
	console_unlock();

	/* Vector 3 is illegal: the APIC reports it at the next ESR write. */
	apic_reg_write(APIC_ESR, 0);
	apic_send(0, ICR_SH_SELF | ICR_DM_FIXED | 3);
	apic_reg_write(APIC_ESR, 0);
	esr = apic_reg_read(APIC_ESR);
	if (esr && !(esr & (1U << 5)))
		return fail("esr after illegal vector", esr);
	console_lock();
	puts(esr ? "PASS illegal vector esr\n" :
	     "SKIP illegal vector esr: this APIC does not report it\n");
	console_unlock();
	return 0;
}
