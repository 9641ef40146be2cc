// SPDX-License-Identifier: MIT
/*
 * usermode: a 64-bit guest's user mode, as Linux's init needs it.  AP 1
 * enters long mode, then ring 3 by IRETQ (Linux's GDT layout, pages with
 * U/S set), takes a #UD from ring 3 (UD2) into ring 0 on the TSS's RSP0
 * stack, goes back to ring 3 by IRETQ and makes a SYSCALL.  Each side
 * notes the CS it runs with.  Other exceptions are recorded (vector,
 * error code, CR2, RIP).  The BSP stays in 32-bit mode and reports.
 * Needs 2 CPUs; with one it prints SKIP.
 *
 * SYSCALL and SYSRETQ are probes, not checks: INFO lines.  The SDM has
 * SYSCALL load CS from STAR[47:32] at CPL 0; kvm-pvm, under either
 * irqchip, jumps to LSTAR with CS still 0x33, in ring 3 ("syscall stays
 * in ring 3").  Linux's init dies of that at its first system call (a
 * user-mode page fault at entry_SYSCALL_64), so tests/linux/ skips the
 * user-mode milestones on a host where this guest says so under both.
 */
#include "guest.h"

#define TRAMPOLINE	0x8000U
#define WAIT_TSC	400000000ULL

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_US		(1ULL << 2)
#define PTE_PS		(1ULL << 7)

/*
 * Linux's x86-64 GDT layout (some hosts' KVM, kvm-pvm, lays out the
 * guest's user segments as Linux does): SYSRET takes CS from STAR[63:48]
 * + 16 and SS from STAR[63:48] + 8, with STAR[63:48] the 32-bit user code.
 */
#define SEL_KCODE32	0x08
#define SEL_KCODE	0x10
#define SEL_KDATA	0x18
#define SEL_UCODE32	0x20
#define SEL_UDATA	0x28
#define SEL_UCODE	0x30
#define SEL_TSS		0x40

#define MSR_EFER	0xC0000080U
#define MSR_STAR	0xC0000081U
#define MSR_LSTAR	0xC0000082U
#define MSR_FMASK	0xC0000084U

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
uint64_t um_gdt[10] __attribute__((aligned(16))) = {
	0,
	0x00CF9A000000FFFFULL,	/* 0x08: 32-bit code, DPL 0 */
	0x00209A0000000000ULL,	/* 0x10: 64-bit code, DPL 0 */
	0x00CF92000000FFFFULL,	/* 0x18: data, DPL 0 */
	0x00CFFA000000FFFFULL,	/* 0x20: 32-bit code, DPL 3 */
	0x00CFF2000000FFFFULL,	/* 0x28: data, DPL 3 */
	0x0020FA0000000000ULL,	/* 0x30: 64-bit code, DPL 3 */
	0,
	0, 0,			/* 0x40: the 64-bit TSS, filled in */
};
uint32_t um_tss[26] __attribute__((aligned(16)));
uint64_t um_idt[2 * 32] __attribute__((aligned(16)));
struct __attribute__((packed)) { uint16_t limit; uint32_t base; } um_gdt_desc;
struct __attribute__((packed)) { uint16_t limit; uint64_t base; } um_idt_desc;
uint8_t um_kstack[4096] __attribute__((aligned(16)));
uint8_t um_ustack[4096] __attribute__((aligned(16)));

/* What AP 1 reached; written by its 64-bit code, RIP-relative. */
volatile uint32_t um_cs_kernel, um_cs_user, um_cs_ud, um_cs_ud_frame, um_cs_syscall;
volatile uint32_t um_long, um_syscall, um_ud, um_sysretq_ok;
volatile uint64_t um_vector = ~0ULL, um_error, um_cr2, um_rip, um_fault_rip, um_syscall_rcx;

/*
 * um_enter(cr3): 32-bit flat, paging off -> long mode -> ring 3.  The
 * exception stubs push their vector (and a dummy error code where the CPU
 * pushes none) and land in um_fault, which records and spins.
 */
__asm__(".text\n"
	".code32\n"
	"um_enter:\n"
	"	cli\n"
	"	movl	4(%esp), %eax\n"
	"	movl	%eax, %cr3\n"
	"	movl	%cr4, %eax\n"
	"	orl	$0x20, %eax\n"			/* PAE */
	"	movl	%eax, %cr4\n"
	"	movl	$0xC0000080, %ecx\n"
	"	rdmsr\n"
	"	orl	$0x101, %eax\n"			/* EFER.LME, EFER.SCE */
	"	wrmsr\n"
	"	lgdt	um_gdt_desc\n"
	"	movl	%cr0, %eax\n"
	"	orl	$0x80000000, %eax\n"
	"	movl	%eax, %cr0\n"
	"	ljmp	$0x10, $um_start64\n"
	".code64\n"
	"um_start64:\n"
	"	movw	$0x18, %ax\n"
	"	movw	%ax, %ds\n"
	"	movw	%ax, %es\n"
	"	movw	%ax, %ss\n"
	"	leaq	um_kstack+4096(%rip), %rsp\n"
	"	lidt	um_idt_desc(%rip)\n"
	"	movw	$0x40, %ax\n"
	"	ltr	%ax\n"
	"	movw	%cs, %ax\n"
	"	movzwl	%ax, %eax\n"
	"	movl	%eax, um_cs_kernel(%rip)\n"
	"	movl	$1, um_long(%rip)\n"
	/* IRETQ frame: SS, RSP, RFLAGS (IF = 0), CS, RIP. */
	"	pushq	$0x2b\n"
	"	leaq	um_ustack+4096(%rip), %rax\n"
	"	pushq	%rax\n"
	"	pushq	$0x2\n"
	"	pushq	$0x33\n"
	"	leaq	um_user(%rip), %rax\n"
	"	pushq	%rax\n"
	"	iretq\n"
	"um_user:\n"					/* ring 3 */
	"	movw	%cs, %ax\n"
	"	movzwl	%ax, %eax\n"
	"	movl	%eax, um_cs_user(%rip)\n"
	"	ud2\n"
	"um_user2:\n"					/* ring 3 again, after the #UD */
	"	syscall\n"
	"um_after_syscall:\n"
	"	movl	$1, um_sysretq_ok(%rip)\n"
	"1:	pause\n"
	"	jmp	1b\n"
	/*
	 * #UD from ring 3: the CPU's CS and the frame's, then back to ring
	 * 3 at um_user2 by IRETQ.
	 */
	"um_ud_entry:\n"
	"	movw	%cs, %ax\n"
	"	movzwl	%ax, %eax\n"
	"	movl	%eax, um_cs_ud(%rip)\n"
	"	movq	8(%rsp), %rax\n"
	"	movl	%eax, um_cs_ud_frame(%rip)\n"
	"	movq	(%rsp), %rax\n"
	"	movq	%rax, um_rip(%rip)\n"
	"	movl	$1, um_ud(%rip)\n"
	"	leaq	um_kstack+4096(%rip), %rsp\n"
	"	pushq	$0x2b\n"
	"	leaq	um_ustack+4096(%rip), %rax\n"
	"	pushq	%rax\n"
	"	pushq	$0x2\n"
	"	pushq	$0x33\n"
	"	leaq	um_user2(%rip), %rax\n"
	"	pushq	%rax\n"
	"	iretq\n"
	/*
	 * SYSCALL: the SDM loads CS from STAR[47:32], CPL 0.  Only then is
	 * SYSRETQ tried; a handler still in ring 3 stops here.
	 */
	"um_syscall_entry:\n"
	"	movq	%rcx, um_syscall_rcx(%rip)\n"
	"	movw	%cs, %ax\n"
	"	movzwl	%ax, %eax\n"
	"	movl	%eax, um_cs_syscall(%rip)\n"
	"	movl	$1, um_syscall(%rip)\n"
	"	cmpl	$0x10, %eax\n"
	"	jne	3f\n"
	"um_sysretq:\n"
	"	sysretq\n"
	"3:	pause\n"
	"	jmp	3b\n"
	"um_fault_err:\n"				/* vector in RAX, error code on the stack */
	"	movq	%rax, um_vector(%rip)\n"
	"	popq	%rax\n"
	"	movq	%rax, um_error(%rip)\n"
	"	movq	(%rsp), %rax\n"
	"	movq	%rax, um_fault_rip(%rip)\n"
	"	movq	%cr2, %rax\n"
	"	movq	%rax, um_cr2(%rip)\n"
	"2:	pause\n"
	"	jmp	2b\n"
	"um_gp_entry:\n"
	"	movl	$13, %eax\n"
	"	jmp	um_fault_err\n"
	"um_pf_entry:\n"
	"	movl	$14, %eax\n"
	"	jmp	um_fault_err\n"
	".code32\n");
extern const char um_syscall_entry[], um_ud_entry[], um_gp_entry[], um_pf_entry[], um_sysretq[];
extern const char um_user[], um_after_syscall[], um_user2[];
void um_enter(uint32_t cr3) __attribute__((noreturn));

static void idt64_gate(unsigned int vec, const void *handler)
{
	uint32_t h = (uint32_t)handler;

	/* A 64-bit interrupt gate, DPL 0, to the 64-bit kernel code segment. */
	um_idt[2 * vec] = (h & 0xFFFFULL) | ((uint64_t)SEL_KCODE << 16) | (0x8EULL << 40) |
			  ((uint64_t)(h >> 16) << 48);
	um_idt[2 * vec + 1] = 0;
}

static void usermode_tables(void)
{
	uint32_t tss = (uint32_t)um_tss, rsp0 = (uint32_t)(um_kstack + sizeof(um_kstack));

	/* The first GiB, identity-mapped, reachable from ring 3. */
	for (uint32_t i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
	pdpt[0] = (uint32_t)pd | PTE_P | PTE_RW | PTE_US;
	pml4[0] = (uint32_t)pdpt | PTE_P | PTE_RW | PTE_US;
	/* TSS: RSP0 for exceptions from ring 3. */
	um_tss[1] = rsp0;
	um_tss[25] = sizeof(um_tss) << 16;	/* I/O map base past the limit */
	um_gdt[8] = (sizeof(um_tss) - 1) | ((uint64_t)(tss & 0xFFFFFF) << 16) | (0x89ULL << 40) |
		    ((uint64_t)(tss >> 24) << 56);
	um_gdt[9] = 0;
	idt64_gate(6, um_ud_entry);
	idt64_gate(13, um_gp_entry);
	idt64_gate(14, um_pf_entry);
	um_gdt_desc.limit = sizeof(um_gdt) - 1;
	um_gdt_desc.base = (uint32_t)um_gdt;
	um_idt_desc.limit = sizeof(um_idt) - 1;
	um_idt_desc.base = (uint32_t)um_idt;
}

static volatile uint32_t online;

static void ap_main(uint32_t id)
{
	__atomic_add_fetch(&online, 1, __ATOMIC_RELEASE);
	if (id != 1)
		for (;;)
			__asm__ volatile("cli; hlt" ::: "memory");
	wrmsr(MSR_STAR, ((uint64_t)(SEL_UCODE32 | 3) << 48) | ((uint64_t)SEL_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint32_t)um_syscall_entry);
	wrmsr(MSR_FMASK, 0x200);		/* IF stays clear in the handler */
	um_enter((uint32_t)pml4);
}

static uint32_t wait_for(volatile uint32_t *flag, uint64_t cycles)
{
	uint64_t end = rdtsc() + cycles;

	while (!*flag && rdtsc() < end)
		__asm__ volatile("pause");
	return *flag;
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t n = fw_cfg_u32(FW_CFG_NB_CPUS) & 0xffff;

	(void)magic;
	(void)info;
	if (n < 2) {
		puts("SKIP usermode: needs 2 CPUs\n");
		return 0;
	}
	cpu_init();
	usermode_tables();
	smp_start_aps(TRAMPOLINE, ap_main);
	report(wait_for(&um_long, WAIT_TSC) && um_cs_kernel == SEL_KCODE, "usermode ap 1 in long mode",
	       um_cs_kernel);
	wait_for(&um_ud, WAIT_TSC);
	report(um_cs_user == (SEL_UCODE | 3), "usermode ring 3 by iretq", um_cs_user);
	report(um_ud && um_rip > (uint32_t)um_user && um_cs_ud_frame == (SEL_UCODE | 3),
	       "usermode #ud from ring 3 saves ring 3's cs", um_cs_ud_frame);
	report(um_cs_ud == SEL_KCODE, "usermode #ud handler runs in ring 0", um_cs_ud);
	/* The probes: SYSCALL, then SYSRETQ; flag or fault, whichever comes. */
	wait_for(&um_syscall, WAIT_TSC);
	if (!um_syscall || um_syscall_rcx != (uint32_t)um_after_syscall)
		return report(0, "usermode syscall reaches lstar", (uint32_t)um_syscall_rcx);
	if (um_cs_syscall != SEL_KCODE) {
		puts("INFO usermode syscall stays in ring 3: cs ");
		put_hex(um_cs_syscall);
		puts("\n");
		return 0;
	}
	puts("INFO usermode syscall ok\n");
	{
		uint64_t end = rdtsc() + WAIT_TSC;

		while (!um_sysretq_ok && um_vector == ~0ULL && rdtsc() < end)
			__asm__ volatile("pause");
	}
	if (um_sysretq_ok) {
		puts("INFO usermode sysretq ok\n");
	} else {
		puts("INFO usermode sysretq fault: vector ");
		put_hex((uint32_t)um_vector);
		puts(" error ");
		put_hex((uint32_t)um_error);
		puts("\n");
	}
	return 0;
}
