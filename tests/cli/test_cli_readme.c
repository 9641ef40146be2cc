// SPDX-License-Identifier: MIT
/*
 * Every command README.md shows (an indented line "$ build/vintc ...")
 * is run, and its output must have the shape README shows under it:
 * numbers may differ (a run of digits, or 0x and hex digits, stands for
 * any other), a line "..." stands for any number of lines, and "..."
 * inside a line for any text there.  Run from the
 * repository root, as `make check` does; `vintc run` examples need
 * /dev/kvm and are skipped visibly without it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_util.h"
#include "test.h"

#define MAX_LINES	256

struct lines {
	char *v[MAX_LINES];
	size_t n;
};

/* Digits, and hex after 0x, become '#': numbers that vary keep their place. */
static void shape(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = in; *p && o + 1 < size;) {
		if (p[0] == '0' && p[1] == 'x' && isxdigit((unsigned char)p[2])) {
			out[o++] = '#';
			for (p += 2; isxdigit((unsigned char)*p); p++)
				;
		} else if (isdigit((unsigned char)*p)) {
			out[o++] = '#';
			while (isdigit((unsigned char)*p))
				p++;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
}

/* "..." inside a shown line stands for any text. */
static bool glob_match(const char *w, const char *g)
{
	const char *dots = strstr(w, "...");

	if (!dots)
		return !strcmp(w, g);
	if (strncmp(w, g, (size_t)(dots - w)))
		return false;
	g += dots - w;
	w = dots + 3;
	for (const char *t = g;; t++) {
		if (glob_match(w, t))
			return true;
		if (!*t)
			return false;
	}
}

static bool line_matches(const char *want, const char *got)
{
	size_t wl = strlen(want) * 2 + 1, gl = strlen(got) * 2 + 1;
	char *w = malloc(wl), *g = malloc(gl);
	bool ok;

	ASSERT(w && g);
	shape(want, w, wl);
	shape(got, g, gl);
	ok = glob_match(w, g);
	free(w);
	free(g);
	return ok;
}

static bool lines_match(const struct lines *want, size_t i, const struct lines *got, size_t j)
{
	if (i == want->n)
		return j == got->n;
	if (!strcmp(want->v[i], "...")) {
		for (size_t k = j; k <= got->n; k++)
			if (lines_match(want, i + 1, got, k))
				return true;
		return false;
	}
	return j < got->n && line_matches(want->v[i], got->v[j]) &&
	       lines_match(want, i + 1, got, j + 1);
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static void lines_add(struct lines *l, const char *s, size_t len)
{
	ASSERT(l->n < MAX_LINES);
	l->v[l->n] = strndup(s, len);
	ASSERT(l->v[l->n]);
	l->n++;
}

/* s with every "from" replaced by "to", malloc'ed. */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *out, *o;

	for (const char *p = s; (p = strstr(p, from)); p += fl)
		n++;
	out = malloc(strlen(s) + n * (tl + 1) + 1);
	ASSERT(out);
	for (o = out; *s;) {
		if (!strncmp(s, from, fl)) {
			memcpy(o, to, tl);
			o += tl;
			s += fl;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static void run_example(const char *cmd, struct lines *got)
{
	const char *bin = test_vintc_bin(), *guests = getenv("VINTC_GUESTS");
	char gdir[4096], *c1, *c2, *full, *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *p;

	snprintf(gdir, sizeof(gdir), "%s/", guests);
	c1 = replace_all(cmd, "build/guests/", gdir);
	c2 = replace_all(c1, "build/vintc", bin);
	full = malloc(strlen(c2) + 32);
	ASSERT(full);
	sprintf(full, "{ %s ; } 2>&1", c2);
	p = popen(full, "r");
	ASSERT(p);
	while ((len = getline(&buf, &cap, p)) >= 0)
		lines_add(got, buf, strcspn(buf, "\n"));
	pclose(p);
	free(buf);
	free(c1);
	free(c2);
	free(full);
}

TEST(cli_readme_examples_have_their_shape)
{
	FILE *f = fopen("README.md", "r");
	char line[4096];
	struct lines want = { 0 }, got = { 0 };
	char cmd[4096] = "";
	unsigned int ran = 0, skipped = 0;
	bool in_example = false, kvm_ok;

	if (!f)
		test_skip("no README.md here: run the tests from the repository root");
	if (!test_vintc_bin() || !getenv("VINTC_GUESTS"))
		test_skip("VINTC_BIN and VINTC_GUESTS are not set: run through make check");
	kvm_ok = !vkvm_probe(line, sizeof(line));
	for (bool more = true; more;) {
		more = fgets(line, sizeof(line), f) != NULL;
		line[strcspn(line, "\n")] = '\0';
		/* An example ends at the next command or the first unindented line. */
		if (in_example && (!more || strncmp(line, "    ", 4) || !strncmp(line, "    $ ", 6))) {
			if (strstr(cmd, "vintc run") && !kvm_ok) {
				skipped++;
			} else {
				run_example(cmd, &got);
				if (!lines_match(&want, 0, &got, 0)) {
					fprintf(stderr, "README: $ %s\nwanted:\n", cmd);
					for (size_t i = 0; i < want.n; i++)
						fprintf(stderr, "  %s\n", want.v[i]);
					fprintf(stderr, "got:\n");
					for (size_t i = 0; i < got.n; i++)
						fprintf(stderr, "  %s\n", got.v[i]);
					test_fail(__FILE__, __LINE__, "README example differs: $ %s", cmd);
				}
				ran++;
			}
			lines_free(&want);
			lines_free(&got);
			in_example = false;
		}
		if (more && !strncmp(line, "    $ build/vintc", 17)) {
			snprintf(cmd, sizeof(cmd), "%s", line + 6);
			in_example = true;
		} else if (in_example) {
			/* Output that names the paths names them where the test runs. */
			char gdir[4096], *a, *b;

			snprintf(gdir, sizeof(gdir), "%s/", getenv("VINTC_GUESTS"));
			a = replace_all(line + 4, "build/guests/", gdir);
			b = replace_all(a, "build/vintc", test_vintc_bin());
			lines_add(&want, b, strlen(b));
			free(a);
			free(b);
		}
	}
	fclose(f);
	ASSERT(ran >= 5);
	if (skipped)
		test_skip("%u README examples need /dev/kvm (ran %u)", skipped, ran);
}
