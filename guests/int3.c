// SPDX-License-Identifier: MIT
/*
 * int3: INT3 is a trap to vector 3 whose saved EIP is the next
 * instruction.  On hosts whose KVM cannot emulate INT3 in 32-bit ring 0
 * (kvm-pvm, either irqchip) the VMM must deliver the #BP itself, never
 * skip the instruction.  Three INT3s, each taken once, each returning
 * right after itself.
 */
#include "guest.h"

static volatile uint32_t bp_count, bp_eip;

/* Vector 3: count, note the saved EIP, return as the shared stubs do (no IRET). */
__asm__(".text\n"
	"bp_stub:\n"
	"	pushal\n"
	"	lock incl bp_count\n"
	"	movl	32(%esp), %eax\n"		/* the saved EIP */
	"	movl	%eax, bp_eip\n"
	"	jmp	irq_return\n"
	"int3_site:\n"
	"	int3\n"
	"int3_after:\n"
	"	ret\n");
extern const char bp_stub[], int3_site[], int3_after[];

int main(uint32_t magic, uint32_t info)
{
	(void)magic;
	(void)info;
	cpu_init();
	/* The shared IDT leaves vector 3 empty: a gate to ours. */
	idt_set_gate(3, (uint32_t)bp_stub);
	for (int i = 0; i < 3; i++)
		((void (*)(void))int3_site)();
	report(bp_count == 3, "int3 taken as #bp, once each", bp_count);
	report(bp_eip == (uint32_t)int3_after, "int3 saved eip is the next instruction", bp_eip);
	return 0;
}
