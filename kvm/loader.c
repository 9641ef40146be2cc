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
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <vintc/mboot.h>

/* ELF32 constants used here (System V ABI, i386 supplement). */
#define EI_NIDENT	16
#define EI_CLASS	4
#define EI_DATA		5
#define EI_VERSION	6
#define ELFCLASS32	1
#define ELFCLASS64	2
#define ELFDATA2LSB	1
#define ET_EXEC		2
#define EM_386		3
#define PT_LOAD		1
#define EHDR_SIZE	52
#define PHDR_SIZE	32

#define PAGE_SIZE	0x1000ULL
#define LOADER_NAME	"vintc"

struct loader {
	const uint8_t *img;
	size_t size;
	char *why;
	size_t why_size;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct loader *l, int err, const char *fmt, ...)
{
	va_list ap;

	if (l->why && l->why_size) {
		va_start(ap, fmt);
		vsnprintf(l->why, l->why_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Callers have checked off + 2/4 <= size. */
static uint16_t rd16(const uint8_t *p, uint64_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t rd32(const uint8_t *p, uint64_t off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
	       (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
}

static void wr32(uint8_t *p, uint64_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static bool overlaps(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
	return a < b_end && b < a_end;
}

static uint64_t page_up(uint64_t v)
{
	return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

/* The Multiboot header: magic, flags, checksum, 4-aligned, first 8 KiB. */
static int find_header(struct loader *l, uint32_t *flags)
{
	size_t limit = l->size < MBOOT_SEARCH_LIMIT ? l->size : MBOOT_SEARCH_LIMIT;
	bool bad_sum = false;
	uint64_t bad_off = 0;

	for (uint64_t off = 0; off + 12 <= limit; off += 4) {
		uint32_t magic = rd32(l->img, off), f, sum;

		if (magic != MBOOT_HEADER_MAGIC)
			continue;
		f = rd32(l->img, off + 4);
		sum = rd32(l->img, off + 8);
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
		return fail(l, -ENOEXEC, "Multiboot header at offset 0x%llx has a bad checksum",
			    (unsigned long long)bad_off);
	return fail(l, -ENOEXEC, "no Multiboot header (magic 0x%08x) in the first %u bytes",
		    MBOOT_HEADER_MAGIC, MBOOT_SEARCH_LIMIT);
}

static int check_ehdr(struct loader *l)
{
	const uint8_t *e = l->img;

	if (l->size < 4 || memcmp(e, "\177ELF", 4))
		return fail(l, -ENOEXEC, "not an ELF file");
	if (l->size < EHDR_SIZE)
		return fail(l, -ENOEXEC, "truncated ELF header (%zu bytes, need %u)", l->size,
			    EHDR_SIZE);
	if (e[EI_CLASS] != ELFCLASS32)
		return fail(l, -ENOEXEC, "not a 32-bit ELF (class %u%s)", e[EI_CLASS],
			    e[EI_CLASS] == ELFCLASS64 ? ", 64-bit" : "");
	if (e[EI_DATA] != ELFDATA2LSB)
		return fail(l, -ENOEXEC, "not a little-endian ELF (data encoding %u)", e[EI_DATA]);
	if (rd16(e, 18) != EM_386)
		return fail(l, -ENOEXEC, "not an i386 ELF (machine %u, want %u)", rd16(e, 18),
			    EM_386);
	if (rd16(e, 16) != ET_EXEC)
		return fail(l, -ENOEXEC, "not an ELF executable (type %u, want ET_EXEC)",
			    rd16(e, 16));
	return 0;
}

/* Parse, place and check the PT_LOAD segments; fills layout->seg[]. */
static int check_segments(struct loader *l, uint64_t ram_size, struct mboot_layout *lay)
{
	uint32_t phoff = rd32(l->img, 28);
	uint16_t phentsize = rd16(l->img, 42), phnum = rd16(l->img, 44);
	uint32_t entry = rd32(l->img, 24);
	bool entry_found = false;
	uint64_t end = 0;

	if (!phnum)
		return fail(l, -ENOEXEC, "ELF has no program headers");
	if (phentsize < PHDR_SIZE)
		return fail(l, -ENOEXEC, "ELF program header size %u is below %u", phentsize,
			    PHDR_SIZE);
	if (phnum > MBOOT_MAX_PHDRS)
		return fail(l, -E2BIG, "ELF has %u program headers, more than %u", phnum,
			    MBOOT_MAX_PHDRS);
	if ((uint64_t)phoff + (uint64_t)phnum * phentsize > l->size)
		return fail(l, -ENOEXEC, "truncated file: program headers end at 0x%llx, file is 0x%zx bytes",
			    (unsigned long long)((uint64_t)phoff + (uint64_t)phnum * phentsize),
			    l->size);

	lay->nr_segments = 0;
	for (unsigned int i = 0; i < phnum; i++) {
		uint64_t ph = (uint64_t)phoff + (uint64_t)i * phentsize;
		uint32_t off = rd32(l->img, ph + 4), va = rd32(l->img, ph + 8);
		uint32_t pa = rd32(l->img, ph + 12), filesz = rd32(l->img, ph + 16);
		uint32_t memsz = rd32(l->img, ph + 20);
		uint64_t seg_end = (uint64_t)pa + memsz;
		struct mboot_segment *s;

		if (rd32(l->img, ph) != PT_LOAD || !memsz)
			continue;
		if (lay->nr_segments == MBOOT_MAX_SEGMENTS)
			return fail(l, -E2BIG, "more than %u loadable segments",
				    MBOOT_MAX_SEGMENTS);
		if (filesz > memsz)
			return fail(l, -ENOEXEC, "segment %u: file size 0x%x exceeds memory size 0x%x",
				    i, filesz, memsz);
		if ((uint64_t)off + filesz > l->size)
			return fail(l, -ENOEXEC, "truncated file: segment %u needs bytes up to 0x%llx, file is 0x%zx bytes",
				    i, (unsigned long long)((uint64_t)off + filesz), l->size);
		if (seg_end > ram_size)
			return fail(l, -ERANGE, "segment %u (0x%x-0x%llx) is outside RAM (0x0-0x%llx)",
				    i, pa, (unsigned long long)seg_end - 1,
				    (unsigned long long)ram_size - 1);
		if (overlaps(pa, seg_end, MBOOT_APIC_PAGE,
			     (uint64_t)MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE))
			return fail(l, -ERANGE, "segment %u (0x%x-0x%llx) overlaps the local APIC page (0x%x-0x%x)",
				    i, pa, (unsigned long long)seg_end - 1, MBOOT_APIC_PAGE,
				    MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE - 1);
		if (overlaps(pa, seg_end, MBOOT_AREA_START, MBOOT_AREA_END))
			return fail(l, -ERANGE, "segment %u (0x%x-0x%llx) overlaps the Multiboot info area (0x%x-0x%x)",
				    i, pa, (unsigned long long)seg_end - 1, MBOOT_AREA_START,
				    MBOOT_AREA_END - 1);
		for (unsigned int j = 0; j < lay->nr_segments; j++) {
			const struct mboot_segment *o = &lay->seg[j];

			if (overlaps(pa, seg_end, o->paddr, (uint64_t)o->paddr + o->memsz))
				return fail(l, -ERANGE, "segment %u (0x%x-0x%llx) overlaps another segment (0x%x-0x%llx)",
					    i, pa, (unsigned long long)seg_end - 1, o->paddr,
					    (unsigned long long)o->paddr + o->memsz - 1);
		}
		s = &lay->seg[lay->nr_segments];
		s->paddr = pa;
		s->filesz = filesz;
		s->memsz = memsz;
		s->offset = off;
		lay->nr_segments++;
		if (seg_end > end)
			end = seg_end;
		/*
		 * e_entry is a virtual address; kernels linked high with
		 * physical load addresses (vaddr != paddr) enter through the
		 * physical alias, as QEMU translates it.
		 */
		if (!entry_found && entry >= va && (uint64_t)entry < (uint64_t)va + memsz) {
			lay->entry = entry - va + pa;
			entry_found = true;
		}
	}
	if (!lay->nr_segments)
		return fail(l, -ENOEXEC, "ELF has no loadable segments");
	if (!entry_found)
		return fail(l, -ERANGE, "entry point 0x%x is outside every loadable segment", entry);
	lay->kernel_end = (uint32_t)end;
	if (end > UINT32_MAX)
		lay->kernel_end = UINT32_MAX;
	return 0;
}

/* Modules go page-aligned after the kernel, above 1 MiB. */
static int place_modules(struct loader *l, const struct mboot_params *p, uint64_t ram_size,
			 struct mboot_layout *lay)
{
	uint64_t at = page_up(lay->kernel_end);

	if (at < MBOOT_HIGH_MEM_START)
		at = MBOOT_HIGH_MEM_START;
	if (p->nr_mods > MBOOT_MAX_MODS)
		return fail(l, -E2BIG, "%u modules, at most %u", p->nr_mods, MBOOT_MAX_MODS);
	if (p->nr_mods && !p->mods)
		return fail(l, -EINVAL, "module list is NULL");
	for (unsigned int i = 0; i < p->nr_mods; i++) {
		const struct mboot_module *m = &p->mods[i];

		if (m->size && !m->data)
			return fail(l, -EINVAL, "module %u has no data", i);
		if (m->size > ram_size || at + m->size > ram_size)
			return fail(l, -E2BIG, "module %u (%zu bytes) does not fit: it would end at 0x%llx, RAM ends at 0x%llx",
				    i, m->size, (unsigned long long)(at + m->size),
				    (unsigned long long)ram_size);
		/* Multiboot addresses are 32 bits: mod_end must not wrap to 0. */
		if (at + m->size > UINT32_MAX)
			return fail(l, -E2BIG, "module %u (%zu bytes) would end at 0x%llx, beyond the 32-bit addresses Multiboot passes",
				    i, m->size, (unsigned long long)(at + m->size));
		if (overlaps(at, at + m->size, MBOOT_APIC_PAGE,
			     (uint64_t)MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE))
			return fail(l, -E2BIG, "module %u (%zu bytes) would overlap the local APIC page at 0x%x",
				    i, m->size, MBOOT_APIC_PAGE);
		lay->mod_start[i] = (uint32_t)at;
		lay->mod_end[i] = (uint32_t)(at + m->size);
		at = page_up(at + m->size);
	}
	lay->nr_mods = p->nr_mods;
	return 0;
}

/* Total bytes the strings area needs: cmdline, module strings, name. */
static int check_strings(struct loader *l, const struct mboot_params *p)
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
		return fail(l, -E2BIG, "command line and module strings take %llu bytes, at most %u fit",
			    (unsigned long long)need, MBOOT_AREA_END - MBOOT_STRINGS_ADDR);
	return 0;
}

static uint32_t put_string(uint8_t *ram, uint32_t *at, const char *s)
{
	uint32_t addr = *at;
	size_t n = strlen(s) + 1;

	memcpy(ram + addr, s, n);
	*at += (uint32_t)n;
	return addr;
}

/* "IMAGE_NAME CMDLINE", as QEMU's "%s %s"; cmdline alone without a name. */
static uint32_t put_cmdline(uint8_t *ram, uint32_t *at, const struct mboot_params *p)
{
	uint32_t addr = *at;
	size_t n;

	if (!p->image_name)
		return put_string(ram, at, p->cmdline);
	n = strlen(p->image_name);
	memcpy(ram + addr, p->image_name, n);
	ram[addr + n] = ' ';
	*at += (uint32_t)n + 1;
	put_string(ram, at, p->cmdline ? p->cmdline : "");
	return addr;
}

static void write_info(uint8_t *ram, uint64_t ram_size, const struct mboot_params *p,
		       struct mboot_layout *lay)
{
	uint32_t flags = MBOOT_INFO_MEM | MBOOT_INFO_MODS | MBOOT_INFO_MMAP |
			 MBOOT_INFO_LOADER_NAME;
	uint32_t str = MBOOT_STRINGS_ADDR;
	uint64_t apic_end = (uint64_t)MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE;
	uint64_t upper_end = ram_size < MBOOT_APIC_PAGE ? ram_size : MBOOT_APIC_PAGE;
	struct { uint64_t base, len; uint32_t type; } map[MBOOT_MMAP_MAX_ENTRIES] = {
		{ 0, MBOOT_LOW_MEM_END, MBOOT_MMAP_AVAILABLE },
		{ MBOOT_LOW_MEM_END, MBOOT_HIGH_MEM_START - MBOOT_LOW_MEM_END,
		  MBOOT_MMAP_RESERVED },
		{ MBOOT_HIGH_MEM_START, upper_end - MBOOT_HIGH_MEM_START, MBOOT_MMAP_AVAILABLE },
		{ MBOOT_APIC_PAGE, MBOOT_APIC_PAGE_SIZE, MBOOT_MMAP_RESERVED },
		{ apic_end, ram_size > apic_end ? ram_size - apic_end : 0, MBOOT_MMAP_AVAILABLE },
	};
	/* The APIC page is listed even above RAM's end; RAM past it only if there is any. */
	unsigned int nr = ram_size > apic_end ? 5 : 4;

	lay->nr_mmap = nr;

	memset(ram + MBOOT_AREA_START, 0, MBOOT_AREA_END - MBOOT_AREA_START);
	wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MEM_LOWER, MBOOT_LOW_MEM_END / 1024);
	wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MEM_UPPER,
	     (uint32_t)((upper_end - MBOOT_HIGH_MEM_START) / 1024));
	if (p->image_name || p->cmdline) {
		flags |= MBOOT_INFO_CMDLINE;
		wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_CMDLINE_OFF, put_cmdline(ram, &str, p));
	}
	wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MODS_COUNT, lay->nr_mods);
	wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MODS_ADDR, MBOOT_MODS_ADDR);
	for (unsigned int i = 0; i < lay->nr_mods; i++) {
		uint32_t e = MBOOT_MODS_ADDR + i * MBOOT_MOD_SIZE;
		const char *s = p->mods[i].string ? p->mods[i].string : "";

		wr32(ram, e, lay->mod_start[i]);
		wr32(ram, e + 4, lay->mod_end[i]);
		wr32(ram, e + 8, put_string(ram, &str, s));
		wr32(ram, e + 12, 0);
	}
	for (unsigned int i = 0; i < nr; i++) {
		uint32_t e = MBOOT_MMAP_ADDR + i * MBOOT_MMAP_ENTRY_SIZE;

		/* size excludes itself: base, length, type = 20 bytes. */
		wr32(ram, e, MBOOT_MMAP_ENTRY_SIZE - 4);
		wr64(ram, e + 4, map[i].base);
		wr64(ram, e + 12, map[i].len);
		wr32(ram, e + 20, map[i].type);
	}
	wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MMAP_LENGTH, nr * MBOOT_MMAP_ENTRY_SIZE);
	wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_MMAP_ADDR, MBOOT_MMAP_ADDR);
	wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_LOADER_NAME_OFF,
	     put_string(ram, &str, LOADER_NAME));
	wr32(ram, MBOOT_INFO_ADDR + MBOOT_INFO_FLAGS, flags);
}

int mboot_load(const struct mboot_params *p, void *ram, uint64_t ram_size,
	       struct mboot_layout *layout, char *why, size_t why_size)
{
	struct loader l = { .why = why, .why_size = why_size };
	struct mboot_layout lay;
	uint32_t hflags = 0;
	uint8_t *r = ram;
	int ret;

	if (why && why_size)
		why[0] = '\0';
	if (!p || !ram || !layout || (!p->image && p->image_size))
		return fail(&l, -EINVAL, "missing loader argument");
	if (ram_size < MBOOT_MIN_RAM || ram_size > MBOOT_MAX_RAM)
		return fail(&l, -EINVAL, "RAM size 0x%llx is outside 0x%llx..0x%llx",
			    (unsigned long long)ram_size, MBOOT_MIN_RAM, MBOOT_MAX_RAM);
	l.img = p->image;
	l.size = p->image_size;
	memset(&lay, 0, sizeof(lay));

	ret = check_ehdr(&l);
	if (ret)
		return ret;
	ret = find_header(&l, &hflags);
	if (ret)
		return ret;
	if (hflags & MBOOT_HDR_AOUT_KLUDGE)
		return fail(&l, -ENOEXEC, "Multiboot a.out kludge (flag 16) is not supported, only ELF");
	/* Bits 0-15 are requirements: refuse the ones this loader cannot meet. */
	if (hflags & 0xfff8U)
		return fail(&l, -ENOEXEC, "Multiboot header requires unsupported features (flags 0x%x)",
			    hflags);
	lay.header_flags = hflags;
	ret = check_segments(&l, ram_size, &lay);
	if (ret)
		return ret;
	ret = place_modules(&l, p, ram_size, &lay);
	if (ret)
		return ret;
	ret = check_strings(&l, p);
	if (ret)
		return ret;

	/* Everything checked: now write RAM. */
	for (unsigned int i = 0; i < lay.nr_segments; i++) {
		const struct mboot_segment *s = &lay.seg[i];

		memcpy(r + s->paddr, l.img + s->offset, s->filesz);
		memset(r + s->paddr + s->filesz, 0, s->memsz - s->filesz);
	}
	for (unsigned int i = 0; i < lay.nr_mods; i++)
		if (p->mods[i].size)
			memcpy(r + lay.mod_start[i], p->mods[i].data, p->mods[i].size);
	write_info(r, ram_size, p, &lay);
	lay.info_addr = MBOOT_INFO_ADDR;
	*layout = lay;
	return 0;
}
