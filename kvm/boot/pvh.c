// SPDX-License-Identifier: MIT
/*
 * PVH loader (see pvh.h).  The image is untrusted: the note walk is
 * bounded by its segment and by the file, and everything is checked
 * before RAM is written.
 */
#include <errno.h>
#include <string.h>

#include "image.h"
#include "pvh.h"

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~3ULL;
}

/*
 * Find the PHYS32_ENTRY note.  1 with its descriptor's offset and size,
 * 0 when there is none, a negative errno when the note table is broken.
 */
static int find_note(struct boot_img *l, const struct boot_elf *e, uint64_t *desc,
		     uint64_t *descsz)
{
	int ret = boot_elf_check_phdrs(l, e);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < e->phnum; i++) {
		struct boot_phdr ph;
		uint64_t at, end;

		boot_elf_phdr(l, e, i, &ph);
		if (ph.type != ELF_PT_NOTE)
			continue;
		if (ph.offset > l->size || ph.filesz > l->size - ph.offset)
			return boot_fail(l, -ENOEXEC, "truncated file: note segment %u needs bytes up to 0x%llx, file is 0x%zx bytes",
					 i, (unsigned long long)(ph.offset + ph.filesz), l->size);
		end = ph.offset + ph.filesz;
		for (at = ph.offset; end - at >= 12;) {
			uint32_t namesz = boot_rd32(l->img, at), dsz = boot_rd32(l->img, at + 4);
			uint32_t type = boot_rd32(l->img, at + 8);
			uint64_t name = at + 12, d = name + align4(namesz);

			if (align4(namesz) > end - name || align4(dsz) > end - d)
				return boot_fail(l, -ENOEXEC, "note at offset 0x%llx overruns its segment %u",
						 (unsigned long long)at, i);
			if (type == PVH_NOTE_PHYS32_ENTRY && namesz == sizeof(PVH_NOTE_NAME) &&
			    !memcmp(l->img + name, PVH_NOTE_NAME, sizeof(PVH_NOTE_NAME))) {
				*desc = d;
				*descsz = dsz;
				return 1;
			}
			at = d + align4(dsz);
		}
	}
	return 0;
}

/* The entry from the note: 4 bytes, or 8 (a 64-bit kernel's .quad) below 4 GiB. */
static int note_entry(struct boot_img *l, const struct boot_elf *e, uint32_t *entry)
{
	uint64_t desc = 0, descsz = 0, v;
	int ret = find_note(l, e, &desc, &descsz);

	if (ret < 0)
		return ret;
	if (!ret)
		return boot_fail(l, -ENOEXEC, "no PVH note (ELF note \"Xen\" type %u, XEN_ELFNOTE_PHYS32_ENTRY)",
				 PVH_NOTE_PHYS32_ENTRY);
	if (descsz < 4)
		return boot_fail(l, -ENOEXEC, "PVH entry note is too short (%llu bytes, need 4)",
				 (unsigned long long)descsz);
	v = descsz >= 8 ? boot_rd64(l->img, desc) : boot_rd32(l->img, desc);
	if (v > UINT32_MAX)
		return boot_fail(l, -ERANGE, "PVH entry point 0x%llx is above 4 GiB",
				 (unsigned long long)v);
	*entry = (uint32_t)v;
	return 0;
}

bool pvh_probe(const void *image, size_t size)
{
	struct boot_img l = { .img = image, .size = size };
	uint64_t desc, descsz;
	struct boot_elf e;

	return image && !boot_elf_header(&l, true, &e) && find_note(&l, &e, &desc, &descsz) > 0;
}

static int check_entry(struct boot_img *l, const struct mboot_layout *lay)
{
	for (unsigned int i = 0; i < lay->nr_segments; i++) {
		const struct mboot_segment *s = &lay->seg[i];

		if (lay->entry >= s->paddr && lay->entry - s->paddr < s->memsz)
			return 0;
	}
	return boot_fail(l, -ERANGE, "PVH entry point 0x%x is outside every loadable segment",
			 lay->entry);
}

static int check_strings(struct boot_img *l, const struct mboot_params *p)
{
	uint64_t need = (p->cmdline ? strlen(p->cmdline) : 0) + 1;

	for (unsigned int i = 0; i < p->nr_mods; i++)
		need += (p->mods[i].string ? strlen(p->mods[i].string) : 0) + 1;
	if (need > PVH_AREA_END - PVH_STRINGS_ADDR)
		return boot_fail(l, -E2BIG, "command line and module strings take %llu bytes, at most %u fit",
				 (unsigned long long)need, PVH_AREA_END - PVH_STRINGS_ADDR);
	return 0;
}

/* Whole MiB, rounded up: what -m must be at least. */
static unsigned long long mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + (1ULL << 20) - 1) >> 20);
}

/*
 * Segments, then modules, that would fit below 3 GiB (where RAM below
 * 4 GiB ends) with more RAM: -m is too small, and the message names the
 * MiB they take.  What no RAM size cures is left to boot_elf_segments()
 * and boot_place_modules() to report.
 */
static int check_ram(struct boot_img *l, const struct boot_elf *e, const struct mboot_params *p,
		     uint64_t ram_size)
{
	unsigned long long m = ram_size >> 20;
	uint64_t end = 0, at, mods_end = 0, low = boot_low_ram(ram_size);
	int ret = boot_elf_check_phdrs(l, e);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < e->phnum; i++) {
		struct boot_phdr ph;

		boot_elf_phdr(l, e, i, &ph);
		if (ph.type != ELF_PT_LOAD || !ph.memsz)
			continue;
		if (ph.paddr > MBOOT_LOW_RAM_END || ph.memsz > MBOOT_LOW_RAM_END - ph.paddr)
			return 0;
		if (ph.paddr + ph.memsz > end)
			end = ph.paddr + ph.memsz;
	}
	if (end > low)
		return boot_fail(l, -ERANGE, "-m %llu: the kernel needs at least %llu MiB (its segments end at 0x%llx)",
				 m, mib_up(end), (unsigned long long)end);
	if (p->nr_mods > MBOOT_MAX_MODS || (p->nr_mods && !p->mods))
		return 0;
	at = boot_page_up(end) > MBOOT_HIGH_MEM_START ? boot_page_up(end) : MBOOT_HIGH_MEM_START;
	for (unsigned int i = 0; i < p->nr_mods; i++) {
		if (p->mods[i].size > MBOOT_LOW_RAM_END - at)
			return 0;
		mods_end = at + p->mods[i].size;
		at = boot_page_up(mods_end);
	}
	if (mods_end > low)
		return boot_fail(l, -E2BIG, "-m %llu: the kernel and its modules need at least %llu MiB (segments end at 0x%llx, modules at 0x%llx)",
				 m, mib_up(mods_end), (unsigned long long)end,
				 (unsigned long long)mods_end);
	return 0;
}

static void write_start_info(uint8_t *ram, uint64_t ram_size, uint64_t rsdp_paddr,
			     const struct mboot_params *p, struct mboot_layout *lay)
{
	struct boot_mmap map[MBOOT_MMAP_MAX_ENTRIES];
	unsigned int nr = boot_memory_map(ram_size, map);
	uint32_t str = PVH_STRINGS_ADDR, si = PVH_INFO_ADDR;

	memset(ram + MBOOT_AREA_START, 0, PVH_AREA_END - MBOOT_AREA_START);
	boot_wr32(ram, si + PVH_SI_MAGIC, PVH_START_MAGIC);
	boot_wr32(ram, si + PVH_SI_VERSION, PVH_START_VERSION);
	boot_wr32(ram, si + PVH_SI_FLAGS, 0);
	boot_wr32(ram, si + PVH_SI_NR_MODULES, lay->nr_mods);
	boot_wr64(ram, si + PVH_SI_MODLIST_PADDR, lay->nr_mods ? PVH_MODLIST_ADDR : 0);
	boot_wr64(ram, si + PVH_SI_CMDLINE_PADDR,
		  boot_put_string(ram, &str, p->cmdline ? p->cmdline : ""));
	boot_wr64(ram, si + PVH_SI_RSDP_PADDR, rsdp_paddr);
	boot_wr64(ram, si + PVH_SI_MEMMAP_PADDR, PVH_MEMMAP_ADDR);
	boot_wr32(ram, si + PVH_SI_MEMMAP_ENTRIES, nr);
	for (unsigned int i = 0; i < nr; i++) {
		uint32_t e = PVH_MEMMAP_ADDR + i * PVH_MEMMAP_ENTRY_SIZE;

		boot_wr64(ram, e, map[i].base);
		boot_wr64(ram, e + 8, map[i].len);
		boot_wr32(ram, e + 16, map[i].type);
	}
	for (unsigned int i = 0; i < lay->nr_mods; i++) {
		uint32_t e = PVH_MODLIST_ADDR + i * PVH_MODLIST_ENTRY_SIZE;
		const char *s = p->mods[i].string ? p->mods[i].string : "";

		boot_wr64(ram, e, lay->mod_start[i]);
		boot_wr64(ram, e + 8, lay->mod_end[i] - lay->mod_start[i]);
		boot_wr64(ram, e + 16, boot_put_string(ram, &str, s));
	}
	lay->nr_mmap = nr;
}

int pvh_load(const struct mboot_params *p, uint64_t rsdp_paddr, void *ram, uint64_t ram_size,
	     struct mboot_layout *layout, char *why, size_t why_size)
{
	struct boot_img l;
	struct mboot_layout lay;
	struct boot_elf e;
	uint8_t *r = ram;
	int ret;

	ret = boot_img_open(&l, p, ram, ram_size, layout, why, why_size);
	if (ret)
		return ret;
	memset(&lay, 0, sizeof(lay));

	ret = boot_elf_header(&l, true, &e);
	if (!ret)
		ret = note_entry(&l, &e, &lay.entry);
	if (!ret)
		ret = check_ram(&l, &e, p, ram_size);
	if (!ret)
		ret = boot_elf_segments(&l, &e, ram_size, "PVH start info area", false, &lay);
	if (!ret)
		ret = check_entry(&l, &lay);
	if (!ret)
		ret = boot_place_modules(&l, p, ram_size, "PVH", &lay);
	if (!ret)
		ret = check_strings(&l, p);
	if (ret)
		return ret;

	/* Everything checked: now write RAM. */
	boot_elf_copy(&l, &lay, r);
	for (unsigned int i = 0; i < lay.nr_mods; i++)
		if (p->mods[i].size)
			memcpy(r + lay.mod_start[i], p->mods[i].data, p->mods[i].size);
	write_start_info(r, ram_size, rsdp_paddr, p, &lay);
	lay.info_addr = PVH_INFO_ADDR;
	lay.protocol = BOOT_PVH;
	lay.ebx = PVH_INFO_ADDR;
	*layout = lay;
	return 0;
}
