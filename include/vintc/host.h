/* SPDX-License-Identifier: MIT */
/*
 * host/: what a kernel would provide to the hypervisor code.
 *
 * Pages with stable fake host physical addresses and per-tag accounting,
 * small accounted allocations, numbered fault-injection sites, locks,
 * atomics with explicit barriers, rate-limited logging (silent by default),
 * model host CPUs with APIC IDs, and the doorbell sink.
 */
#ifndef VINTC_HOST_H
#define VINTC_HOST_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOST_PAGE_SHIFT 12
#define HOST_PAGE_SIZE  (1UL << HOST_PAGE_SHIFT)
#define HOST_MAX_ORDER  10

#define BIT_ULL(n)          (1ULL << (n))
#define GENMASK_ULL(h, l)   ((~0ULL >> (63 - (h))) & (~0ULL << (l)))
#define FIELD_GET(mask, v)  (((v) & (mask)) >> __builtin_ctzll(mask))
#define FIELD_PREP(mask, v) ((((uint64_t)(v)) << __builtin_ctzll(mask)) & (mask))
#define ARRAY_SIZE(a)       (sizeof(a) / sizeof((a)[0]))
#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* ---- accounting tags ------------------------------------------------ */

enum host_tag {
	HOST_TAG_MISC,
	HOST_TAG_VM,            /* generic struct vm / struct vcpu */
	HOST_TAG_AVIC_PHYS,     /* physical APIC ID tables */
	HOST_TAG_AVIC_LOGICAL,  /* logical APIC ID tables */
	HOST_TAG_AVIC_BACKING,  /* vAPIC backing pages */
	HOST_TAG_IDS,           /* ID allocator leaves */
	HOST_TAG_GICV5_VMT,     /* VM table: linear, L1 and L2 */
	HOST_TAG_GICV5_VM,      /* VMD, VPET, VPEDs */
	HOST_TAG_GICV5_IST,     /* virtual SPI and LPI ISTs */
	HOST_TAG_NR
};

const char *host_tag_name(enum host_tag tag);

struct host_mem_stats {
	uint64_t pages;         /* outstanding 4 KiB pages */
	uint64_t page_allocs;   /* outstanding page runs */
	uint64_t bytes;         /* outstanding small-allocation bytes */
	uint64_t objects;       /* outstanding small allocations */
};

/* Outstanding by tag, or summed over every tag when tag == HOST_TAG_NR. */
struct host_mem_stats host_mem_stats(enum host_tag tag);
/* Peak of outstanding pages since the last host_mem_reset_peak(). */
uint64_t host_mem_peak_pages(void);
void host_mem_reset_peak(void);

/*
 * A zeroed, naturally aligned run of 2^order pages.  Its host physical
 * address is fake but stable for the run's lifetime, aligned like the run,
 * and translates back with host_va().  NULL on failure (or injected fault).
 */
void *host_pages_alloc(enum host_tag tag, unsigned int order, const char *site);
void host_pages_free(void *va);
uint64_t host_pa(const void *va);       /* 0 if va is not in a live run */
void *host_va(uint64_t pa);             /* NULL if pa is not in a live run */

/* Smallest order whose run holds `bytes`. */
static inline unsigned int host_order_for_bytes(size_t bytes)
{
	unsigned int order = 0;

	while ((HOST_PAGE_SIZE << order) < bytes)
		order++;
	return order;
}

void *host_zalloc(enum host_tag tag, size_t size, const char *site);
void host_free(void *p);

/* ---- fault injection ------------------------------------------------- */

/*
 * Every allocation and every model command passes through a numbered site.
 * Sites are counted from 1 after host_fault_reset().  Arming "nth" makes
 * exactly that call fail once; arming a name makes every call of that site
 * fail (after `skip` successful calls) until disarmed.
 */
void host_fault_reset(void);               /* count = 0, disarm */
void host_fault_arm_nth(uint64_t nth);
void host_fault_arm_site(const char *site, uint64_t skip);
void host_fault_disarm(void);
uint64_t host_fault_count(void);           /* site calls since reset */
uint64_t host_fault_injected(void);        /* failures injected since reset */
/* Name of the nth site passed since reset (first 4096 recorded), or NULL. */
const char *host_fault_site_name(uint64_t nth);
/* Called at each site: true means "fail this call". */
bool host_fault_hit(const char *site);

/* ---- locks and atomics ----------------------------------------------- */

struct host_mutex { pthread_mutex_t m; };
struct host_rwlock { pthread_rwlock_t l; };

static inline void host_mutex_init(struct host_mutex *m) { pthread_mutex_init(&m->m, NULL); }
static inline void host_mutex_destroy(struct host_mutex *m) { pthread_mutex_destroy(&m->m); }
static inline void host_mutex_lock(struct host_mutex *m) { pthread_mutex_lock(&m->m); }
static inline void host_mutex_unlock(struct host_mutex *m) { pthread_mutex_unlock(&m->m); }
static inline void host_rwlock_init(struct host_rwlock *l) { pthread_rwlock_init(&l->l, NULL); }
static inline void host_rwlock_destroy(struct host_rwlock *l) { pthread_rwlock_destroy(&l->l); }
static inline void host_read_lock(struct host_rwlock *l) { pthread_rwlock_rdlock(&l->l); }
static inline void host_read_unlock(struct host_rwlock *l) { pthread_rwlock_unlock(&l->l); }
static inline void host_write_lock(struct host_rwlock *l) { pthread_rwlock_wrlock(&l->l); }
static inline void host_write_unlock(struct host_rwlock *l) { pthread_rwlock_unlock(&l->l); }

#if defined(__SANITIZE_THREAD__)
#define HOST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HOST_TSAN 1
#endif
#endif

/* Full barrier: orders earlier loads and stores against later ones (mfence). */
#ifdef HOST_TSAN
/*
 * TSan does not model fences; a seq_cst read-modify-write of one shared
 * word is a full barrier on x86 and gives TSan the ordering it tracks.
 */
extern uint64_t host_mb_word;
static inline void host_mb(void) { __atomic_fetch_add(&host_mb_word, 0, __ATOMIC_SEQ_CST); }
#else
static inline void host_mb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
#endif

#define READ_ONCE(x)          __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)      __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define load_acquire(p)       __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_release(p, v)   __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Atomic bit operations on a u32 array (the APIC's IRR/ISR/TMR words). */
static inline void host_set_bit32(uint32_t *word, unsigned int bit)
{
	__atomic_fetch_or(word, 1U << bit, __ATOMIC_SEQ_CST);
}
static inline bool host_test_and_set_bit32(uint32_t *word, unsigned int bit)
{
	return __atomic_fetch_or(word, 1U << bit, __ATOMIC_SEQ_CST) & (1U << bit);
}
static inline void host_clear_bit32(uint32_t *word, unsigned int bit)
{
	__atomic_fetch_and(word, ~(1U << bit), __ATOMIC_SEQ_CST);
}

/* Sleep until *addr != val or timeout; wake waiters on addr. */
int host_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns);
void host_futex_wake(uint32_t *addr, int n);

uint64_t host_now_ns(void);

/* In a spin-wait loop: let the sibling hyperthread (or the host) run. */
static inline void host_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/* ---- logging ---------------------------------------------------------- */

enum host_log_level { HOST_LOG_ERR, HOST_LOG_WARN, HOST_LOG_INFO, HOST_LOG_DEBUG, HOST_LOG_OFF };

/* Default HOST_LOG_OFF unless VINTC_LOG=err|warn|info|debug is set. */
void host_log_set_level(enum host_log_level level);
/* Every message the library tried to log, printed or not. */
uint64_t host_log_count(void);

struct host_ratelimit { uint64_t window_ns; uint32_t printed; uint32_t burst; };
void host_log_rl(struct host_ratelimit *rl, enum host_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* At most 10 lines per 5 s per call site, like the kernel's default. */
#define host_log(level, ...) do {					\
	static struct host_ratelimit _rl = { 0, 0, 10 };		\
	host_log_rl(&_rl, (level), __VA_ARGS__);			\
} while (0)

/* ---- model host CPUs and doorbells ------------------------------------ */

#define HOST_MAX_CPUS     1024
#define HOST_MAX_APIC_ID  0xFFFU     /* the physical table's 12-bit host ID */

/* Default topology: 64 CPUs, APIC ID == CPU number. */
int host_cpus_set(unsigned int nr, const uint32_t *apic_ids);
unsigned int host_cpus_nr(void);
int host_cpu_apic_id(int cpu);             /* -EINVAL if out of range */
int host_cpu_from_apic_id(uint32_t apic_id);

/* Where WRMSR 0xC001011B (the AVIC doorbell) goes: counted, then forwarded. */
typedef void (*host_doorbell_fn)(uint32_t host_apic_id, void *opaque);
void host_doorbell_set_handler(host_doorbell_fn fn, void *opaque);
void host_doorbell_ring(uint32_t host_apic_id);
uint64_t host_doorbell_count(void);

/* ---- host interrupts: physical LPIs (doorbell targets) --------------------- */

#define HOST_LPI_ID_BITS  16

typedef void (*host_irq_handler)(uint32_t lpi, void *arg);

/* Allocate one host LPI ID (1..2^16-1); fault site "host.lpi". */
int host_lpi_alloc(uint32_t *lpi);
void host_lpi_free(uint32_t lpi);
/* Attach or detach (handler NULL) a handler; -ENOENT if not allocated. */
int host_lpi_request(uint32_t lpi, host_irq_handler handler, void *arg);
/*
 * The interrupt controller made the LPI pending: run its handler.  Freeing
 * or detaching waits for a handler already running.  -ENOENT if none.
 */
int host_lpi_raise(uint32_t lpi);
uint32_t host_lpi_outstanding(void);

#endif
