// SPDX-License-Identifier: MIT
/*
 * mkinitramfs: write a cpio "newc" archive, the format Linux unpacks into
 * its initial root file system, from a list of entries, without needing
 * root: device nodes are written as headers, not made with mknod.
 *
 *   mkinitramfs LIST > initramfs.cpio
 *
 * LIST has one entry per line ('#' starts a comment):
 *
 *   dir   PATH MODE
 *   file  PATH MODE SOURCE
 *   slink PATH TARGET
 *   nod   PATH MODE c|b MAJOR MINOR
 *
 * PATH is absolute in the archive, MODE octal permissions, SOURCE a host
 * file.  Owners are root and mtimes 0, so the same LIST and sources give
 * the same bytes.  Any error is one line on stderr and exit status 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NEWC_MAGIC	"070701"
#define NEWC_TRAILER	"TRAILER!!!"

struct out {
	FILE *f;
	uint64_t pos;
	uint32_t ino;
};

static const char *list_name;
static unsigned int line_no;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mkinitramfs: ");
	if (line_no)
		fprintf(stderr, "%s:%u: ", list_name, line_no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void put(struct out *o, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, o->f) != n)
		die("write: %s", strerror(errno));
	o->pos += n;
}

static void pad4(struct out *o)
{
	static const char zero[4];

	put(o, zero, (4 - o->pos % 4) % 4);
}

/* One header and name; the caller writes `size` bytes of data after it. */
static void put_header(struct out *o, const char *name, uint32_t mode, uint32_t size,
		       uint32_t rmajor, uint32_t rminor)
{
	char hdr[6 + 13 * 8 + 1];
	size_t namesize = strlen(name) + 1;

	if (namesize > 4096)
		die("name '%s' longer than 4095 bytes", name);

	snprintf(hdr, sizeof(hdr), "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 NEWC_MAGIC, ++o->ino, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, size, 0u, 0u,
		 rmajor, rminor, (uint32_t)namesize, 0u);
	put(o, hdr, sizeof(hdr) - 1);
	put(o, name, namesize);
	pad4(o);
}

static uint32_t parse_mode(const char *s)
{
	char *end;
	unsigned long m;

	if (!s)
		die("missing mode");
	errno = 0;
	m = strtoul(s, &end, 8);
	if (errno || *end || m > 07777)
		die("bad mode '%s' (octal, at most 07777)", s);
	return (uint32_t)m;
}

static uint32_t parse_num(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	if (!s)
		die("missing %s", what);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xFFFFFFFFul)
		die("bad %s '%s'", what, s);
	return (uint32_t)v;
}

/* The archive's names are relative: "/init" is stored as "init". */
static const char *archive_name(const char *path)
{
	if (!path || path[0] != '/' || !path[1])
		die("path '%s' must be absolute and not /", path ? path : "");
	return path + 1;
}

static void put_file(struct out *o, const char *name, uint32_t perm, const char *src)
{
	char buf[65536];
	struct stat st;
	uint64_t left;
	FILE *in;

	in = fopen(src, "rb");
	if (!in)
		die("%s: %s", src, strerror(errno));
	if (fstat(fileno(in), &st) || !S_ISREG(st.st_mode))
		die("%s: not a regular file", src);
	if ((uint64_t)st.st_size > 0xFFFFFFFFu)
		die("%s: larger than the format's 4 GiB", src);
	put_header(o, name, S_IFREG | perm, (uint32_t)st.st_size, 0, 0);
	for (left = (uint64_t)st.st_size; left;) {
		size_t n = fread(buf, 1, left < sizeof(buf) ? left : sizeof(buf), in);

		if (!n)
			die("%s: short read", src);
		put(o, buf, n);
		left -= n;
	}
	fclose(in);
	pad4(o);
}

static void put_entry(struct out *o, char *line)
{
	char *kind = strtok(line, " \t"), *path = strtok(NULL, " \t");
	char *a = strtok(NULL, " \t"), *b = strtok(NULL, " \t");
	char *c = strtok(NULL, " \t"), *d = strtok(NULL, " \t");
	const char *name;

	if (!kind)
		return;
	name = archive_name(path);
	if (!strcmp(kind, "dir") && !b) {
		put_header(o, name, S_IFDIR | parse_mode(a), 0, 0, 0);
	} else if (!strcmp(kind, "file") && b && !c) {
		put_file(o, name, parse_mode(a), b);
	} else if (!strcmp(kind, "slink") && a && !b) {
		put_header(o, name, S_IFLNK | 0777, (uint32_t)strlen(a), 0, 0);
		put(o, a, strlen(a));
		pad4(o);
	} else if (!strcmp(kind, "nod") && d && !strtok(NULL, " \t")) {
		uint32_t type = !strcmp(b, "c") ? S_IFCHR : !strcmp(b, "b") ? S_IFBLK : 0;

		if (!type)
			die("node type '%s' is not c or b", b);
		put_header(o, name, type | parse_mode(a), 0, parse_num(c, "major"),
			   parse_num(d, "minor"));
	} else {
		die("'%s': expected dir PATH MODE | file PATH MODE SOURCE | slink PATH TARGET | "
		    "nod PATH MODE c|b MAJOR MINOR", kind);
	}
}

int main(int argc, char **argv)
{
	struct out o = { .f = stdout };
	char line[4096];
	FILE *list;

	if (argc != 2) {
		fprintf(stderr, "usage: mkinitramfs LIST > ARCHIVE\n");
		return 2;
	}
	list_name = argv[1];
	list = fopen(list_name, "r");
	if (!list)
		die("%s: %s", list_name, strerror(errno));
	while (fgets(line, sizeof(line), list)) {
		char *hash = strchr(line, '#');

		line_no++;
		if (!strchr(line, '\n') && !feof(list))
			die("line longer than %zu bytes", sizeof(line) - 2);
		if (hash)
			*hash = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		put_entry(&o, line);
	}
	line_no = 0;
	fclose(list);
	put_header(&o, NEWC_TRAILER, 0, 0, 0, 0);
	/* The kernel reads archives in 512-byte blocks, as cpio writes them. */
	{
		static const char zero[512];

		put(&o, zero, (512 - o.pos % 512) % 512);
	}
	if (fflush(stdout) || ferror(stdout))
		die("write: %s", strerror(errno));
	return 0;
}
