// SPDX-License-Identifier: MIT
/*
 * The vintc CLI, run as a program (VINTC_BIN): exit status, stdout and
 * stderr are captured separately, and JSON output is checked value by
 * value against the AVIC layouts in <vintc/amd_defs.h>.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vintc/amd_defs.h>

#include "test.h"

struct cli_run {
	int status;		/* exit status; 128 + signal if killed */
	char *out, *err;	/* NUL-terminated, never NULL */
};

static char *slurp(FILE *f)
{
	size_t len = 0, cap = 4096, n;
	char *buf = malloc(cap);

	if (!buf)
		test_fail(__FILE__, __LINE__, "out of memory");
	rewind(f);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				test_fail(__FILE__, __LINE__, "out of memory");
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Run VINTC_BIN with args (NULL-terminated); stdout to stdout_path if set. */
static void cli_run_to(struct cli_run *r, const char *stdout_path, const char *const *args)
{
	const char *bin = test_vintc_bin();
	char *argv[32];
	FILE *out, *err;
	int status, n = 0;
	pid_t pid;

	if (!bin)
		test_fail(__FILE__, __LINE__,
			  "VINTC_BIN is not set: run the CLI tests through 'make check'");
	argv[n++] = (char *)bin;
	while (*args && n < (int)ARRAY_SIZE(argv) - 1)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	out = tmpfile();
	err = tmpfile();
	if (!out || !err)
		test_fail(__FILE__, __LINE__, "tmpfile failed");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		test_fail(__FILE__, __LINE__, "fork failed");
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = stdout_path ? open(stdout_path, O_WRONLY) : fileno(out);

		if (in < 0 || o < 0)
			_exit(126);
		dup2(in, STDIN_FILENO);
		dup2(o, STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		execv(bin, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		test_fail(__FILE__, __LINE__, "waitpid failed");
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = slurp(out);
	r->err = slurp(err);
	if (r->status == 127)
		test_fail(__FILE__, __LINE__, "cannot run %s", bin);
}

#define RUN(r, ...) cli_run_to((r), NULL, (const char *const[]){ __VA_ARGS__, NULL })

static void cli_free(struct cli_run *r)
{
	free(r->out);
	free(r->err);
}

/* Exit 0 with nothing on stderr: the command worked. */
#define ASSERT_RAN_OK(r) do {						\
	if ((r)->status != 0 || (r)->err[0])				\
		test_fail(__FILE__, __LINE__, "exit %d, stderr: %s",	\
			  (r)->status, (r)->err);			\
} while (0)

/* ---- a tiny JSON reader: one flat object, as the CLI prints it ------- */

/* Just after `"key":`, or NULL. */
static const char *json_val(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? p + strlen(pat) : NULL;
}

static bool json_num(const char *json, const char *key, int64_t *out)
{
	const char *p = json_val(json, key);
	char *end;

	if (!p)
		return false;
	*out = strtoll(p, &end, 10);
	return end != p && (*end == ',' || *end == '}');
}

/* Start of element k of array `key` (no nested arrays), or NULL. */
static const char *json_elem(const char *json, const char *key, size_t k)
{
	const char *p = json_val(json, key);
	bool in_str = false;

	if (!p || *p++ != '[' || *p == ']')
		return NULL;
	for (; *p && k; p++) {
		if (*p == '"')
			in_str = !in_str;
		else if (!in_str && *p == ',')
			k--;
		else if (!in_str && *p == ']')
			return NULL;
	}
	return k ? NULL : p;
}

/* Number of elements of array `key`, or -1 if there is no such array. */
static long json_len(const char *json, const char *key)
{
	const char *p = json_val(json, key);
	bool in_str = false;
	long n = 1;

	if (!p || *p++ != '[')
		return -1;
	if (*p == ']')
		return 0;
	for (; *p; p++) {
		if (*p == '"')
			in_str = !in_str;
		else if (!in_str && *p == ',')
			n++;
		else if (!in_str && *p == ']')
			return n;
	}
	return -1;
}

/* Element k as text, quotes stripped; false if absent. */
static bool json_str(const char *json, const char *key, size_t k, char *buf, size_t size)
{
	const char *p = json_elem(json, key, k);
	size_t n = 0;

	if (!p)
		return false;
	if (*p == '"')
		p++;
	while (*p && *p != '"' && *p != ',' && *p != ']' && n + 1 < size)
		buf[n++] = *p++;
	buf[n] = '\0';
	return n > 0;
}

static bool json_has_str(const char *json, const char *key, const char *s)
{
	char buf[64];

	for (size_t k = 0; json_str(json, key, k, buf, sizeof(buf)); k++)
		if (!strcmp(buf, s))
			return true;
	return false;
}

/* A "0x..." element, or the test fails. */
static uint64_t hex_at(const char *json, const char *key, size_t k, int line)
{
	char buf[64], *end;
	uint64_t v;

	if (!json_str(json, key, k, buf, sizeof(buf)) || strncmp(buf, "0x", 2))
		test_fail(__FILE__, line, "%s[%zu]: no hex string in %.200s", key, k, json);
	v = strtoull(buf, &end, 16);
	if (*end)
		test_fail(__FILE__, line, "%s[%zu]: '%s' is not hex", key, k, buf);
	return v;
}

#define HEX_AT(json, key, k) hex_at((json), (key), (k), __LINE__)

static int64_t num(const char *json, const char *key, int line)
{
	int64_t v;

	if (!json_num(json, key, &v))
		test_fail(__FILE__, line, "no number \"%s\" in %.200s", key, json);
	return v;
}

#define NUM(json, key) num((json), (key), __LINE__)

#define HOST_ID(e)    FIELD_GET(AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID, (e))
#define BACKING(e)    ((e) & AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE)
#define RUNNING(e)    (!!((e) & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING))
#define VALID(e)      (!!((e) & AVIC_PHYSICAL_ID_ENTRY_VALID))
/* Bits the table never holds: reserved 60:52 and the software GA_LOG_INTR. */
#define NOT_IN_TABLE  (GENMASK_ULL(61, 52))

/* ---- help ------------------------------------------------------------- */

TEST(cli_help)
{
	static const char *const cases[][5] = {	/* NULL-terminated rows */
		{ "--help" }, { "-h" }, { "help" }, { "help", "dump" }, { "help", "faults" },
		{ "dump", "--help" }, { "dump", "avic", "--help" }, { "dump", "avic", "-h" },
		{ "faults", "--help" }, { "faults", "avic", "--help" },
		/* Help wins over anything else on the line. */
		{ "dump", "avic", "--bogus", "--help" },
	};
	struct cli_run r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cli_run_to(&r, NULL, cases[i]);
		ASSERT_RAN_OK(&r);
		ASSERT(strstr(r.out, "usage: vintc"));
		cli_free(&r);
	}
	/* The top-level help describes every command and option. */
	RUN(&r, "--help");
	ASSERT_RAN_OK(&r);
	for (const char *const *w = (const char *const[]){ "dump avic", "faults avic",
			"--vcpus", "--x2avic", "--x2avic-4k", "--load", "--block",
			"--no-ipiv", "--json", "Exit status", NULL }; *w; w++)
		if (!strstr(r.out, *w))
			test_fail(__FILE__, __LINE__, "--help does not mention %s", *w);
	cli_free(&r);
}

/* ---- dump avic -------------------------------------------------------- */

TEST(cli_dump_load_json)
{
	struct cli_run r;
	uint64_t e0, e1, vm_id;

	RUN(&r, "dump", "avic", "--vcpus", "2", "--load", "0:3", "--json");
	ASSERT_RAN_OK(&r);
	/* The required keys come first, in order. */
	ASSERT(!strncmp(r.out, "{\"vm_id\":", 9));
	ASSERT(strstr(r.out, "\"physical_table\":") < strstr(r.out, "\"logical_table\":"));
	ASSERT(strstr(r.out, "\"logical_table\":") < strstr(r.out, "\"ga_tags\":"));
	vm_id = (uint64_t)NUM(r.out, "vm_id");
	ASSERT(vm_id > 0 && vm_id <= AVIC_VM_ID_MAX);

	/* xAVIC: entries 0..0xFE. */
	ASSERT_EQ(json_len(r.out, "physical_table"), AVIC_MAX_PHYSICAL_ID + 1);
	ASSERT_EQ(NUM(r.out, "max_index"), AVIC_MAX_PHYSICAL_ID);
	e0 = HEX_AT(r.out, "physical_table", 0);
	e1 = HEX_AT(r.out, "physical_table", 1);
	ASSERT(VALID(e0));
	ASSERT(RUNNING(e0));
	ASSERT_EQ(HOST_ID(e0), 3);
	ASSERT_NE(BACKING(e0), 0);
	ASSERT_EQ(BACKING(e0) % HOST_PAGE_SIZE, 0);
	ASSERT_EQ(e0 & NOT_IN_TABLE, 0);
	ASSERT(VALID(e1));
	ASSERT(!RUNNING(e1));
	ASSERT_EQ(HOST_ID(e1), 0);
	ASSERT_NE(BACKING(e1), 0);
	ASSERT_NE(BACKING(e1), BACKING(e0));
	ASSERT_EQ(e1 & NOT_IN_TABLE, 0);
	/* The entries point at the vCPUs' own backing pages. */
	ASSERT_EQ(BACKING(e0), HEX_AT(r.out, "backing_pages", 0));
	ASSERT_EQ(BACKING(e1), HEX_AT(r.out, "backing_pages", 1));
	for (size_t i = 2; i <= AVIC_MAX_PHYSICAL_ID; i++)
		ASSERT_EQ(HEX_AT(r.out, "physical_table", i), 0);

	/* Logical table: flat 0..7 and cluster 0..59, untouched so far. */
	ASSERT_EQ(json_len(r.out, "logical_table"), AVIC_LOGICAL_CLUSTER_MAX_INDEX + 1);
	for (size_t i = 0; i <= AVIC_LOGICAL_CLUSTER_MAX_INDEX; i++)
		ASSERT_EQ(HEX_AT(r.out, "logical_table", i), 0);

	/* GA tags: (vm_id << 12) | vcpu index. */
	ASSERT_EQ(json_len(r.out, "ga_tags"), 2);
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 0), vm_id << 12);
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 1), (vm_id << 12) | 1);

	ASSERT_EQ(json_len(r.out, "inhibits"), 0);
	ASSERT(strstr(r.out, "\"apicv_active\":true"));
	ASSERT(strstr(r.out, "\"model\":\"xavic\""));
	ASSERT_EQ(NUM(r.out, "vcpus"), 2);
	ASSERT(r.out[strlen(r.out) - 1] == '\n');
	cli_free(&r);
}

TEST(cli_dump_default_vcpus)
{
	struct cli_run r;

	RUN(&r, "dump", "avic", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 4);
	for (size_t i = 0; i < 4; i++) {
		uint64_t e = HEX_AT(r.out, "physical_table", i);

		ASSERT(VALID(e) && !RUNNING(e));
	}
	ASSERT_EQ(HEX_AT(r.out, "physical_table", 4), 0);
	cli_free(&r);
}

TEST(cli_dump_block)
{
	struct cli_run r;
	uint64_t e0, e1;
	char b[16];

	RUN(&r, "dump", "avic", "--vcpus", "2", "--load", "0:3,1:7", "--block", "0", "--json");
	ASSERT_RAN_OK(&r);
	e0 = HEX_AT(r.out, "physical_table", 0);
	e1 = HEX_AT(r.out, "physical_table", 1);
	/* Blocking: not running, last host APIC ID kept, GA_LOG_INTR only in the shadow. */
	ASSERT(VALID(e0));
	ASSERT(!RUNNING(e0));
	ASSERT_EQ(HOST_ID(e0), 3);
	ASSERT_NE(BACKING(e0), 0);
	ASSERT_EQ(e0 & NOT_IN_TABLE, 0);
	/* The other vCPU is untouched. */
	ASSERT(VALID(e1) && RUNNING(e1));
	ASSERT_EQ(HOST_ID(e1), 7);
	ASSERT(json_str(r.out, "blocking", 0, b, sizeof(b)) && !strcmp(b, "true"));
	ASSERT(json_str(r.out, "blocking", 1, b, sizeof(b)) && !strcmp(b, "false"));
	ASSERT(json_str(r.out, "cpus", 0, b, sizeof(b)) && !strcmp(b, "3"));
	cli_free(&r);
}

TEST(cli_dump_no_ipiv)
{
	struct cli_run r;
	uint64_t e0;

	/* IsRunning lives only in the shadow: the table never shows it. */
	RUN(&r, "dump", "avic", "--no-ipiv", "--load", "0:3", "--json");
	ASSERT_RAN_OK(&r);
	e0 = HEX_AT(r.out, "physical_table", 0);
	ASSERT(VALID(e0));
	ASSERT(!RUNNING(e0));
	ASSERT_EQ(HOST_ID(e0), 3);
	ASSERT_NE(BACKING(e0), 0);
	ASSERT_EQ(json_len(r.out, "inhibits"), 0);
	cli_free(&r);
}

TEST(cli_dump_x2avic)
{
	struct cli_run r;
	uint64_t vm_id;

	RUN(&r, "dump", "avic", "--x2avic", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(json_len(r.out, "physical_table"), X2AVIC_MAX_PHYSICAL_ID + 1);
	ASSERT_EQ(NUM(r.out, "max_index"), X2AVIC_MAX_PHYSICAL_ID);
	ASSERT(strstr(r.out, "\"model\":\"x2avic\""));
	cli_free(&r);

	/* Every ID up to 0x1FF has an entry: no inhibit, last entry valid. */
	RUN(&r, "dump", "avic", "--x2avic", "--vcpus", "512", "--load", "511:63", "--json");
	ASSERT_RAN_OK(&r);
	vm_id = (uint64_t)NUM(r.out, "vm_id");
	ASSERT_EQ(json_len(r.out, "inhibits"), 0);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 512);
	ASSERT(VALID(HEX_AT(r.out, "physical_table", 511)));
	ASSERT(RUNNING(HEX_AT(r.out, "physical_table", 511)));
	ASSERT_EQ(HOST_ID(HEX_AT(r.out, "physical_table", 511)), 63);
	/* Index 300 does not fit the old 24/8 tag: the 20/12 split keeps it. */
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 300), (vm_id << 12) | 300);
	cli_free(&r);

	RUN(&r, "dump", "avic", "--x2avic", "--vcpus", "513", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT(json_has_str(r.out, "inhibits", "PHYSICAL_ID_TOO_BIG"));
	cli_free(&r);
}

TEST(cli_dump_x2avic_4k)
{
	struct cli_run r;
	uint64_t vm_id, prev = 0;

	RUN(&r, "dump", "avic", "--x2avic-4k", "--vcpus", "4096", "--json");
	ASSERT_RAN_OK(&r);
	vm_id = (uint64_t)NUM(r.out, "vm_id");
	ASSERT_EQ(json_len(r.out, "physical_table"), X2AVIC_4K_MAX_PHYSICAL_ID + 1);
	ASSERT_EQ(NUM(r.out, "max_index"), X2AVIC_4K_MAX_PHYSICAL_ID);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 4096);
	ASSERT_EQ(json_len(r.out, "inhibits"), 0);
	ASSERT(strstr(r.out, "\"model\":\"x2avic-4k\""));
	for (size_t i = 0; i < 4096; i++) {
		uint64_t e = HEX_AT(r.out, "physical_table", i);

		ASSERT(VALID(e) && !RUNNING(e));
		ASSERT(BACKING(e) != 0 && BACKING(e) != prev);
		prev = BACKING(e);
	}
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 4095), (vm_id << 12) | 4095);
	cli_free(&r);
}

TEST(cli_dump_inhibited)
{
	struct cli_run r;
	uint64_t vm_id;

	/* 300 vCPUs on xAVIC: allowed, but IDs 255..299 inhibit AVIC. */
	RUN(&r, "dump", "avic", "--vcpus", "300", "--load", "0:3", "--json");
	ASSERT_RAN_OK(&r);
	vm_id = (uint64_t)NUM(r.out, "vm_id");
	ASSERT(vm_id > 0);
	ASSERT(json_has_str(r.out, "inhibits", "PHYSICAL_ID_TOO_BIG"));
	ASSERT(strstr(r.out, "\"apicv_active\":false"));
	ASSERT_EQ(json_len(r.out, "physical_table"), AVIC_MAX_PHYSICAL_ID + 1);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 300);
	ASSERT_EQ(HEX_AT(r.out, "ga_tags", 299), (vm_id << 12) | 299);
	/* IDs that fit keep valid entries; an inhibited VM never runs them. */
	ASSERT(VALID(HEX_AT(r.out, "physical_table", 0)));
	ASSERT(!RUNNING(HEX_AT(r.out, "physical_table", 0)));
	ASSERT(VALID(HEX_AT(r.out, "physical_table", AVIC_MAX_PHYSICAL_ID)));
	cli_free(&r);
}

TEST(cli_dump_numbers)
{
	struct cli_run r;

	RUN(&r, "dump", "avic", "--vcpus=0x10", "--load=0x1:0x3f", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(json_len(r.out, "ga_tags"), 16);
	ASSERT_EQ(HOST_ID(HEX_AT(r.out, "physical_table", 1)), 63);
	cli_free(&r);

	/* --vcpus after the --load it bounds; repeated --load flags add up. */
	RUN(&r, "dump", "avic", "--load", "5:1", "--load", "6:2", "--vcpus", "8", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(HOST_ID(HEX_AT(r.out, "physical_table", 5)), 1);
	ASSERT_EQ(HOST_ID(HEX_AT(r.out, "physical_table", 6)), 2);
	cli_free(&r);
}

TEST(cli_dump_human)
{
	struct cli_run j, h;
	char entry[32], tag[32];

	RUN(&j, "dump", "avic", "--vcpus", "2", "--load", "0:3", "--block", "0", "--json");
	ASSERT_RAN_OK(&j);
	RUN(&h, "dump", "avic", "--vcpus", "2", "--load", "0:3", "--block", "0");
	ASSERT_RAN_OK(&h);
	ASSERT(h.out[0] != '{');
	ASSERT(strstr(h.out, "VM ID"));
	ASSERT(strstr(h.out, "max index"));
	ASSERT(strstr(h.out, "inhibits"));
	ASSERT(strstr(h.out, "blocking/CPU3"));
	/* Same deterministic model run: the table shows the JSON's raw values. */
	ASSERT(json_str(j.out, "physical_table", 0, entry, sizeof(entry)));
	ASSERT(json_str(j.out, "ga_tags", 1, tag, sizeof(tag)));
	ASSERT(strstr(h.out, entry));
	ASSERT(strstr(h.out, tag));
	cli_free(&j);
	cli_free(&h);

	RUN(&h, "dump", "avic", "--vcpus", "300");
	ASSERT_RAN_OK(&h);
	ASSERT(strstr(h.out, "PHYSICAL_ID_TOO_BIG"));
	cli_free(&h);
}

/* ---- errors ------------------------------------------------------------ */

static void assert_usage_error(const char *const *args, const char *want, int line)
{
	struct cli_run r;
	char *nl;

	cli_run_to(&r, NULL, args);
	nl = strchr(r.err, '\n');
	if (r.status != 2 || r.out[0] || strncmp(r.err, "vintc: ", 7) || !nl || nl[1])
		test_fail(__FILE__, line, "%s %s ...: exit %d, stdout %zu bytes, stderr '%s'",
			  args[0] ? args[0] : "", args[0] && args[1] ? args[1] : "", r.status, strlen(r.out), r.err);
	if (want && strcmp(r.err, want))
		test_fail(__FILE__, line, "stderr '%s', want '%s'", r.err, want);
	cli_free(&r);
}

#define USAGE_ERROR(want, ...) \
	assert_usage_error((const char *const[]){ __VA_ARGS__, NULL }, (want), __LINE__)

TEST(cli_usage_errors)
{
	static const char *const cases[][8] = {
		{ NULL },
		{ "frobnicate" }, { "--frobnicate" }, { "help", "nope" },
		{ "dump" }, { "dump", "gicv5" }, { "dump", "--json" },
		{ "dump", "avic", "--bogus" }, { "dump", "avic", "extra" },
		{ "dump", "avic", "--vcpus" }, { "dump", "avic", "--vcpus=" },
		{ "dump", "avic", "--vcpus", "--json" },
		{ "dump", "avic", "--vcpus", "0" }, { "dump", "avic", "--vcpus", "4097" },
		{ "dump", "avic", "--vcpus", "-1" }, { "dump", "avic", "--vcpus", "+4" },
		{ "dump", "avic", "--vcpus", " 4" }, { "dump", "avic", "--vcpus", "4x" },
		{ "dump", "avic", "--vcpus", "0x" }, { "dump", "avic", "--vcpus", "1e3" },
		{ "dump", "avic", "--vcpus", "18446744073709551617" },
		{ "dump", "avic", "--load", "0:64" }, { "dump", "avic", "--load", "4:0" },
		{ "dump", "avic", "--load", "0:1,0:2" },
		{ "dump", "avic", "--load", "0:1", "--load", "0:2" },
		{ "dump", "avic", "--load", "0" }, { "dump", "avic", "--load", "0:" },
		{ "dump", "avic", "--load", ":1" }, { "dump", "avic", "--load", "0:1:2" },
		{ "dump", "avic", "--load", "0:1," }, { "dump", "avic", "--load", "0:x" },
		{ "dump", "avic", "--vcpus", "2", "--load", "2:0" },
		{ "dump", "avic", "--block", "0" },
		{ "dump", "avic", "--load", "0:1", "--block", "1" },
		{ "dump", "avic", "--load", "0:1", "--block", "0,0" },
		{ "dump", "avic", "--load", "0:1", "--block", "4" },
		{ "dump", "avic", "--x2avic", "--x2avic-4k" },
		{ "dump", "avic", "--json=yes" },
		{ "faults" }, { "faults", "avic", "--load", "0:1" },
		{ "faults", "avic", "--vcpus", "0" },
		{ "faults", "avic", "--x2avic-4k", "--x2avic" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_usage_error(cases[i], NULL, __LINE__);
	USAGE_ERROR("vintc: --vcpus: 5000 is out of range (1..4096)\n",
		    "dump", "avic", "--vcpus", "5000");
	USAGE_ERROR("vintc: --vcpus: 'abc' is not a number (decimal or 0x hex)\n",
		    "dump", "avic", "--vcpus", "abc");
	USAGE_ERROR("vintc: --load: CPU 64 is out of range (0..63)\n",
		    "dump", "avic", "--load", "0:64");
	USAGE_ERROR("vintc: --load: vCPU 4 is out of range (0..3)\n",
		    "dump", "avic", "--load", "4:0");
}

TEST(cli_stdout_write_error)
{
	struct cli_run r;

	/* Output that cannot be written is a failure, reported once. */
	cli_run_to(&r, "/dev/full", (const char *const[]){ "dump", "avic", "--json", NULL });
	ASSERT_EQ(r.status, 1);
	ASSERT(!strncmp(r.err, "vintc: ", 7));
	ASSERT(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
	cli_free(&r);
}

/* ---- faults avic ------------------------------------------------------- */

TEST(cli_faults_json)
{
	static const char *const models[] = { NULL, "--x2avic", "--x2avic-4k" };
	struct cli_run r;

	for (size_t i = 0; i < ARRAY_SIZE(models); i++) {
		if (models[i])
			RUN(&r, "faults", "avic", "--vcpus", "2", models[i], "--json");
		else
			RUN(&r, "faults", "avic", "--vcpus", "2", "--json");
		ASSERT_RAN_OK(&r);
		ASSERT(!strncmp(r.out, "{\"sites\":", 9));
		ASSERT(NUM(r.out, "sites") > 0);
		ASSERT_EQ(NUM(r.out, "cases"), NUM(r.out, "sites"));
		ASSERT_EQ(NUM(r.out, "failures"), 0);
		ASSERT_EQ(NUM(r.out, "leaked_pages"), 0);
		ASSERT_EQ(NUM(r.out, "leaked_bytes"), 0);
		ASSERT_EQ(NUM(r.out, "stale_ids"), 0);
		cli_free(&r);
	}
}

TEST(cli_faults_human)
{
	struct cli_run r;

	RUN(&r, "faults", "avic", "--vcpus", "3");
	ASSERT_RAN_OK(&r);
	ASSERT(r.out[0] != '{');
	ASSERT(strstr(r.out, "fault sites"));
	ASSERT(strstr(r.out, "PASS"));
	cli_free(&r);
}
