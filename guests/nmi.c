// SPDX-License-Identifier: MIT
/*
 * nmi: how many NMI handler entries a CPU sees for the NMIs sent to it.
 * The architecture lets a CPU hold one NMI in service and latch one more;
 * further NMIs that arrive while one is latched merge into it.  So:
 *
 * - two NMIs sent back to back to a busy CPU (NMIs not blocked) give two
 *   handler entries, whether the second arrives before or after the first
 *   is taken: it is latched behind the first, or taken after it;
 * - NMIs sent while the target is inside its NMI handler give exactly one
 *   more entry, after its IRET;
 * - an NMI to the sender's own APIC ID is one entry;
 * - an NMI or INIT to a CPU whose APIC is hardware-disabled is dropped
 *   (with 3 CPUs or more).
 *
 * Only IRET unblocks NMIs, and some hosts cannot execute a 32-bit
 * protected-mode IRET (KVM's instruction emulator on kvm-pvm fails it, with
 * either irqchip; the shared stubs in guests/lib/cpu.S avoid it).  So the
 * target, AP 1, leaves 32-bit mode for long mode, where IRETQ runs, and
 * spends the test spinning with IF = 0 in a few lines of 64-bit code.
 * (Halted instead, it takes no NMI after its first one on kvm-pvm under
 * --irqchip=avic: KVM keeps the NMIs pending across the entries after a
 * HLT exit to userspace; KVM's own irqchip never exits on HLT.)  The BSP stays in 32-bit mode, sends, counts and takes
 * one self-NMI, its first and only.  Needs 2 CPUs; with one it prints SKIP.
 */
#include "guest.h"

#define TRAMPOLINE	0x8000U
#define WAIT_TSC	400000000ULL	/* ~0.1-0.4 s at any TSC rate here */
#define SETTLE_TSC	20000000ULL	/* a few ms: time for a late entry to show */

#define CR0_PG		(1U << 31)
#define CR4_PAE		(1U << 5)
#define MSR_EFER	0xC0000080U
#define EFER_LME	(1U << 8)
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)	/* a 2 MiB page in a PD */

/* Shared with the 64-bit code, which reaches them RIP-relative. */
volatile uint32_t nmi_count_ap, nmi_hold, nmi_in_handler, nmi_release;
static volatile uint32_t online, nmi_count_bsp, ap2_disabled, ap2_alive, ap2_nmis;

/* AP 1's long-mode world: identity map of the first GiB, GDT, IDT. */
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
uint64_t gdt64[3] __attribute__((aligned(16))) = {
	0,
	0x00209A0000000000ULL,	/* 0x08: 64-bit code, present, DPL 0 */
	0x0000920000000000ULL,	/* 0x10: data */
};
uint64_t idt64[2 * 3] __attribute__((aligned(16)));	/* vectors 0..2 */
struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gdt64_desc;
struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idt64_desc;

/*
 * long_mode_enter(cr3): from flat 32-bit protected mode with paging off,
 * into long mode at ap64_idle, which never returns.  The NMI handler
 * counts, optionally stays (NMIs blocked) until released, then IRETQ.
 */
__asm__(".text\n"
	".code32\n"
	"long_mode_enter:\n"
	"	cli\n"
	"	movl	4(%esp), %eax\n"
	"	movl	%eax, %cr3\n"
	"	movl	%cr4, %eax\n"
	"	orl	$0x20, %eax\n"			/* PAE */
	"	movl	%eax, %cr4\n"
	"	movl	$0xC0000080, %ecx\n"
	"	rdmsr\n"
	"	orl	$0x100, %eax\n"			/* EFER.LME */
	"	wrmsr\n"
	"	lgdt	gdt64_desc\n"
	"	movl	%cr0, %eax\n"
	"	orl	$0x80000000, %eax\n"		/* PG: long mode active */
	"	movl	%eax, %cr0\n"
	"	ljmp	$0x08, $ap64_start\n"
	".code64\n"
	"ap64_start:\n"
	"	movl	%esp, %esp\n"			/* 64-bit RSP, upper half zero */
	"	movw	$0x10, %ax\n"
	"	movw	%ax, %ds\n"
	"	movw	%ax, %es\n"
	"	movw	%ax, %ss\n"
	"	lidt	idt64_desc(%rip)\n"
	"	lock incl online64(%rip)\n"
	"ap64_idle:\n"
	"	pause\n"
	"	jmp	ap64_idle\n"
	"ap64_nmi:\n"
	"	lock incl nmi_count_ap(%rip)\n"
	"	cmpl	$0, nmi_hold(%rip)\n"
	"	je	2f\n"
	"	movl	$0, nmi_hold(%rip)\n"
	"	movl	$1, nmi_in_handler(%rip)\n"
	"1:	pause\n"
	"	cmpl	$0, nmi_release(%rip)\n"
	"	je	1b\n"
	"2:	iretq\n"
	".code32\n");
extern const char ap64_nmi[];
void long_mode_enter(uint32_t cr3) __attribute__((noreturn));
volatile uint32_t online64;

void irq_handler(uint32_t vector)
{
	if (vector != 2)
		return;
	if (apic_id() == 0)
		nmi_count_bsp++;
	else
		ap2_nmis++;
}

/*
 * AP 2 turns its APIC off (IA32_APIC_BASE.EN = 0) and spins: an NMI or an
 * INIT sent to it must find no APIC to take it.
 */
static void ap2_main(void)
{
	cpu_init();
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) & ~(uint64_t)APIC_BASE_EN);
	ap2_disabled = 1;
	for (;;) {
		__atomic_add_fetch(&ap2_alive, 1, __ATOMIC_RELAXED);
		__asm__ volatile("pause");
	}
}

static void long_mode_tables(void)
{
	uint32_t h = (uint32_t)ap64_nmi;

	for (uint32_t i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS;
	pdpt[0] = (uint32_t)pd | PTE_P | PTE_RW;
	pml4[0] = (uint32_t)pdpt | PTE_P | PTE_RW;
	/* Vector 2: a 64-bit interrupt gate to ap64_nmi in selector 0x08. */
	idt64[4] = (h & 0xFFFFULL) | (0x08ULL << 16) | (0x8EULL << 40) |
		   ((uint64_t)(h >> 16) << 48);
	idt64[5] = 0;
	gdt64_desc.limit = sizeof(gdt64) - 1;
	gdt64_desc.base = (uint32_t)gdt64;
	idt64_desc.limit = sizeof(idt64) - 1;
	idt64_desc.base = (uint32_t)idt64;
}

static void ap_main(uint32_t id)
{
	__atomic_add_fetch(&online, 1, __ATOMIC_RELEASE);
	if (id == 2)
		ap2_main();
	if (id != 1)
		for (;;)
			__asm__ volatile("cli; hlt" ::: "memory");
	long_mode_enter((uint32_t)pml4);
}

/* Spin until *flag >= want or `cycles` TSC cycles passed; the last value. */
static uint32_t wait_for(volatile uint32_t *flag, uint32_t want, uint64_t cycles)
{
	uint64_t end = rdtsc() + cycles;

	while (*flag < want && rdtsc() < end)
		__asm__ volatile("pause");
	return *flag;
}

/* Wait for the count to reach want, then a while longer for extra ones. */
static uint32_t settle(volatile uint32_t *count, uint32_t want)
{
	wait_for(count, want, WAIT_TSC);
	wait_for(count, ~0U, SETTLE_TSC);
	return *count;
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t n = fw_cfg_u32(FW_CFG_NB_CPUS) & 0xffff, base;

	(void)magic;
	(void)info;
	if (n < 2) {
		puts("SKIP nmi: needs 2 CPUs\n");
		return 0;
	}
	cpu_init();
	long_mode_tables();
	smp_start_aps(TRAMPOLINE, ap_main);
	wait_for(&online, n - 1, WAIT_TSC);
	wait_for(&online64, 1, WAIT_TSC);
	if (report(online == n - 1 && online64 == 1, "nmi ap 1 in long mode", online64))
		return 1;

	/* One NMI, one entry. */
	apic_send(1, ICR_DM_NMI);
	report(settle(&nmi_count_ap, 1) == 1, "nmi one", nmi_count_ap);

	/* Two back to back to a busy CPU: both taken. */
	base = nmi_count_ap;
	apic_send(1, ICR_DM_NMI);
	apic_send(1, ICR_DM_NMI);
	report(settle(&nmi_count_ap, base + 2) == base + 2, "nmi pair to a busy cpu",
	       nmi_count_ap - base);

	/* Three while the target is in its handler: one more entry after IRET. */
	base = nmi_count_ap;
	nmi_hold = 1;
	apic_send(1, ICR_DM_NMI);
	wait_for(&nmi_in_handler, 1, WAIT_TSC);
	for (int i = 0; i < 3; i++)
		apic_send(1, ICR_DM_NMI);
	wait_for(&nmi_count_ap, ~0U, SETTLE_TSC);
	report(nmi_in_handler && nmi_count_ap == base + 1, "nmi blocked in handler",
	       nmi_count_ap - base);
	nmi_release = 1;
	report(settle(&nmi_count_ap, base + 2) == base + 2, "nmi latched taken after iret",
	       nmi_count_ap - base);

	/*
	 * The BSP's only NMI (its stub cannot IRET), to its own APIC ID: the
	 * self shorthand is not valid with the NMI delivery mode (SDM table
	 * "valid combinations for the local xAPIC ICR").
	 */
	apic_send(0, ICR_DM_NMI);
	report(settle(&nmi_count_bsp, 1) == 1, "nmi to own apic id", nmi_count_bsp);

	/* NMI and INIT to a hardware-disabled APIC: nobody there to take them. */
	if (n < 3) {
		puts("SKIP nmi to a disabled apic: needs 3 CPUs\n");
		return 0;
	}
	wait_for(&ap2_disabled, 1, WAIT_TSC);
	apic_send(2, ICR_DM_NMI);
	apic_send(2, ICR_DM_INIT | ICR_LEVEL_ASSERT);
	wait_for(&ap2_nmis, 1, SETTLE_TSC);
	/* Still running, not parked by the INIT: it keeps counting. */
	base = ap2_alive;
	wait_for(&ap2_alive, base + 1000, WAIT_TSC);
	report(ap2_disabled && ap2_nmis == 0 && ap2_alive - base >= 1000,
	       "nmi and init to a disabled apic dropped", ap2_nmis);
	return 0;
}
