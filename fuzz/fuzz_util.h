/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares: the libFuzzer entry points, CHECK (an
 * invariant that must hold after an input: one line naming the target and
 * the expression on stderr, then abort(), which libFuzzer records like a
 * crash), and little-endian readers that consume the input and give 0 once
 * it runs out.  Define FUZZ_NAME before including.
 */
#ifndef VINTC_FUZZ_UTIL_H
#define VINTC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, FUZZ_NAME ": invariant broken: %s: ", #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t u8(struct input *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t u16(struct input *in)
{
	return (uint16_t)(u8(in) | u8(in) << 8);
}

static inline uint32_t u32(struct input *in)
{
	return (uint32_t)u16(in) | (uint32_t)u16(in) << 16;
}

static inline uint64_t u64(struct input *in)
{
	return (uint64_t)u32(in) | (uint64_t)u32(in) << 32;
}

#endif
