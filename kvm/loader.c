// SPDX-License-Identifier: MIT
/*
 * Multiboot v1 ELF32 loader (see <vintc/mboot.h> for the layout).
 *
 * The image is untrusted: every field is read through bounds-checked
 * little-endian accessors, every sum is done in 64 bits so nothing wraps,
 * and all the checks run before RAM is written, so a rejected image leaves
 * no trace.
 */
#include <errno.h>
#include <string.h>

#include <vintc/mboot.h>

#include "boot/image.h"

#define LOADER_NAME	"vintc"

/* The Multiboot header: magic, flags, checksum, 4-aligned, first 8 KiB. */
static int find_header(struct boot_img *l, uint32_t *flags)
{
	size_t limit = l->size < MBOOT_SEARCH_LIMIT ? l->size : MBOOT_SEARCH_LIMIT;
	bool bad_sum = false;
	uint64_t bad_off = 0;

	for (uint64_t off = 0; off + 12 <= limit; off += 4) {
		uint32_t magic = boot_rd32(l->img, off), f, sum;

		if (magic != MBOOT_HEADER_MAGIC)
			continue;
		f = boot_rd32(l->img, off + 4);
		sum = boot_rd32(l->img, off + 8);
		if ((uint32_t)(magic + f + sum) != 0) {
			/* Keep looking: the magic may appear by chance in code. */
			if (!bad_sum)
				bad_off = off;
			bad_sum = true;
			continue;
		}
		*flags = f;
		return 0;
	}
	if (bad_sum)
		return boot_fail(l, -ENOEXEC, "Multiboot header at offset 0x%llx has a bad checksum",
			         (unsigned long long)bad_off);
	return boot_fail(l, -ENOEXEC, "no Multiboot header (magic 0x%08x) in the first %u bytes",
		         MBOOT_HEADER_MAGIC, MBOOT_SEARCH_LIMIT);
}

bool mboot_probe(const void *image, size_t size)
{
	struct boot_img l = { .img = image, .size = size };
	uint32_t flags;

	return image && !find_header(&l, &flags);
}

/* Total bytes the strings area needs: cmdline, module strings, name. */
static int check_strings(struct boot_img *l, const struct mboot_params *p)
{
	uint64_t need = sizeof(LOADER_NAME);

	if (p->image_name)
		need += strlen(p->image_name) + 1;	/* the name and a space */
	if (p->cmdline)
		need += strlen(p->cmdline);
	if (p->image_name || p->cmdline)
		need++;
	for (unsigned int i = 0; i < p->nr_mods; i++)
		need += (p->mods[i].string ? strlen(p->mods[i].string) : 0) + 1;
	if (need > MBOOT_AREA_END - MBOOT_STRINGS_ADDR)
		return boot_fail(l, -E2BIG, "command line and module strings take %llu bytes, at most %u fit",
			         (unsigned long long)need, MBOOT_AREA_END - MBOOT_STRINGS_ADDR);
	return 0;
}

/* "IMAGE_NAME CMDLINE", as QEMU's "%s %s"; cmdline alone without a name. */
static uint32_t put_cmdline(uint8_t *ram, uint32_t *at, const struct mboot_params *p)
{
	uint32_t addr = *at;
	size_t n;

	if (!p->image_name)
		return boot_put_string(ram, at, p->cmdline);
	n = strlen(p->image_name);
	memcpy(ram + addr, p->image_name, n);
	ram[addr + n] = ' ';
	*at += (uint32_t)n + 1;
	boot_put_string(ram, at, p->cmdline ? p->cmdline : "");
	return addr;
}

static void write_info(uint8_t *ram, uint64_t ram_size, const struct mboot_params *p,
		       struct mboot_layout *lay)
{
	uint32_t flags = MBOOT_INFO_MEM | MBOOT_INFO_MODS | MBOOT_INFO_MMAP |
			 MBOOT_INFO_LOADER_NAME;
	uint32_t str = MBOOT_STRINGS_ADDR;
	/* mem_upper: from 1 MiB up to the first hole, where RAM below 4 GiB ends. */
	uint64_t upper_end = boot_low_ram(ram_size);
	struct boot_mmap map[MBOOT_MMAP_MAX_ENTRIES];
	unsigned int nr = boot_memory_map(ram_size, map);

	lay->nr_mmap = nr;

	memset(ram + MBOOT_AREA_START, 0, MBOOT_AREA_END - MBOOT_AREA_START);
	boot_wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MEM_LOWER, MBOOT_LOW_MEM_END / 1024);
	boot_wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MEM_UPPER,
	          (uint32_t)((upper_end - MBOOT_HIGH_MEM_START) / 1024));
	if (p->image_name || p->cmdline) {
		flags |= MBOOT_INFO_CMDLINE;
		boot_wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_CMDLINE_OFF, put_cmdline(ram, &str, p));
	}
	boot_wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MODS_COUNT, lay->nr_mods);
	boot_wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MODS_ADDR, MBOOT_MODS_ADDR);
	for (unsigned int i = 0; i < lay->nr_mods; i++) {
		uint32_t e = MBOOT_MODS_ADDR + i * MBOOT_MOD_SIZE;
		const char *s = p->mods[i].string ? p->mods[i].string : "";

		boot_wr32(ram, e, lay->mod_start[i]);
		boot_wr32(ram, e + 4, lay->mod_end[i]);
		boot_wr32(ram, e + 8, boot_put_string(ram, &str, s));
		boot_wr32(ram, e + 12, 0);
	}
	for (unsigned int i = 0; i < nr; i++) {
		uint32_t e = MBOOT_MMAP_ADDR + i * MBOOT_MMAP_ENTRY_SIZE;

		/* size excludes itself: base, length, type = 20 bytes. */
		boot_wr32(ram, e, MBOOT_MMAP_ENTRY_SIZE - 4);
		boot_wr64(ram, e + 4, map[i].base);
		boot_wr64(ram, e + 12, map[i].len);
		boot_wr32(ram, e + 20, map[i].type);
	}
	boot_wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MMAP_LENGTH, nr * MBOOT_MMAP_ENTRY_SIZE);
	boot_wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MMAP_ADDR, MBOOT_MMAP_ADDR);
	boot_wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_LOADER_NAME_OFF,
	          boot_put_string(ram, &str, LOADER_NAME));
	boot_wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_FLAGS, flags);
}

int mboot_load(const struct mboot_params *p, void *ram, uint64_t ram_size,
	       struct mboot_layout *layout, char *why, size_t why_size)
{
	struct boot_img l;
	struct boot_elf e;
	struct mboot_layout lay;
	uint32_t hflags = 0;
	uint8_t *r = ram;
	int ret;

	ret = boot_img_open(&l, p, ram, ram_size, layout, why, why_size);
	if (ret)
		return ret;
	memset(&lay, 0, sizeof(lay));

	ret = boot_elf_header(&l, false, &e);
	if (ret)
		return ret;
	ret = find_header(&l, &hflags);
	if (ret)
		return ret;
	if (hflags & MBOOT_HDR_AOUT_KLUDGE)
		return boot_fail(&l, -ENOEXEC, "Multiboot a.out kludge (flag 16) is not supported, only ELF");
	/* Bits 0-15 are requirements: refuse the ones this loader cannot meet. */
	if (hflags & 0xfff8U)
		return boot_fail(&l, -ENOEXEC, "Multiboot header requires unsupported features (flags 0x%x)",
			         hflags);
	lay.header_flags = hflags;
	ret = boot_elf_segments(&l, &e, ram_size, "Multiboot info area", true, &lay);
	if (ret)
		return ret;
	ret = boot_place_modules(&l, p, ram_size, "Multiboot", &lay);
	if (ret)
		return ret;
	ret = check_strings(&l, p);
	if (ret)
		return ret;

	/* Everything checked: now write RAM. */
	boot_elf_copy(&l, &lay, r);
	for (unsigned int i = 0; i < lay.nr_mods; i++)
		if (p->mods[i].size)
			memcpy(r + lay.mod_start[i], p->mods[i].data, p->mods[i].size);
	write_info(r, ram_size, p, &lay);
	lay.info_addr = MBOOT_INFO_ADDR;
	lay.protocol = BOOT_MULTIBOOT;
	lay.eax = MBOOT_BOOT_MAGIC;
	lay.ebx = MBOOT_INFO_ADDR;
	*layout = lay;
	return 0;
}
