// SPDX-License-Identifier: MIT
/*
 * hang: spins forever without an exit, so only the runner's --timeout
 * can end it.
 */
#include "guest.h"

int main(uint32_t magic, uint32_t info)
{
	(void)magic;
	(void)info;
	puts("hang: spinning\n");
	for (;;)
		__asm__ volatile("pause");
}
