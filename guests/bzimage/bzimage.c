// SPDX-License-Identifier: MIT
/*
 * bzimage: the boot protocol hand-over.  Entered with ESI = the zero page
 * (at code32_start by the 32-bit protocol; bzimage64.c, whose header has
 * XLF_KERNEL_64, through start.S's startup_64 in long mode): checks and
 * prints the setup header the loader copied (boot_flag, "HdrS", the
 * protocol version), the loader type, the e820 map (low RAM, the VGA/BIOS
 * hole, upper RAM, the APIC page; the page tables' reserved range for the
 * 64-bit entry), the command line (--append's text), the initrd and the
 * ACPI RSDP, and for the 64-bit entry the state startup_64 found, then
 * exits through isa-debug-exit with code 0.
 */
#include "guest.h"

/* What start.S's startup_64 recorded (zero: entered by the 32-bit protocol). */
struct boot64 {
	uint32_t entered, pad;
	uint64_t rsi, rflags, cr0, cr3, cr4, wide;
	uint32_t efer, apic_version;
	uint16_t cs, ds, ss, pad2;
	uint32_t high;			/* read back from 4 GiB after writing 0x4b1d4b1d */
};

extern struct boot64 boot64;

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* 0x%08x, or 0x%08x_%08x when the high half is set (RAM from 4 GiB). */
static void put_hex64(const uint8_t *p)
{
	uint32_t hi = rd32(p + 4);

	if (hi) {
		put_hex(hi);
		putc('_');
		for (int shift = 28; shift >= 0; shift -= 4)
			putc("0123456789abcdef"[(rd32(p) >> shift) & 0xf]);
	} else {
		put_hex(rd32(p));
	}
}

static void fail(const char *what, uint32_t v)
{
	puts("FAIL bzimage ");
	puts(what);
	putc(' ');
	put_hex(v);
	putc('\n');
}

/* Whether the e820 map has a reserved entry holding [a, a + len). */
static int e820_reserved(const uint8_t *zp, uint32_t a, uint32_t len)
{
	for (uint32_t i = 0; i < zp[0x1e8]; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;

		if (rd32(e + 16) == 2 && !rd32(e + 4) && rd32(e) <= a &&
		    a + len <= rd32(e) + rd32(e + 8))
			return 1;
	}
	return 0;
}

/* Whether the e820 map lists RAM at 4 GiB. */
static int e820_high(const uint8_t *zp)
{
	for (uint32_t i = 0; i < zp[0x1e8]; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;

		if (rd32(e + 16) == 1 && rd32(e + 4) == 1 && !rd32(e))
			return 1;
	}
	return 0;
}

static int check_e820(const uint8_t *zp)
{
	uint32_t n = zp[0x1e8];

	if (n < 4 || n > 7) {
		fail("e820_entries", n);
		return 1;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;

		puts("PASS bzimage e820 ");
		put_hex64(e);
		puts(" size ");
		put_hex64(e + 8);
		puts(" type ");
		put_u32(rd32(e + 16));
		putc('\n');
	}
	return 0;
}

static void check(int ok, const char *what, uint32_t v)
{
	if (!ok) {
		fail(what, v);
		return;
	}
	puts("PASS bzimage long mode ");
	puts(what);
	putc('\n');
}

/* The state of the 64-bit entry, as the 64-bit boot protocol gives it. */
static void check_long_mode(const uint8_t *zp, uint32_t esi)
{
	const struct boot64 *b = &boot64;
	uint32_t apic_version = *(volatile const uint32_t *)0xfee00030U;

	puts("PASS bzimage 64-bit entry\n");
	check(b->cs == 0x10 && b->ds == 0x18 && b->ss == 0x18, "cs 0x10 ds ss 0x18", b->cs);
	check((b->efer & 0x500) == 0x500, "efer lme lma", b->efer);
	check((b->cr0 & 0x80000001U) == 0x80000001U && (b->cr4 & 0x20), "cr0 pe pg cr4 pae",
	      (uint32_t)b->cr0);
	check(b->rflags == 0x2, "rflags 0x2 interrupts off", (uint32_t)b->rflags);
	check(b->wide == 0x0123456789abcdefULL, "64-bit registers", (uint32_t)(b->wide >> 32));
	check(b->rsi == esi && (const uint8_t *)esi == zp, "rsi is the zero page", (uint32_t)b->rsi);
	check(b->cr3 < 0x100000 && e820_reserved(zp, (uint32_t)b->cr3, 0x1000),
	      "page tables below 1 MiB reserved in e820", (uint32_t)b->cr3);
	/* The identity map went up to the local APIC's page, near 4 GiB. */
	check(b->apic_version == apic_version && apic_version, "identity map reaches 0xfee00000",
	      b->apic_version);
	if (e820_high(zp))
		check(b->high == 0x4b1d4b1dU, "ram at 4 GiB holds what was written", b->high);
	else
		check(b->high != 0x4b1d4b1dU, "no ram at 4 GiB", b->high);
}

int main(uint32_t magic, uint32_t esi)
{
	const uint8_t *zp = (const uint8_t *)esi;
	const char *initrd = (const char *)rd32(zp + 0x218);
	uint32_t rsdp = rd32(zp + 0x70);

	(void)magic;
	puts("PASS bzimage entered\n");
	if (boot64.entered)
		check_long_mode(zp, esi);
	else
		puts("PASS bzimage 32-bit entry\n");
	if ((zp[0x1fe] | zp[0x1ff] << 8) != 0xaa55) {
		fail("boot_flag", zp[0x1fe] | zp[0x1ff] << 8);
		return 1;
	}
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
