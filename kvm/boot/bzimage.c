// SPDX-License-Identifier: MIT
/*
 * bzImage loader (see bzimage.h).  The image is untrusted: the setup
 * header is read only inside the file, sums are 64-bit, and everything is
 * checked before RAM is written.
 */
#include <errno.h>
#include <string.h>

#include "bzimage.h"
#include "image.h"

struct bz {
	uint32_t setup_size;		/* real-mode part: (setup_sects + 1) * 512 */
	uint32_t kernel_size;		/* the protected-mode part */
	uint32_t hdr_end;		/* one past the setup header */
	uint32_t initrd_addr;
	bool entry64;			/* by the 64-bit boot protocol */
};

bool bzimage_probe(const void *image, size_t size)
{
	return image && size >= BZ_HEADER + 4 &&
	       boot_rd32(image, BZ_HEADER) == BZ_HEADER_MAGIC;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int check_header(struct boot_img *l, struct bz *bz)
{
	uint32_t sects;
	uint16_t version;

	if (!bzimage_probe(l->img, l->size))
		return boot_fail(l, -ENOEXEC, "no bzImage setup header (\"HdrS\" at 0x%x)", BZ_HEADER);
	if (boot_rd16(l->img, BZ_BOOT_FLAG) != BZ_BOOT_FLAG_MAGIC)
		return boot_fail(l, -ENOEXEC, "bzImage boot_flag is 0x%x, want 0x%x",
				 boot_rd16(l->img, BZ_BOOT_FLAG), BZ_BOOT_FLAG_MAGIC);
	version = boot_rd16(l->img, BZ_VERSION);
	if (version < BZ_MIN_VERSION)
		return boot_fail(l, -ENOEXEC, "bzImage boot protocol %u.%02u is older than 2.06",
				 version >> 8, version & 0xff);
	bz->hdr_end = BZ_JUMP + 2 + l->img[BZ_JUMP + 1];
	sects = l->img[BZ_SETUP_SECTS] ? l->img[BZ_SETUP_SECTS] : 4;
	bz->setup_size = (sects + 1) * 512;
	/* 2.10 fields are read below: the header must hold them. */
	if (bz->hdr_end < BZ_INIT_SIZE + 4 && version >= 0x020a)
		return boot_fail(l, -ENOEXEC, "bzImage setup header ends at 0x%x, before init_size",
				 bz->hdr_end);
	if (bz->hdr_end > l->size || bz->setup_size >= l->size)
		return boot_fail(l, -ENOEXEC, "truncated bzImage: setup needs 0x%x bytes, file is 0x%zx bytes",
				 bz->setup_size > bz->hdr_end ? bz->setup_size : bz->hdr_end,
				 l->size);
	if (!(l->img[BZ_LOADFLAGS] & BZ_LOADED_HIGH))
		return boot_fail(l, -ENOEXEC, "bzImage is not LOADED_HIGH (a zImage): not supported");
	if (l->size - bz->setup_size > MBOOT_MAX_RAM)
		return boot_fail(l, -E2BIG, "bzImage kernel of 0x%zx bytes is larger than RAM can be",
				 l->size - bz->setup_size);
	bz->kernel_size = (uint32_t)(l->size - bz->setup_size);
	/* hdr_end covers xloadflags: from 2.10 on it reaches init_size. */
	bz->entry64 = version >= BZ_XLF_VERSION &&
		      (boot_rd16(l->img, BZ_XLOADFLAGS) & BZ_XLF_KERNEL_64);
	if (bz->entry64 && bz->kernel_size <= BZ_ENTRY64_OFFSET)
		return boot_fail(l, -ENOEXEC, "bzImage has XLF_KERNEL_64 but its kernel of 0x%x bytes ends before the 64-bit entry at +0x%x",
				 bz->kernel_size, BZ_ENTRY64_OFFSET);
	return 0;
}

/*
 * RAM the kernel needs to load and decompress itself, end exclusive, and
 * where it decompresses (*at).
 */
static uint64_t kernel_needs(const struct boot_img *l, const struct bz *bz, uint64_t *at)
{
	uint64_t end = (uint64_t)BZ_KERNEL_ADDR + bz->kernel_size;
	uint64_t align, need;

	*at = BZ_KERNEL_ADDR;
	if (boot_rd16(l->img, BZ_VERSION) < 0x020a)
		return end;
	align = boot_rd32(l->img, BZ_KERNEL_ALIGNMENT);
	/* A relocatable kernel decompresses at its aligned load address, never below pref_address. */
	if (l->img[BZ_RELOCATABLE] && align && !(align & (align - 1)))
		*at = (*at + align - 1) & ~(align - 1);
	if (!l->img[BZ_RELOCATABLE] || boot_rd64(l->img, BZ_PREF_ADDRESS) > *at)
		*at = boot_rd64(l->img, BZ_PREF_ADDRESS);
	if (*at > MBOOT_LOW_RAM_END)
		return UINT64_MAX;	/* pref_address beyond any RAM below 4 GiB */
	need = *at + boot_rd32(l->img, BZ_INIT_SIZE);
	return need > end ? need : end;
}

/* Whole MiB, rounded up: what -m must be at least. */
static unsigned long long mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + (1ULL << 20) - 1) >> 20);
}

/* The kernel does not fit: name the -m it needs, or why no -m will do. */
static int fail_ram(struct boot_img *l, uint64_t ram_size, uint64_t need, uint64_t at,
		    size_t initrd)
{
	uint32_t init_size = boot_rd32(l->img, BZ_INIT_SIZE);

	if (need == UINT64_MAX)
		return boot_fail(l, -E2BIG, "the kernel's pref_address 0x%llx is beyond any RAM",
				 (unsigned long long)boot_rd64(l->img, BZ_PREF_ADDRESS));
	if (need + initrd > MBOOT_LOW_RAM_END)
		return boot_fail(l, -E2BIG, "the kernel%s needs RAM up to 0x%llx (init_size 0x%x at 0x%llx), beyond 0x%llx where RAM below 4 GiB ends",
				 initrd ? " and its initrd" : "",
				 (unsigned long long)(need + initrd), init_size,
				 (unsigned long long)at, MBOOT_LOW_RAM_END);
	if (initrd)
		return boot_fail(l, -E2BIG, "-m %llu: the kernel and its initrd need at least %llu MiB (init_size 0x%x at 0x%llx, initrd %zu bytes)",
				 (unsigned long long)(ram_size >> 20), mib_up(need + initrd),
				 init_size, (unsigned long long)at, initrd);
	return boot_fail(l, -E2BIG, "-m %llu: the kernel needs at least %llu MiB (init_size 0x%x at 0x%llx)",
			 (unsigned long long)(ram_size >> 20), mib_up(need), init_size,
			 (unsigned long long)at);
}

static int check_fit(struct boot_img *l, const struct mboot_params *p, uint64_t ram_size,
		     struct bz *bz)
{
	uint64_t at_k, need = kernel_needs(l, bz, &at_k), top = boot_low_ram(ram_size);
	uint64_t len = p->cmdline ? strlen(p->cmdline) : 0, max, at, size;
	uint32_t cmax = boot_rd32(l->img, BZ_CMDLINE_SIZE);

	/*
	 * A kernel that cannot move decompresses at pref_address: below
	 * 1 MiB it would land on the loader area, the BIOS hole and ACPI.
	 */
	if (at_k < BZ_KERNEL_ADDR)
		return boot_fail(l, -ENOEXEC, "bzImage is not relocatable and its pref_address 0x%llx is below 1 MiB",
				 (unsigned long long)at_k);
	if (need > top)
		return fail_ram(l, ram_size, need, at_k, 0);
	if (len >= BZ_CMDLINE_MAX || len > cmax)
		return boot_fail(l, -E2BIG, "command line of %llu bytes, the kernel takes at most %u",
				 (unsigned long long)len, cmax < BZ_CMDLINE_MAX - 1 ? cmax : BZ_CMDLINE_MAX - 1);
	if (p->nr_mods > 1)
		return boot_fail(l, -E2BIG, "%u modules: a bzImage takes one initrd", p->nr_mods);
	if (p->nr_mods && !p->mods)
		return boot_fail(l, -EINVAL, "module list is NULL");
	if (!p->nr_mods)
		return 0;
	size = p->mods[0].size;
	if (size && !p->mods[0].data)
		return boot_fail(l, -EINVAL, "module 0 has no data");
	/* As high as allowed: clear of the decompressed kernel. */
	max = (uint64_t)boot_rd32(l->img, BZ_INITRD_ADDR_MAX) + 1;
	if (size > max || ((max - size) & ~(BOOT_PAGE_SIZE - 1)) < boot_page_up(need))
		return boot_fail(l, -E2BIG, "initrd (%zu bytes) does not fit between the kernel (up to 0x%llx) and initrd_addr_max 0x%llx",
				 p->mods[0].size, (unsigned long long)need,
				 (unsigned long long)max - 1);
	/* Below initrd_addr_max it fits: only RAM can be short. */
	max = min_u64(top, max);
	at = max >= size ? (max - size) & ~(BOOT_PAGE_SIZE - 1) : 0;
	if (size > max || at < boot_page_up(need))
		return fail_ram(l, ram_size, boot_page_up(need), at_k, size);
	bz->initrd_addr = (uint32_t)at;
	return 0;
}

/*
 * The 64-bit entry's GDT and its identity map of 0-4 GiB: PML4[0] ->
 * PDPT, PDPT[0..3] -> the 4 PDs, each PD entry a 2 MiB page.  The
 * descriptors are the flat ones the boot protocol names (base 0, limit
 * 4 GiB, present, DPL 0, accessed): __BOOT_CS execute/read with L = 1,
 * __BOOT_DS read/write.
 */
static void write_tables(uint8_t *ram)
{
	memset(ram + BZ_GDT, 0, BZ_TABLES_END - BZ_GDT);
	boot_wr64(ram, BZ_GDT + BZ_BOOT_CS, 0x00af9b000000ffffULL);
	boot_wr64(ram, BZ_GDT + BZ_BOOT_DS, 0x00cf93000000ffffULL);
	boot_wr64(ram, BZ_PML4, BZ_PDPT | BZ_PTE_P | BZ_PTE_RW);
	for (uint64_t i = 0; i < 4; i++)
		boot_wr64(ram, BZ_PDPT + 8 * i, (BZ_PD + 0x1000 * i) | BZ_PTE_P | BZ_PTE_RW);
	for (uint64_t i = 0; i < 4 * 512; i++)
		boot_wr64(ram, BZ_PD + 8 * i, (i << 21) | BZ_PTE_P | BZ_PTE_RW | BZ_PTE_PS);
}

/* The memory map, with the 64-bit entry's tables cut out of low RAM as reserved. */
static unsigned int e820_map(uint64_t ram_size, bool entry64,
			     struct boot_mmap map[MBOOT_MMAP_MAX_ENTRIES + 2])
{
	unsigned int nr = boot_memory_map(ram_size, map);

	if (!entry64)
		return nr;
	/* map[0] is low RAM from 0: split it around [BZ_GDT, BZ_TABLES_END). */
	memmove(map + 3, map + 1, (nr - 1) * sizeof(map[0]));
	map[0] = (struct boot_mmap){ 0, BZ_GDT, MBOOT_MMAP_AVAILABLE };
	map[1] = (struct boot_mmap){ BZ_GDT, BZ_TABLES_END - BZ_GDT, MBOOT_MMAP_RESERVED };
	map[2] = (struct boot_mmap){ BZ_TABLES_END, MBOOT_LOW_MEM_END - BZ_TABLES_END,
				     MBOOT_MMAP_AVAILABLE };
	return nr + 2;
}

static void write_zero_page(uint8_t *ram, const struct boot_img *l, const struct mboot_params *p,
			    uint64_t ram_size, const struct bz *bz)
{
	struct boot_mmap map[MBOOT_MMAP_MAX_ENTRIES + 2];
	unsigned int nr = e820_map(ram_size, bz->entry64, map);
	uint8_t *zp = ram + BZ_ZERO_PAGE;
	size_t len = p->cmdline ? strlen(p->cmdline) : 0;

	memset(ram + MBOOT_AREA_START, 0, MBOOT_AREA_END - MBOOT_AREA_START);
	memcpy(zp + BZ_SETUP_SECTS, l->img + BZ_SETUP_SECTS,
	       min_u64(bz->hdr_end, BZ_ZERO_PAGE_SIZE) - BZ_SETUP_SECTS);
	zp[BZ_TYPE_OF_LOADER] = BZ_LOADER_UNDEFINED;
	/* No real-mode heap: the 32-bit entry skips the setup code. */
	zp[BZ_LOADFLAGS] &= (uint8_t)~BZ_CAN_USE_HEAP;
	boot_wr32(zp, BZ_CODE32_START, BZ_KERNEL_ADDR);
	if (p->cmdline)
		memcpy(ram + BZ_CMDLINE, p->cmdline, len);
	ram[BZ_CMDLINE + len] = 0;
	boot_wr32(zp, BZ_CMD_LINE_PTR, BZ_CMDLINE);
	if (p->nr_mods) {
		boot_wr32(zp, BZ_RAMDISK_IMAGE, bz->initrd_addr);
		boot_wr32(zp, BZ_RAMDISK_SIZE, (uint32_t)p->mods[0].size);
	} else {
		boot_wr32(zp, BZ_RAMDISK_IMAGE, 0);
		boot_wr32(zp, BZ_RAMDISK_SIZE, 0);
	}
	zp[BZ_E820_ENTRIES] = (uint8_t)nr;
	for (unsigned int i = 0; i < nr; i++) {
		uint32_t e = BZ_E820_TABLE + i * BZ_E820_ENTRY_SIZE;

		boot_wr64(zp, e, map[i].base);
		boot_wr64(zp, e + 8, map[i].len);
		boot_wr32(zp, e + 16, map[i].type);
	}
}

int bzimage_load(const struct mboot_params *p, void *ram, uint64_t ram_size,
		 struct mboot_layout *layout, char *why, size_t why_size)
{
	struct boot_img l;
	struct mboot_layout lay;
	struct bz bz = { 0 };
	uint8_t *r = ram;
	int ret;

	ret = boot_img_open(&l, p, ram, ram_size, layout, why, why_size);
	if (ret)
		return ret;
	ret = check_header(&l, &bz);
	if (!ret)
		ret = check_fit(&l, p, ram_size, &bz);
	if (ret)
		return ret;

	/* Everything checked: now write RAM. */
	memcpy(r + BZ_KERNEL_ADDR, l.img + bz.setup_size, bz.kernel_size);
	if (p->nr_mods && p->mods[0].size)
		memcpy(r + bz.initrd_addr, p->mods[0].data, p->mods[0].size);
	write_zero_page(r, &l, p, ram_size, &bz);
	memset(&lay, 0, sizeof(lay));
	lay.protocol = BOOT_BZIMAGE;
	lay.entry = BZ_KERNEL_ADDR;
	if (bz.entry64) {
		write_tables(r);
		lay.entry = BZ_KERNEL_ADDR + BZ_ENTRY64_OFFSET;
		lay.cr3 = BZ_PML4;
		lay.gdt_addr = BZ_GDT;
	}
	lay.info_addr = BZ_ZERO_PAGE;
	lay.esi = BZ_ZERO_PAGE;
	lay.nr_segments = 1;
	lay.seg[0] = (struct mboot_segment){ BZ_KERNEL_ADDR, bz.kernel_size, bz.kernel_size,
					     bz.setup_size };
	lay.kernel_end = BZ_KERNEL_ADDR + bz.kernel_size;
	lay.nr_mods = p->nr_mods;
	if (p->nr_mods) {
		lay.mod_start[0] = bz.initrd_addr;
		lay.mod_end[0] = bz.initrd_addr + (uint32_t)p->mods[0].size;
	}
	lay.nr_mmap = r[BZ_ZERO_PAGE + BZ_E820_ENTRIES];
	*layout = lay;
	return 0;
}
