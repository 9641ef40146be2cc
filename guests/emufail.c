// SPDX-License-Identifier: MIT
/*
 * emufail: one instruction some hosts' KVM cannot emulate in 32-bit ring 0
 * (POPCNT on kvm-pvm, under either irqchip) and vintc does not complete
 * itself.  Where the CPU runs it, the guest passes; where KVM gives up, the
 * run must end with the instruction's bytes, RIP and mode, never skip it.
 */
#include "guest.h"

int main(uint32_t magic, uint32_t info)
{
	(void)magic;
	(void)info;
	cpu_init();
	uint32_t bits = 0xF0F0F0F0;

	__asm__ volatile("popcnt %0, %0" : "+r"(bits));
	report(bits == 16, "emufail popcnt ran", bits);
	return 0;
}
