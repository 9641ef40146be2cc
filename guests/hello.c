// SPDX-License-Identifier: MIT
/*
 * hello: the smallest end-to-end check of the loader and the runner.  It
 * prints on COM1, checks the Multiboot hand-over (magic in EAX, info block
 * in EBX) and the command line's first word, which is the image's own
 * path as QEMU's -kernel passes it ("IMAGE ARGS": argv[0] ends in
 * "hello.elf"), prints the command line, and exits through
 * isa-debug-exit with code 0.
 */
#include "guest.h"

#define SELF		"hello.elf"
#define SELF_LEN	(sizeof(SELF) - 1)

/* argv[0]: the command line up to its first space, as a Multiboot kernel splits it. */
static int argv0_is_self(const char *cmdline)
{
	uint32_t n = 0, i;

	while (cmdline[n] && cmdline[n] != ' ')
		n++;
	if (n < SELF_LEN || (n > SELF_LEN && cmdline[n - SELF_LEN - 1] != '/'))
		return 0;
	for (i = 0; i < SELF_LEN; i++)
		if (cmdline[n - SELF_LEN + i] != SELF[i])
			return 0;
	return 1;
}

int main(uint32_t magic, uint32_t info)
{
	const struct mb_info *mbi = (const struct mb_info *)info;
	const char *cmdline;

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
	if (!(mbi->flags & MB_INFO_CMDLINE)) {
		puts("FAIL no command line: argv[0] is the image\n");
		return 1;
	}
	cmdline = (const char *)mbi->cmdline;
	if (!argv0_is_self(cmdline)) {
		puts("FAIL argv0 is not " SELF ": ");
		puts(cmdline);
		putc('\n');
		return 1;
	}
	puts("PASS argv0 " SELF "\n");
	puts("cmdline: ");
	puts(cmdline);
	putc('\n');
	return 0;
}
