// SPDX-License-Identifier: MIT
/*
 * hello: the smallest end-to-end check of the loader and the runner.  It
 * prints on COM1, checks the Multiboot hand-over (magic in EAX, info block
 * in EBX) and exits through isa-debug-exit with code 0.
 */
#include "guest.h"

int main(uint32_t magic, uint32_t info)
{
	const struct mb_info *mbi = (const struct mb_info *)info;

	puts("PASS hello\n");
	if (magic != MB_BOOT_MAGIC) {
		puts("FAIL magic ");
		put_hex(magic);
		putc('\n');
		return 1;
	}
	puts("PASS magic\n");
	if (!(mbi->flags & MB_INFO_MEM)) {
		puts("FAIL mbi flags ");
		put_hex(mbi->flags);
		putc('\n');
		return 1;
	}
	puts("PASS mbi mem_upper=");
	put_u32(mbi->mem_upper);
	putc('\n');
	if (mbi->flags & MB_INFO_CMDLINE) {
		puts("cmdline: ");
		puts((const char *)mbi->cmdline);
		putc('\n');
	}
	return 0;
}
