/* SPDX-License-Identifier: MIT */
/*
 * Little-endian fields written into and read out of test images and guest
 * RAM, written here apart from the loaders they check.
 */
#ifndef VINTC_TEST_LE_H
#define VINTC_TEST_LE_H

#include <stddef.h>
#include <stdint.h>

static inline void w16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static inline void w32(uint8_t *p, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static inline void w64(uint8_t *p, size_t off, uint64_t v)
{
	w32(p, off, (uint32_t)v);
	w32(p, off + 4, (uint32_t)(v >> 32));
}

static inline uint32_t r32(const uint8_t *p, uint64_t off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
	       (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
}

static inline uint64_t r64(const uint8_t *p, uint64_t off)
{
	return r32(p, off) | (uint64_t)r32(p, off + 4) << 32;
}

#endif
