// SPDX-License-Identifier: MIT
/*
 * The help is the one description of the options: every option a parser
 * takes is in its command's --help and in README.md's synopsis, and
 * neither names an option the parser does not take.  The options come
 * from the parsers themselves: args_flag_hook sees every flag a parser
 * compares an argument with, and a parser given an argument it does not
 * know compares it with all of them.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/host.h>
#include <vintc/kvm_run.h>

#include "cli_util.h"
#include "test.h"
#include "tools/vintc/args.h"
#include "tools/vintc/cmds.h"

#define HELP_MAX_OPTIONS	64
#define HELP_MAX_COLUMNS	80

struct help_cmd {
	const char *words;		/* as typed after "vintc" */
	int (*run)(int argc, char **argv);
	const char *argv0;		/* the word the command's argv starts with */
};

static const struct help_cmd help_cmds[] = {
	{ "dump avic", cmd_dump_avic, "avic" },
	{ "dump gicv5", cmd_dump_gicv5, "gicv5" },
	{ "faults avic", cmd_faults_avic, "avic" },
	{ "faults gicv5", cmd_faults_gicv5, "gicv5" },
	{ "sim", cmd_sim, "sim" },
	{ "run", cmd_run, "run" },
};

struct help_opts {
	const char *flag[HELP_MAX_OPTIONS];
	unsigned int n;
};

static struct help_opts *help_seen;

static bool help_opts_has(const struct help_opts *o, const char *flag, size_t len)
{
	for (unsigned int i = 0; i < o->n; i++)
		if (strlen(o->flag[i]) == len && !strncmp(o->flag[i], flag, len))
			return true;
	return false;
}

static void help_note_flag(const char *flag)
{
	if (help_opts_has(help_seen, flag, strlen(flag)))
		return;
	if (help_seen->n == HELP_MAX_OPTIONS)
		test_fail(__FILE__, __LINE__, "more than %d options", HELP_MAX_OPTIONS);
	help_seen->flag[help_seen->n++] = flag;
}

/* The options c's parser takes, by running it on one it does not. */
static void help_parser_options(const struct help_cmd *c, struct help_opts *o)
{
	char a0[16], probe[] = "--not-an-option-of-vintc";
	char *argv[] = { a0, probe, NULL };
	int err_fd, null_fd, status;

	snprintf(a0, sizeof(a0), "%s", c->argv0);
	memset(o, 0, sizeof(*o));
	help_seen = o;
	/* The parser's usage error is expected: keep it out of the log. */
	fflush(stderr);
	err_fd = dup(STDERR_FILENO);
	null_fd = open("/dev/null", O_WRONLY);
	ASSERT(err_fd >= 0 && null_fd >= 0);
	dup2(null_fd, STDERR_FILENO);
	args_flag_hook = help_note_flag;
	cli_parse_only = true;
	status = c->run(2, argv);
	cli_parse_only = false;
	args_flag_hook = NULL;
	fflush(stderr);
	dup2(err_fd, STDERR_FILENO);
	close(err_fd);
	close(null_fd);
	if (status != CLI_EXIT_USAGE)
		test_fail(__FILE__, __LINE__, "%s %s: exit %d, want the usage error %d",
			  c->words, probe, status, CLI_EXIT_USAGE);
	/* -h, --help and at least one real option: the hook saw the parser. */
	if (o->n < 3 || !help_opts_has(o, "--help", 6))
		test_fail(__FILE__, __LINE__, "%s: the parser compared only %u flags: does it "
			  "still use args_is() and args_want_help()?", c->words, o->n);
}

static bool help_opt_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* opt appears in text as a word of its own: "--x2avic" is not in "--x2avic-4k". */
static bool help_has_option(const char *text, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = text; (p = strstr(p, opt)); p++)
		if ((p == text || !help_opt_char(p[-1])) && !help_opt_char(p[n]))
			return true;
	return false;
}

/*
 * Every "--name" word in text is one of o's options; fails naming the
 * first that is not.
 */
static void help_only_options(const char *text, const struct help_opts *o, const char *what,
			      const char *words, int line)
{
	for (const char *p = text; (p = strstr(p, "--")); p += 2) {
		size_t len = 2;

		if ((p != text && help_opt_char(p[-1])) || !isalnum((unsigned char)p[2]))
			continue;
		while (help_opt_char(p[len]) && p[len] != '_')
			len++;
		if (!help_opts_has(o, p, len))
			test_fail(__FILE__, line, "%s of '%s' names %.*s, which its parser does not take",
				  what, words, (int)len, p);
	}
}

static char *help_run(const char *words, const char *extra)
{
	char buf[64], *argv[8], *save = NULL;
	struct cli_run r;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", words);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	if (extra)
		argv[n++] = (char *)extra;
	argv[n] = NULL;
	cli_run_to(&r, NULL, (const char *const *)argv);
	ASSERT_RAN_OK(&r);
	free(r.err);
	return r.out;
}

static void help_check_width(const char *text, const char *words)
{
	for (const char *l = text; *l; ) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);

		if (len > HELP_MAX_COLUMNS)
			test_fail(__FILE__, __LINE__, "%s --help: a line of %zu columns: %.*s",
				  words, len, (int)len, l);
		l += len + (nl != NULL);
	}
}

/* Every option of every command is in its --help, which names no other. */
TEST(cli_help_lists_every_option)
{
	for (size_t i = 0; i < ARRAY_SIZE(help_cmds); i++) {
		const struct help_cmd *c = &help_cmds[i];
		struct help_opts o;
		char *help;

		help_parser_options(c, &o);
		help = help_run(c->words, "--help");
		if (strncmp(help, "usage: vintc ", 13) || strncmp(help + 13, c->words,
								  strlen(c->words)))
			test_fail(__FILE__, __LINE__, "%s --help: starts '%.40s'", c->words, help);
		for (unsigned int k = 0; k < o.n; k++)
			if (!help_has_option(help, o.flag[k]))
				test_fail(__FILE__, __LINE__, "'vintc %s --help' does not mention %s, "
					  "which its parser takes", c->words, o.flag[k]);
		help_only_options(help, &o, "--help", c->words, __LINE__);
		help_check_width(help, c->words);
		free(help);
	}
}

/* `vintc help CMD [TARGET]` is `vintc CMD [TARGET] --help`; `vintc help` names every command. */
TEST(cli_help_command)
{
	static const char *const overview[] = {
		"dump avic", "dump gicv5", "faults avic", "faults gicv5", "sim WORKLOAD",
		"run IMAGE", "help [CMD [TARGET]]",
	};
	char *all, *own, *a, *b;
	char words[64];

	all = help_run("help", NULL);
	own = help_run("help", "--help");
	ASSERT(!strncmp(all, own, strlen(own)));
	for (size_t i = 0; i < ARRAY_SIZE(overview); i++)
		if (!strstr(own, overview[i]))
			test_fail(__FILE__, __LINE__, "'vintc help' does not name %s", overview[i]);
	help_check_width(own, "help");
	for (size_t i = 0; i < ARRAY_SIZE(help_cmds); i++) {
		snprintf(words, sizeof(words), "help %s", help_cmds[i].words);
		a = help_run(words, NULL);
		b = help_run(help_cmds[i].words, "--help");
		if (strcmp(a, b))
			test_fail(__FILE__, __LINE__, "'vintc %s' differs from 'vintc %s --help'",
				  words, help_cmds[i].words);
		/* The full help holds every command's. */
		if (!strstr(all, b))
			test_fail(__FILE__, __LINE__, "'vintc help' lacks 'vintc %s --help'",
				  help_cmds[i].words);
		free(a);
		free(b);
	}
	/* What used to be wrong stays right. */
	ASSERT(!strstr(all, "one vCPU for now"));
	ASSERT(!strstr(all, "named by its exit reason"));
	free(own);
	free(all);
}

/* The numbers run's help gives are the runner's limits and defaults. */
TEST(cli_help_run_limits)
{
	char *help = help_run("run", "--help");
	char want[64];

	snprintf(want, sizeof(want), "vCPUs, 1..%u (default 1)", VKVM_MAX_CPUS);
	ASSERT(strstr(help, want));
	snprintf(want, sizeof(want), "%u..%u (default %u)", VKVM_MIN_RAM_MIB, VKVM_MAX_RAM_MIB,
		 VKVM_DEFAULT_RAM_MIB);
	ASSERT(strstr(help, want));
	snprintf(want, sizeof(want), "0..%u,", VKVM_MAX_TIMEOUT_S);
	ASSERT(strstr(help, want));
	snprintf(want, sizeof(want), "0..%u (default\n                    %u;",
		 VKVM_MAX_HALT_POLL_US, VKVM_DEFAULT_HALT_POLL_US);
	ASSERT(strstr(help, want));
	snprintf(want, sizeof(want), "at most %u)", MBOOT_MAX_MODS);
	ASSERT(strstr(help, want));
	/* The trace's names (kvm/trace.c): slices "in guest" and "blocked". */
	ASSERT(strstr(help, "\"in guest\"") && strstr(help, "\"blocked\""));
	free(help);
	help = help_run("sim", "--help");
	ASSERT(strstr(help, "\"running\" slices"));
	free(help);
}

/* ---- README.md -------------------------------------------------------- */

static char *help_readme(void)
{
	FILE *f = fopen("README.md", "r");

	if (!f)
		test_skip("README.md not found: run the tests from the top of the tree "
			  "(make check does)");
	return cli_slurp(f);
}

/*
 * The synopsis of `vintc WORDS` in README.md's CLI section: its line
 * "    vintc WORDS ..." and the more deeply indented lines after it.
 */
static char *help_readme_synopsis(const char *readme, const char *words)
{
	char head[64];
	const char *p, *end;

	snprintf(head, sizeof(head), "\n    vintc %s ", words);
	p = strstr(readme, head);
	if (!p)
		test_fail(__FILE__, __LINE__, "README.md has no synopsis line '    vintc %s ...'",
			  words);
	p++;
	end = strchr(p, '\n');
	while (end && !strncmp(end + 1, "     ", 5))
		end = strchr(end + 1, '\n');
	return strndup(p, end ? (size_t)(end - p) : strlen(p));
}

/*
 * README.md's synopsis of every command lists every option its parser
 * takes (-h and --help aside: `vintc help` stands for them) and no other.
 */
TEST(cli_help_readme_lists_every_option)
{
	char *readme = help_readme(), missing[1024] = "";
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(help_cmds); i++) {
		const struct help_cmd *c = &help_cmds[i];
		char *syn = help_readme_synopsis(readme, c->words);
		struct help_opts o;

		help_parser_options(c, &o);
		for (unsigned int k = 0; k < o.n; k++) {
			if (!strcmp(o.flag[k], "-h") || !strcmp(o.flag[k], "--help") ||
			    help_has_option(syn, o.flag[k]))
				continue;
			len += (size_t)snprintf(missing + len, sizeof(missing) - len, " %s %s;",
						c->words, o.flag[k]);
			if (len >= sizeof(missing))
				len = sizeof(missing) - 1;
		}
		help_only_options(syn, &o, "README.md's synopsis", c->words, __LINE__);
		free(syn);
	}
	if (len)
		test_fail(__FILE__, __LINE__, "README.md's synopsis lacks:%s", missing);
	ASSERT(strstr(readme, "\n    vintc help [CMD [TARGET]]\n"));
	free(readme);
}
