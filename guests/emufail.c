// SPDX-License-Identifier: MIT
/*
 * emufail: one instruction some hosts' KVM cannot emulate in 32-bit ring 0
 * (FWAIT on kvm-pvm, under either irqchip).  Where the CPU runs it, the
 * guest passes; where KVM gives up, the run must end with the
 * instruction's bytes, RIP and mode, never skip it.
 */
#include "guest.h"

int main(uint32_t magic, uint32_t info)
{
	(void)magic;
	(void)info;
	cpu_init();
	__asm__ volatile("fwait");
	report(1, "emufail fwait ran", 0);
	return 0;
}
