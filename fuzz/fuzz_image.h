/* SPDX-License-Identifier: MIT */
/*
 * What the image-loader targets (fuzz_mboot, fuzz_pvh) check alike after a
 * load the loader accepted: every ELF segment it placed, against the file
 * and RAM.  Include after fuzz_util.h (CHECK) and <vintc/mboot.h>.
 */
#ifndef VINTC_FUZZ_IMAGE_H
#define VINTC_FUZZ_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A written range of RAM: [start, end). */
struct range { uint64_t start, end; };

static inline int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* n zero bytes at p, compared against zero_ref (ref_size long) in chunks. */
static inline bool fuzz_all_zero(const uint8_t *p, size_t n, const uint8_t *zero_ref,
				 size_t ref_size)
{
	for (size_t done = 0, k; done < n; done += k) {
		k = n - done < ref_size ? n - done : ref_size;
		if (memcmp(p + done, zero_ref, k))
			return false;
	}
	return true;
}

/*
 * Each segment sized, inside RAM and the file, clear of the loader area,
 * the APIC page and the other segments, its bytes the file's and its bss
 * zero; the entry inside one; kernel_end their end.  Each segment's range
 * goes to r[*nr++]; returns the segments' end.
 */
static inline uint64_t fuzz_check_segments(const struct mboot_params *p,
					   const struct mboot_layout *lay, const uint8_t *mem,
					   uint64_t ram_size, const uint8_t *zero_ref,
					   size_t ref_size, struct range *r, unsigned int *nr)
{
	const uint8_t *img = p->image;
	bool entry_in = false;
	uint64_t end = 0;

	CHECK(lay->nr_segments >= 1 && lay->nr_segments <= MBOOT_MAX_SEGMENTS, "%u segments",
	      lay->nr_segments);
	for (unsigned int i = 0; i < lay->nr_segments; i++) {
		const struct mboot_segment *s = &lay->seg[i];
		uint64_t s_end = (uint64_t)s->paddr + s->memsz;

		CHECK(s->memsz && s->filesz <= s->memsz, "segment %u sizes", i);
		CHECK(s_end <= ram_size && s_end <= MBOOT_LOW_RAM_END, "segment %u ends at 0x%llx", i,
		      (unsigned long long)s_end);
		CHECK((uint64_t)s->offset + s->filesz <= p->image_size, "segment %u file range", i);
		CHECK(s_end <= MBOOT_AREA_START || s->paddr >= MBOOT_AREA_END,
		      "segment %u touches the loader area", i);
		CHECK(s_end <= MBOOT_APIC_PAGE ||
		      s->paddr >= (uint64_t)MBOOT_APIC_PAGE + MBOOT_APIC_PAGE_SIZE,
		      "segment %u touches the APIC page", i);
		for (unsigned int j = 0; j < i; j++) {
			const struct mboot_segment *o = &lay->seg[j];

			CHECK(s_end <= o->paddr || (uint64_t)o->paddr + o->memsz <= s->paddr,
			      "segments %u and %u overlap", i, j);
		}
		CHECK(!memcmp(mem + s->paddr, img + s->offset, s->filesz),
		      "segment %u bytes differ from the file", i);
		CHECK(fuzz_all_zero(mem + s->paddr + s->filesz, s->memsz - s->filesz, zero_ref,
				    ref_size),
		      "segment %u bss not zero", i);
		if (lay->entry >= s->paddr && lay->entry < s_end)
			entry_in = true;
		if (s_end > end)
			end = s_end;
		r[(*nr)++] = (struct range){ s->paddr, s_end };
	}
	CHECK(entry_in, "entry 0x%x outside every segment", lay->entry);
	CHECK(lay->kernel_end == end, "kernel_end 0x%x, segments end at 0x%llx",
	      lay->kernel_end, (unsigned long long)end);
	return end;
}

#endif
