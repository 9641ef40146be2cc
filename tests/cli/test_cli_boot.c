// SPDX-License-Identifier: MIT
/*
 * vintc run with images too big for -m: a bzImage whose setup header asks
 * for Debian's cloud kernel's room (init_size 0x3378000 decompressed at
 * its 16 MiB pref_address) and a PVH ELF whose segments end at 42 MiB are
 * refused before /dev/kvm is opened, with one line naming the -m they
 * need.  No KVM needed: the loader refuses them first.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "le.h"
#include "test.h"

/* A file from buf, in a fresh temporary path (static buffer). */
static const char *write_tmp(const uint8_t *buf, size_t size)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/vintc-boot-XXXXXX");
	fd = mkstemp(path);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, buf, size), (ssize_t)size);
	close(fd);
	return path;
}

/* Protocol 2.15, relocatable, 2 MiB aligned: the header of a distribution kernel. */
static void distro_bzimage(uint8_t *img, size_t size)
{
	memset(img, 0, size);
	img[0x1f1] = 1;				/* setup_sects */
	w16(img, 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x66;
	memcpy(img + 0x202, "HdrS", 4);
	w16(img, 0x206, 0x020f);
	img[0x211] = 0x01;			/* LOADED_HIGH */
	w32(img, 0x214, 0x100000);
	w32(img, 0x22c, 0x7fffffff);		/* initrd_addr_max */
	w32(img, 0x230, 0x200000);		/* kernel_alignment */
	img[0x234] = 1;				/* relocatable */
	w16(img, 0x236, 0x7f);			/* xloadflags: KERNEL_64 and more */
	w32(img, 0x238, 2047);
	w64(img, 0x258, 0x1000000);		/* pref_address: 16 MiB */
	w32(img, 0x260, 0x3378000);		/* init_size */
}

TEST(cli_run_bzimage_too_big_for_m)
{
	static uint8_t img[0x2000], initrd[1 << 20];
	char path[64], rd[64];
	struct cli_run c;

	distro_bzimage(img, sizeof(img));
	strcpy(path, write_tmp(img, sizeof(img)));
	strcpy(rd, write_tmp(initrd, sizeof(initrd)));
	RUN(&c, "run", "-m", "40", path);
	ASSERT_USAGE(&c, "-m 40: the kernel needs at least 68 MiB (init_size 0x3378000 at 0x1000000)");
	cli_free(&c);
	/* 68 MiB holds the kernel (to 0x4378000); a 1 MiB initrd then needs one more. */
	RUN(&c, "run", "-m", "68", "--initrd", rd, path);
	ASSERT_USAGE(&c, "-m 68: the kernel and its initrd need at least 69 MiB");
	cli_free(&c);
	unlink(path);
	unlink(rd);
}

/* An ELF64 with a PVH note and one segment: 32 MiB of bss from 10 MiB. */
TEST(cli_run_pvh_too_big_for_m)
{
	static uint8_t img[0x200];
	const char *path;
	struct cli_run c;

	memcpy(img, "\177ELF\2\1\1", 7);
	w16(img, 16, 2);			/* ET_EXEC */
	w16(img, 18, 62);			/* x86-64 */
	w32(img, 20, 1);
	w64(img, 24, 0xa00000);
	w64(img, 32, 64);			/* e_phoff */
	w16(img, 52, 64);
	w16(img, 54, 56);
	w16(img, 56, 2);
	/* PT_LOAD: 16 bytes at 10 MiB, memsz 32 MiB. */
	w32(img, 64, 1);
	w64(img, 64 + 8, 0x100);
	w64(img, 64 + 16, 0xa00000);
	w64(img, 64 + 24, 0xa00000);
	w64(img, 64 + 32, 0x10);
	w64(img, 64 + 40, 0x2000000);
	/* PT_NOTE: "Xen", XEN_ELFNOTE_PHYS32_ENTRY, entry 10 MiB. */
	w32(img, 120, 4);
	w64(img, 120 + 8, 0x180);
	w64(img, 120 + 32, 20);
	w32(img, 0x180, 4);
	w32(img, 0x184, 4);
	w32(img, 0x188, 18);
	memcpy(img + 0x18c, "Xen", 4);
	w32(img, 0x190, 0xa00000);
	path = write_tmp(img, sizeof(img));
	RUN(&c, "run", "-m", "40", path);
	ASSERT_USAGE(&c, "-m 40: the kernel needs at least 42 MiB (its segments end at 0x2a00000)");
	cli_free(&c);
	unlink(path);
}
