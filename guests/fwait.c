// SPDX-License-Identifier: MIT
/*
 * fwait: FWAIT checks CR0.MP/TS first (both set: #NM, a fault on the
 * FWAIT), then a pending unmasked x87 exception (CR0.NE set: #MF), and
 * otherwise does nothing.  Some hosts' KVM cannot emulate it in either
 * irqchip; vintc must then run it as the SDM says, never skip it.  The
 * handler removes the cause and returns to the FWAIT, which then runs
 * through.  The #MF case is not here: making an exception pending needs an
 * x87 control-word load (FLDCW, FLDENV, FRSTOR), which kvm-pvm cannot
 * emulate in 32-bit ring 0 either; tests/kvm/test_emulation.c checks the
 * decision for it.
 */
#include "guest.h"

#define CR0_MP	(1u << 1)
#define CR0_TS	(1u << 3)
#define CR0_NE	(1u << 5)

static volatile uint32_t nm_count, nm_eip;

/*
 * The #NM handler: count, note the saved EIP, clear the cause (CLTS) and
 * return to the faulting FWAIT without IRET, through the shared stubs'
 * irq_return (kvm-pvm cannot run a 32-bit IRET).
 */
__asm__(".text\n"
	"nm_stub:\n"
	"	pushal\n"
	"	lock incl nm_count\n"
	"	movl	32(%esp), %eax\n"
	"	movl	%eax, nm_eip\n"
	"	clts\n"
	"	jmp	irq_return\n"
	"fwait_site:\n"
	"	fwait\n"
	"	ret\n");
extern const char nm_stub[], fwait_site[];

static uint32_t cr0_read(void)
{
	uint32_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static void cr0_write(uint32_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

int main(uint32_t magic, uint32_t info)
{
	(void)magic;
	(void)info;
	cpu_init();
	idt_set_gate(7, (uint32_t)nm_stub);
	cr0_write((cr0_read() | CR0_MP | CR0_NE) & ~CR0_TS);
	__asm__ volatile("fninit");

	((void (*)(void))fwait_site)();
	report(nm_count == 0, "fwait with nothing pending runs through", nm_count);

	cr0_write(cr0_read() | CR0_TS);
	((void (*)(void))fwait_site)();
	report(nm_count == 1, "fwait with cr0.mp and ts is #nm", nm_count);
	report(nm_eip == (uint32_t)fwait_site, "fwait #nm saved eip is the fwait", nm_eip);
	report(!(cr0_read() & CR0_TS) && nm_count == 1, "fwait after #nm runs through", cr0_read());
	return 0;
}
