/* SPDX-License-Identifier: MIT */
/*
 * A reader of cpio "newc" archives, written from the format's description
 * (independent of tools/mkinitramfs.c, which the tests check with it).
 */
#ifndef VINTC_TEST_NEWC_H
#define VINTC_TEST_NEWC_H

#include <stddef.h>
#include <stdint.h>

struct newc_entry {
	char name[256];
	uint32_t mode, uid, gid, nlink, mtime, size, rmajor, rminor;
	const uint8_t *data;
};

/*
 * Entry k of the archive (the trailer not counted): 0 and *e filled, 1
 * past the last entry, -1 if the archive is malformed before it.
 */
int newc_entry(const uint8_t *buf, size_t len, unsigned int k, struct newc_entry *e);

/* The entry named name (no leading '/'), or -1. */
int newc_find(const uint8_t *buf, size_t len, const char *name, struct newc_entry *e);

#endif
