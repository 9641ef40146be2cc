// SPDX-License-Identifier: MIT
#include <string.h>

#include "newc.h"

#define NEWC_HDR	110	/* "070701" and 13 fields of 8 hex digits */

static int hex8(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

int newc_entry(const uint8_t *buf, size_t len, unsigned int k, struct newc_entry *e)
{
	size_t off = 0;

	for (unsigned int i = 0;; i++) {
		uint32_t f[13], namesize;

		if (off + NEWC_HDR > len || memcmp(buf + off, "070701", 6))
			return -1;
		for (int j = 0; j < 13; j++)
			if (hex8(buf + off + 6 + 8 * j, &f[j]))
				return -1;
		namesize = f[11];
		if (!namesize || namesize > sizeof(e->name) || off + NEWC_HDR + namesize > len ||
		    buf[off + NEWC_HDR + namesize - 1] != '\0')
			return -1;
		if (!strcmp((const char *)buf + off + NEWC_HDR, "TRAILER!!!"))
			return 1;
		if (i == k) {
			memcpy(e->name, buf + off + NEWC_HDR, namesize);
			e->mode = f[1];
			e->uid = f[2];
			e->gid = f[3];
			e->nlink = f[4];
			e->mtime = f[5];
			e->size = f[6];
			e->rmajor = f[9];
			e->rminor = f[10];
			e->data = buf + align4(off + NEWC_HDR + namesize);
			return (size_t)(e->data - buf) + e->size > len ? -1 : 0;
		}
		off = align4(align4(off + NEWC_HDR + namesize) + f[6]);
	}
}

int newc_find(const uint8_t *buf, size_t len, const char *name, struct newc_entry *e)
{
	int r;

	for (unsigned int k = 0; (r = newc_entry(buf, len, k, e)) == 0; k++)
		if (!strcmp(e->name, name))
			return 0;
	return -1;
}
