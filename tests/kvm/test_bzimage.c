// SPDX-License-Identifier: MIT
/*
 * The bzImage loader (kvm/boot/bzimage.c) without KVM: a synthetic bzImage
 * (a setup header written byte by byte from the Linux boot protocol's
 * description, and a protected-mode part of known bytes) is loaded into a
 * RAM buffer; the kernel's placement, the zero page (setup header, loader
 * type, command line, initrd, e820 map, RSDP) are read back, and every
 * bad header or misfit is refused with its errno and a one-line reason,
 * leaving RAM untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vintc/mboot.h>

#include "kvm/boot/boot.h"
#include "kvm/boot/bzimage.h"
#include "le.h"
#include "test.h"

#define RAM_SIZE	(8ULL << 20)
#define SETUP_SIZE	0x400		/* setup_sects 1 */
#define KERNEL_SIZE	0x1000
#define IMG_SIZE	(SETUP_SIZE + KERNEL_SIZE)

static uint8_t img[IMG_SIZE];

/* Protocol 2.15, relocatable, 2 MiB aligned, decompressing into 2..5 MiB. */
static void img_default(void)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = 1;				/* setup_sects */
	w16(img, 0x1fe, 0xaa55);		/* boot_flag */
	img[0x200] = 0xeb;			/* jmp */
	img[0x201] = 0x66;			/* header ends at 0x268 */
	memcpy(img + 0x202, "HdrS", 4);
	w16(img, 0x206, 0x020f);
	img[0x211] = 0x01 | 0x80;		/* LOADED_HIGH | CAN_USE_HEAP */
	w32(img, 0x214, 0x100000);		/* code32_start */
	w32(img, 0x22c, 0x37ffffff);		/* initrd_addr_max */
	w32(img, 0x230, 0x200000);		/* kernel_alignment */
	img[0x234] = 1;				/* relocatable_kernel */
	w32(img, 0x238, 2047);			/* cmdline_size */
	w64(img, 0x258, 0x200000);		/* pref_address */
	w32(img, 0x260, 0x300000);		/* init_size */
	for (unsigned int i = 0; i < KERNEL_SIZE; i++)
		img[SETUP_SIZE + i] = (uint8_t)(i * 3 + 1);
}

static uint8_t *ram_new(void)
{
	uint8_t *ram = malloc(RAM_SIZE);

	ASSERT(ram);
	memset(ram, 0xcc, RAM_SIZE);
	return ram;
}

static const char initrd[] = "INITRD";

static int load(uint8_t *ram, size_t size, const char *cmdline, unsigned int nr_mods,
		struct mboot_layout *lay, char *why)
{
	struct mboot_module mods[2] = {
		{ initrd, sizeof(initrd), "initrd" }, { initrd, 1, NULL },
	};
	struct mboot_params p = {
		.image = img, .image_size = size, .image_name = "bzImage",
		.cmdline = cmdline, .mods = mods, .nr_mods = nr_mods,
	};

	return bzimage_load(&p, ram, RAM_SIZE, lay, why, 200);
}

TEST(bzimage_good_image)
{
	static const uint64_t map[][3] = {
		{ 0, 0xa0000, 1 }, { 0xa0000, 0x60000, 2 },
		{ 0x100000, RAM_SIZE - 0x100000, 1 }, { 0xfee00000, 0x1000, 2 },
	};
	uint8_t *ram = ram_new(), *zp = ram + BZ_ZERO_PAGE;
	struct mboot_layout lay;
	char why[200];
	uint32_t rd;

	img_default();
	ASSERT_OK(load(ram, IMG_SIZE, "console=ttyS0 root=/dev/ram0", 1, &lay, why));
	ASSERT_EQ(why[0], '\0');
	ASSERT_EQ(lay.protocol, BOOT_BZIMAGE);
	ASSERT_EQ(lay.entry, 0x100000);
	ASSERT_EQ(lay.esi, BZ_ZERO_PAGE);
	ASSERT_EQ(lay.eax, 0);
	ASSERT_EQ(lay.ebx, 0);
	ASSERT(!memcmp(ram + 0x100000, img + SETUP_SIZE, KERNEL_SIZE));
	ASSERT_EQ(ram[0x100000 + KERNEL_SIZE], 0xcc);

	/* The setup header, copied from 0x1f1 to its end, then the loader's fields. */
	ASSERT(!memcmp(zp + 0x202, "HdrS", 4));
	ASSERT_EQ(r32(zp, 0x206) & 0xffff, 0x020f);
	ASSERT_EQ(zp[0x1f1], 1);
	ASSERT_EQ(zp[0x210], 0xff);
	ASSERT_EQ(zp[0x211], 0x01);	/* CAN_USE_HEAP cleared */
	ASSERT_EQ(r32(zp, 0x214), 0x100000);
	ASSERT_EQ(zp[0x000], 0);		/* screen_info and the rest: zero */
	ASSERT(!strcmp((char *)ram + r32(zp, 0x228), "console=ttyS0 root=/dev/ram0"));

	rd = r32(zp, 0x218);
	ASSERT_EQ(r32(zp, 0x21c), sizeof(initrd));
	ASSERT_EQ(rd % 4096, 0);
	ASSERT(rd >= 0x500000);			/* above the decompressed kernel */
	ASSERT(rd + sizeof(initrd) <= RAM_SIZE);
	ASSERT(!memcmp(ram + rd, initrd, sizeof(initrd)));

	ASSERT_EQ(zp[0x1e8], 4);
	for (unsigned int i = 0; i < 4; i++) {
		ASSERT_EQ(r64(zp, 0x2d0 + 20 * i), map[i][0]);
		ASSERT_EQ(r64(zp, 0x2d0 + 20 * i + 8), map[i][1]);
		ASSERT_EQ(r32(zp, 0x2d0 + 20 * i + 16), map[i][2]);
	}
	vkvm_boot_set_rsdp(ram, &lay, 0xe0000);
	ASSERT_EQ(r64(zp, 0x070), 0xe0000);
	free(ram);
}

TEST(bzimage_no_initrd_no_cmdline)
{
	uint8_t *ram = ram_new(), *zp = ram + BZ_ZERO_PAGE;
	struct mboot_layout lay;
	char why[200];

	img_default();
	ASSERT_OK(load(ram, IMG_SIZE, NULL, 0, &lay, why));
	ASSERT_EQ(r32(zp, 0x218), 0);
	ASSERT_EQ(r32(zp, 0x21c), 0);
	ASSERT_EQ(ram[r32(zp, 0x228)], 0);
	free(ram);
}

static void expect_bad(size_t size, const char *cmdline, unsigned int nr_mods, int err,
		       const char *what)
{
	uint8_t *ram = ram_new(), *copy = ram_new();
	struct mboot_layout lay;
	char why[200];
	int ret = load(ram, size, cmdline, nr_mods, &lay, why);

	if (ret != err || !strstr(why, what))
		fprintf(stderr, "want %d \"%s\", got %d \"%s\"\n", err, what, ret, why);
	ASSERT_EQ(ret, err);
	ASSERT(strstr(why, what));
	ASSERT(!strchr(why, '\n'));
	ASSERT(!memcmp(ram, copy, RAM_SIZE));
	free(ram);
	free(copy);
}

TEST(bzimage_bad_images)
{
	img_default();
	memcpy(img + 0x202, "HdrZ", 4);
	expect_bad(IMG_SIZE, NULL, 0, -ENOEXEC, "no bzImage setup header");

	img_default();
	w16(img, 0x1fe, 0x55aa);
	expect_bad(IMG_SIZE, NULL, 0, -ENOEXEC, "boot_flag");

	img_default();
	w16(img, 0x206, 0x0205);
	expect_bad(IMG_SIZE, NULL, 0, -ENOEXEC, "older than 2.06");

	img_default();
	img[0x211] = 0;
	expect_bad(IMG_SIZE, NULL, 0, -ENOEXEC, "not LOADED_HIGH");

	img_default();
	expect_bad(SETUP_SIZE, NULL, 0, -ENOEXEC, "truncated bzImage");
	expect_bad(0x240, NULL, 0, -ENOEXEC, "truncated bzImage");

	img_default();
	img[0x201] = 0x20;	/* the header ends before init_size */
	expect_bad(IMG_SIZE, NULL, 0, -ENOEXEC, "before init_size");

	/* RAM too small: the refusal names the -m the header asks for. */
	img_default();
	w32(img, 0x260, 0x700000);
	expect_bad(IMG_SIZE, NULL, 0, -E2BIG,
		   "-m 8: the kernel needs at least 9 MiB (init_size 0x700000 at 0x200000)");

	img_default();
	img[0x234] = 0;		/* not relocatable: at pref_address */
	w64(img, 0x258, 0x600000);
	expect_bad(IMG_SIZE, NULL, 0, -E2BIG,
		   "-m 8: the kernel needs at least 9 MiB (init_size 0x300000 at 0x600000)");

	img_default();
	img[0x234] = 0;
	w64(img, 0x258, 0x10000);
	expect_bad(IMG_SIZE, NULL, 0, -ENOEXEC,
		   "bzImage is not relocatable and its pref_address 0x10000 is below 1 MiB");

	img_default();
	w64(img, 0x258, ~0ULL - 0xfff);
	expect_bad(IMG_SIZE, NULL, 0, -E2BIG, "pref_address 0xfffffffffffff000 is beyond any RAM");

	img_default();
	w64(img, 0x258, 0xbfe00000);
	expect_bad(IMG_SIZE, NULL, 0, -E2BIG, "beyond 0xc0000000 where RAM below 4 GiB ends");

	/* The kernel fits to the page; its initrd then does not. */
	img_default();
	w32(img, 0x260, 0x5ff800);
	expect_bad(IMG_SIZE, NULL, 1, -E2BIG,
		   "-m 8: the kernel and its initrd need at least 9 MiB (init_size 0x5ff800 at 0x200000, initrd 7 bytes)");

	img_default();
	w32(img, 0x238, 10);
	expect_bad(IMG_SIZE, "console=ttyS0", 0, -E2BIG, "the kernel takes at most 10");

	img_default();
	expect_bad(IMG_SIZE, NULL, 2, -E2BIG, "one initrd");

	img_default();
	w16(img, 0x236, 0x1);		/* XLF_KERNEL_64, entry past the kernel */
	expect_bad(SETUP_SIZE + 0x200, NULL, 0, -ENOEXEC, "ends before the 64-bit entry at +0x200");

	img_default();
	w32(img, 0x22c, 0x4fffff);	/* initrd_addr_max inside the kernel's room */
	expect_bad(IMG_SIZE, NULL, 1, -E2BIG,
		   "initrd (7 bytes) does not fit between the kernel (up to 0x500000) and initrd_addr_max 0x4fffff");
}

/* XLF_KERNEL_64 from protocol 2.12: the 64-bit entry, its tables and GDT. */
TEST(bzimage_64bit_entry)
{
	static const uint64_t map[][3] = {
		{ 0, 0x1000, 1 }, { 0x1000, 0x7000, 2 }, { 0x8000, 0x98000, 1 },
		{ 0xa0000, 0x60000, 2 }, { 0x100000, RAM_SIZE - 0x100000, 1 },
		{ 0xfee00000, 0x1000, 2 },
	};
	uint8_t *ram = ram_new(), *zp = ram + BZ_ZERO_PAGE;
	struct mboot_layout lay;
	uint64_t pdpt, pd;
	char why[200];

	img_default();
	w16(img, 0x236, 0x1);		/* xloadflags: XLF_KERNEL_64 */
	ASSERT_OK(load(ram, IMG_SIZE, "console=ttyS0", 1, &lay, why));
	ASSERT_EQ(lay.entry, 0x100200);
	ASSERT_EQ(lay.esi, BZ_ZERO_PAGE);
	ASSERT(lay.cr3 && lay.cr3 % 4096 == 0);
	ASSERT(lay.gdt_addr && lay.gdt_addr % 8 == 0);
	ASSERT(!memcmp(ram + 0x100000, img + SETUP_SIZE, KERNEL_SIZE));

	/* __BOOT_CS: 64-bit code (L = 1, D = 0), __BOOT_DS: flat read/write data. */
	ASSERT_EQ(r64(ram, lay.gdt_addr), 0);
	ASSERT_EQ(r64(ram, lay.gdt_addr + 0x10), 0x00af9b000000ffffULL);
	ASSERT_EQ(r64(ram, lay.gdt_addr + 0x18), 0x00cf93000000ffffULL);

	/* Walk the identity map for a few addresses up to the top of 4 GiB. */
	static const uint64_t probe[] = { 0, 0x100200, BZ_ZERO_PAGE, 0x3fffffff, 0x40000000,
					  0xfee00000, 0xffffffff };
	for (unsigned int i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		uint64_t va = probe[i];

		ASSERT_EQ(r64(ram, lay.cr3) & 0xfff, 0x3);	/* PML4[0]: P, RW */
		pdpt = r64(ram, lay.cr3) & ~0xfffULL;
		ASSERT(pdpt < 0x100000);
		ASSERT_EQ(r64(ram, pdpt + 8 * (va >> 30)) & 0xfff, 0x3);
		pd = r64(ram, pdpt + 8 * (va >> 30)) & ~0xfffULL;
		ASSERT(pd < 0x100000);
		/* A 2 MiB page (PS), present, writable, mapping va's own 2 MiB. */
		ASSERT_EQ(r64(ram, pd + 8 * ((va >> 21) & 511)), (va & ~0x1fffffULL) | 0x83);
	}
	/* Nothing past the first 4 GiB: PML4[1..] and PDPT[4..] empty. */
	ASSERT_EQ(r64(ram, lay.cr3 + 8), 0);
	ASSERT_EQ(r64(ram, pdpt + 8 * 4), 0);

	/* The tables lie in the e820's reserved range, off the zero page and command line. */
	ASSERT_EQ(zp[0x1e8], 6);
	for (unsigned int i = 0; i < 6; i++) {
		ASSERT_EQ(r64(zp, 0x2d0 + 20 * i), map[i][0]);
		ASSERT_EQ(r64(zp, 0x2d0 + 20 * i + 8), map[i][1]);
		ASSERT_EQ(r32(zp, 0x2d0 + 20 * i + 16), map[i][2]);
	}
	ASSERT(lay.gdt_addr >= 0x1000 && lay.cr3 < 0x8000 && pd + 0x1000 <= 0x8000);
	ASSERT(r32(zp, 0x228) >= 0x8000);
	ASSERT(!memcmp(zp + 0x202, "HdrS", 4));
	ASSERT_EQ(r32(zp, 0x1fe) & 0xffff, 0xaa55);
	ASSERT(!strcmp((char *)ram + r32(zp, 0x228), "console=ttyS0"));
	free(ram);
}

/* XLF_KERNEL_64 in a header before 2.12 is not xloadflags: the 32-bit entry. */
TEST(bzimage_xloadflags_need_protocol_2_12)
{
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	char why[200];

	img_default();
	w16(img, 0x236, 0x1);
	w16(img, 0x206, 0x020b);
	ASSERT_OK(load(ram, IMG_SIZE, NULL, 0, &lay, why));
	ASSERT_EQ(lay.entry, 0x100000);
	ASSERT_EQ(lay.cr3, 0);
	ASSERT_EQ(ram[BZ_ZERO_PAGE + 0x1e8], 4);
	/* Not written: the low pages keep what the caller had there. */
	ASSERT_EQ(ram[0x2000], 0xcc);
	free(ram);
}

/*
 * 8 GiB of RAM: 3 GiB from 0, 5 GiB from 4 GiB.  The e820 map lists both;
 * the initrd goes below initrd_addr_max and 3 GiB, never into the hole.
 */
TEST(bzimage_e820_ram_above_4g)
{
	/* The loader writes only below 3 GiB: only that much is mapped. */
	uint8_t *ram = mmap(NULL, MBOOT_LOW_RAM_END, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct mboot_module mod = { initrd, sizeof(initrd), NULL };
	struct mboot_params p = { .image = img, .image_size = IMG_SIZE, .mods = &mod, .nr_mods = 1 };
	uint8_t *zp = ram + BZ_ZERO_PAGE;
	struct mboot_layout lay;
	char why[200];

	ASSERT(ram != MAP_FAILED);
	img_default();
	w32(img, 0x22c, 0xffffffff);		/* initrd_addr_max: anywhere below 4 GiB */
	ASSERT_OK(bzimage_load(&p, ram, 8ULL << 30, &lay, why, sizeof(why)));
	ASSERT_EQ(zp[0x1e8], 5);
	ASSERT_EQ(r64(zp, 0x2d0 + 20 * 2), 0x100000);
	ASSERT_EQ(r64(zp, 0x2d0 + 20 * 2 + 8), 0xbff00000);
	ASSERT_EQ(r64(zp, 0x2d0 + 20 * 4), 4ULL << 30);
	ASSERT_EQ(r64(zp, 0x2d0 + 20 * 4 + 8), 5ULL << 30);
	ASSERT_EQ(r32(zp, 0x2d0 + 20 * 4 + 16), 1);
	/* As high as allowed: the last page below 3 GiB. */
	ASSERT_EQ(r32(zp, 0x218), 0xbffff000);
	ASSERT(!memcmp(ram + 0xbffff000, initrd, sizeof(initrd)));
	munmap(ram, MBOOT_LOW_RAM_END);
}

TEST(bzimage_old_protocol_without_2_10_fields)
{
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	char why[200];

	img_default();
	w16(img, 0x206, 0x0206);
	w32(img, 0x260, 0x7000000);	/* init_size is not read before 2.10 */
	ASSERT_OK(load(ram, IMG_SIZE, NULL, 1, &lay, why));
	ASSERT_EQ(lay.protocol, BOOT_BZIMAGE);
	free(ram);
}

TEST(boot_picks_bzimage_by_magic)
{
	struct mboot_params p = { .image = img, .image_size = IMG_SIZE, .cmdline = "x" };
	uint8_t *ram = ram_new();
	struct mboot_layout lay;
	char why[200];

	img_default();
	ASSERT(bzimage_probe(img, IMG_SIZE));
	ASSERT(!bzimage_probe(img, 0x205));
	ASSERT_OK(vkvm_boot_load(&p, 0xe0000, ram, RAM_SIZE, &lay, why, sizeof(why)));
	ASSERT_EQ(lay.protocol, BOOT_BZIMAGE);
	ASSERT_EQ(r64(ram + BZ_ZERO_PAGE, 0x070), 0xe0000);
	ASSERT(!strcmp(vkvm_boot_protocol_name(lay.protocol), "bzImage"));
	free(ram);
}
