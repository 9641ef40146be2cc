// SPDX-License-Identifier: MIT
/*
 * Page runs with stable fake host physical addresses.
 *
 * Tables written by hyp/ hold host PAs, and hw/ models follow them the way
 * silicon does, so every page needs a PA that maps back to its memory.  PAs
 * come from a bump allocator above 4 GiB (deterministic for a given
 * allocation order, never reused in a process, so a stale PA left in a
 * table never aliases a newer page) and each page of a run is hashed both
 * by PA and by VA.
 */
#include <stdlib.h>
#include <string.h>

#include <vintc/host.h>

struct page_ent {
	uint64_t pfn;
	uintptr_t vpn;
	struct page_run *run;
	struct page_ent *next_pa, *next_va;
};

struct page_run {
	char *va;
	uint64_t pa;
	unsigned int order;
	enum host_tag tag;
	struct page_ent ents[];
};

/* Bumped by every free: flushes the per-thread translation caches. */
static uint64_t free_gen = 1;

struct tag_stats {
	uint64_t pages, runs, bytes, objects;
};

static struct {
	struct host_rwlock lock;
	struct page_ent **pa_tab, **va_tab;
	size_t nbuckets, nents;
	uint64_t next_pfn;
	uint64_t pages_out, peak_pages;
	struct tag_stats tags[HOST_TAG_NR];
} pg = {
	.lock = { PTHREAD_RWLOCK_INITIALIZER },
	.next_pfn = 0x100000,	/* 4 GiB: real-looking, never zero */
};

static const char *const tag_names[HOST_TAG_NR] = {
	[HOST_TAG_MISC] = "misc",
	[HOST_TAG_VM] = "vm",
	[HOST_TAG_AVIC_PHYS] = "avic_physical_table",
	[HOST_TAG_AVIC_LOGICAL] = "avic_logical_table",
	[HOST_TAG_AVIC_BACKING] = "avic_backing_page",
	[HOST_TAG_IDS] = "id_allocator",
	[HOST_TAG_GICV5_VMT] = "gicv5_vm_table",
	[HOST_TAG_GICV5_VM] = "gicv5_vm_descriptors",
	[HOST_TAG_GICV5_IST] = "gicv5_vist",
};

const char *host_tag_name(enum host_tag tag)
{
	return tag < HOST_TAG_NR ? tag_names[tag] : "?";
}

static size_t hash_key(uint64_t k, size_t nbuckets)
{
	k *= 0x9E3779B97F4A7C15ULL;
	return (size_t)(k >> 32) & (nbuckets - 1);
}

/* Called with the lock held for writing. */
static int tables_grow(void)
{
	size_t n = pg.nbuckets ? pg.nbuckets * 2 : 1024;
	struct page_ent **pa_tab = calloc(n, sizeof(*pa_tab));
	struct page_ent **va_tab = calloc(n, sizeof(*va_tab));

	if (!pa_tab || !va_tab) {
		free(pa_tab);
		free(va_tab);
		return -ENOMEM;
	}
	for (size_t i = 0; i < pg.nbuckets; i++) {
		struct page_ent *e, *next;

		for (e = pg.pa_tab[i]; e; e = next) {
			size_t h = hash_key(e->pfn, n);

			next = e->next_pa;
			e->next_pa = pa_tab[h];
			pa_tab[h] = e;
		}
		for (e = pg.va_tab[i]; e; e = next) {
			size_t h = hash_key(e->vpn, n);

			next = e->next_va;
			e->next_va = va_tab[h];
			va_tab[h] = e;
		}
	}
	free(pg.pa_tab);
	free(pg.va_tab);
	pg.pa_tab = pa_tab;
	pg.va_tab = va_tab;
	pg.nbuckets = n;
	return 0;
}

void *host_pages_alloc(enum host_tag tag, unsigned int order, const char *site)
{
	size_t npages = (size_t)1 << order, bytes = npages << HOST_PAGE_SHIFT;
	struct page_run *run;
	char *va;

	if (order > HOST_MAX_ORDER || tag >= HOST_TAG_NR)
		return NULL;
	if (host_fault_hit(site))
		return NULL;

	va = aligned_alloc(bytes, bytes);
	run = calloc(1, sizeof(*run) + npages * sizeof(run->ents[0]));
	if (!va || !run) {
		free(va);
		free(run);
		return NULL;
	}
	memset(va, 0, bytes);
	run->va = va;
	run->order = order;
	run->tag = tag;

	host_write_lock(&pg.lock);
	if ((pg.nents + npages) * 2 > pg.nbuckets && tables_grow()) {
		host_write_unlock(&pg.lock);
		free(va);
		free(run);
		return NULL;
	}
	pg.next_pfn = (pg.next_pfn + npages - 1) & ~(uint64_t)(npages - 1);
	run->pa = pg.next_pfn << HOST_PAGE_SHIFT;
	pg.next_pfn += npages;
	for (size_t i = 0; i < npages; i++) {
		struct page_ent *e = &run->ents[i];
		size_t h;

		e->pfn = (run->pa >> HOST_PAGE_SHIFT) + i;
		e->vpn = ((uintptr_t)va >> HOST_PAGE_SHIFT) + i;
		e->run = run;
		h = hash_key(e->pfn, pg.nbuckets);
		e->next_pa = pg.pa_tab[h];
		pg.pa_tab[h] = e;
		h = hash_key(e->vpn, pg.nbuckets);
		e->next_va = pg.va_tab[h];
		pg.va_tab[h] = e;
	}
	pg.nents += npages;
	pg.tags[tag].pages += npages;
	pg.tags[tag].runs++;
	pg.pages_out += npages;
	if (pg.pages_out > pg.peak_pages)
		pg.peak_pages = pg.pages_out;
	host_write_unlock(&pg.lock);
	return va;
}

static struct page_ent *find_va(uintptr_t vpn)
{
	struct page_ent *e;

	if (!pg.nbuckets)
		return NULL;
	for (e = pg.va_tab[hash_key(vpn, pg.nbuckets)]; e; e = e->next_va)
		if (e->vpn == vpn)
			return e;
	return NULL;
}

static void unlink_ent(struct page_ent *victim)
{
	struct page_ent **pp;

	for (pp = &pg.pa_tab[hash_key(victim->pfn, pg.nbuckets)]; *pp; pp = &(*pp)->next_pa)
		if (*pp == victim) {
			*pp = victim->next_pa;
			break;
		}
	for (pp = &pg.va_tab[hash_key(victim->vpn, pg.nbuckets)]; *pp; pp = &(*pp)->next_va)
		if (*pp == victim) {
			*pp = victim->next_va;
			break;
		}
}

void host_pages_free(void *va)
{
	struct page_ent *e;
	struct page_run *run;
	size_t npages;

	if (!va)
		return;
	host_write_lock(&pg.lock);
	e = find_va((uintptr_t)va >> HOST_PAGE_SHIFT);
	if (!e || e->run->va != va) {
		/* Freeing something that is not a run start is a hyp/ bug. */
		host_write_unlock(&pg.lock);
		abort();
	}
	run = e->run;
	npages = (size_t)1 << run->order;
	for (size_t i = 0; i < npages; i++)
		unlink_ent(&run->ents[i]);
	pg.nents -= npages;
	pg.tags[run->tag].pages -= npages;
	pg.tags[run->tag].runs--;
	pg.pages_out -= npages;
	/* Before the memory goes: no cache may translate to it any more. */
	__atomic_add_fetch(&free_gen, 1, __ATOMIC_RELEASE);
	host_write_unlock(&pg.lock);
	free(run->va);
	free(run);
}

uint64_t host_pa(const void *va)
{
	uintptr_t v = (uintptr_t)va;
	struct page_ent *e;
	uint64_t pa = 0;

	host_read_lock(&pg.lock);
	e = find_va(v >> HOST_PAGE_SHIFT);
	if (e)
		pa = (e->pfn << HOST_PAGE_SHIFT) | (v & (HOST_PAGE_SIZE - 1));
	host_read_unlock(&pg.lock);
	return pa;
}

/*
 * A small per-thread translation cache in front of the hash, like a TLB.
 * PAs are never reused, so a cached translation can only go stale when a
 * page is freed; every free bumps the generation, which flushes every
 * cache.  (A caller racing a free with its own use of the page was already
 * wrong with the lock: the lock never protected the use.)
 */
#define TLB_ENTRIES 16

struct tlb_ent {
	uint64_t pfn, gen;
	uintptr_t vpn;
};

static __thread struct tlb_ent tlb[TLB_ENTRIES];

void *host_va(uint64_t pa)
{
	uint64_t pfn = pa >> HOST_PAGE_SHIFT, gen = __atomic_load_n(&free_gen, __ATOMIC_ACQUIRE);
	struct tlb_ent *t = &tlb[pfn % TLB_ENTRIES];
	struct page_ent *e;
	void *va = NULL;

	if (t->gen == gen && t->pfn == pfn)
		return (void *)((t->vpn << HOST_PAGE_SHIFT) | (pa & (HOST_PAGE_SIZE - 1)));
	host_read_lock(&pg.lock);
	if (pg.nbuckets)
		for (e = pg.pa_tab[hash_key(pfn, pg.nbuckets)]; e; e = e->next_pa)
			if (e->pfn == pfn) {
				va = (void *)((e->vpn << HOST_PAGE_SHIFT) |
					      (pa & (HOST_PAGE_SIZE - 1)));
				*t = (struct tlb_ent){ .pfn = pfn, .gen = gen, .vpn = e->vpn };
				break;
			}
	host_read_unlock(&pg.lock);
	return va;
}

/* Small allocations carry a header so free can account them. */
struct zhdr {
	size_t size;
	enum host_tag tag;
	uint32_t magic;
} __attribute__((aligned(16)));

#define ZHDR_MAGIC 0x7a616c6cU

void *host_zalloc(enum host_tag tag, size_t size, const char *site)
{
	struct zhdr *h;

	if (tag >= HOST_TAG_NR || size > ((size_t)1 << 40))
		return NULL;
	if (host_fault_hit(site))
		return NULL;
	h = calloc(1, sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	h->tag = tag;
	h->magic = ZHDR_MAGIC;
	host_write_lock(&pg.lock);
	pg.tags[tag].bytes += size;
	pg.tags[tag].objects++;
	host_write_unlock(&pg.lock);
	return h + 1;
}

void host_free(void *p)
{
	struct zhdr *h;

	if (!p)
		return;
	h = (struct zhdr *)p - 1;
	if (h->magic != ZHDR_MAGIC)
		abort();
	h->magic = 0;
	host_write_lock(&pg.lock);
	pg.tags[h->tag].bytes -= h->size;
	pg.tags[h->tag].objects--;
	host_write_unlock(&pg.lock);
	free(h);
}

struct host_mem_stats host_mem_stats(enum host_tag tag)
{
	struct host_mem_stats s = { 0 };

	host_read_lock(&pg.lock);
	for (int t = 0; t < HOST_TAG_NR; t++) {
		if (tag != HOST_TAG_NR && (enum host_tag)t != tag)
			continue;
		s.pages += pg.tags[t].pages;
		s.page_allocs += pg.tags[t].runs;
		s.bytes += pg.tags[t].bytes;
		s.objects += pg.tags[t].objects;
	}
	host_read_unlock(&pg.lock);
	return s;
}

uint64_t host_mem_peak_pages(void)
{
	uint64_t v;

	host_read_lock(&pg.lock);
	v = pg.peak_pages;
	host_read_unlock(&pg.lock);
	return v;
}

void host_mem_reset_peak(void)
{
	host_write_lock(&pg.lock);
	pg.peak_pages = pg.pages_out;
	host_write_unlock(&pg.lock);
}
