// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the PVH loader (kvm/boot/pvh.c) and the bzImage
 * loader (kvm/boot/bzimage.c) through the boot protocol dispatcher
 * (kvm/boot/boot.c), ELF32, ELF64 and bzImage headers.
 *
 * Input: the kernel image, then one trailing options byte:
 *   bit 0      RAM: 2 MiB, or 4 MiB
 *   bits 2:1   command line: none, "console=ttyS0", 3000 'a's, 30000 'b's
 *              (the last one cannot fit the strings area: -E2BIG)
 *   bits 5:3   modules 0..7, cut from the image itself, each with a string
 *   bit 6      the image name set (PVH must not put it on the command line)
 *
 * Invariants (abort on violation):
 *   - the result is 0, -ENOEXEC, -ERANGE, -E2BIG or -EINVAL; `why` is a
 *     terminated single line, empty exactly on success;
 *   - the dispatcher's answer is the PVH loader's whenever the image has
 *     no Multiboot header and pvh_probe() claims it;
 *   - on error RAM is untouched;
 *   - on PVH success: EBX = the start info; every segment inside RAM, clear
 *     of the loader area, of the local APIC page and of the other
 *     segments, holding its file bytes then zeros; the entry inside a
 *     segment; the start info's magic, version 1, module count and list
 *     (page-aligned modules after the kernel holding their bytes, their
 *     strings), command line (--append's text alone), memory map (the
 *     layout's entries, contiguous, all RAM listed); and every RAM byte
 *     outside the segments, modules and loader area unchanged;
 *   - on bzImage success: ESI = the zero page; the protected-mode part
 *     (the file after (setup_sects + 1) * 512 bytes) at 1 MiB; the zero
 *     page's "HdrS", loader type 0xff, command line and initrd (at most
 *     one, page-aligned, in RAM, holding its bytes); the 64-bit entry
 *     (+0x200, inside the kernel) exactly when the header is 2.12+ with
 *     XLF_KERNEL_64, then its GDT and an identity map of 0-4 GiB in the
 *     tables' range, which the e820 map reserves; nothing else written.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/mboot.h>

#include "kvm/boot/boot.h"
#include "kvm/boot/bzimage.h"
#include "kvm/boot/pvh.h"

#define FUZZ_NAME "fuzz_pvh"
#include "fuzz_util.h"
#include "fuzz_image.h"

#define RAM_MAX		(4U << 20)
#define FILL		0xA5

static uint8_t *ram, *fill_ref, *zero_ref;
static char long_a[3001], long_b[30001];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}


static void check_start_info(const struct mboot_params *p, const struct mboot_layout *lay,
			     uint64_t ram_size, struct range *r, unsigned int *nr)
{
	const uint8_t *si = ram + PVH_INFO_ADDR;
	uint64_t at = lay->kernel_end > MBOOT_HIGH_MEM_START ? lay->kernel_end
							     : MBOOT_HIGH_MEM_START;
	uint64_t ml = rd64(si + PVH_SI_MODLIST_PADDR), total = 0;
	uint32_t nmap = rd32(si + PVH_SI_MEMMAP_ENTRIES);
	const uint8_t *e;

	CHECK(lay->protocol == BOOT_PVH && lay->ebx == PVH_INFO_ADDR, "protocol %u ebx 0x%x",
	      lay->protocol, lay->ebx);
	CHECK(rd32(si + PVH_SI_MAGIC) == PVH_START_MAGIC, "magic");
	CHECK(rd32(si + PVH_SI_VERSION) == 1, "version");
	CHECK(rd32(si + PVH_SI_NR_MODULES) == p->nr_mods && lay->nr_mods == p->nr_mods,
	      "nr_modules");
	CHECK(!strcmp((const char *)ram + rd64(si + PVH_SI_CMDLINE_PADDR),
		      p->cmdline ? p->cmdline : ""), "command line");
	CHECK(p->nr_mods ? ml == PVH_MODLIST_ADDR : ml == 0, "modlist_paddr 0x%llx",
	      (unsigned long long)ml);
	for (unsigned int i = 0; i < p->nr_mods; i++) {
		const uint8_t *m = ram + PVH_MODLIST_ADDR + i * PVH_MODLIST_ENTRY_SIZE;
		uint64_t pa = rd64(m), sz = rd64(m + 8);
		const char *want = p->mods[i].string ? p->mods[i].string : "";

		CHECK(pa % 4096 == 0 && pa >= at && pa + sz <= ram_size && sz == p->mods[i].size,
		      "module %u at 0x%llx", i, (unsigned long long)pa);
		CHECK(!memcmp(ram + pa, p->mods[i].data, sz), "module %u bytes", i);
		CHECK(!strcmp((const char *)ram + rd64(m + 16), want), "module %u string", i);
		at = pa + sz;
		r[(*nr)++] = (struct range){ pa, pa + sz };
	}
	CHECK(nmap == lay->nr_mmap && nmap >= 4 && nmap <= MBOOT_MMAP_MAX_ENTRIES, "memmap %u",
	      nmap);
	CHECK(rd64(si + PVH_SI_MEMMAP_PADDR) == PVH_MEMMAP_ADDR, "memmap_paddr");
	e = ram + PVH_MEMMAP_ADDR;
	for (unsigned int i = 0; i < nmap; i++, e += PVH_MEMMAP_ENTRY_SIZE) {
		CHECK(rd64(e) == total, "memmap entry %u not contiguous", i);
		total = rd64(e) + rd64(e + 8);
	}
	CHECK(total >= ram_size, "memmap ends at 0x%llx", (unsigned long long)total);
}

/* The 64-bit entry's GDT, identity map and the e820 entry reserving them. */
static void check_tables(const struct mboot_layout *lay, const uint8_t *zp)
{
	uint64_t pdpt = rd64(ram + lay->cr3) & ~0xfffULL;
	bool reserved = false;

	CHECK(lay->cr3 >= BZ_GDT && lay->cr3 < BZ_TABLES_END && lay->gdt_addr >= BZ_GDT &&
	      lay->gdt_addr < BZ_TABLES_END, "tables at 0x%x, 0x%x", lay->cr3, lay->gdt_addr);
	CHECK(rd64(ram + lay->gdt_addr + BZ_BOOT_CS) == 0x00af9b000000ffffULL &&
	      rd64(ram + lay->gdt_addr + BZ_BOOT_DS) == 0x00cf93000000ffffULL, "GDT");
	CHECK(pdpt >= BZ_GDT && pdpt < BZ_TABLES_END, "PDPT at 0x%llx", (unsigned long long)pdpt);
	for (uint64_t va = 0; va < (4ULL << 30); va += 2ULL << 20) {
		uint64_t pde = rd64(ram + pdpt + 8 * (va >> 30));
		uint64_t pd = pde & ~0xfffULL;

		CHECK((pde & 3) == 3 && pd >= BZ_GDT && pd < BZ_TABLES_END, "PDPTE for 0x%llx",
		      (unsigned long long)va);
		CHECK(rd64(ram + pd + 8 * ((va >> 21) & 511)) == (va | BZ_PTE_P | BZ_PTE_RW | BZ_PTE_PS),
		      "PDE for 0x%llx", (unsigned long long)va);
	}
	for (unsigned int i = 0; i < zp[BZ_E820_ENTRIES]; i++) {
		const uint8_t *e = zp + BZ_E820_TABLE + i * BZ_E820_ENTRY_SIZE;

		if (rd32(e + 16) == MBOOT_MMAP_RESERVED && rd64(e) <= BZ_GDT &&
		    rd64(e) + rd64(e + 8) >= BZ_TABLES_END)
			reserved = true;
	}
	CHECK(reserved, "the tables are not reserved in e820");
}

static void check_bzimage(const struct mboot_params *p, const struct mboot_layout *lay,
			  uint64_t ram_size, struct range *r, unsigned int *nr)
{
	const uint8_t *zp = ram + BZ_ZERO_PAGE, *img = p->image;
	uint32_t setup = ((img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : 4) + 1) * 512;
	uint32_t rd = rd32(zp + BZ_RAMDISK_IMAGE), rs = rd32(zp + BZ_RAMDISK_SIZE);

	bool entry64 = (img[BZ_VERSION] | img[BZ_VERSION + 1] << 8) >= BZ_XLF_VERSION &&
		       (img[BZ_XLOADFLAGS] & BZ_XLF_KERNEL_64);

	CHECK(lay->esi == BZ_ZERO_PAGE &&
	      lay->entry == BZ_KERNEL_ADDR + (entry64 ? BZ_ENTRY64_OFFSET : 0),
	      "esi 0x%x entry 0x%x", lay->esi, lay->entry);
	CHECK(entry64 == !!lay->cr3 && entry64 == !!lay->gdt_addr, "cr3 0x%x for entry64 %d",
	      lay->cr3, entry64);
	if (entry64) {
		check_tables(lay, zp);
		CHECK(p->image_size - setup > BZ_ENTRY64_OFFSET, "64-bit entry past the kernel");
		r[(*nr)++] = (struct range){ BZ_GDT, BZ_TABLES_END };
	}
	CHECK(setup < p->image_size && BZ_KERNEL_ADDR + (p->image_size - setup) <= ram_size,
	      "kernel size");
	CHECK(!memcmp(ram + BZ_KERNEL_ADDR, img + setup, p->image_size - setup), "kernel bytes");
	r[(*nr)++] = (struct range){ BZ_KERNEL_ADDR, BZ_KERNEL_ADDR + p->image_size - setup };
	CHECK(rd32(zp + BZ_HEADER) == BZ_HEADER_MAGIC && zp[BZ_TYPE_OF_LOADER] == 0xff,
	      "zero page header");
	CHECK(!strcmp((const char *)ram + rd32(zp + BZ_CMD_LINE_PTR),
		      p->cmdline ? p->cmdline : ""), "command line");
	CHECK(p->nr_mods <= 1, "%u modules", p->nr_mods);
	if (p->nr_mods) {
		CHECK(rd % 4096 == 0 && rd >= BZ_KERNEL_ADDR + p->image_size - setup &&
		      (uint64_t)rd + rs <= ram_size && rs == p->mods[0].size, "initrd at 0x%x", rd);
		CHECK(!memcmp(ram + rd, p->mods[0].data, rs), "initrd bytes");
		r[(*nr)++] = (struct range){ rd, (uint64_t)rd + rs };
	} else {
		CHECK(!rd && !rs, "initrd without a module");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mod_strings[] = { "initrd", NULL, "m2 arg=1", "" };
	static const char *const cmdlines[] = { NULL, "console=ttyS0", long_a, long_b };
	struct range r[MBOOT_MAX_SEGMENTS + MBOOT_MAX_MODS + 1];
	struct mboot_module mods[8];
	struct mboot_params p = { 0 };
	struct mboot_layout lay;
	unsigned int nr = 0;
	uint64_t ram_size, at = 0;
	char why[128], why2[128];
	uint8_t opt;
	int ret, ret2;

	if (!ram) {
		ram = malloc(RAM_MAX);
		fill_ref = malloc(RAM_MAX);
		zero_ref = calloc(1, RAM_MAX);
		if (!ram || !fill_ref || !zero_ref)
			abort();
		memset(fill_ref, FILL, RAM_MAX);
		memset(long_a, 'a', sizeof(long_a) - 1);
		memset(long_b, 'b', sizeof(long_b) - 1);
	}
	if (!size)
		return 0;
	opt = data[size - 1];
	p.image = data;
	p.image_size = size - 1;
	ram_size = opt & 1 ? RAM_MAX : RAM_MAX / 2;
	p.cmdline = cmdlines[(opt >> 1) & 3];
	p.image_name = opt & 0x40 ? "vmlinux" : NULL;
	p.nr_mods = (opt >> 3) & 7;
	for (unsigned int i = 0; i < p.nr_mods; i++) {
		size_t off = p.image_size ? (i * 97) % p.image_size : 0;

		mods[i].data = data + off;
		mods[i].size = (p.image_size - off) / (i + 1);
		mods[i].string = mod_strings[i % 4];
	}
	p.mods = mods;
	memset(ram, FILL, RAM_MAX);

	ret = vkvm_boot_load(&p, 0, ram, ram_size, &lay, why, sizeof(why));
	CHECK(ret == 0 || ret == -ENOEXEC || ret == -ERANGE || ret == -E2BIG || ret == -EINVAL,
	      "result %d", ret);
	CHECK(memchr(why, '\0', sizeof(why)) && !strchr(why, '\n'), "why not one line");
	CHECK(!ret == !why[0], "why \"%s\" with result %d", why, ret);
	if (!mboot_probe(p.image, p.image_size) && pvh_probe(p.image, p.image_size)) {
		uint8_t *copy = ret ? NULL : malloc(RAM_MAX);
		struct mboot_layout lay2;

		/* Again, straight through the PVH loader: the same answer. */
		if (copy)
			memcpy(copy, ram, RAM_MAX);
		ret2 = pvh_load(&p, 0, ram, ram_size, &lay2, why2, sizeof(why2));
		CHECK(ret2 == ret && !strcmp(why, why2), "dispatcher %d, pvh_load %d", ret, ret2);
		if (copy) {
			CHECK(!memcmp(copy, ram, RAM_MAX), "pvh_load not idempotent");
			free(copy);
		}
	}
	if (ret) {
		CHECK(!memcmp(ram, fill_ref, RAM_MAX), "RAM written on error %d", ret);
		return 0;
	}
	if (lay.protocol == BOOT_PVH) {
		fuzz_check_segments(&p, &lay, ram, ram_size, zero_ref, RAM_MAX, r, &nr);
		check_start_info(&p, &lay, ram_size, r, &nr);
	} else if (lay.protocol == BOOT_BZIMAGE) {
		check_bzimage(&p, &lay, ram_size, r, &nr);
	} else {
		return 0;
	}
	r[nr++] = (struct range){ MBOOT_AREA_START, MBOOT_AREA_END };
	qsort(r, nr, sizeof(r[0]), cmp_range);
	for (unsigned int i = 0; i < nr; i++) {
		if (r[i].start > at)
			CHECK(!memcmp(ram + at, fill_ref, r[i].start - at),
			      "RAM 0x%llx-0x%llx written outside the layout",
			      (unsigned long long)at, (unsigned long long)r[i].start);
		if (r[i].end > at)
			at = r[i].end;
	}
	if (at < ram_size)
		CHECK(!memcmp(ram + at, fill_ref, ram_size - at), "RAM after 0x%llx written",
		      (unsigned long long)at);
	return 0;
}
