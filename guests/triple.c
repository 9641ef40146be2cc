// SPDX-License-Identifier: MIT
/*
 * triple: a guest that triple-faults on purpose.  With an empty IDT (limit
 * 0) the #UD from ud2 cannot be delivered (#GP), nor can the #GP (#DF), nor
 * the #DF: the CPU shuts down, which KVM reports as KVM_EXIT_SHUTDOWN.
 * ud2 rather than int3: KVM intercepts #UD on both VMX and SVM and
 * re-injects it, a path that ends in a clean shutdown everywhere.
 */
#include "guest.h"

int main(uint32_t magic, uint32_t info)
{
	static const struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) null_idt = { 0, 0 };

	(void)magic;
	(void)info;
	puts("triple: loading an empty IDT, then ud2\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(null_idt));
	puts("FAIL triple: still running\n");
	return 1;
}
