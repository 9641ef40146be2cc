// SPDX-License-Identifier: MIT
/*
 * bzimage: the 32-bit boot protocol hand-over.  Entered at code32_start
 * with ESI = the zero page: checks and prints the setup header the loader
 * copied ("HdrS", the protocol version), the loader type, the e820 map
 * (low RAM, the VGA/BIOS hole, upper RAM, the APIC page), the command line
 * (--append's text), the initrd and the ACPI RSDP, then exits through
 * isa-debug-exit with code 0.
 */
#include "guest.h"

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void fail(const char *what, uint32_t v)
{
	puts("FAIL bzimage ");
	puts(what);
	putc(' ');
	put_hex(v);
	putc('\n');
}

static int check_e820(const uint8_t *zp)
{
	uint32_t n = zp[0x1e8];

	if (n < 4 || n > 5) {
		fail("e820_entries", n);
		return 1;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;

		puts("PASS bzimage e820 ");
		put_hex(rd32(e));
		puts(" size ");
		put_hex(rd32(e + 8));
		puts(" type ");
		put_u32(rd32(e + 16));
		putc('\n');
	}
	return 0;
}

int main(uint32_t magic, uint32_t esi)
{
	const uint8_t *zp = (const uint8_t *)esi;
	const char *initrd = (const char *)rd32(zp + 0x218);
	uint32_t rsdp = rd32(zp + 0x70);

	(void)magic;
	puts("PASS bzimage entered\n");
	if (rd32(zp + 0x202) != 0x53726448U) {
		fail("HdrS", rd32(zp + 0x202));
		return 1;
	}
	puts("PASS bzimage HdrS version=");
	put_hex(zp[0x206] | zp[0x207] << 8);
	puts(" loader=");
	put_hex(zp[0x210]);
	putc('\n');
	if (check_e820(zp))
		return 1;
	puts("PASS bzimage cmdline=\"");
	puts((const char *)rd32(zp + 0x228));
	puts("\"\n");
	puts("PASS bzimage initrd size=");
	put_u32(rd32(zp + 0x21c));
	puts(" bytes=");
	for (uint32_t i = 0; i < rd32(zp + 0x21c) && i < 32; i++)
		putc(initrd[i] >= ' ' && initrd[i] < 127 ? initrd[i] : '.');
	putc('\n');
	if (!rsdp || rd32((const uint8_t *)rsdp) != 0x20445352U) {
		fail("rsdp", rsdp);
		return 1;
	}
	puts("PASS bzimage rsdp=");
	put_hex(rsdp);
	putc('\n');
	return 0;
}
