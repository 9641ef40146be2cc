// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the Multiboot v1 / ELF32 loader (kvm/loader.c).
 *
 * Input: the kernel image, then one trailing options byte:
 *   bit 0      RAM: 2 MiB, or 4 MiB
 *   bits 2:1   command line: none, "console=ttyS0", 3000 'a's, 30000 'b's
 *              (the last one cannot fit the strings area: -E2BIG)
 *   bits 5:3   modules 0..7, cut from the image itself, each with a string
 *   bit 6      module sizes doubled (some will not fit)
 *   bit 7      the most RAM instead, MBOOT_MAX_RAM: 3 GiB below 4 GiB
 *              (a sparse mapping of it; kernels whose segments add up to
 *              more than 64 MiB are skipped), the rest from 4 GiB, where
 *              nothing may be written
 * The image's last byte (it stays part of the image) also picks the
 * image name, argv[0] of the command line: bits 1:0 none, "k.elf", "",
 * 20000 'n's (with the 3000-byte command line that still fits: the
 * strings area's count includes the name, the space and the NUL).
 *
 * Invariants (abort on violation):
 *   - the result is 0, -ENOEXEC, -ERANGE, -E2BIG or -EINVAL; `why` is a
 *     terminated single line, empty exactly on success;
 *   - on error RAM is untouched;
 *   - on success: every segment inside RAM, clear of the loader area, of
 *     the local APIC page and of the other segments, holding its file bytes
 *     then zeros up to memsz; the entry inside a segment; kernel_end = the
 *     highest segment end; modules page-aligned, at or above 1 MiB and
 *     kernel_end, in RAM, off the APIC page, holding their bytes; the info
 *     block's flags, memory sizes (mem_upper stops at 3 GiB at most),
 *     command line ("NAME ARGS" with a name), module list and memory map
 *     (contiguous up to the APIC page, then RAM from 4 GiB, RAM never over
 *     the APIC page, all RAM listed) as the header documents; and every RAM
 *     byte outside the segments, modules and loader area unchanged (not
 *     checked with MBOOT_MAX_RAM, whose untouched pages read 0, nor is RAM
 *     after an error there).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vintc/mboot.h>

#define FUZZ_NAME "fuzz_mboot"
#include "fuzz_util.h"
#include "fuzz_image.h"


#define RAM_MAX		(4U << 20)
#define FILL		0xA5

static uint8_t *ram, *modbuf, *big_ram;	/* big_ram: low RAM of MBOOT_MAX_RAM, sparse */
static char long_a[3001], long_b[30001], long_n[20001];


static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* memcmp against reference buffers: one call, not a loop per byte. */
static uint8_t *fill_ref, *zero_ref;

static bool all_fill(const uint8_t *p, size_t n)
{
	return !memcmp(p, fill_ref, n);
}


/* PT_LOAD memory sizes added up (0 for what the loader will refuse anyway). */
static uint64_t load_bytes(const uint8_t *img, size_t size)
{
	uint64_t total = 0;
	uint32_t phoff;
	uint16_t phentsize, phnum;

	if (size < 52)
		return 0;
	phoff = rd32(img + 28);
	phentsize = (uint16_t)(img[42] | img[43] << 8);
	phnum = (uint16_t)(img[44] | img[45] << 8);
	for (uint32_t i = 0; i < phnum && phentsize >= 32; i++) {
		uint64_t ph = phoff + (uint64_t)i * phentsize;

		if (ph + 32 > size)
			break;
		if (rd32(img + ph) == 1)
			total += rd32(img + ph + 20);
	}
	return total;
}

static void check_success(const struct mboot_params *p, uint8_t *mem, uint64_t ram_size,
			  const struct mboot_layout *lay)
{
	struct range r[MBOOT_MAX_SEGMENTS + MBOOT_MAX_MODS + 1];
	unsigned int nr = 0;
	uint64_t end, at;
	const uint8_t *info = mem + MBOOT_INFO_ADDR;
	uint32_t flags;

	CHECK(lay->info_addr == MBOOT_INFO_ADDR, "info at 0x%x", lay->info_addr);
	/* A bss can be larger than the reference (up to 64 MiB in MBOOT_MAX_RAM). */
	end = fuzz_check_segments(p, lay, mem, ram_size, zero_ref, RAM_MAX, r, &nr);

	CHECK(lay->nr_mods == p->nr_mods, "%u modules placed of %u", lay->nr_mods, p->nr_mods);
	at = end > MBOOT_HIGH_MEM_START ? end : MBOOT_HIGH_MEM_START;
	for (unsigned int i = 0; i < lay->nr_mods; i++) {
		uint32_t st = lay->mod_start[i], en = lay->mod_end[i];

		CHECK(!(st & 0xFFF), "module %u at 0x%x not page-aligned", i, st);
		CHECK(st >= at, "module %u at 0x%x below 0x%llx", i, st, (unsigned long long)at);
		CHECK(en >= st && en - st == p->mods[i].size, "module %u size", i);
		CHECK(en <= ram_size && en <= MBOOT_LOW_RAM_END, "module %u ends at 0x%x", i, en);
		CHECK(en <= MBOOT_APIC_PAGE || st >= MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE ||
		      (st == en && st != MBOOT_APIC_PAGE), "module %u (0x%x-0x%x) on the APIC page",
		      i, st, en);
		CHECK(!memcmp(mem + st, p->mods[i].data, p->mods[i].size), "module %u bytes", i);
		at = en;
		r[nr++] = (struct range){ st, en };
	}
	r[nr++] = (struct range){ MBOOT_AREA_START, MBOOT_AREA_END };

	/* The info block. */
	flags = rd32(info + MBOOT_INFO_FLAGS);
	CHECK((flags & (MBOOT_INFO_MEM | MBOOT_INFO_MODS | MBOOT_INFO_MMAP |
			MBOOT_INFO_LOADER_NAME)) ==
	      (MBOOT_INFO_MEM | MBOOT_INFO_MODS | MBOOT_INFO_MMAP | MBOOT_INFO_LOADER_NAME),
	      "info flags 0x%x", flags);
	CHECK(!!(flags & MBOOT_INFO_CMDLINE) == (p->cmdline || p->image_name), "CMDLINE flag");
	CHECK(rd32(info + MBOOT_INFO_MEM_LOWER) == 640, "mem_lower");
	/* Upper memory: from 1 MiB up to RAM's end or 3 GiB, whichever is first. */
	CHECK(rd32(info + MBOOT_INFO_MEM_UPPER) ==
	      ((ram_size < MBOOT_LOW_RAM_END ? ram_size : MBOOT_LOW_RAM_END) -
	       MBOOT_HIGH_MEM_START) / 1024, "mem_upper");
	if (p->cmdline || p->image_name) {
		uint32_t a = rd32(info + MBOOT_INFO_CMDLINE_OFF);
		const char *args = p->cmdline ? p->cmdline : "";
		const char *got = (const char *)mem + a;
		size_t nl = p->image_name ? strlen(p->image_name) : 0;

		CHECK(a >= MBOOT_STRINGS_ADDR && a + strlen(got) < MBOOT_AREA_END,
		      "cmdline at 0x%x", a);
		/* "NAME ARGS" with a name (QEMU's "%s %s"), ARGS alone without. */
		if (p->image_name)
			CHECK(!strncmp(got, p->image_name, nl) && got[nl] == ' ' &&
			      !strcmp(got + nl + 1, args), "cmdline text with the image name");
		else
			CHECK(!strcmp(got, args), "cmdline text");
	}
	CHECK(rd32(info + MBOOT_INFO_MODS_COUNT) == p->nr_mods, "mods_count");
	CHECK(rd32(info + MBOOT_INFO_MODS_ADDR) == MBOOT_MODS_ADDR, "mods_addr");
	for (unsigned int i = 0; i < p->nr_mods; i++) {
		const uint8_t *m = mem + MBOOT_MODS_ADDR + i * MBOOT_MOD_SIZE;
		uint32_t a = rd32(m + 8);
		const char *want = p->mods[i].string ? p->mods[i].string : "";

		CHECK(rd32(m) == lay->mod_start[i] && rd32(m + 4) == lay->mod_end[i],
		      "module %u entry", i);
		CHECK(a >= MBOOT_STRINGS_ADDR && a + strlen(want) < MBOOT_AREA_END,
		      "module %u string at 0x%x", i, a);
		CHECK(!strcmp((const char *)mem + a, want), "module %u string", i);
	}
	CHECK(lay->nr_mmap >= 4 && lay->nr_mmap <= MBOOT_MMAP_MAX_ENTRIES, "nr_mmap %u",
	      lay->nr_mmap);
	CHECK(rd32(info + MBOOT_INFO_MMAP_LENGTH) == lay->nr_mmap * MBOOT_MMAP_ENTRY_SIZE,
	      "mmap_length");
	CHECK(rd32(info + MBOOT_INFO_MMAP_ADDR) == MBOOT_MMAP_ADDR, "mmap_addr");
	{
		/*
		 * Contiguous entries up to the APIC page, then RAM from 4 GiB;
		 * RAM (type 1) never covers the APIC page, and all RAM is
		 * described.
		 */
		const uint8_t *e = mem + MBOOT_MMAP_ADDR;
		uint64_t total = 0, avail = 0;

		for (unsigned int i = 0; i < lay->nr_mmap; i++, e += MBOOT_MMAP_ENTRY_SIZE) {
			uint64_t base = rd64(e + 4), len = rd64(e + 12);

			CHECK(rd32(e) == 20, "mmap entry %u size", i);
			CHECK(i == 3 || base == (i == 4 ? MBOOT_HIGH_RAM_START : total),
			      "mmap entry %u base", i);
			if (rd32(e + 20) == MBOOT_MMAP_AVAILABLE) {
				CHECK(base + len <= MBOOT_APIC_PAGE ||
				      base >= (uint64_t)MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE,
				      "mmap entry %u covers the APIC page", i);
				avail += len;
			}
			total = base + len;
		}
		CHECK(avail + (MBOOT_HIGH_MEM_START - MBOOT_LOW_MEM_END) == ram_size,
		      "mmap RAM 0x%llx of 0x%llx", (unsigned long long)avail,
		      (unsigned long long)ram_size);
	}

	/* Nothing else written. */
	if (mem == big_ram)
		return;
	qsort(r, nr, sizeof(r[0]), cmp_range);
	at = 0;
	for (unsigned int i = 0; i < nr; i++) {
		if (r[i].start > at)
			CHECK(all_fill(mem + at, r[i].start - at),
			      "RAM 0x%llx-0x%llx written outside the layout",
			      (unsigned long long)at, (unsigned long long)r[i].start);
		if (r[i].end > at)
			at = r[i].end;
	}
	if (at < ram_size)
		CHECK(all_fill(mem + at, ram_size - at), "RAM above 0x%llx written",
		      (unsigned long long)at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mod_strings[] = { "initrd", NULL, "m2 arg=1", "" };
	struct mboot_module mods[8];
	struct mboot_params p = { 0 };
	struct mboot_layout lay;
	uint64_t ram_size;
	uint8_t *mem;
	char why[128];
	uint8_t opt;
	size_t n;
	int ret;

	if (!ram) {
		ram = malloc(RAM_MAX);
		modbuf = malloc(RAM_MAX);
		fill_ref = malloc(RAM_MAX);
		zero_ref = calloc(1, RAM_MAX);
		if (!ram || !modbuf || !fill_ref || !zero_ref)
			abort();
		memset(fill_ref, FILL, RAM_MAX);
		for (size_t i = 0; i < RAM_MAX; i++)
			modbuf[i] = (uint8_t)(i * 7 + 1);
		memset(ram, FILL, RAM_MAX);
		big_ram = mmap(NULL, MBOOT_LOW_RAM_END, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (big_ram == MAP_FAILED)
			abort();
		memset(long_a, 'a', sizeof(long_a) - 1);
		memset(long_b, 'b', sizeof(long_b) - 1);
		memset(long_n, 'n', sizeof(long_n) - 1);
	}
	if (!size)
		return 0;
	opt = data[size - 1];
	p.image = data;
	p.image_size = size - 1;
	ram_size = (opt & 1) ? RAM_MAX : MBOOT_MIN_RAM;
	mem = ram;
	if (opt & 0x80) {
		if (load_bytes(data, size - 1) > (64U << 20))
			return 0;
		ram_size = MBOOT_MAX_RAM;
		mem = big_ram;
	}
	switch (size >= 2 ? data[size - 2] & 3 : 0) {
	case 1: p.image_name = "k.elf"; break;
	case 2: p.image_name = ""; break;
	case 3: p.image_name = long_n; break;
	default: break;
	}
	switch ((opt >> 1) & 3) {
	case 1: p.cmdline = "console=ttyS0"; break;
	case 2: p.cmdline = long_a; break;
	case 3: p.cmdline = long_b; break;
	default: break;
	}
	n = (opt >> 3) & 7;
	for (unsigned int i = 0; i < n; i++) {
		size_t off = p.image_size ? (i * 4099U) % p.image_size : 0;
		size_t len = (p.image_size - off) >> (i & 3);

		if (opt & 0x40)
			len = len * 2 + 1;
		if (len > RAM_MAX)
			len = RAM_MAX;
		/* Past the image's end: bytes from a buffer of its own. */
		mods[i].data = off + len <= p.image_size ? data + off : modbuf;
		mods[i].size = len;
		mods[i].string = mod_strings[i & 3];
	}
	p.mods = n ? mods : NULL;
	p.nr_mods = (unsigned int)n;

	memset(why, 'X', sizeof(why));
	ret = mboot_load(&p, mem, ram_size, &lay, why, sizeof(why));
	CHECK(memchr(why, '\0', sizeof(why)) != NULL, "why not terminated");
	CHECK(!strchr(why, '\n'), "why has a newline: %s", why);
	if (ret) {
		CHECK(ret == -ENOEXEC || ret == -ERANGE || ret == -E2BIG || ret == -EINVAL,
		      "result %d (%s)", ret, why);
		CHECK(why[0], "no reason for %d", ret);
		if (mem == ram)
			CHECK(all_fill(ram, RAM_MAX), "RAM written by a failed load (%d: %s)", ret,
			      why);
		return 0;
	}
	CHECK(!why[0], "reason on success: %s", why);
	check_success(&p, mem, ram_size, &lay);
	if (mem == big_ram)
		madvise(big_ram, MBOOT_LOW_RAM_END, MADV_DONTNEED);	/* back to zero pages */
	else
		memset(ram, FILL, RAM_MAX);
	return 0;
}
