// SPDX-License-Identifier: MIT
/*
 * pvh: the PVH hand-over.  Entered through the Xen PHYS32_ENTRY note with
 * EBX = hvm_start_info: checks and prints its magic and version, the
 * memory map (the same as Multiboot's: low RAM, the VGA/BIOS hole, upper
 * RAM, the APIC page), the ACPI RSDP, the command line (--append's text alone) and
 * module 0 (its bytes, size and string), then exits through
 * isa-debug-exit with code 0.
 */
#include "guest.h"

#define PVH_MAGIC	0x336ec578U

struct pvh_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct pvh_mod {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct pvh_mmap {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static void fail(const char *what, uint32_t v)
{
	puts("FAIL pvh ");
	puts(what);
	putc(' ');
	put_hex(v);
	putc('\n');
}

static int check_map(const struct pvh_start_info *si)
{
	const struct pvh_mmap *m = (const struct pvh_mmap *)(uint32_t)si->memmap_paddr;

	if (si->memmap_entries < 4 || si->memmap_entries > 5 || (si->memmap_paddr >> 32)) {
		fail("memmap_entries", si->memmap_entries);
		return 1;
	}
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		puts("PASS pvh memmap ");
		put_hex((uint32_t)m[i].addr);
		puts(" size ");
		put_hex((uint32_t)m[i].size);
		puts(" type ");
		put_u32(m[i].type);
		putc('\n');
	}
	if (m[0].addr != 0 || m[0].type != 1 || m[1].addr != 0xa0000 || m[1].type != 2 ||
	    m[2].addr != 0x100000 || m[2].type != 1 || m[3].addr != 0xfee00000 || m[3].type != 2) {
		fail("memmap layout", 0);
		return 1;
	}
	return 0;
}

static int check_module(const struct pvh_start_info *si)
{
	const struct pvh_mod *mod = (const struct pvh_mod *)(uint32_t)si->modlist_paddr;
	const char *bytes;

	puts("PASS pvh nr_modules=");
	put_u32(si->nr_modules);
	putc('\n');
	if (!si->nr_modules)
		return 0;
	bytes = (const char *)(uint32_t)mod[0].paddr;
	if (mod[0].paddr & 0xfff) {
		fail("module not page-aligned", (uint32_t)mod[0].paddr);
		return 1;
	}
	puts("PASS pvh module0 size=");
	put_u32((uint32_t)mod[0].size);
	puts(" bytes=");
	for (uint32_t i = 0; i < mod[0].size && i < 32; i++)
		putc(bytes[i] >= ' ' && bytes[i] < 127 ? bytes[i] : '.');
	puts(" string=");
	puts(mod[0].cmdline_paddr ? (const char *)(uint32_t)mod[0].cmdline_paddr : "(none)");
	putc('\n');
	return 0;
}

int main(uint32_t magic, uint32_t info)
{
	const struct pvh_start_info *si = (const struct pvh_start_info *)info;

	(void)magic;
	puts("PASS pvh entered\n");
	if (si->magic != PVH_MAGIC) {
		fail("magic", si->magic);
		return 1;
	}
	puts("PASS pvh magic=");
	put_hex(si->magic);
	puts(" version=");
	put_u32(si->version);
	putc('\n');
	if (si->version < 1) {
		fail("version", si->version);
		return 1;
	}
	if (check_map(si))
		return 1;
	/* The RSDP the machine's ACPI tables start with ("RSD PTR "). */
	if (!si->rsdp_paddr || (si->rsdp_paddr >> 32) ||
	    *(const uint32_t *)(uint32_t)si->rsdp_paddr != 0x20445352U) {
		fail("rsdp", (uint32_t)si->rsdp_paddr);
		return 1;
	}
	puts("PASS pvh rsdp=");
	put_hex((uint32_t)si->rsdp_paddr);
	putc('\n');
	puts("PASS pvh cmdline=\"");
	puts(si->cmdline_paddr ? (const char *)(uint32_t)si->cmdline_paddr : "");
	puts("\"\n");
	return check_module(si);
}
