/* SPDX-License-Identifier: MIT */
/*
 * Test harness.  Each TEST() runs in its own forked child, so one failing
 * or crashing test cannot take the others down; assertions print the
 * expression, both values, file and line, then end the test.
 */
#ifndef VINTC_TEST_H
#define VINTC_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct test {
	const char *name;
	void (*fn)(void);
	struct test *next;
};

void test_register(struct test *t);
__attribute__((noreturn, format(printf, 3, 4)))
void test_fail(const char *file, int line, const char *fmt, ...);

#define TEST(n)								\
	static void test_fn_##n(void);					\
	static struct test test_##n = { #n, test_fn_##n, NULL };	\
	__attribute__((constructor)) static void test_reg_##n(void)	\
	{ test_register(&test_##n); }					\
	static void test_fn_##n(void)

#define ASSERT(cond) do {						\
	if (!(cond))							\
		test_fail(__FILE__, __LINE__, "ASSERT(%s)", #cond);	\
} while (0)

#define ASSERT_EQ(a, b) do {						\
	uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);		\
	if (_a != _b)							\
		test_fail(__FILE__, __LINE__,				\
			  "%s == %s: 0x%" PRIx64 " (%" PRId64 ") != 0x%" PRIx64 " (%" PRId64 ")", \
			  #a, #b, _a, (int64_t)_a, _b, (int64_t)_b);	\
} while (0)

#define ASSERT_NE(a, b) do {						\
	uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);		\
	if (_a == _b)							\
		test_fail(__FILE__, __LINE__, "%s != %s: both 0x%" PRIx64, \
			  #a, #b, _a);					\
} while (0)

#define ASSERT_OK(expr) do {						\
	long _r = (long)(expr);						\
	if (_r)								\
		test_fail(__FILE__, __LINE__, "%s returned %ld", #expr, _r); \
} while (0)

/* Bits h..l set, written out independently of GENMASK_ULL. */
static inline uint64_t test_bits(unsigned int h, unsigned int l)
{
	uint64_t m = 0;

	for (unsigned int b = l; b <= h; b++)
		m |= 1ULL << b;
	return m;
}

/*
 * End the test as skipped, visibly: the runner prints SKIP with the reason
 * and counts it apart (for tests that need /dev/kvm on a machine without).
 */
__attribute__((noreturn, format(printf, 1, 2)))
void test_skip(const char *fmt, ...);

/* Path of the CLI binary under test (VINTC_BIN), or NULL. */
const char *test_vintc_bin(void);

#endif
