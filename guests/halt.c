// SPDX-License-Identifier: MIT
/*
 * halt: interrupts off, then HLT.  Nothing can wake this vCPU (no NMI
 * source yet), so the runner must end the run and say why.
 */
#include "guest.h"

int main(uint32_t magic, uint32_t info)
{
	(void)magic;
	(void)info;
	puts("halt: cli; hlt\n");
	__asm__ volatile("cli; hlt");
	puts("FAIL halt: woke up\n");
	return 1;
}
