// SPDX-License-Identifier: MIT
/* host/: pages, accounting, fault sites, logging, CPUs. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/host.h>

#include "test.h"

TEST(host_pages_aligned_zeroed_translatable)
{
	for (unsigned int order = 0; order <= 4; order++) {
		size_t bytes = HOST_PAGE_SIZE << order;
		unsigned char *p = host_pages_alloc(HOST_TAG_MISC, order, "test.pages");
		uint64_t pa;

		ASSERT(p != NULL);
		ASSERT_EQ((uintptr_t)p & (bytes - 1), 0);
		for (size_t i = 0; i < bytes; i += 511)
			ASSERT_EQ(p[i], 0);
		pa = host_pa(p);
		ASSERT(pa >= (1ULL << 32));		/* real-looking, never 0 */
		ASSERT_EQ(pa & (bytes - 1), 0);		/* aligned like the run */
		ASSERT_EQ(host_pa(p + bytes - 8), pa + bytes - 8);
		ASSERT(host_va(pa + bytes - 1) == p + bytes - 1);
		ASSERT(host_va(pa + 0x123) == p + 0x123);
		ASSERT_EQ(host_mem_stats(HOST_TAG_MISC).pages, 1U << order);
		host_pages_free(p);
		ASSERT(host_va(pa) == NULL);
		ASSERT_EQ(host_mem_stats(HOST_TAG_MISC).pages, 0);
	}
	ASSERT(host_pages_alloc(HOST_TAG_MISC, HOST_MAX_ORDER + 1, "x") == NULL);
	ASSERT_EQ(host_pa(&(int){ 0 }), 0);
	ASSERT(host_va(0) == NULL);
}

TEST(host_pa_never_reused)
{
	void *a = host_pages_alloc(HOST_TAG_MISC, 0, "a");
	uint64_t pa = host_pa(a);
	void *b;

	host_pages_free(a);
	b = host_pages_alloc(HOST_TAG_MISC, 0, "b");
	/* A stale PA left in some table can never alias a newer page. */
	ASSERT_NE(host_pa(b), pa);
	host_pages_free(b);
}

TEST(host_accounting_by_tag)
{
	void *p[100];
	void *z;

	for (int i = 0; i < 100; i++)
		p[i] = host_pages_alloc(i % 2 ? HOST_TAG_AVIC_BACKING : HOST_TAG_AVIC_PHYS,
					(unsigned int)(i % 3), "t");
	z = host_zalloc(HOST_TAG_VM, 1000, "z");
	ASSERT_EQ(host_mem_stats(HOST_TAG_AVIC_BACKING).page_allocs, 50);
	ASSERT_EQ(host_mem_stats(HOST_TAG_AVIC_PHYS).page_allocs, 50);
	ASSERT_EQ(host_mem_stats(HOST_TAG_VM).bytes, 1000);
	ASSERT_EQ(host_mem_stats(HOST_TAG_VM).objects, 1);
	/* orders 0,1,2 repeating: 34*1 + 33*2 + 33*4 pages */
	ASSERT_EQ(host_mem_stats(HOST_TAG_NR).pages, 34 + 66 + 132);
	ASSERT_EQ(host_mem_peak_pages(), 34 + 66 + 132);
	for (int i = 0; i < 100; i++)
		host_pages_free(p[i]);
	host_free(z);
	ASSERT_EQ(host_mem_stats(HOST_TAG_NR).pages, 0);
	ASSERT_EQ(host_mem_stats(HOST_TAG_NR).bytes, 0);
	ASSERT_EQ(host_mem_peak_pages(), 34 + 66 + 132);
	host_mem_reset_peak();
	ASSERT_EQ(host_mem_peak_pages(), 0);
	ASSERT(!strcmp(host_tag_name(HOST_TAG_AVIC_PHYS), "avic_physical_table"));
}

TEST(host_fault_nth_and_named)
{
	void *p;

	host_fault_reset();
	host_fault_arm_nth(3);
	for (int i = 1; i <= 5; i++) {
		p = host_zalloc(HOST_TAG_MISC, 8, i % 2 ? "odd" : "even");
		ASSERT_EQ(p == NULL, i == 3);
		host_free(p);
	}
	ASSERT_EQ(host_fault_count(), 5);
	ASSERT_EQ(host_fault_injected(), 1);
	ASSERT(!strcmp(host_fault_site_name(2), "even"));

	/* Named, after skipping one success, then every call. */
	host_fault_reset();
	host_fault_arm_site("even", 1);
	ASSERT((p = host_zalloc(HOST_TAG_MISC, 8, "even")) != NULL);
	host_free(p);
	ASSERT(host_zalloc(HOST_TAG_MISC, 8, "even") == NULL);
	ASSERT(host_zalloc(HOST_TAG_MISC, 8, "even") == NULL);
	ASSERT((p = host_pages_alloc(HOST_TAG_MISC, 0, "odd")) != NULL);
	host_pages_free(p);
	host_fault_disarm();
	ASSERT((p = host_zalloc(HOST_TAG_MISC, 8, "even")) != NULL);
	host_free(p);
	ASSERT_EQ(host_fault_injected(), 2);
	ASSERT_EQ(host_mem_stats(HOST_TAG_NR).bytes, 0);
}

/* Capture what the library writes to stderr while fn runs. */
static size_t capture_stderr(void (*fn)(void), char *buf, size_t len)
{
	int fd = dup(STDERR_FILENO), pipefd[2];
	ssize_t n;

	ASSERT_OK(pipe(pipefd));
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	dup2(pipefd[1], STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(pipefd[1]);
	n = read(pipefd[0], buf, len - 1);
	close(pipefd[0]);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

static void log_100_warnings(void)
{
	for (int i = 0; i < 100; i++)
		host_log(HOST_LOG_WARN, "warning %d", i);
}

TEST(host_log_silent_by_default_and_rate_limited)
{
	char buf[8192];
	uint64_t calls = host_log_count();
	int lines = 0;

	unsetenv("VINTC_LOG");
	ASSERT_EQ(capture_stderr(log_100_warnings, buf, sizeof(buf)), 0);
	ASSERT_EQ(host_log_count(), calls + 100);

	host_log_set_level(HOST_LOG_WARN);
	capture_stderr(log_100_warnings, buf, sizeof(buf));
	for (char *c = buf; *c; c++)
		lines += *c == '\n';
	ASSERT_EQ(lines, 10);		/* burst of 10 per call site per 5 s */
	ASSERT(strstr(buf, "vintc: warning 0\n") != NULL);

	host_log_set_level(HOST_LOG_ERR);	/* below the threshold: silent */
	ASSERT_EQ(capture_stderr(log_100_warnings, buf, sizeof(buf)), 0);
}

TEST(host_cpus_topology)
{
	static const uint32_t ids[] = { 0, 0x100, 0xFFF };
	static const uint32_t dup[] = { 4, 4 };
	static const uint32_t big[] = { 0x1000 };

	ASSERT_EQ(host_cpus_nr(), 64);
	ASSERT_EQ(host_cpu_apic_id(63), 63);
	ASSERT_EQ(host_cpu_apic_id(64), -EINVAL);
	ASSERT_OK(host_cpus_set(3, ids));
	ASSERT_EQ(host_cpus_nr(), 3);
	ASSERT_EQ(host_cpu_apic_id(1), 0x100);
	ASSERT_EQ(host_cpu_from_apic_id(0xFFF), 2);
	ASSERT_EQ(host_cpu_from_apic_id(5), -ENOENT);
	ASSERT_EQ(host_cpus_set(2, dup), -EEXIST);
	ASSERT_EQ(host_cpus_set(1, big), -EINVAL);
	ASSERT_EQ(host_cpus_set(0, NULL), -EINVAL);
	ASSERT_EQ(host_cpus_set(HOST_MAX_CPUS + 1, NULL), -EINVAL);
	ASSERT_EQ(host_cpus_nr(), 3);
}
