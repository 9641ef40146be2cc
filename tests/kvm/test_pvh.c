// SPDX-License-Identifier: MIT
/*
 * The PVH loader (kvm/boot/pvh.c) and the boot protocol dispatcher
 * (kvm/boot/boot.c), without KVM: ELF32 and ELF64 images with a PVH entry
 * note are built byte by byte here from the ELF specification and Xen's
 * description of the PVH ABI (hvm_start_info version 1), loaded into a
 * RAM buffer, and the start info, memory map, module list and command
 * line read back field by field.  Every malformed image must be refused
 * with its errno and a one-line reason, leaving RAM untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vintc/mboot.h>

#include "kvm/boot/boot.h"
#include "kvm/boot/pvh.h"
#include "le.h"
#include "test.h"

#define RAM_SIZE	(8ULL << 20)
#define IMG_MAX		0x4000
#define PH_OFF		64
#define NOTE_OFF	0x800
#define MB_OFF		0xc00	/* a Multiboot header, when asked for */
#define ENTRY		0x400010U

struct tseg {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

struct timg {
	uint8_t b[IMG_MAX];
	size_t size;
	bool is64, mboot, no_note;
	uint16_t machine;
	uint32_t note_descsz;		/* 4 or 8; less: too short */
	uint64_t note_entry;
	uint32_t note_namesz;		/* 0: the real "Xen\0" */
	unsigned int nsegs;
	struct tseg seg[4];
};

/*
 * The good image: text at 4 MiB (0x100 bytes from file offset 0x1000),
 * data + bss at 4 MiB + 4 KiB, and a note segment holding a GNU note
 * then the Xen PHYS32_ENTRY note.  ELF64 links high (vaddr != paddr), as
 * Linux's vmlinux does.
 */
static void timg_default(struct timg *t, bool is64)
{
	uint64_t va = is64 ? 0xffffffff80000000ULL : 0;

	memset(t, 0, sizeof(*t));
	t->is64 = is64;
	t->machine = is64 ? 62 : 3;
	t->note_descsz = is64 ? 8 : 4;
	t->note_entry = ENTRY;
	t->nsegs = 3;
	t->seg[0] = (struct tseg){ 1, 0x1000, va + 0x400000, 0x400000, 0x100, 0x100 };
	t->seg[1] = (struct tseg){ 1, 0x2000, va + 0x401000, 0x401000, 0x10, 0x2000 };
	t->seg[2] = (struct tseg){ 4, NOTE_OFF, 0, 0, 0, 0 };	/* size set by the build */
	t->size = 0x2010;
}

/* A note: namesz, descsz, type, name and desc each padded to 4 bytes. */
static size_t put_note(uint8_t *b, size_t at, const char *name, uint32_t namesz,
		       uint32_t type, uint64_t desc, uint32_t descsz)
{
	w32(b, at, namesz);
	w32(b, at + 4, descsz);
	w32(b, at + 8, type);
	memcpy(b + at + 12, name, strlen(name) + 1 < namesz ? strlen(name) + 1 : namesz);
	at += 12 + ((namesz + 3) & ~3U);
	if (descsz >= 8)
		w64(b, at, desc);
	else if (descsz >= 4)
		w32(b, at, (uint32_t)desc);
	return at + ((descsz + 3) & ~3U);
}

static void timg_build(struct timg *t)
{
	uint8_t *b = t->b;
	size_t end = NOTE_OFF, phsz = t->is64 ? 56 : 32;

	memset(b, 0, sizeof(t->b));
	memcpy(b, "\177ELF", 4);
	b[4] = t->is64 ? 2 : 1;
	b[5] = 1;		/* little endian */
	b[6] = 1;		/* EV_CURRENT */
	w16(b, 16, 2);		/* ET_EXEC */
	w16(b, 18, t->machine);
	w32(b, 20, 1);
	end = put_note(b, end, "GNU", 4, 3, 0x12345678, 4);
	if (!t->no_note)
		end = put_note(b, end, "Xen", t->note_namesz ? t->note_namesz : 4, 18,
			       t->note_entry, t->note_descsz);
	if (t->seg[2].type == 4 && !t->seg[2].filesz)
		t->seg[2].filesz = end - NOTE_OFF;
	if (t->is64) {
		w64(b, 24, 0xffffffff81000000ULL);	/* e_entry: unused by PVH */
		w64(b, 32, PH_OFF);
		w16(b, 52, 64);
		w16(b, 54, 56);
		w16(b, 56, (uint16_t)t->nsegs);
	} else {
		w32(b, 24, ENTRY);
		w32(b, 28, PH_OFF);
		w16(b, 40, 52);
		w16(b, 42, 32);
		w16(b, 44, (uint16_t)t->nsegs);
	}
	for (unsigned int i = 0; i < t->nsegs; i++) {
		size_t ph = PH_OFF + phsz * i;
		const struct tseg *s = &t->seg[i];

		w32(b, ph, s->type);
		if (t->is64) {
			w64(b, ph + 8, s->offset);
			w64(b, ph + 16, s->vaddr);
			w64(b, ph + 24, s->paddr);
			w64(b, ph + 32, s->filesz);
			w64(b, ph + 40, s->memsz);
		} else {
			w32(b, ph + 4, (uint32_t)s->offset);
			w32(b, ph + 8, (uint32_t)s->vaddr);
			w32(b, ph + 12, (uint32_t)s->paddr);
			w32(b, ph + 16, (uint32_t)s->filesz);
			w32(b, ph + 20, (uint32_t)s->memsz);
		}
		if (s->type != 1)
			continue;
		for (uint64_t k = 0; k < s->filesz && s->offset + k < IMG_MAX; k++)
			b[s->offset + k] = (uint8_t)(0x40 + i * 0x20 + k);
	}
	if (t->mboot) {
		w32(b, MB_OFF, MBOOT_HEADER_MAGIC);
		w32(b, MB_OFF + 4, 0);
		w32(b, MB_OFF + 8, -MBOOT_HEADER_MAGIC);
	}
}

static uint8_t *ram_new(void)
{
	uint8_t *ram = malloc(RAM_SIZE);

	ASSERT(ram);
	memset(ram, 0xcc, RAM_SIZE);
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
	return pvh_load(&p, 0, ram, RAM_SIZE, lay, why, 200);
}

static void check_good(bool is64)
{
	static const char mod0[] = "the initrd";
	static const uint8_t mod1[0x1801] = { 1, 2, 3 };
	struct mboot_module mods[] = {
		{ mod0, sizeof(mod0), "initrd arg" },
		{ mod1, sizeof(mod1), NULL },
	};
	struct mboot_params p = {
		.image_name = "vmlinux", .cmdline = "console=ttyS0 quiet",
		.mods = mods, .nr_mods = 2,
	};
	static const uint64_t map[][3] = {
		{ 0, 0xa0000, 1 }, { 0xa0000, 0x60000, 2 },
		{ 0x100000, RAM_SIZE - 0x100000, 1 }, { 0xfee00000, 0x1000, 2 },
	};
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	uint32_t si = PVH_INFO_ADDR;
	struct timg t;
	char why[200];
	uint64_t ml;

	timg_default(&t, is64);
	timg_build(&t);
	ASSERT_OK(load(&t, &p, ram, &lay, why));
	ASSERT_EQ(why[0], '\0');
	ASSERT_EQ(lay.protocol, BOOT_PVH);
	ASSERT_EQ(lay.entry, ENTRY);
	ASSERT_EQ(lay.info_addr, PVH_INFO_ADDR);
	ASSERT_EQ(lay.ebx, PVH_INFO_ADDR);
	ASSERT_EQ(lay.eax, 0);
	ASSERT_EQ(lay.esi, 0);
	ASSERT_EQ(lay.nr_segments, 2);
	ASSERT_EQ(lay.kernel_end, 0x403000);
	/* Segments: file bytes then zeros. */
	ASSERT_EQ(ram[0x400000], 0x40);
	ASSERT_EQ(ram[0x4000ff], (uint8_t)(0x40 + 0xff));
	ASSERT_EQ(ram[0x401000], 0x60);
	ASSERT_EQ(ram[0x401010], 0);
	ASSERT_EQ(ram[0x402fff], 0);

	ASSERT_EQ(r32(ram, si + PVH_SI_MAGIC), 0x336ec578U);
	ASSERT_EQ(r32(ram, si + PVH_SI_VERSION), 1);
	ASSERT_EQ(r32(ram, si + PVH_SI_FLAGS), 0);
	ASSERT_EQ(r32(ram, si + PVH_SI_NR_MODULES), 2);
	ASSERT_EQ(r64(ram, si + PVH_SI_RSDP_PADDR), 0);
	ASSERT(!strcmp((char *)ram + r64(ram, si + PVH_SI_CMDLINE_PADDR), "console=ttyS0 quiet"));

	ASSERT_EQ(r32(ram, si + PVH_SI_MEMMAP_ENTRIES), 4);
	ml = r64(ram, si + PVH_SI_MEMMAP_PADDR);
	for (unsigned int i = 0; i < 4; i++) {
		uint64_t e = ml + 24 * i;

		ASSERT_EQ(r64(ram, e), map[i][0]);
		ASSERT_EQ(r64(ram, e + 8), map[i][1]);
		ASSERT_EQ(r32(ram, e + 16), map[i][2]);
		ASSERT_EQ(r32(ram, e + 20), 0);
	}

	ml = r64(ram, si + PVH_SI_MODLIST_PADDR);
	ASSERT_EQ(ml, PVH_MODLIST_ADDR);
	/* Modules page-aligned after the kernel, holding their bytes. */
	ASSERT_EQ(r64(ram, ml), 0x403000);
	ASSERT_EQ(r64(ram, ml + 8), sizeof(mod0));
	ASSERT(!memcmp(ram + 0x403000, mod0, sizeof(mod0)));
	ASSERT(!strcmp((char *)ram + r64(ram, ml + 16), "initrd arg"));
	ASSERT_EQ(r64(ram, ml + 24), 0);
	ASSERT_EQ(r64(ram, ml + 32), 0x404000);
	ASSERT_EQ(r64(ram, ml + 40), sizeof(mod1));
	ASSERT(!memcmp(ram + 0x404000, mod1, sizeof(mod1)));
	ASSERT(!strcmp((char *)ram + r64(ram, ml + 48), ""));

	/* The ACPI tables come later: their RSDP goes into the start info. */
	vkvm_boot_set_rsdp(ram, &lay, 0xe0000);
	ASSERT_EQ(r64(ram, si + PVH_SI_RSDP_PADDR), 0xe0000);
	free(ram);
}

TEST(pvh_good_elf32)
{
	check_good(false);
}

TEST(pvh_good_elf64)
{
	check_good(true);
}

TEST(pvh_no_cmdline_no_modules)
{
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	uint32_t si = PVH_INFO_ADDR;
	struct timg t;
	char why[200];

	timg_default(&t, true);
	timg_build(&t);
	ASSERT_OK(load(&t, NULL, ram, &lay, why));
	ASSERT_EQ(r32(ram, si + PVH_SI_NR_MODULES), 0);
	ASSERT_EQ(r64(ram, si + PVH_SI_MODLIST_PADDR), 0);
	ASSERT(!strcmp((char *)ram + r64(ram, si + PVH_SI_CMDLINE_PADDR), ""));
	free(ram);
}

/* A bad image: the errno, one line naming the fault, RAM untouched. */
static void expect_bad(struct timg *t, int err, const char *what)
{
	uint8_t *ram = ram_new(), *copy = ram_new();
	struct mboot_layout lay;
	char why[200];
	int ret;

	timg_build(t);
	ret = load(t, NULL, ram, &lay, why);
	if (ret != err || !strstr(why, what))
		fprintf(stderr, "want %d \"%s\", got %d \"%s\"\n", err, what, ret, why);
	ASSERT_EQ(ret, err);
	ASSERT(strstr(why, what));
	ASSERT(!strchr(why, '\n'));
	ASSERT(!memcmp(ram, copy, RAM_SIZE));
	free(ram);
	free(copy);
}

TEST(pvh_bad_images)
{
	for (int is64 = 0; is64 < 2; is64++) {
		struct timg t;

		timg_default(&t, is64);
		t.no_note = true;
		expect_bad(&t, -ENOEXEC, "no PVH note");

		timg_default(&t, is64);
		t.note_namesz = 5;	/* "Xen\0\0": not the note's name */
		expect_bad(&t, -ENOEXEC, "no PVH note");

		timg_default(&t, is64);
		t.note_descsz = 2;
		expect_bad(&t, -ENOEXEC, "too short");

		timg_default(&t, is64);
		t.note_entry = 0x500000;
		expect_bad(&t, -ERANGE, "outside every loadable segment");

		timg_default(&t, is64);
		t.note_descsz = 8;
		t.note_entry = 0x100400010ULL;
		expect_bad(&t, -ERANGE, "above 4 GiB");

		/* RAM too small for the segments: the -m they need (9 MiB). */
		timg_default(&t, is64);
		t.seg[1].paddr = RAM_SIZE - 0x1000;
		expect_bad(&t, -ERANGE,
			   "-m 8: the kernel needs at least 9 MiB (its segments end at 0x801000)");

		timg_default(&t, is64);
		t.seg[1].paddr = 0x9000;
		expect_bad(&t, -ERANGE, "overlaps the PVH start info area");

		timg_default(&t, is64);
		t.seg[1].paddr = 0x400080;
		expect_bad(&t, -ERANGE, "overlaps another segment");

		timg_default(&t, is64);
		t.seg[2].offset = IMG_MAX;	/* the note segment past the file's end */
		t.seg[2].filesz = 0x40;
		expect_bad(&t, -ENOEXEC, "truncated file: note segment");

		timg_default(&t, is64);
		timg_build(&t);
		t.seg[2].filesz = 18;	/* cuts the GNU note's descriptor */
		expect_bad(&t, -ENOEXEC, "overruns its segment");

		timg_default(&t, is64);
		t.machine = is64 ? 3 : 62;
		expect_bad(&t, -ENOEXEC, is64 ? "not an x86-64 ELF" : "not an i386 ELF");

		timg_default(&t, is64);
		t.seg[0].filesz = 0x4000;
		expect_bad(&t, -ENOEXEC, "file size 0x4000 exceeds memory size");
	}
}

/* Modules that would fit with more RAM: the refusal names the MiB they need. */
TEST(pvh_modules_name_the_ram_they_need)
{
	static const uint8_t big[0x1ff001];
	struct mboot_module mods[] = { { big, sizeof(big), "a" }, { big, sizeof(big), "b" } };
	struct mboot_params p = { .mods = mods, .nr_mods = 2 };
	uint8_t *ram = ram_new(), *copy = ram_new();
	struct mboot_layout lay;
	struct timg t;
	char why[200];

	/* Kernel to 0x403000; modules at 0x403000 and 0x603000, ending at 0x802001. */
	timg_default(&t, true);
	timg_build(&t);
	ASSERT_EQ(load(&t, &p, ram, &lay, why), -E2BIG);
	ASSERT(strstr(why, "-m 8: the kernel and its modules need at least 9 MiB "
			   "(segments end at 0x403000, modules at 0x802001)"));
	ASSERT(!memcmp(ram, copy, RAM_SIZE));
	p.nr_mods = 1;
	ASSERT_OK(load(&t, &p, ram, &lay, why));
	free(ram);
	free(copy);
}

/* 6 GiB of RAM: 3 GiB from 0, 3 GiB from 4 GiB; the memmap lists both. */
TEST(pvh_memmap_ram_above_4g)
{
	static const uint64_t map[][3] = {
		{ 0, 0xa0000, 1 }, { 0xa0000, 0x60000, 2 }, { 0x100000, 0xbff00000, 1 },
		{ 0xfee00000, 0x1000, 2 }, { 4ULL << 30, 3ULL << 30, 1 },
	};
	/* The loader writes only below 3 GiB: only that much is mapped. */
	uint8_t *ram = mmap(NULL, MBOOT_LOW_RAM_END, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct mboot_params p = { .cmdline = "x" };
	struct mboot_layout lay;
	struct timg t;
	char why[200];

	ASSERT(ram != MAP_FAILED);
	timg_default(&t, true);
	timg_build(&t);
	p.image = t.b;
	p.image_size = t.size;
	ASSERT_OK(pvh_load(&p, 0, ram, 6ULL << 30, &lay, why, sizeof(why)));
	ASSERT_EQ(r32(ram, PVH_INFO_ADDR + PVH_SI_MEMMAP_ENTRIES), 5);
	for (unsigned int i = 0; i < 5; i++) {
		uint32_t e = PVH_MEMMAP_ADDR + i * PVH_MEMMAP_ENTRY_SIZE;

		ASSERT_EQ(r64(ram, e), map[i][0]);
		ASSERT_EQ(r64(ram, e + 8), map[i][1]);
		ASSERT_EQ(r32(ram, e + 16), map[i][2]);
	}
	/* A segment past 3 GiB is outside RAM, whatever lies above 4 GiB. */
	t.seg[1].paddr = 0xbffff000;
	timg_build(&t);
	ASSERT_EQ(pvh_load(&p, 0, ram, 6ULL << 30, &lay, why, sizeof(why)), -ERANGE);
	ASSERT(strstr(why, "outside RAM (0x0-0xbfffffff)"));
	munmap(ram, MBOOT_LOW_RAM_END);
}

TEST(pvh_huge_64bit_fields_do_not_wrap)
{
	struct timg t;

	timg_default(&t, true);
	t.seg[1].paddr = ~0ULL - 0xfff;
	expect_bad(&t, -ERANGE, "outside RAM");

	timg_default(&t, true);
	t.seg[1].offset = ~0ULL - 0x7;
	expect_bad(&t, -ENOEXEC, "truncated file");

	timg_default(&t, true);
	t.seg[2].offset = ~0ULL - 0x7;
	expect_bad(&t, -ENOEXEC, "truncated file: note segment");
}

TEST(pvh_probe_needs_the_note)
{
	struct timg t;

	timg_default(&t, true);
	timg_build(&t);
	ASSERT(pvh_probe(t.b, t.size));
	ASSERT(!pvh_probe(t.b, 40));
	ASSERT(!pvh_probe(NULL, 0));
	t.no_note = true;
	timg_build(&t);
	ASSERT(!pvh_probe(t.b, t.size));
}

static int boot_load(struct timg *t, uint8_t *ram, struct mboot_layout *lay, char *why)
{
	struct mboot_params p = { .image = t->b, .image_size = t->size, .cmdline = "x" };

	return vkvm_boot_load(&p, 0, ram, RAM_SIZE, lay, why, 200);
}

TEST(boot_picks_the_protocol_by_magic)
{
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	struct timg t;
	char why[200];

	/* The PVH note alone: PVH. */
	timg_default(&t, false);
	timg_build(&t);
	ASSERT_OK(boot_load(&t, ram, &lay, why));
	ASSERT_EQ(lay.protocol, BOOT_PVH);
	ASSERT_EQ(lay.ebx, PVH_INFO_ADDR);
	ASSERT(!strcmp(vkvm_boot_protocol_name(lay.protocol), "PVH"));

	/* A Multiboot header too: Multiboot wins, as before PVH existed. */
	t.mboot = true;
	timg_build(&t);
	ASSERT_OK(boot_load(&t, ram, &lay, why));
	ASSERT_EQ(lay.protocol, BOOT_MULTIBOOT);
	ASSERT_EQ(lay.eax, MBOOT_BOOT_MAGIC);
	ASSERT_EQ(lay.ebx, MBOOT_INFO_ADDR);
	ASSERT_EQ(lay.entry, ENTRY);
	ASSERT(!strcmp(vkvm_boot_protocol_name(lay.protocol), "Multiboot"));

	/* Neither: the Multiboot loader's reason. */
	t.mboot = false;
	t.no_note = true;
	timg_build(&t);
	ASSERT_EQ(boot_load(&t, ram, &lay, why), -ENOEXEC);
	ASSERT(strstr(why, "no Multiboot header"));

	/* A broken PVH note is PVH's to report. */
	t.no_note = false;
	t.note_descsz = 1;
	timg_build(&t);
	ASSERT_EQ(boot_load(&t, ram, &lay, why), -ENOEXEC);
	ASSERT(strstr(why, "PVH entry note is too short"));
	free(ram);
}
