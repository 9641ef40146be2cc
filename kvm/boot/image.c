// SPDX-License-Identifier: MIT
/*
 * What the boot loaders share: see image.h.  Sums are done in 64 bits and
 * 64-bit ELF fields are compared by subtraction, so nothing wraps.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "image.h"

/* ELF header layout (System V ABI). */
#define EI_CLASS	4
#define EI_DATA		5
#define ELFDATA2LSB	1
#define ET_EXEC		2
#define EHDR32_SIZE	52
#define EHDR64_SIZE	64
#define PHDR32_SIZE	32
#define PHDR64_SIZE	56

int boot_fail(struct boot_img *l, int err, const char *fmt, ...)
{
	va_list ap;

	if (l->why && l->why_size) {
		va_start(ap, fmt);
		vsnprintf(l->why, l->why_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

int boot_img_open(struct boot_img *l, const struct mboot_params *p, const void *ram,
		  uint64_t ram_size, const struct mboot_layout *layout, char *why,
		  size_t why_size)
{
	*l = (struct boot_img){ .why = why, .why_size = why_size };
	if (why && why_size)
		why[0] = '\0';
	if (!p || !ram || !layout || (!p->image && p->image_size))
		return boot_fail(l, -EINVAL, "missing loader argument");
	if (ram_size < MBOOT_MIN_RAM || ram_size > MBOOT_MAX_RAM)
		return boot_fail(l, -EINVAL, "RAM size 0x%llx is outside 0x%llx..0x%llx",
				 (unsigned long long)ram_size, MBOOT_MIN_RAM, MBOOT_MAX_RAM);
	l->img = p->image;
	l->size = p->image_size;
	return 0;
}

int boot_elf_header(struct boot_img *l, bool allow64, struct boot_elf *e)
{
	const uint8_t *h = l->img;
	uint16_t machine;
	bool is64;

	if (l->size < 4 || memcmp(h, "\177ELF", 4))
		return boot_fail(l, -ENOEXEC, "not an ELF file");
	if (l->size < EHDR32_SIZE)
		return boot_fail(l, -ENOEXEC, "truncated ELF header (%zu bytes, need %u)", l->size,
				 EHDR32_SIZE);
	is64 = allow64 && h[EI_CLASS] == ELF_CLASS64;
	if (h[EI_CLASS] != ELF_CLASS32 && !is64)
		return boot_fail(l, -ENOEXEC, "not a 32-bit ELF (class %u%s)", h[EI_CLASS],
				 h[EI_CLASS] == ELF_CLASS64 ? ", 64-bit" : "");
	if (is64 && l->size < EHDR64_SIZE)
		return boot_fail(l, -ENOEXEC, "truncated ELF header (%zu bytes, need %u)", l->size,
				 EHDR64_SIZE);
	if (h[EI_DATA] != ELFDATA2LSB)
		return boot_fail(l, -ENOEXEC, "not a little-endian ELF (data encoding %u)",
				 h[EI_DATA]);
	machine = boot_rd16(h, 18);
	if (machine != (is64 ? ELF_EM_X86_64 : ELF_EM_386))
		return boot_fail(l, -ENOEXEC, "not an %s ELF (machine %u, want %u)",
				 is64 ? "x86-64" : "i386", machine,
				 is64 ? ELF_EM_X86_64 : ELF_EM_386);
	if (boot_rd16(h, 16) != ET_EXEC)
		return boot_fail(l, -ENOEXEC, "not an ELF executable (type %u, want ET_EXEC)",
				 boot_rd16(h, 16));
	e->is64 = is64;
	if (is64) {
		e->entry = boot_rd64(h, 24);
		e->phoff = boot_rd64(h, 32);
		e->phentsize = boot_rd16(h, 54);
		e->phnum = boot_rd16(h, 56);
	} else {
		e->entry = boot_rd32(h, 24);
		e->phoff = boot_rd32(h, 28);
		e->phentsize = boot_rd16(h, 42);
		e->phnum = boot_rd16(h, 44);
	}
	return 0;
}

int boot_elf_check_phdrs(struct boot_img *l, const struct boot_elf *e)
{
	unsigned int min = e->is64 ? PHDR64_SIZE : PHDR32_SIZE;
	uint64_t need = (uint64_t)e->phnum * e->phentsize;

	if (!e->phnum)
		return boot_fail(l, -ENOEXEC, "ELF has no program headers");
	if (e->phentsize < min)
		return boot_fail(l, -ENOEXEC, "ELF program header size %u is below %u",
				 e->phentsize, min);
	if (e->phnum > MBOOT_MAX_PHDRS)
		return boot_fail(l, -E2BIG, "ELF has %u program headers, more than %u", e->phnum,
				 MBOOT_MAX_PHDRS);
	if (e->phoff > l->size || need > l->size - e->phoff)
		return boot_fail(l, -ENOEXEC, "truncated file: program headers end at 0x%llx, file is 0x%zx bytes",
				 (unsigned long long)(e->phoff + need), l->size);
	return 0;
}

void boot_elf_phdr(const struct boot_img *l, const struct boot_elf *e, unsigned int i,
		   struct boot_phdr *ph)
{
	uint64_t at = e->phoff + (uint64_t)i * e->phentsize;
	const uint8_t *p = l->img;

	ph->type = boot_rd32(p, at);
	if (e->is64) {
		ph->offset = boot_rd64(p, at + 8);
		ph->vaddr = boot_rd64(p, at + 16);
		ph->paddr = boot_rd64(p, at + 24);
		ph->filesz = boot_rd64(p, at + 32);
		ph->memsz = boot_rd64(p, at + 40);
	} else {
		ph->offset = boot_rd32(p, at + 4);
		ph->vaddr = boot_rd32(p, at + 8);
		ph->paddr = boot_rd32(p, at + 12);
		ph->filesz = boot_rd32(p, at + 16);
		ph->memsz = boot_rd32(p, at + 20);
	}
}

/* One PT_LOAD segment: in the file, in RAM, off the holes and the others. */
static int check_segment(struct boot_img *l, unsigned int i, const struct boot_phdr *ph,
			 uint64_t ram_size, const char *area, const struct mboot_layout *lay)
{
	unsigned long long pa = ph->paddr, last = ph->paddr + ph->memsz - 1;
	uint64_t end = ph->paddr + ph->memsz, low = boot_low_ram(ram_size);

	if (ph->filesz > ph->memsz)
		return boot_fail(l, -ENOEXEC, "segment %u: file size 0x%llx exceeds memory size 0x%llx",
				 i, (unsigned long long)ph->filesz, (unsigned long long)ph->memsz);
	if (ph->offset > l->size || ph->filesz > l->size - ph->offset)
		return boot_fail(l, -ENOEXEC, "truncated file: segment %u needs bytes up to 0x%llx, file is 0x%zx bytes",
				 i, (unsigned long long)(ph->offset + ph->filesz), l->size);
	if (ph->paddr > low || ph->memsz > low - ph->paddr)
		return boot_fail(l, -ERANGE, "segment %u (0x%llx-0x%llx) is outside RAM (0x0-0x%llx)",
				 i, pa, last, (unsigned long long)low - 1);
	if (boot_overlaps(ph->paddr, end, MBOOT_APIC_PAGE,
			  (uint64_t)MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE))
		return boot_fail(l, -ERANGE, "segment %u (0x%llx-0x%llx) overlaps the local APIC page (0x%x-0x%x)",
				 i, pa, last, MBOOT_APIC_PAGE,
				 MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE - 1);
	if (boot_overlaps(ph->paddr, end, MBOOT_AREA_START, MBOOT_AREA_END))
		return boot_fail(l, -ERANGE, "segment %u (0x%llx-0x%llx) overlaps the %s (0x%x-0x%x)",
				 i, pa, last, area, MBOOT_AREA_START, MBOOT_AREA_END - 1);
	for (unsigned int j = 0; j < lay->nr_segments; j++) {
		const struct mboot_segment *o = &lay->seg[j];

		if (boot_overlaps(ph->paddr, end, o->paddr, (uint64_t)o->paddr + o->memsz))
			return boot_fail(l, -ERANGE, "segment %u (0x%llx-0x%llx) overlaps another segment (0x%x-0x%llx)",
					 i, pa, last, o->paddr,
					 (unsigned long long)o->paddr + o->memsz - 1);
	}
	return 0;
}

int boot_elf_segments(struct boot_img *l, const struct boot_elf *e, uint64_t ram_size,
		      const char *area, bool map_entry, struct mboot_layout *lay)
{
	bool entry_found = false;
	uint64_t end = 0;
	int ret = boot_elf_check_phdrs(l, e);

	if (ret)
		return ret;
	lay->nr_segments = 0;
	for (unsigned int i = 0; i < e->phnum; i++) {
		struct mboot_segment *s;
		struct boot_phdr ph;

		boot_elf_phdr(l, e, i, &ph);
		if (ph.type != ELF_PT_LOAD || !ph.memsz)
			continue;
		if (lay->nr_segments == MBOOT_MAX_SEGMENTS)
			return boot_fail(l, -E2BIG, "more than %u loadable segments",
					 MBOOT_MAX_SEGMENTS);
		ret = check_segment(l, i, &ph, ram_size, area, lay);
		if (ret)
			return ret;
		/* Segments end below 3 GiB and the file is smaller: all fit 32 bits. */
		s = &lay->seg[lay->nr_segments++];
		s->paddr = (uint32_t)ph.paddr;
		s->filesz = (uint32_t)ph.filesz;
		s->memsz = (uint32_t)ph.memsz;
		s->offset = (uint32_t)ph.offset;
		if (ph.paddr + ph.memsz > end)
			end = ph.paddr + ph.memsz;
		/*
		 * e_entry is a virtual address; kernels linked high with
		 * physical load addresses (vaddr != paddr) enter through the
		 * physical alias, as QEMU translates it.
		 */
		if (map_entry && !entry_found && e->entry >= ph.vaddr &&
		    e->entry - ph.vaddr < ph.memsz) {
			lay->entry = (uint32_t)(e->entry - ph.vaddr + ph.paddr);
			entry_found = true;
		}
	}
	if (!lay->nr_segments)
		return boot_fail(l, -ENOEXEC, "ELF has no loadable segments");
	if (map_entry && !entry_found)
		return boot_fail(l, -ERANGE, "entry point 0x%llx is outside every loadable segment",
				 (unsigned long long)e->entry);
	lay->kernel_end = end > UINT32_MAX ? UINT32_MAX : (uint32_t)end;
	return 0;
}

void boot_elf_copy(const struct boot_img *l, const struct mboot_layout *lay, uint8_t *ram)
{
	for (unsigned int i = 0; i < lay->nr_segments; i++) {
		const struct mboot_segment *s = &lay->seg[i];

		memcpy(ram + s->paddr, l->img + s->offset, s->filesz);
		memset(ram + s->paddr + s->filesz, 0, s->memsz - s->filesz);
	}
}

int boot_place_modules(struct boot_img *l, const struct mboot_params *p, uint64_t ram_size,
		       const char *proto, struct mboot_layout *lay)
{
	uint64_t at = boot_page_up(lay->kernel_end), low = boot_low_ram(ram_size);

	if (at < MBOOT_HIGH_MEM_START)
		at = MBOOT_HIGH_MEM_START;
	if (p->nr_mods > MBOOT_MAX_MODS)
		return boot_fail(l, -E2BIG, "%u modules, at most %u", p->nr_mods, MBOOT_MAX_MODS);
	if (p->nr_mods && !p->mods)
		return boot_fail(l, -EINVAL, "module list is NULL");
	for (unsigned int i = 0; i < p->nr_mods; i++) {
		const struct mboot_module *m = &p->mods[i];

		if (m->size && !m->data)
			return boot_fail(l, -EINVAL, "module %u has no data", i);
		if (m->size > low || at + m->size > low)
			return boot_fail(l, -E2BIG, "module %u (%zu bytes) does not fit: it would end at 0x%llx, RAM ends at 0x%llx",
					 i, m->size, (unsigned long long)(at + m->size),
					 (unsigned long long)low);
		/* The addresses passed are 32 bits: the end must not wrap to 0. */
		if (at + m->size > UINT32_MAX)
			return boot_fail(l, -E2BIG, "module %u (%zu bytes) would end at 0x%llx, beyond the 32-bit addresses %s passes",
					 i, m->size, (unsigned long long)(at + m->size), proto);
		if (boot_overlaps(at, at + m->size, MBOOT_APIC_PAGE,
				  (uint64_t)MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE))
			return boot_fail(l, -E2BIG, "module %u (%zu bytes) would overlap the local APIC page at 0x%x",
					 i, m->size, MBOOT_APIC_PAGE);
		lay->mod_start[i] = (uint32_t)at;
		lay->mod_end[i] = (uint32_t)(at + m->size);
		at = boot_page_up(at + m->size);
	}
	lay->nr_mods = p->nr_mods;
	return 0;
}

unsigned int boot_memory_map(uint64_t ram_size, struct boot_mmap map[MBOOT_MMAP_MAX_ENTRIES])
{
	uint64_t low = boot_low_ram(ram_size);

	map[0] = (struct boot_mmap){ 0, MBOOT_LOW_MEM_END, MBOOT_MMAP_AVAILABLE };
	map[1] = (struct boot_mmap){ MBOOT_LOW_MEM_END, MBOOT_HIGH_MEM_START - MBOOT_LOW_MEM_END,
				     MBOOT_MMAP_RESERVED };
	map[2] = (struct boot_mmap){ MBOOT_HIGH_MEM_START, low - MBOOT_HIGH_MEM_START,
				     MBOOT_MMAP_AVAILABLE };
	/* The APIC page is listed whatever the RAM; RAM from 4 GiB only if there is any. */
	map[3] = (struct boot_mmap){ MBOOT_APIC_PAGE, MBOOT_APIC_PAGE_SIZE, MBOOT_MMAP_RESERVED };
	if (ram_size == low)
		return 4;
	map[4] = (struct boot_mmap){ MBOOT_HIGH_RAM_START, ram_size - low, MBOOT_MMAP_AVAILABLE };
	return 5;
}
