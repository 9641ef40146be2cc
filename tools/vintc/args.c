// SPDX-License-Identifier: MIT
/*
 * Argument helpers for the vintc CLI: strict numbers, a flag iterator
 * taking "--flag value" and "--flag=value", and the one-line error
 * convention (see args.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

/*
 * "vintc: <msg>[: <suffix>]" as one line whatever the arguments held:
 * control characters (a newline inside an argv word) print as '?'.
 */
static void vcli_error(const char *suffix, const char *fmt, va_list ap)
{
	char *msg = NULL;

	fputs("vintc: ", stderr);
	if (vasprintf(&msg, fmt, ap) >= 0) {
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		fputs(msg, stderr);
		free(msg);
	} else {
		fputs("(out of memory)", stderr);
	}
	if (suffix)
		fprintf(stderr, ": %s", suffix);
	fputc('\n', stderr);
}

bool cli_parse_only;

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcli_error(NULL, fmt, ap);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcli_error(NULL, fmt, ap);
	va_end(ap);
	return CLI_EXIT_FAIL;
}

int cli_lib_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcli_error(strerror(err < 0 ? -err : err), fmt, ap);
	va_end(ap);
	return CLI_EXIT_FAIL;
}

static bool is_digit(char c, bool hex)
{
	return (c >= '0' && c <= '9') ||
	       (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
}

int args_parse_num(const char *s, uint64_t *out)
{
	const char *digits = s;
	unsigned long long v;
	bool hex = false;
	char *end;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		hex = true;
		digits = s + 2;
	}
	/* strtoull alone would take blanks, a sign, or an empty "0x". */
	if (!*digits)
		return -EINVAL;
	for (const char *p = digits; *p; p++)
		if (!is_digit(*p, hex))
			return -EINVAL;
	errno = 0;
	v = strtoull(digits, &end, hex ? 16 : 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

int args_parse_u64(const char *flag, const char *noun, const char *s,
		   uint64_t min, uint64_t max, uint64_t *out)
{
	const char *sep = noun ? " " : "";
	uint64_t v;
	int r;

	if (!noun)
		noun = "";
	r = args_parse_num(s, &v);
	if (r == -EINVAL) {
		cli_usage_error("%s: %s%s'%s' is not a number (decimal or 0x hex)",
				flag, noun, sep, s);
		return -1;
	}
	if (r || v < min || v > max) {
		cli_usage_error("%s: %s%s%s is out of range (%llu..%llu)", flag, noun, sep, s,
				(unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

void (*args_flag_hook)(const char *flag);

bool args_want_help(int argc, char **argv, int first)
{
	if (args_flag_hook) {
		args_flag_hook("-h");
		args_flag_hook("--help");
	}
	for (int i = first; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

void args_init(struct args *a, int argc, char **argv, int first)
{
	memset(a, 0, sizeof(*a));
	a->argc = argc;
	a->argv = argv;
	a->next = first;
}

bool args_next(struct args *a)
{
	const char *eq;
	size_t len;

	if (a->next >= a->argc)
		return false;
	a->arg = a->argv[a->next++];
	a->inline_value = NULL;
	eq = strncmp(a->arg, "--", 2) ? NULL : strchr(a->arg, '=');
	len = eq ? (size_t)(eq - a->arg) : strlen(a->arg);
	if (len >= sizeof(a->name))
		len = sizeof(a->name) - 1;
	memcpy(a->name, a->arg, len);
	a->name[len] = '\0';
	if (eq)
		a->inline_value = eq + 1;
	return true;
}

bool args_is(const struct args *a, const char *flag)
{
	if (args_flag_hook)
		args_flag_hook(flag);
	return !strcmp(a->name, flag);
}

bool args_is_other(const struct args *a, const char *flag)
{
	return !strcmp(a->name, flag);
}

const char *args_value(struct args *a)
{
	const char *v;

	if (a->inline_value) {
		if (!*a->inline_value) {
			cli_usage_error("%s: empty value", a->name);
			return NULL;
		}
		return a->inline_value;
	}
	if (a->next >= a->argc || !strncmp(a->argv[a->next], "--", 2)) {
		cli_usage_error("%s: missing value", a->name);
		return NULL;
	}
	v = a->argv[a->next++];
	if (!*v) {
		cli_usage_error("%s: empty value", a->name);
		return NULL;
	}
	return v;
}

int args_no_value(const struct args *a)
{
	if (!a->inline_value)
		return 0;
	cli_usage_error("%s takes no value (got '%s')", a->name, a->arg);
	return -1;
}

int args_unknown(const struct args *a, const char *cmd)
{
	if (a->arg[0] == '-')
		return cli_usage_error("%s: unknown option '%s' (try 'vintc %s --help')",
				       cmd, a->name, cmd);
	return cli_usage_error("%s: unexpected argument '%s' (try 'vintc %s --help')",
			       cmd, a->arg, cmd);
}

int args_other_target(const struct args *a, const char *cmd, const char *owner)
{
	return cli_usage_error("%s: %s applies to '%s' only", cmd, a->name, owner);
}

int args_parse_list(const char *flag, const char *list,
		    int (*item)(void *ctx, const char *item), void *ctx)
{
	char *copy, *it, *save = NULL;
	int r = 0;

	if (list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,")) {
		cli_usage_error("%s: empty item in '%s'", flag, list);
		return -1;
	}
	copy = strdup(list);
	if (!copy) {
		cli_lib_error(-ENOMEM, "%s", flag);
		return -1;
	}
	for (it = strtok_r(copy, ",", &save); it && !r; it = strtok_r(NULL, ",", &save))
		r = item(ctx, it);
	free(copy);
	return r;
}

void args_loads_init(struct args_loads *l)
{
	l->nr = 0;
	for (uint32_t i = 0; i < VM_MAX_VCPUS; i++)
		l->cpu_of[i] = -1;
}

struct loads_ctx {
	struct args_loads *l;
	uint32_t nr_vcpus, nr_cpus;
};

/* One "V:CPU" item of --load. */
static int parse_load_item(void *ctx, const char *item)
{
	struct loads_ctx *c = ctx;
	struct args_loads *l = c->l;
	const char *colon = strchr(item, ':');
	uint64_t v, cpu;
	char *vstr;
	int r;

	if (!colon || colon == item || !colon[1] || strchr(colon + 1, ':')) {
		cli_usage_error("--load: '%s' is not V:CPU", item);
		return -1;
	}
	vstr = strndup(item, (size_t)(colon - item));
	if (!vstr) {
		cli_lib_error(-ENOMEM, "--load");
		return -1;
	}
	r = args_parse_u64("--load", "vCPU", vstr, 0, c->nr_vcpus - 1, &v);
	free(vstr);
	if (r || args_parse_u64("--load", "CPU", colon + 1, 0, c->nr_cpus - 1, &cpu))
		return -1;
	if (l->cpu_of[v] >= 0) {
		cli_usage_error("--load: vCPU %" PRIu64 " is loaded twice", v);
		return -1;
	}
	l->cpu_of[v] = (int)cpu;
	l->vcpu[l->nr] = (uint32_t)v;
	l->cpu[l->nr] = (int)cpu;
	l->nr++;
	return 0;
}

int args_parse_loads(struct args_loads *l, const char *list, uint32_t nr_vcpus,
		     uint32_t nr_cpus)
{
	struct loads_ctx c = { .l = l, .nr_vcpus = nr_vcpus, .nr_cpus = nr_cpus };

	return args_parse_list("--load", list, parse_load_item, &c);
}

const struct cli_target *args_find_target(const struct cli_target *targets, const char *name)
{
	for (const struct cli_target *t = targets; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

/* "'avic'", "'avic' or 'gicv5'", "'a', 'b' or 'c'". */
static void targets_list(const struct cli_target *targets, char *buf, size_t size)
{
	size_t n = 0, len = 0;

	while (targets[n].name)
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		const char *sep = !i ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(buf + len, size - len, "%s'%s'", sep, targets[i].name);

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int args_dispatch(const char *cmd, const struct cli_target *targets, void (*usage)(FILE *f),
		  int argc, char **argv)
{
	const struct cli_target *t;
	char expected[128];

	targets_list(targets, expected, sizeof(expected));
	if (argc < 2)
		return cli_usage_error("%s: missing target (expected %s; try 'vintc %s --help')",
				       cmd, expected, cmd);
	t = args_find_target(targets, argv[1]);
	if (t) {
		if (args_want_help(argc, argv, 2)) {
			t->usage(stdout);
			return CLI_EXIT_OK;
		}
		return t->run(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argv[1][0] == '-')
		return cli_usage_error("%s: missing target before '%s' (expected %s)",
				       cmd, argv[1], expected);
	return cli_usage_error("%s: unknown target '%s' (expected %s)", cmd, argv[1], expected);
}

int args_model(bool x2avic, bool x2avic_4k, enum avic_model *model)
{
	if (x2avic && x2avic_4k) {
		cli_usage_error("--x2avic and --x2avic-4k conflict: choose one model");
		return -1;
	}
	*model = x2avic ? AVIC_MODEL_X2AVIC :
		 x2avic_4k ? AVIC_MODEL_X2AVIC_4K : AVIC_MODEL_XAVIC;
	return 0;
}

const char *args_model_name(enum avic_model model)
{
	switch (model) {
	case AVIC_MODEL_X2AVIC:
		return "x2avic";
	case AVIC_MODEL_X2AVIC_4K:
		return "x2avic-4k";
	default:
		return "xavic";
	}
}
