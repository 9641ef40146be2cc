// SPDX-License-Identifier: MIT
/*
 * apicbase: IA32_APIC_BASE (MSR 0x1B) as SDM vol. 3 10.4.3-10.4.5 and
 * 10.12.5 define it, on the BSP and, with more than one CPU, on AP 1:
 * - the reset value, CPUID.1:EDX[9] following EN;
 * - disable then re-enable with no other instruction in between: ID and
 *   LVR as at reset, the rest reset too or kept (a SKIP line: the SDM
 *   allows both); while disabled the page reads all-ones and writes go
 *   nowhere;
 * - xAPIC -> x2APIC -> disabled -> xAPIC, the ID back in xAPIC format; #GP
 *   for x2APIC -> xAPIC, disabled -> x2APIC, EXTD without EN, reserved
 *   bits (7:0, 9, MAXPHYADDR and up); the BSP flag writable;
 * - relocation: the registers at 0xFED40000, the old base all-ones, IPIs
 *   both ways through the moved page, the way back, and a base over RAM
 *   (RAM answers: no exit reaches the APIC there, as with KVM's LAPIC);
 * - with AP 1: an IPI sent while AP 1's APIC is disabled is not taken
 *   once it is enabled again, and one sent after is.
 * Every check prints one PASS or FAIL line (SKIP "kept" where the SDM
 * leaves the choice); both irqchips must print the same PASS lines
 * (tests/kvm/test_kvm_apicbase.c).
 */
#include "guest.h"

#define TRAMPOLINE	0x8000U
#define APIC_LVR	0x030
#define APIC_LVT0	0x350
#define APIC_BASE_BSP	(1U << 8)
#define CPUID_1_EDX_APIC (1U << 9)
#define RELOC_BASE	0xFED40000U
#define RAM_BASE	0x00200000U	/* 2 MiB: RAM below the image at 4 MiB */
#define VEC_SELF	0x42
#define VEC_PING	0x40
#define VEC_PONG	0x41
#define VEC_LOST	0x44
#define SPIN_LIMIT	200000000U

static volatile uint32_t gps, selfs, pongs, lost, online;
/* Steps AP 1 takes when the BSP says so. */
static volatile uint32_t ap_step, ap_done;

uint32_t gp_handler(void)
{
	__atomic_add_fetch(&gps, 1, __ATOMIC_SEQ_CST);
	return 2;	/* RDMSR and WRMSR are two bytes */
}

static uint32_t mmio_rd(uint32_t base, uint32_t reg)
{
	return *(volatile uint32_t *)(base + reg);
}

static void mmio_wr(uint32_t base, uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(base + reg) = v;
}

/* This CPU's xAPIC page, wherever IA32_APIC_BASE put it. */
static uint32_t my_base(void)
{
	return (uint32_t)rdmsr(MSR_APIC_BASE) & 0xFFFFF000U;
}

void irq_handler(uint32_t vector)
{
	uint32_t base = my_base();

	switch (vector) {
	case VEC_SELF:
		selfs++;
		break;
	case VEC_PING:
		mmio_wr(base, APIC_EOI, 0);
		mmio_wr(base, APIC_ICR2, 0);
		mmio_wr(base, APIC_ICR, ICR_DM_FIXED | VEC_PONG);
		return;
	case VEC_PONG:
		pongs++;
		break;
	case VEC_LOST:
		lost++;
		break;
	}
	mmio_wr(base, APIC_EOI, 0);
}

/* "PASS apicbase WHO WHAT", or FAIL with v. */
static void check(int ok, const char *who, const char *what, uint32_t v)
{
	console_lock();
	puts(ok ? "PASS apicbase " : "FAIL apicbase ");
	puts(who);
	putc(' ');
	puts(what);
	if (!ok) {
		puts(": ");
		put_hex(v);
	}
	putc('\n');
	console_unlock();
}

/* 1 if the WRMSR raised #GP. */
static int wrmsr_gp(uint32_t msr, uint64_t v)
{
	uint32_t before = __atomic_load_n(&gps, __ATOMIC_SEQ_CST);

	wrmsr(msr, v);
	return __atomic_load_n(&gps, __ATOMIC_SEQ_CST) != before;
}

static uint32_t cpuid_edx1(void)
{
	uint32_t a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	return d;
}

static int has_x2apic(void)
{
	uint32_t a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	return !!(c & CPUID_1_ECX_X2APIC);
}

static uint32_t maxphyaddr(void)
{
	uint32_t a, b, c, d;

	cpuid(0x80000000U, &a, &b, &c, &d);
	if (a < 0x80000008U)
		return 36;
	cpuid(0x80000008U, &a, &b, &c, &d);
	return a & 0xFF;
}

/*
 * The state a disable leaves: the SDM says it "may be lost" (10.4.3) and
 * that x2APIC state is "not preserved" (10.12.5.1).  vintc resets the APIC
 * to its power-up state, KVM's LAPIC keeps it; a SKIP line says "kept".
 */
static void state_reset(const char *who, const char *what)
{
	uint32_t svr = mmio_rd(APIC_BASE, APIC_SVR), tpr = mmio_rd(APIC_BASE, APIC_TPR);
	uint32_t ldr = mmio_rd(APIC_BASE, APIC_LDR), lvt0 = mmio_rd(APIC_BASE, APIC_LVT0);

	if (svr == 0xFF && tpr == 0 && ldr == 0 && lvt0 == 0x10000) {
		check(1, who, what, 0);
		return;
	}
	console_lock();
	puts("SKIP apicbase ");
	puts(who);
	putc(' ');
	puts(what);
	puts(": kept, svr ");
	put_hex(svr);
	puts(" tpr ");
	put_hex(tpr);
	puts(" ldr ");
	put_hex(ldr);
	puts(" lvt0 ");
	put_hex(lvt0);
	putc('\n');
	console_unlock();
}

/* Disable and re-enable in two back-to-back WRMSRs. */
static void disable_reenable(const char *who, uint32_t id)
{
	uint64_t b = rdmsr(MSR_APIC_BASE);
	uint32_t lvr = mmio_rd(APIC_BASE, APIC_LVR);

	mmio_wr(APIC_BASE, APIC_SVR, 0x1FF);
	mmio_wr(APIC_BASE, APIC_TPR, 0x20);
	mmio_wr(APIC_BASE, APIC_LDR, 0x80000000U);
	mmio_wr(APIC_BASE, APIC_LVT0, 0x30);
	wrmsr(MSR_APIC_BASE, b & ~(uint64_t)APIC_BASE_EN);
	wrmsr(MSR_APIC_BASE, b);
	check(rdmsr(MSR_APIC_BASE) == b, who, "reenable base", (uint32_t)rdmsr(MSR_APIC_BASE));
	check(mmio_rd(APIC_BASE, APIC_ID) == id << 24, who, "reenable id",
	      mmio_rd(APIC_BASE, APIC_ID));
	check(mmio_rd(APIC_BASE, APIC_LVR) == lvr, who, "reenable lvr",
	      mmio_rd(APIC_BASE, APIC_LVR));
	state_reset(who, "reenable state reset");
	mmio_wr(APIC_BASE, APIC_SVR, 0x1FF);
	mmio_wr(APIC_BASE, APIC_TPR, 0);
}

/* While disabled: no page, no CPUID bit; writes then go nowhere. */
static void disabled_state(const char *who)
{
	uint64_t b = rdmsr(MSR_APIC_BASE), off = b & ~(uint64_t)APIC_BASE_EN;

	check(cpuid_edx1() & CPUID_1_EDX_APIC, who, "cpuid apic bit set", cpuid_edx1());
	wrmsr(MSR_APIC_BASE, off);
	check(rdmsr(MSR_APIC_BASE) == off, who, "disabled base", (uint32_t)rdmsr(MSR_APIC_BASE));
	check(!(cpuid_edx1() & CPUID_1_EDX_APIC), who, "cpuid apic bit follows en", cpuid_edx1());
	check(mmio_rd(APIC_BASE, APIC_LVR) == 0xFFFFFFFFU, who, "disabled page reads all-ones",
	      mmio_rd(APIC_BASE, APIC_LVR));
	mmio_wr(APIC_BASE, APIC_TPR, 0x30);
	wrmsr(MSR_APIC_BASE, b);
	check(cpuid_edx1() & CPUID_1_EDX_APIC, who, "cpuid apic bit back", cpuid_edx1());
	check(mmio_rd(APIC_BASE, APIC_TPR) != 0x30, who, "disabled page writes dropped",
	      mmio_rd(APIC_BASE, APIC_TPR));
	mmio_wr(APIC_BASE, APIC_SVR, 0x1FF);
	mmio_wr(APIC_BASE, APIC_TPR, 0);
}

/*
 * The legal way through x2APIC and back in back-to-back WRMSRs (nothing
 * exits but the MSR accesses themselves until the xAPIC page is read),
 * then the #GPs on the way.
 */
static void x2apic_transitions(const char *who, uint32_t id)
{
	uint64_t b = rdmsr(MSR_APIC_BASE), x2 = b | APIC_BASE_EXTD;
	uint64_t off = b & ~(uint64_t)(APIC_BASE_EN | APIC_BASE_EXTD);
	uint64_t extd_only = off | APIC_BASE_EXTD;
	uint32_t x2id, xid;

	wrmsr(MSR_APIC_BASE, x2);
	x2id = (uint32_t)rdmsr(X2APIC_MSR(APIC_ID));
	wrmsr(MSR_APIC_BASE, off);
	wrmsr(MSR_APIC_BASE, b);
	xid = mmio_rd(APIC_BASE, APIC_ID);
	check(x2id == id, who, "x2apic id", x2id);
	check(xid == id << 24, who, "xapic id after x2apic", xid);
	state_reset(who, "xapic state after x2apic reset");
	mmio_wr(APIC_BASE, APIC_SVR, 0x1FF);

	check(wrmsr_gp(MSR_APIC_BASE, extd_only), who, "gp extd without en from xapic", gps);
	check(!wrmsr_gp(MSR_APIC_BASE, x2), who, "xapic to x2apic", gps);
	check(wrmsr_gp(MSR_APIC_BASE, b), who, "gp x2apic to xapic", gps);
	check(rdmsr(MSR_APIC_BASE) == x2, who, "x2apic kept after gp",
	      (uint32_t)rdmsr(MSR_APIC_BASE));
	check(wrmsr_gp(MSR_APIC_BASE, extd_only), who, "gp extd without en from x2apic", gps);
	check(!wrmsr_gp(MSR_APIC_BASE, off), who, "x2apic to disabled", gps);
	check(wrmsr_gp(MSR_APIC_BASE, x2), who, "gp disabled to x2apic", gps);
	check(rdmsr(MSR_APIC_BASE) == off, who, "disabled kept after gp",
	      (uint32_t)rdmsr(MSR_APIC_BASE));
	check(!wrmsr_gp(MSR_APIC_BASE, b), who, "disabled to xapic", gps);
	mmio_wr(APIC_BASE, APIC_SVR, 0x1FF);
}

static void reserved_bits(const char *who)
{
	uint64_t b = rdmsr(MSR_APIC_BASE);
	uint32_t phys = maxphyaddr();

	check(wrmsr_gp(MSR_APIC_BASE, b | 1), who, "gp reserved bit 0", gps);
	check(wrmsr_gp(MSR_APIC_BASE, b | 0x80), who, "gp reserved bit 7", gps);
	check(wrmsr_gp(MSR_APIC_BASE, b | 0x200), who, "gp reserved bit 9", gps);
	check(phys < 64 && wrmsr_gp(MSR_APIC_BASE, b | 1ULL << phys), who,
	      "gp reserved maxphyaddr", phys);
	check(wrmsr_gp(MSR_APIC_BASE, b | 1ULL << 63), who, "gp reserved bit 63", gps);
	if (!has_x2apic())
		check(wrmsr_gp(MSR_APIC_BASE, b | APIC_BASE_EXTD), who,
		      "gp extd without x2apic", gps);
	check(rdmsr(MSR_APIC_BASE) == b, who, "reserved writes change nothing",
	      (uint32_t)rdmsr(MSR_APIC_BASE));
}

/*
 * The BSP flag is R/W (SDM vol. 4, IA32_APIC_BASE bit 8), as KVM keeps it:
 * a write sticks, without #GP.
 */
static void bsp_flag(const char *who)
{
	uint64_t b = rdmsr(MSR_APIC_BASE);

	check(!wrmsr_gp(MSR_APIC_BASE, b ^ APIC_BASE_BSP), who, "bsp flag write no gp", gps);
	check(rdmsr(MSR_APIC_BASE) == (b ^ APIC_BASE_BSP), who, "bsp flag writable",
	      (uint32_t)rdmsr(MSR_APIC_BASE));
	wrmsr(MSR_APIC_BASE, b);
	check(rdmsr(MSR_APIC_BASE) == b, who, "bsp flag restored", (uint32_t)rdmsr(MSR_APIC_BASE));
}

static void relocation(uint32_t n)
{
	uint64_t b = rdmsr(MSR_APIC_BASE);
	uint64_t flags = b & 0xFFF;
	uint32_t lvr = mmio_rd(APIC_BASE, APIC_LVR);
	volatile uint32_t *ram = (volatile uint32_t *)(RAM_BASE + APIC_LVR);

	check(!wrmsr_gp(MSR_APIC_BASE, RELOC_BASE | flags), "bsp", "relocate", gps);
	check(my_base() == RELOC_BASE, "bsp", "relocated base", my_base());
	check(mmio_rd(RELOC_BASE, APIC_LVR) == lvr, "bsp", "relocated registers readable",
	      mmio_rd(RELOC_BASE, APIC_LVR));
	check(mmio_rd(RELOC_BASE, APIC_SVR) == 0x1FF, "bsp", "relocation keeps state",
	      mmio_rd(RELOC_BASE, APIC_SVR));
	check(mmio_rd(APIC_BASE, APIC_LVR) == 0xFFFFFFFFU, "bsp", "old base reads all-ones",
	      mmio_rd(APIC_BASE, APIC_LVR));
	if (mmio_rd(RELOC_BASE, APIC_LVR) != lvr) {
		/* No APIC to send IPIs through: do not wait for them. */
		wrmsr(MSR_APIC_BASE, b);
		return;
	}
	__asm__ volatile("sti");
	mmio_wr(RELOC_BASE, APIC_ICR, ICR_SH_SELF | ICR_DM_FIXED | VEC_SELF);
	check(wait_halting(&selfs, 1), "bsp", "relocated self ipi", selfs);
	if (n > 1) {
		mmio_wr(RELOC_BASE, APIC_ICR2, 1U << 24);
		mmio_wr(RELOC_BASE, APIC_ICR, ICR_DM_FIXED | VEC_PING);
		check(wait_halting(&pongs, 1), "bsp", "relocated ipi round trip", pongs);
	}
	check(!wrmsr_gp(MSR_APIC_BASE, b), "bsp", "relocate back", gps);
	check(mmio_rd(APIC_BASE, APIC_LVR) == lvr, "bsp", "back at the default base",
	      mmio_rd(APIC_BASE, APIC_LVR));
	check(mmio_rd(RELOC_BASE, APIC_LVR) == 0xFFFFFFFFU, "bsp", "moved base released",
	      mmio_rd(RELOC_BASE, APIC_LVR));
	__asm__ volatile("sti");
	mmio_wr(APIC_BASE, APIC_ICR, ICR_SH_SELF | ICR_DM_FIXED | VEC_SELF);
	check(wait_halting(&selfs, 2), "bsp", "self ipi after moving back", selfs);

	*ram = 0x5A5A1234U;
	check(!wrmsr_gp(MSR_APIC_BASE, RAM_BASE | flags), "bsp", "relocate over ram", gps);
	check(*ram == 0x5A5A1234U, "bsp", "ram answers over ram", *ram);
	wrmsr(MSR_APIC_BASE, b);
	check(mmio_rd(APIC_BASE, APIC_LVR) == lvr, "bsp", "back from ram",
	      mmio_rd(APIC_BASE, APIC_LVR));
}

static void ap_wait_step(uint32_t step)
{
	while (__atomic_load_n(&ap_step, __ATOMIC_ACQUIRE) < step)
		__asm__ volatile("pause");
}

static void ap_finish_step(uint32_t step)
{
	__atomic_store_n(&ap_done, step, __ATOMIC_RELEASE);
}

static void bsp_step(uint32_t step)
{
	__atomic_store_n(&ap_step, step, __ATOMIC_RELEASE);
	for (uint32_t s = 0; __atomic_load_n(&ap_done, __ATOMIC_ACQUIRE) < step; s++)
		if (s > SPIN_LIMIT) {
			check(0, "ap", "answers", step);
			guest_exit(1);
		}
}

/*
 * AP 1: its own transitions (a non-zero ID shows the format), then an IPI
 * sent to it while its APIC is disabled.
 */
static void ap_main(uint32_t id)
{
	uint64_t b;

	cpu_init();
	__atomic_add_fetch(&online, 1, __ATOMIC_SEQ_CST);
	if (id != 1)
		for (;;)
			__asm__ volatile("cli; hlt");
	ap_wait_step(1);
	b = rdmsr(MSR_APIC_BASE);
	check(b == (APIC_BASE | APIC_BASE_EN), "ap", "reset value", (uint32_t)b);
	disable_reenable("ap", id);
	if (has_x2apic())
		x2apic_transitions("ap", id);
	bsp_flag("ap");
	/* Step 2: disabled, while the BSP sends VEC_LOST. */
	wrmsr(MSR_APIC_BASE, b & ~(uint64_t)APIC_BASE_EN);
	ap_finish_step(1);
	ap_wait_step(2);
	wrmsr(MSR_APIC_BASE, b);
	mmio_wr(APIC_BASE, APIC_SVR, 0x1FF);
	/* A pending vector would be taken at the first window after STI. */
	__asm__ volatile("sti");
	for (uint32_t i = 0; i < 1000; i++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	check(lost == 0, "ap", "ipi to a disabled apic not taken", lost);
	ap_finish_step(2);
	/* Step 3: the next one is taken; then PINGs from the BSP. */
	ap_wait_step(3);
	__asm__ volatile("sti");
	for (uint32_t s = 0; !lost && s < SPIN_LIMIT; s++)
		__asm__ volatile("pause");
	check(lost == 1, "ap", "ipi after reenable taken", lost);
	ap_finish_step(3);
	for (;;)
		__asm__ volatile("sti; hlt");
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t n, id;
	uint64_t b;

	(void)magic;
	(void)info;
	n = fw_cfg_u32(FW_CFG_NB_CPUS);
	if (n < 1 || n > 64)
		n = 1;
	b = rdmsr(MSR_APIC_BASE);
	check(b == (APIC_BASE | APIC_BASE_EN | APIC_BASE_BSP), "bsp", "reset value", (uint32_t)b);
	cpu_init();
	id = apic_id();
	disable_reenable("bsp", id);
	disabled_state("bsp");
	if (has_x2apic())
		x2apic_transitions("bsp", id);
	reserved_bits("bsp");
	bsp_flag("bsp");
	if (n > 1) {
		smp_start_aps(TRAMPOLINE, ap_main);
		for (uint32_t s = 0; online < n - 1; s++)
			if (s > SPIN_LIMIT) {
				check(0, "bsp", "aps online", online);
				guest_exit(1);
			}
		bsp_step(1);
		mmio_wr(APIC_BASE, APIC_ICR2, 1U << 24);
		mmio_wr(APIC_BASE, APIC_ICR, ICR_DM_FIXED | VEC_LOST);
		bsp_step(2);
		mmio_wr(APIC_BASE, APIC_ICR2, 1U << 24);
		mmio_wr(APIC_BASE, APIC_ICR, ICR_DM_FIXED | VEC_LOST);
		bsp_step(3);
	}
	relocation(n);
	guest_exit(0);
}
