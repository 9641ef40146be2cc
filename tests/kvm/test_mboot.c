// SPDX-License-Identifier: MIT
/*
 * The Multiboot loader (kvm/loader.c), without KVM: ELF32 images are built
 * by hand here, byte by byte from the ELF and Multiboot specifications,
 * then loaded into a RAM buffer; the good image's placement and info
 * block are read back field by field, and every kind of bad image must be
 * refused with its errno and reason and leave RAM untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vintc/host.h>
#include <vintc/mboot.h>

#include "le.h"
#include "test.h"

#define RAM_SIZE	(8ULL << 20)
#define IMG_MAX		0x4000
#define HDR_OFF		0x800	/* where the Multiboot header goes */
#define PH_OFF		52

struct tseg {
	uint32_t type, offset, vaddr, paddr, filesz, memsz;
};

struct timg {
	uint8_t b[IMG_MAX];
	size_t size;
	uint32_t entry;
	uint16_t machine, type, phnum;
	uint8_t class, data;
	uint32_t hdr_magic, hdr_flags, hdr_sum;
	bool no_hdr;
	unsigned int nsegs;
	struct tseg seg[24];
};

/*
 * The good image: text at 4 MiB (0x100 bytes from file offset 0x1000),
 * data + bss at 4 MiB + 4 KiB (0x10 bytes in the file, 0x2000 in memory).
 */
static void timg_default(struct timg *t)
{
	memset(t, 0, sizeof(*t));
	t->entry = 0x400010;
	t->machine = 3;		/* EM_386 */
	t->type = 2;		/* ET_EXEC */
	t->class = 1;		/* ELFCLASS32 */
	t->data = 1;		/* ELFDATA2LSB */
	t->hdr_magic = MBOOT_HEADER_MAGIC;
	t->hdr_flags = MBOOT_HDR_PAGE_ALIGN | MBOOT_HDR_MEMORY_INFO;
	t->hdr_sum = -(t->hdr_magic + t->hdr_flags);
	t->nsegs = 2;
	t->seg[0] = (struct tseg){ 1, 0x1000, 0x400000, 0x400000, 0x100, 0x100 };
	t->seg[1] = (struct tseg){ 1, 0x2000, 0x401000, 0x401000, 0x10, 0x2000 };
	t->size = 0x2010;
}

static void timg_build(struct timg *t)
{
	uint8_t *b = t->b;

	memset(b, 0, sizeof(t->b));
	memcpy(b, "\177ELF", 4);
	b[4] = t->class;
	b[5] = t->data;
	b[6] = 1;		/* EV_CURRENT */
	w16(b, 16, t->type);
	w16(b, 18, t->machine);
	w32(b, 20, 1);
	w32(b, 24, t->entry);
	w32(b, 28, PH_OFF);
	w16(b, 40, 52);
	w16(b, 42, 32);
	w16(b, 44, t->phnum ? t->phnum : (uint16_t)t->nsegs);
	for (unsigned int i = 0; i < t->nsegs; i++) {
		size_t ph = PH_OFF + 32 * i;
		const struct tseg *s = &t->seg[i];

		w32(b, ph, s->type);
		w32(b, ph + 4, s->offset);
		w32(b, ph + 8, s->vaddr);
		w32(b, ph + 12, s->paddr);
		w32(b, ph + 16, s->filesz);
		w32(b, ph + 20, s->memsz);
		/* Segment bytes: a pattern that tells segment and offset apart. */
		for (uint32_t k = 0; k < s->filesz && s->offset + k < IMG_MAX; k++)
			b[s->offset + k] = (uint8_t)(0x40 + i * 0x20 + k);
	}
	if (!t->no_hdr) {
		w32(b, HDR_OFF, t->hdr_magic);
		w32(b, HDR_OFF + 4, t->hdr_flags);
		w32(b, HDR_OFF + 8, t->hdr_sum);
	}
}

static uint8_t *ram_new(void)
{
	uint8_t *ram = malloc(RAM_SIZE);

	ASSERT(ram);
	memset(ram, 0xcc, RAM_SIZE);	/* bss must not inherit this */
	return ram;
}

static int load(struct timg *t, const struct mboot_params *extra, uint8_t *ram,
		struct mboot_layout *lay, char *why)
{
	struct mboot_params p = { 0 };

	if (extra)
		p = *extra;
	p.image = t->b;
	p.image_size = t->size;
	return mboot_load(&p, ram, RAM_SIZE, lay, why, 200);
}

TEST(mboot_good_image)
{
	static const char mod0[] = "first module";
	static const uint8_t mod1[0x1801] = { 1, 2, 3 };
	struct mboot_module mods[] = {
		{ mod0, sizeof(mod0), "mod0 arg=1" },
		{ mod1, sizeof(mod1), NULL },
	};
	struct mboot_params p = { .cmdline = "console=ttyS0 quiet", .mods = mods, .nr_mods = 2 };
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	struct timg t;
	char why[200];
	uint32_t info = MBOOT_INFO_ADDR, flags, m, map;

	timg_default(&t);
	timg_build(&t);
	ASSERT_OK(load(&t, &p, ram, &lay, why));
	ASSERT_EQ(why[0], 0);
	ASSERT_EQ(lay.entry, 0x400010);
	ASSERT_EQ(lay.info_addr, MBOOT_INFO_ADDR);
	ASSERT_EQ(lay.header_flags, MBOOT_HDR_PAGE_ALIGN | MBOOT_HDR_MEMORY_INFO);
	ASSERT_EQ(lay.nr_segments, 2);
	ASSERT_EQ(lay.kernel_end, 0x403000);

	/* Segments: file bytes copied, the rest up to memsz zeroed, nothing beyond. */
	for (uint32_t k = 0; k < 0x100; k++)
		ASSERT_EQ(ram[0x400000 + k], (uint8_t)(0x40 + k));
	ASSERT_EQ(ram[0x400100], 0xcc);
	for (uint32_t k = 0; k < 0x10; k++)
		ASSERT_EQ(ram[0x401000 + k], (uint8_t)(0x60 + k));
	for (uint32_t k = 0x10; k < 0x2000; k++)
		ASSERT_EQ(ram[0x401000 + k], 0);
	ASSERT_EQ(ram[0x3fffff], 0xcc);

	flags = r32(ram, info);
	ASSERT_EQ(flags, MBOOT_INFO_MEM | MBOOT_INFO_CMDLINE | MBOOT_INFO_MODS |
		  MBOOT_INFO_MMAP | MBOOT_INFO_LOADER_NAME);
	ASSERT_EQ(r32(ram, info + 4), 640);
	ASSERT_EQ(r32(ram, info + 8), (RAM_SIZE - (1 << 20)) / 1024);
	ASSERT(!strcmp((char *)ram + r32(ram, info + 16), "console=ttyS0 quiet"));
	ASSERT(!strcmp((char *)ram + r32(ram, info + 64), "vintc"));

	/* Modules: page-aligned after the kernel, in order, with their strings. */
	ASSERT_EQ(r32(ram, info + 20), 2);
	m = r32(ram, info + 24);
	ASSERT_EQ(m, MBOOT_MODS_ADDR);
	ASSERT_EQ(r32(ram, m), 0x403000);
	ASSERT_EQ(r32(ram, m + 4), 0x403000 + sizeof(mod0));
	ASSERT(!memcmp(ram + 0x403000, mod0, sizeof(mod0)));
	ASSERT(!strcmp((char *)ram + r32(ram, m + 8), "mod0 arg=1"));
	ASSERT_EQ(r32(ram, m + 12), 0);
	ASSERT_EQ(r32(ram, m + 16), 0x404000);
	ASSERT_EQ(r32(ram, m + 20), 0x404000 + sizeof(mod1));
	ASSERT_EQ(ram[0x404000 + 2], 3);
	ASSERT_EQ(ram[0x404000 + 0x1800], 0);
	ASSERT(!strcmp((char *)ram + r32(ram, m + 24), ""));
	ASSERT_EQ(lay.nr_mods, 2);
	ASSERT_EQ(lay.mod_start[1], 0x404000);

	/* Memory map: low RAM, the VGA/BIOS hole, upper RAM to the end, the APIC page. */
	ASSERT_EQ(r32(ram, info + 44), 4 * 24);
	ASSERT_EQ(lay.nr_mmap, 4);
	map = r32(ram, info + 48);
	ASSERT_EQ(map, MBOOT_MMAP_ADDR);
	ASSERT_EQ(r32(ram, map), 20);
	ASSERT_EQ(r64(ram, map + 4), 0);
	ASSERT_EQ(r64(ram, map + 12), 0xa0000);
	ASSERT_EQ(r32(ram, map + 20), 1);
	ASSERT_EQ(r32(ram, map + 24), 20);
	ASSERT_EQ(r64(ram, map + 28), 0xa0000);
	ASSERT_EQ(r64(ram, map + 36), 0x60000);
	ASSERT_EQ(r32(ram, map + 44), 2);
	ASSERT_EQ(r64(ram, map + 52), 0x100000);
	ASSERT_EQ(r64(ram, map + 60), RAM_SIZE - 0x100000);
	ASSERT_EQ(r32(ram, map + 68), 1);
	ASSERT_EQ(r64(ram, map + 76), 0xFEE00000);
	ASSERT_EQ(r64(ram, map + 84), 0x1000);
	ASSERT_EQ(r32(ram, map + 92), 2);

	/* Every structure lies inside the documented loader area. */
	ASSERT(r32(ram, info + 16) >= MBOOT_STRINGS_ADDR);
	ASSERT(r32(ram, m + 24) < MBOOT_AREA_END);
	free(ram);
}

TEST(mboot_no_cmdline_no_modules)
{
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	struct timg t;
	char why[200];

	timg_default(&t);
	timg_build(&t);
	ASSERT_OK(load(&t, NULL, ram, &lay, why));
	ASSERT_EQ(r32(ram, MBOOT_INFO_ADDR) & MBOOT_INFO_CMDLINE, 0);
	ASSERT_EQ(r32(ram, MBOOT_INFO_ADDR + 20), 0);
	ASSERT_EQ(lay.nr_mods, 0);
	free(ram);
}

/*
 * argv[0]: with the image's name the command line is "NAME ARGS", or
 * "NAME " without arguments, as QEMU formats -kernel's ("%s %s").
 */
TEST(mboot_cmdline_starts_with_the_image_name)
{
	static const struct {
		const char *name, *cmdline, *want;
	} cases[] = {
		{ "build/guests/k.elf", "console=ttyS0 quiet",
		  "build/guests/k.elf console=ttyS0 quiet" },
		{ "k.elf", NULL, "k.elf " },
		{ "/abs/k.elf", "", "/abs/k.elf " },
		{ "", "x", " x" },
		{ NULL, "just args", "just args" },
	};
	const size_t area = MBOOT_AREA_END - MBOOT_STRINGS_ADDR;
	uint8_t *ram = ram_new();
	struct mboot_params p = { 0 };
	struct mboot_layout lay;
	char why[200], *name, *args;
	struct timg t;

	timg_default(&t);
	timg_build(&t);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		p.image_name = cases[i].name;
		p.cmdline = cases[i].cmdline;
		ASSERT_OK(load(&t, &p, ram, &lay, why));
		ASSERT(r32(ram, MBOOT_INFO_ADDR) & MBOOT_INFO_CMDLINE);
		if (strcmp((char *)ram + r32(ram, MBOOT_INFO_ADDR + 16), cases[i].want))
			test_fail(__FILE__, __LINE__, "case %zu: \"%s\", want \"%s\"", i,
				  (char *)ram + r32(ram, MBOOT_INFO_ADDR + 16), cases[i].want);
		/* The loader name follows, unharmed. */
		ASSERT(!strcmp((char *)ram + r32(ram, MBOOT_INFO_ADDR + 64), "vintc"));
	}

	/* The strings area holds "NAME ARGS\0" and "vintc\0" exactly, not a byte more. */
	name = malloc(area);
	args = malloc(area);
	ASSERT(name && args);
	memset(name, 'n', 100);
	name[100] = 0;
	memset(args, 'a', area);
	args[area - sizeof("vintc") - 101 - 1] = 0;
	p.image_name = name;
	p.cmdline = args;
	ASSERT_OK(load(&t, &p, ram, &lay, why));
	ASSERT_EQ(strlen((char *)ram + r32(ram, MBOOT_INFO_ADDR + 16)), area - sizeof("vintc") - 1);
	args[area - sizeof("vintc") - 101 - 1] = 'a';
	args[area - sizeof("vintc") - 101] = 0;
	ASSERT_EQ(load(&t, &p, ram, &lay, why), -E2BIG);
	/* The name alone counts too. */
	p.cmdline = NULL;
	memset(name, 'n', area - sizeof("vintc") - 1);
	name[area - sizeof("vintc") - 1] = 0;
	ASSERT_EQ(load(&t, &p, ram, &lay, why), -E2BIG);
	name[area - sizeof("vintc") - 2] = 0;
	ASSERT_OK(load(&t, &p, ram, &lay, why));
	free(name);
	free(args);
	free(ram);
}

/* A kernel linked high enters through the physical alias of e_entry. */
TEST(mboot_entry_virtual_to_physical)
{
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	struct timg t;
	char why[200];

	timg_default(&t);
	t.seg[0].vaddr = 0xc0400000;
	t.entry = 0xc0400020;
	timg_build(&t);
	ASSERT_OK(load(&t, NULL, ram, &lay, why));
	ASSERT_EQ(lay.entry, 0x400020);
	free(ram);
}

/* Load t, expect err and a reason containing what; RAM untouched. */
static void expect_bad(struct timg *t, const struct mboot_params *extra, int err,
		       const char *what)
{
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	char why[200];
	int ret = load(t, extra, ram, &lay, why);

	if (ret != err || !strstr(why, what))
		test_fail(__FILE__, __LINE__, "want %d \"%s\", got %d \"%s\"", err, what, ret, why);
	ASSERT(!strchr(why, '\n'));
	for (uint64_t i = 0; i < RAM_SIZE; i += 8)
		if (r64(ram, i) != 0xccccccccccccccccULL)
			test_fail(__FILE__, __LINE__, "RAM written at 0x%" PRIx64 " by a refused image", i);
	free(ram);
}

#define BAD(setup, err, what) do {					\
	struct timg _t;							\
	timg_default(&_t);						\
	setup;								\
	timg_build(&_t);						\
	expect_bad(&_t, NULL, err, what);				\
} while (0)

TEST(mboot_bad_elf_header)
{
	struct timg t;

	timg_default(&t);
	timg_build(&t);
	t.b[0] = 'X';
	expect_bad(&t, NULL, -ENOEXEC, "not an ELF file");
	timg_build(&t);
	t.size = 30;
	expect_bad(&t, NULL, -ENOEXEC, "truncated ELF header");
	t.size = 3;
	expect_bad(&t, NULL, -ENOEXEC, "not an ELF file");
	t.size = 0;
	expect_bad(&t, NULL, -ENOEXEC, "not an ELF file");

	BAD(_t.class = 2, -ENOEXEC, "not a 32-bit ELF");
	BAD(_t.data = 2, -ENOEXEC, "not a little-endian ELF");
	BAD(_t.machine = 62, -ENOEXEC, "not an i386 ELF");
	BAD(_t.type = 3, -ENOEXEC, "not an ELF executable");
}

TEST(mboot_bad_multiboot_header)
{
	BAD(_t.no_hdr = true, -ENOEXEC, "no Multiboot header");
	BAD(_t.hdr_sum++, -ENOEXEC, "bad checksum");
	BAD((_t.hdr_flags |= MBOOT_HDR_AOUT_KLUDGE, _t.hdr_sum = -(_t.hdr_magic + _t.hdr_flags)),
	    -ENOEXEC, "a.out kludge");
	BAD((_t.hdr_flags |= 1U << 5, _t.hdr_sum = -(_t.hdr_magic + _t.hdr_flags)),
	    -ENOEXEC, "unsupported features");
}

/* The header must start in the first 8 KiB, 4-aligned. */
TEST(mboot_header_search_window)
{
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	struct timg t;
	char why[200];

	timg_default(&t);
	t.no_hdr = true;
	timg_build(&t);
	w32(t.b, 0x1ff4, MBOOT_HEADER_MAGIC);	/* last slot that fits */
	w32(t.b, 0x1ff8, 0);
	w32(t.b, 0x1ffc, -MBOOT_HEADER_MAGIC);
	ASSERT_OK(load(&t, NULL, ram, &lay, why));
	free(ram);

	timg_build(&t);
	w32(t.b, 0x1ff8, MBOOT_HEADER_MAGIC);	/* checksum would be past 8 KiB */
	w32(t.b, 0x1ffc, 0);
	w32(t.b, 0x2000, -MBOOT_HEADER_MAGIC);
	expect_bad(&t, NULL, -ENOEXEC, "no Multiboot header");

	timg_build(&t);
	w32(t.b, 0x202, MBOOT_HEADER_MAGIC);	/* not 4-aligned */
	w32(t.b, 0x206, 0);
	w32(t.b, 0x20a, -MBOOT_HEADER_MAGIC);
	expect_bad(&t, NULL, -ENOEXEC, "no Multiboot header");
}

TEST(mboot_bad_segments)
{
	BAD(_t.size = 0x1080, -ENOEXEC, "truncated file: segment 0");
	BAD(_t.size = 60, -ENOEXEC, "no Multiboot header");
	BAD((_t.phnum = 200, _t.size = 0x1100), -ENOEXEC, "truncated file: program headers");
	BAD(_t.seg[1].filesz = 0x3000, -ENOEXEC, "exceeds memory size");
	BAD((_t.seg[1].paddr = RAM_SIZE - 0x1000, _t.seg[1].vaddr = _t.seg[1].paddr),
	    -ERANGE, "outside RAM");
	BAD((_t.seg[1].paddr = 0xfffff000, _t.seg[1].vaddr = _t.seg[1].paddr),
	    -ERANGE, "outside RAM");
	BAD((_t.seg[1].paddr = 0x8000, _t.seg[1].vaddr = 0x8000), -ERANGE,
	    "overlaps the Multiboot info area");
	BAD((_t.seg[1].paddr = 0xf000, _t.seg[1].vaddr = 0xf000), -ERANGE,
	    "overlaps the Multiboot info area");
	BAD((_t.seg[1].paddr = 0x400080, _t.seg[1].vaddr = 0x400080), -ERANGE,
	    "overlaps another segment");
	BAD(_t.entry = 0x500000, -ERANGE, "entry point 0x500000 is outside");
	BAD(_t.seg[0].type = _t.seg[1].type = 6, -ENOEXEC, "no loadable segments");
	BAD((_t.nsegs = 0, _t.phnum = 0), -ENOEXEC, "no program headers");
	BAD(_t.phnum = 300, -E2BIG, "300 program headers");
}

TEST(mboot_too_many_segments)
{
	struct timg t;

	timg_default(&t);
	t.nsegs = MBOOT_MAX_SEGMENTS + 1;
	for (unsigned int i = 0; i < t.nsegs; i++)
		t.seg[i] = (struct tseg){ 1, 0x1000, 0x400000 + i * 0x1000,
					  0x400000 + i * 0x1000, 0x10, 0x10 };
	timg_build(&t);
	expect_bad(&t, NULL, -E2BIG, "more than 16 loadable segments");
}

TEST(mboot_bad_modules_and_strings)
{
	static const uint8_t small[16];
	struct mboot_module mods[MBOOT_MAX_MODS + 1];
	struct mboot_params p = { .mods = mods };
	struct timg t;
	char *longline;

	timg_default(&t);
	timg_build(&t);
	for (unsigned int i = 0; i < ARRAY_SIZE(mods); i++)
		mods[i] = (struct mboot_module){ small, sizeof(small), "m" };

	p.nr_mods = MBOOT_MAX_MODS + 1;
	expect_bad(&t, &p, -E2BIG, "at most 32");

	/* 0x403000 + size > 8 MiB */
	p.nr_mods = 1;
	mods[0].size = RAM_SIZE - 0x403000 + 1;
	expect_bad(&t, &p, -E2BIG, "module 0");
	mods[0].size = sizeof(small);

	/* The second one, after the first's page, no longer fits. */
	p.nr_mods = 2;
	mods[1].size = RAM_SIZE - 0x404000 + 1;
	expect_bad(&t, &p, -E2BIG, "module 1");
	mods[1].size = sizeof(small);

	longline = malloc(0x8000);
	ASSERT(longline);
	memset(longline, 'a', 0x7fff);
	longline[0x7fff] = 0;
	p.cmdline = longline;
	p.nr_mods = 0;
	expect_bad(&t, &p, -E2BIG, "command line and module strings");
	free(longline);
}

TEST(mboot_bad_arguments)
{
	struct mboot_params p = { 0 };
	struct mboot_layout lay;
	struct timg t;
	char why[100];
	uint8_t ram[16];

	timg_default(&t);
	timg_build(&t);
	p.image = t.b;
	p.image_size = t.size;
	ASSERT_EQ(mboot_load(&p, ram, 1 << 20, &lay, why, sizeof(why)), -EINVAL);
	ASSERT(strstr(why, "RAM size"));
	ASSERT_EQ(mboot_load(&p, ram, MBOOT_MAX_RAM + (1 << 20), &lay, why, sizeof(why)), -EINVAL);
	ASSERT_EQ(mboot_load(NULL, ram, RAM_SIZE, &lay, why, sizeof(why)), -EINVAL);
	ASSERT_EQ(mboot_load(&p, NULL, RAM_SIZE, &lay, why, sizeof(why)), -EINVAL);
	/* A short reason buffer is cut, not overrun. */
	p.image_size = 2;
	ASSERT_EQ(mboot_load(&p, ram, RAM_SIZE, &lay, why, 5), -ENOEXEC);
	ASSERT_EQ(strlen(why), 4);
}

/*
 * Every truncation of the good image, and seeded random corruptions of it,
 * in exactly-sized heap copies: under SAN=address any read past the image
 * is caught.  Each load must succeed or fail with a reason.
 */
TEST(mboot_truncations_and_corruptions)
{
	uint8_t *ram = malloc(RAM_SIZE);
	struct mboot_params p = { 0 };
	struct mboot_layout lay;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	struct timg t;
	char why[200];

	ASSERT(ram);
	timg_default(&t);
	timg_build(&t);
	for (size_t n = 0; n <= t.size; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		int ret;

		ASSERT(copy);
		memcpy(copy, t.b, n);
		p.image = copy;
		p.image_size = n;
		ret = mboot_load(&p, ram, RAM_SIZE, &lay, why, sizeof(why));
		if (n < t.size)
			ASSERT(ret < 0 && why[0]);
		else
			ASSERT_OK(ret);
		free(copy);
	}
	for (int iter = 0; iter < 3000; iter++) {
		uint8_t *copy = malloc(t.size);
		int ret;

		ASSERT(copy);
		memcpy(copy, t.b, t.size);
		for (int k = 0; k < 4; k++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			/* Mostly the headers, where the parsing is. */
			copy[(seed >> 8) % (k ? 0x80 : t.size)] = (uint8_t)seed;
		}
		p.image = copy;
		p.image_size = t.size;
		ret = mboot_load(&p, ram, RAM_SIZE, &lay, why, sizeof(why));
		ASSERT(ret == 0 || why[0]);
		free(copy);
	}
	free(ram);
}

/*
 * RAM past 3 GiB goes from 4 GiB, as on a PC: the map lists both ranges
 * and the APIC page in the hole, mem_upper stops at 3 GiB, and a segment
 * in the hole (or at the top of 3 GiB's worth of RAM) is refused.
 */
static void check_split(uint64_t ram_size)
{
	/* The loader writes only below 3 GiB: only that much is mapped. */
	uint8_t *ram = mmap(NULL, MBOOT_LOW_RAM_END, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct mboot_params p = { 0 };
	struct mboot_layout lay;
	uint32_t map;
	struct timg t;
	char why[200];

	ASSERT(ram != MAP_FAILED);
	timg_default(&t);
	timg_build(&t);
	p.image = t.b;
	p.image_size = t.size;
	ASSERT_OK(mboot_load(&p, ram, ram_size, &lay, why, sizeof(why)));
	ASSERT_EQ(lay.nr_mmap, 5);
	ASSERT_EQ(r32(ram, MBOOT_INFO_ADDR + 44), 5 * 24);
	ASSERT_EQ(r32(ram, MBOOT_INFO_ADDR + 8), (0xC0000000 - 0x100000) / 1024);
	map = MBOOT_MMAP_ADDR;
	ASSERT_EQ(r64(ram, map + 52), 0x100000);
	ASSERT_EQ(r64(ram, map + 60), 0xC0000000 - 0x100000);
	ASSERT_EQ(r32(ram, map + 68), 1);
	ASSERT_EQ(r64(ram, map + 76), 0xFEE00000);
	ASSERT_EQ(r64(ram, map + 84), 0x1000);
	ASSERT_EQ(r32(ram, map + 92), 2);
	ASSERT_EQ(r64(ram, map + 100), 4ULL << 30);
	ASSERT_EQ(r64(ram, map + 108), ram_size - 0xC0000000);
	ASSERT_EQ(r32(ram, map + 116), 1);

	t.seg[1].paddr = t.seg[1].vaddr = 0xFEDFF000;	/* in the hole */
	timg_build(&t);
	ASSERT_EQ(mboot_load(&p, ram, ram_size, &lay, why, sizeof(why)), -ERANGE);
	ASSERT(strstr(why, "is outside RAM (0x0-0xbfffffff)"));
	t.seg[1].paddr = t.seg[1].vaddr = 0xBFFFF000;	/* its bss runs past 3 GiB */
	timg_build(&t);
	ASSERT_EQ(mboot_load(&p, ram, ram_size, &lay, why, sizeof(why)), -ERANGE);
	munmap(ram, MBOOT_LOW_RAM_END);
}

TEST(mboot_ram_past_3g_goes_above_4g)
{
	check_split(4ULL << 30);
	check_split(MBOOT_MAX_RAM);
}

/* Up to 3 GiB, RAM is one range: no entry above 4 GiB. */
TEST(mboot_3g_of_ram_is_one_range)
{
	uint8_t *ram = mmap(NULL, MBOOT_LOW_RAM_END, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct mboot_params p = { 0 };
	struct mboot_layout lay;
	struct timg t;
	char why[200];

	ASSERT(ram != MAP_FAILED);
	timg_default(&t);
	timg_build(&t);
	p.image = t.b;
	p.image_size = t.size;
	ASSERT_OK(mboot_load(&p, ram, MBOOT_LOW_RAM_END, &lay, why, sizeof(why)));
	ASSERT_EQ(lay.nr_mmap, 4);
	ASSERT_EQ(r64(ram, MBOOT_MMAP_ADDR + 60), 0xC0000000 - 0x100000);
	ASSERT_EQ(mboot_load(&p, ram, MBOOT_MAX_RAM + 1, &lay, why, sizeof(why)), -EINVAL);
	munmap(ram, MBOOT_LOW_RAM_END);
}
