// SPDX-License-Identifier: MIT
/*
 * The host tools of the Linux boot, run as programs: tools/mkinitramfs
 * (its archive read back by an independent newc reader, its errors one
 * line) and the initramfs's pingpong workload, which runs the same on the
 * host as in the guest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "newc.h"
#include "test.h"

static const char *tool(const char *name)
{
	static char path[4096];
	const char *dir = getenv("VINTC_TOOLS");

	if (!dir)
		test_fail(__FILE__, __LINE__, "VINTC_TOOLS is not set: run the tests through 'make check'");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ASSERT(f);
	ASSERT(fputs(text, f) >= 0);
	ASSERT_OK(fclose(f));
}

/* mkinitramfs on a list; its stdout in r->out (binary: read with out_len). */
static uint8_t *mkinitramfs(struct cli_run *r, const char *list_text, size_t *len)
{
	char dir[] = "/tmp/vintc-newc-XXXXXX", list[4096], out[4096];
	uint8_t *buf;
	FILE *f;
	long n;

	ASSERT(mkdtemp(dir));
	snprintf(list, sizeof(list), "%s/list", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	write_text(list, list_text);
	write_text(out, "");
	cli_run_prog(r, tool("mkinitramfs"), out, (const char *const[]){ list, NULL });
	f = fopen(out, "rb");
	ASSERT(f);
	ASSERT_OK(fseek(f, 0, SEEK_END));
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ASSERT(buf);
	ASSERT_EQ(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(list);
	unlink(out);
	rmdir(dir);
	*len = (size_t)n;
	return buf;
}

TEST(mkinitramfs_writes_every_kind_of_entry)
{
	char src[] = "/tmp/vintc-newc-src-XXXXXX", list[8192];
	struct newc_entry e;
	struct cli_run r;
	uint8_t *a;
	size_t len;
	int fd;

	fd = mkstemp(src);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, "hello, init\n", 12), 12);
	close(fd);
	snprintf(list, sizeof(list),
		 "# a comment line\n"
		 "dir /bin 0755\n"
		 "dir /tmp 01777   # sticky\n"
		 "file /init 0750 %s\n"
		 "slink /bin/sh busybox\n"
		 "nod /dev/console 0600 c 5 1\n"
		 "nod /dev/sda 0660 b 8 0\n",
		 src);
	a = mkinitramfs(&r, list, &len);
	unlink(src);
	ASSERT_EQ(r.status, 0);
	ASSERT_EQ(r.err[0], 0);
	/* The kernel reads the archive in 512-byte blocks. */
	ASSERT_EQ(len % 512, 0);

	ASSERT_OK(newc_entry(a, len, 0, &e));
	ASSERT(!strcmp(e.name, "bin"));
	ASSERT_EQ(e.mode, S_IFDIR | 0755);
	ASSERT_EQ(e.nlink, 2);
	ASSERT_OK(newc_find(a, len, "tmp", &e));
	ASSERT_EQ(e.mode, S_IFDIR | 01777);
	ASSERT_OK(newc_find(a, len, "init", &e));
	ASSERT_EQ(e.mode, S_IFREG | 0750);
	ASSERT_EQ(e.size, 12);
	ASSERT(!memcmp(e.data, "hello, init\n", 12));
	ASSERT_EQ(e.uid, 0);
	ASSERT_EQ(e.mtime, 0);
	ASSERT_OK(newc_find(a, len, "bin/sh", &e));
	ASSERT_EQ(e.mode, S_IFLNK | 0777);
	ASSERT_EQ(e.size, 7);
	ASSERT(!memcmp(e.data, "busybox", 7));
	ASSERT_OK(newc_find(a, len, "dev/console", &e));
	ASSERT_EQ(e.mode, S_IFCHR | 0600);
	ASSERT_EQ(e.rmajor, 5);
	ASSERT_EQ(e.rminor, 1);
	ASSERT_OK(newc_find(a, len, "dev/sda", &e));
	ASSERT_EQ(e.mode, S_IFBLK | 0660);
	ASSERT_EQ(e.rmajor, 8);
	/* Six entries, then the trailer. */
	ASSERT_EQ(newc_entry(a, len, 6, &e), 1);
	free(a);
	cli_free(&r);
}

TEST(mkinitramfs_refuses_bad_lists_with_one_line)
{
	static const struct {
		const char *list, *want;
	} bad[] = {
		{ "dir bin 0755\n", "must be absolute" },
		{ "dir / 0755\n", "must be absolute and not /" },
		{ "dir /x 0789\n", "bad mode '0789'" },
		{ "dir /x 017777\n", "bad mode" },
		{ "file /x 0755 /nonexistent/vintc\n", "/nonexistent/vintc: No such file" },
		{ "file /x 0755 /tmp\n", "/tmp: not a regular file" },
		{ "nod /dev/x 0600 p 1 2\n", "node type 'p' is not c or b" },
		{ "nod /dev/x 0600 c 1\n", "expected dir PATH MODE" },
		{ "pipe /x\n", "'pipe': expected" },
		{ "dir /x 0755 extra\n", "'dir': expected" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cli_run r;
		size_t len;
		char *nl;

		free(mkinitramfs(&r, bad[i].list, &len));
		if (r.status != 1 || !strstr(r.err, bad[i].want) || !strstr(r.err, ":1: ") ||
		    !(nl = strchr(r.err, '\n')) || nl[1])
			test_fail(__FILE__, __LINE__, "list '%s': exit %d, stderr '%s', want '%s'",
				  bad[i].list, r.status, r.err, bad[i].want);
		cli_free(&r);
	}
}

TEST(pingpong_reports_its_round_trips)
{
	struct cli_run r;
	unsigned long rounds, ns;
	int a, b;

	cli_run_prog(&r, tool("pingpong"), NULL, (const char *const[]){ "50", NULL });
	ASSERT_EQ(r.status, 0);
	if (sscanf(r.out, "pingpong: %lu round trips cpu %d <-> cpu %d: %lu ns per round trip",
		   &rounds, &a, &b, &ns) != 4)
		test_fail(__FILE__, __LINE__, "output: %s", r.out);
	ASSERT_EQ(rounds, 50);
	ASSERT(ns > 0);
	/* Two CPUs whenever the host lets this process use two. */
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
		ASSERT_NE(a, b);
	cli_free(&r);

	cli_run_prog(&r, tool("pingpong"), NULL, (const char *const[]){ "0", NULL });
	ASSERT_EQ(r.status, 2);
	ASSERT(strstr(r.err, "ROUNDS must be 1..100000000, not '0'"));
	cli_free(&r);
}
