// SPDX-License-Identifier: MIT
/*
 * The vintc CLI, run as a program (VINTC_BIN): exit status, stdout and
 * stderr are captured separately, and JSON output is checked value by
 * value against the AVIC layouts in <vintc/amd_defs.h> and the GICv5 ones
 * in <vintc/gicv5_defs.h>; sim results against the workloads' own counts.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vintc/amd_defs.h>
#include <vintc/gicv5_defs.h>
#include <vintc/sim.h>

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

/* The "0x..." string value of key (not an array element), or the test fails. */
static uint64_t hex_val(const char *json, const char *key, int line)
{
	const char *p = json_val(json, key);
	char *end;
	uint64_t v;

	if (!p || strncmp(p, "\"0x", 3))
		test_fail(__FILE__, line, "no hex string \"%s\" in %.200s", key, json);
	v = strtoull(p + 3, &end, 16);
	if (end == p + 3 || *end != '"')
		test_fail(__FILE__, line, "\"%s\": '%.20s' is not hex", key, p);
	return v;
}

#define HEX(json, key) hex_val((json), (key), __LINE__)

/* Element k of array key is exactly s (true, false, null, a number). */
static bool json_elem_is(const char *json, const char *key, size_t k, const char *s)
{
	char buf[64];

	return json_str(json, key, k, buf, sizeof(buf)) && !strcmp(buf, s);
}

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
	static const char *const cases[][7] = {	/* NULL-terminated rows */
		{ "--help" }, { "-h" }, { "help" }, { "help", "dump" }, { "help", "faults" },
		{ "dump", "--help" }, { "dump", "avic", "--help" }, { "dump", "avic", "-h" },
		{ "faults", "--help" }, { "faults", "avic", "--help" },
		{ "dump", "gicv5", "--help" }, { "faults", "gicv5", "-h" },
		{ "help", "dump", "gicv5" }, { "help", "faults", "avic" },
		/* Help wins over anything else on the line. */
		{ "dump", "avic", "--bogus", "--help" },
		{ "dump", "gicv5", "--x2avic", "--vcpus", "0", "--help" },
		{ "faults", "gicv5", "--vcpus", "65", "--help" },
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
			"dump gicv5", "faults gicv5", "--vcpus", "--x2avic", "--x2avic-4k",
			"--load", "--block", "--no-ipiv", "--two-level", "--json",
			"usage: vintc dump gicv5", "usage: vintc faults gicv5", "1..64",
			"VMT_BASER", "contextr", "retired_vm_ids", "Exit status", NULL }; *w; w++)
		if (!strstr(r.out, *w))
			test_fail(__FILE__, __LINE__, "--help does not mention %s", *w);
	cli_free(&r);

	/* A target's help is that target's alone. */
	RUN(&r, "dump", "gicv5", "--help");
	ASSERT_RAN_OK(&r);
	ASSERT(!strncmp(r.out, "usage: vintc dump gicv5", 23));
	ASSERT(strstr(r.out, "--two-level") && strstr(r.out, "--load"));
	ASSERT(!strstr(r.out, "--x2avic"));
	cli_free(&r);
	RUN(&r, "help", "faults", "gicv5");
	ASSERT_RAN_OK(&r);
	ASSERT(!strncmp(r.out, "usage: vintc faults gicv5", 25));
	ASSERT(strstr(r.out, "1..64"));
	cli_free(&r);
	/* The command's help covers every target. */
	RUN(&r, "dump", "--help");
	ASSERT_RAN_OK(&r);
	ASSERT(strstr(r.out, "usage: vintc dump avic") && strstr(r.out, "usage: vintc dump gicv5"));
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

/* ---- dump gicv5 ------------------------------------------------------- */

/* What the hypervisor must size the VPET to: max(1, ceil(log2(N))) ID bits. */
static unsigned int vpe_bits_for(unsigned int n)
{
	unsigned int bits = 1;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

/* An address field holds a non-zero, 8-byte aligned PA and nothing else is set. */
#define GV5_ADDR_OK(w, field, others) \
	(((w) & (field)) != 0 && ((w) & ~((field) | (others))) == 0)

/*
 * The checks every dump gicv5 --json must pass for n vCPUs; returns the
 * VM ID.  Checked against the layouts of <vintc/gicv5_defs.h>.
 */
static uint64_t check_gicv5_dump(const char *out, unsigned int n, bool two_level, int line)
{
	unsigned int bits = vpe_bits_for(n);
	uint64_t vm_id, w0, w1, w2, w3, baser, cfgr, vmte_pa, prev = 0;

	if (strncmp(out, "{\"vm_id\":", 9) ||
	    !(strstr(out, "\"vm_id\":") < strstr(out, "\"vmte\":") &&
	      strstr(out, "\"vmte\":") < strstr(out, "\"vpet\":") &&
	      strstr(out, "\"vpet\":") < strstr(out, "\"irs\":{\"VMT_BASER\":")))
		test_fail(__FILE__, line, "keys out of order: %.200s", out);
	vm_id = (uint64_t)num(out, "vm_id", line);
	if (vm_id < 1 || vm_id > 0xFFFF)
		test_fail(__FILE__, line, "vm_id %" PRIu64, vm_id);
	if (num(out, "vcpus", line) != n || num(out, "vpe_id_bits", line) != bits)
		test_fail(__FILE__, line, "vcpus/vpe_id_bits: %.200s", out);

	/* The VMTE: 4 words, every VALID set by the IRS, fields as written. */
	if (json_len(out, "vmte") != 4)
		test_fail(__FILE__, line, "vmte has %ld words", json_len(out, "vmte"));
	w0 = hex_at(out, "vmte", 0, line);
	w1 = hex_at(out, "vmte", 1, line);
	w2 = hex_at(out, "vmte", 2, line);
	w3 = hex_at(out, "vmte", 3, line);
	if (!(w0 & GICV5_VMTEL2E_VALID) ||
	    !(GV5_ADDR_OK(w0, GICV5_VMTEL2E_VMD_ADDR, GICV5_VMTEL2E_VALID)))
		test_fail(__FILE__, line, "VMTE word 0 0x%016" PRIx64, w0);
	if (FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, w1) != bits ||
	    !(GV5_ADDR_OK(w1, GICV5_VMTEL2E_VPET_ADDR, GICV5_VMTEL2E_VPE_ID_BITS)))
		test_fail(__FILE__, line, "VMTE word 1 0x%016" PRIx64 ", want VPE_ID_BITS %u",
			  w1, bits);
	/* LPI IST: 12 ID bits, SPI IST: 8 (the defaults), both linear 4-byte ISTEs. */
	if (!(w2 & GICV5_VMTEL2E_IST_VALID) || FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, w2) != 12 ||
	    (w2 & GICV5_VMTEL2E_IST_STRUCTURE) || FIELD_GET(GICV5_VMTEL2E_IST_ISTSZ, w2) ||
	    !(w2 & GICV5_VMTEL2E_IST_ADDR))
		test_fail(__FILE__, line, "VMTE word 2 (LPI IST) 0x%016" PRIx64, w2);
	if (!(w3 & GICV5_VMTEL2E_IST_VALID) || FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, w3) != 8 ||
	    (w3 & GICV5_VMTEL2E_IST_STRUCTURE) || !(w3 & GICV5_VMTEL2E_IST_ADDR) ||
	    (w3 & GICV5_VMTEL2E_IST_ADDR) == (w2 & GICV5_VMTEL2E_IST_ADDR))
		test_fail(__FILE__, line, "VMTE word 3 (SPI IST) 0x%016" PRIx64, w3);

	/* The VPET: 2^bits entries, one valid VPETE per vCPU, its own VPED. */
	if (json_len(out, "vpet") != (1L << bits))
		test_fail(__FILE__, line, "vpet has %ld entries, want %ld", json_len(out, "vpet"),
			  1L << bits);
	for (size_t i = 0; i < (1U << bits); i++) {
		uint64_t e = hex_at(out, "vpet", i, line);

		if (i >= n) {
			if (e)
				test_fail(__FILE__, line,
					  "vpet[%zu] = 0x%" PRIx64 " beyond the vCPUs", i, e);
			continue;
		}
		if (!(e & GICV5_VPETE_VALID) ||
		    !(GV5_ADDR_OK(e, GICV5_VPETE_VPED_ADDR, GICV5_VPETE_VALID)) ||
		    (e & GICV5_VPETE_VPED_ADDR) == prev)
			test_fail(__FILE__, line, "vpet[%zu] = 0x%016" PRIx64, i, e);
		prev = e & GICV5_VPETE_VPED_ADDR;
	}

	/* The IRS has the VM table installed, in the structure asked for. */
	baser = hex_val(out, "VMT_BASER", line);
	cfgr = hex_val(out, "VMT_CFGR", line);
	vmte_pa = hex_val(out, "vmte_pa", line);
	if (!(baser & GICV5_IRS_VMT_BASER_VALID) ||
	    !(GV5_ADDR_OK(baser, GICV5_IRS_VMT_BASER_ADDR, GICV5_IRS_VMT_BASER_VALID)))
		test_fail(__FILE__, line, "VMT_BASER 0x%016" PRIx64, baser);
	if (FIELD_GET(GICV5_IRS_VMT_CFGR_VM_ID_BITS, cfgr) !=
	    FIELD_GET(GICV5_IRS_IDR3_VM_ID_BITS, hex_val(out, "IDR3", line)) ||
	    !!(cfgr & GICV5_IRS_VMT_CFGR_STRUCTURE) != two_level)
		test_fail(__FILE__, line, "VMT_CFGR 0x%08" PRIx64, cfgr);
	if (!(hex_val(out, "VMT_STATUSR", line) & GICV5_IRS_STATUSR_IDLE) ||
	    !(hex_val(out, "IDR0", line) & GICV5_IRS_IDR0_VIRT) ||
	    FIELD_GET(GICV5_IRS_IDR4_VPE_ID_BITS, hex_val(out, "IDR4", line)) != 12 ||
	    !(hex_val(out, "VPE_STATUSR", line) & GICV5_IRS_STATUSR_IDLE))
		test_fail(__FILE__, line, "IRS registers: %.300s", strstr(out, "\"irs\""));
	if (two_level) {
		uint64_t l1 = hex_val(out, "l1_vmte", line);
		uint64_t l2 = l1 & GICV5_VMTEL1E_L2_ADDR;

		/* L1 VALID, L2_ADDR[51:12] non-zero, and the VMTE in that L2. */
		if (!strstr(out, "\"two_level\":true") || !(l1 & GICV5_VMTEL1E_VALID) ||
		    !(GV5_ADDR_OK(l1, GICV5_VMTEL1E_L2_ADDR, GICV5_VMTEL1E_VALID)) ||
		    l2 + (vm_id % GICV5_VMTL2_ENTRIES) * GICV5_VMTE_SIZE != vmte_pa ||
		    l2 == (baser & GICV5_IRS_VMT_BASER_ADDR))
			test_fail(__FILE__, line, "l1_vmte 0x%016" PRIx64 ", vmte_pa 0x%" PRIx64
				  ", VMT_BASER 0x%" PRIx64, l1, vmte_pa, baser);
	} else {
		/* Linear: the VMTE is entry vm_id of the table VMT_BASER names. */
		if (!strstr(out, "\"two_level\":false") || json_val(out, "l1_vmte") ||
		    (baser & GICV5_IRS_VMT_BASER_ADDR) + vm_id * GICV5_VMTE_SIZE != vmte_pa)
			test_fail(__FILE__, line, "linear VMT: VMT_BASER 0x%" PRIx64
				  ", vmte_pa 0x%" PRIx64 ", vm_id %" PRIu64, baser, vmte_pa, vm_id);
	}
	if (json_len(out, "resident") != n || json_len(out, "contextr") != n ||
	    json_len(out, "cpus") != n)
		test_fail(__FILE__, line, "per-vCPU arrays: %.200s", out);
	if (out[strlen(out) - 1] != '\n')
		test_fail(__FILE__, line, "no final newline");
	return vm_id;
}

TEST(cli_dump_gicv5_json)
{
	static const unsigned int ns[] = { 1, 2, 3, 4, 5, 17, 64, 129 };
	struct cli_run r;
	char n[16];

	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		snprintf(n, sizeof(n), "%u", ns[i]);
		RUN(&r, "dump", "gicv5", "--vcpus", n, "--json");
		ASSERT_RAN_OK(&r);
		check_gicv5_dump(r.out, ns[i], false, __LINE__);
		/* Nothing loaded: nothing resident. */
		for (size_t v = 0; v < ns[i]; v++) {
			ASSERT(json_elem_is(r.out, "resident", v, "false"));
			ASSERT(json_elem_is(r.out, "contextr", v, "null"));
			ASSERT(json_elem_is(r.out, "cpus", v, "-1"));
		}
		cli_free(&r);
	}
	/* Default: 4 vCPUs. */
	RUN(&r, "dump", "gicv5", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_dump(r.out, 4, false, __LINE__);
	cli_free(&r);
}

TEST(cli_dump_gicv5_two_level)
{
	struct cli_run r;

	RUN(&r, "dump", "gicv5", "--two-level", "--vcpus", "3", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_dump(r.out, 3, true, __LINE__);
	ASSERT(HEX(r.out, "VMT_CFGR") & BIT_ULL(16));
	cli_free(&r);

	RUN(&r, "dump", "gicv5", "--vcpus=0x20", "--two-level", "--load", "31:0", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_dump(r.out, 32, true, __LINE__);
	ASSERT(json_elem_is(r.out, "resident", 31, "true"));
	cli_free(&r);
}

TEST(cli_dump_gicv5_load)
{
	struct cli_run r;
	uint64_t vm_id, c;

	RUN(&r, "dump", "gicv5", "--vcpus", "2", "--load", "0:2", "--json");
	ASSERT_RAN_OK(&r);
	vm_id = check_gicv5_dump(r.out, 2, false, __LINE__);
	c = HEX_AT(r.out, "contextr", 0);
	/* Resident: V set, no fault, this VM and VPE, no doorbell request. */
	ASSERT(c & ICH_CONTEXTR_EL2_V);
	ASSERT(!(c & ICH_CONTEXTR_EL2_F));
	ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VM, c), vm_id);
	ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VPE, c), 0);
	ASSERT(!(c & ICH_CONTEXTR_EL2_DB));
	ASSERT(json_elem_is(r.out, "resident", 0, "true"));
	ASSERT(json_elem_is(r.out, "cpus", 0, "2"));
	ASSERT(json_elem_is(r.out, "resident", 1, "false"));
	ASSERT(json_elem_is(r.out, "contextr", 1, "null"));
	ASSERT(json_elem_is(r.out, "cpus", 1, "-1"));
	cli_free(&r);

	/* Several PEs, repeated flags, --vcpus after the loads it bounds. */
	RUN(&r, "dump", "gicv5", "--load", "1:5,3:63", "--load", "2:0", "--vcpus", "4",
	    "--json");
	ASSERT_RAN_OK(&r);
	vm_id = check_gicv5_dump(r.out, 4, false, __LINE__);
	for (size_t v = 1; v < 4; v++) {
		c = HEX_AT(r.out, "contextr", v);
		ASSERT((c & ICH_CONTEXTR_EL2_V) && !(c & ICH_CONTEXTR_EL2_F));
		ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VM, c), vm_id);
		ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VPE, c), v);
		ASSERT(json_elem_is(r.out, "resident", v, "true"));
	}
	ASSERT(json_elem_is(r.out, "cpus", 1, "5"));
	ASSERT(json_elem_is(r.out, "cpus", 3, "63"));
	ASSERT(json_elem_is(r.out, "contextr", 0, "null"));
	cli_free(&r);
}

TEST(cli_dump_gicv5_max_vcpus)
{
	struct cli_run r;

	/* 2^IDR4.VPE_ID_BITS VPEs: every VPE ID of the IRS in use. */
	RUN(&r, "dump", "gicv5", "--vcpus", "4096", "--load", "4095:7", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_dump(r.out, 4096, false, __LINE__);
	ASSERT_EQ(FIELD_GET(ICH_CONTEXTR_EL2_VPE, HEX_AT(r.out, "contextr", 4095)), 4095);
	cli_free(&r);
}

TEST(cli_dump_gicv5_human)
{
	struct cli_run j, h;
	char w[32];

	RUN(&j, "dump", "gicv5", "--vcpus", "3", "--load", "1:2", "--json");
	ASSERT_RAN_OK(&j);
	RUN(&h, "dump", "gicv5", "--vcpus", "3", "--load", "1:2");
	ASSERT_RAN_OK(&h);
	ASSERT(h.out[0] != '{');
	for (const char *const *s = (const char *const[]){ "VM ID", "VMTE", "VALID 1",
			"VMD_ADDR", "VPET_ADDR", "VPE_ID_BITS 2", "IST_VALID 1", "ID_BITS 12",
			"ID_BITS 8", "STRUCTURE linear", "VPED_ADDR", "resident/PE2",
			"not loaded", "(no vCPU)", "VMT_BASER", "VMT_CFGR", "IDR4",
			"VPE_STATUSR", NULL }; *s; s++)
		if (!strstr(h.out, *s))
			test_fail(__FILE__, __LINE__, "human dump lacks '%s':\n%s", *s, h.out);
	/* Same deterministic model run: the raw values match the JSON's. */
	for (size_t i = 0; i < 4; i++) {
		ASSERT(json_str(j.out, "vmte", i, w, sizeof(w)));
		ASSERT(strstr(h.out, w));
	}
	ASSERT(json_str(j.out, "vpet", 2, w, sizeof(w)));
	ASSERT(strstr(h.out, w));
	ASSERT(json_str(j.out, "contextr", 1, w, sizeof(w)));
	ASSERT(strstr(h.out, w));
	cli_free(&j);
	cli_free(&h);

	RUN(&h, "dump", "gicv5", "--two-level");
	ASSERT_RAN_OK(&h);
	ASSERT(strstr(h.out, "two-level"));
	ASSERT(strstr(h.out, "L2_ADDR"));
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
		{ "dump" }, { "dump", "gicv6" }, { "dump", "--json" },
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
		{ "faults", "avic", "--two-level" }, { "dump", "avic", "--two-level" },
		/* GICv5 */
		{ "dump", "gicv5", "--bogus" }, { "dump", "gicv5", "extra" },
		{ "dump", "gicv5", "--x2avic" }, { "dump", "gicv5", "--x2avic-4k" },
		{ "dump", "gicv5", "--no-ipiv" }, { "dump", "gicv5", "--block", "0" },
		{ "dump", "gicv5", "--two-level=1" }, { "dump", "gicv5", "--json=1" },
		{ "dump", "gicv5", "--vcpus", "0" }, { "dump", "gicv5", "--vcpus", "4097" },
		{ "dump", "gicv5", "--vcpus" }, { "dump", "gicv5", "--vcpus", "x" },
		{ "dump", "gicv5", "--load", "0:64" }, { "dump", "gicv5", "--load", "4:0" },
		{ "dump", "gicv5", "--load", "0:1,0:2" }, { "dump", "gicv5", "--load", "0" },
		{ "dump", "gicv5", "--load", "0:1,," },
		{ "dump", "gicv5", "--vcpus", "2", "--load", "2:0" },
		{ "faults", "gicv5", "--vcpus", "0" }, { "faults", "gicv5", "--vcpus", "65" },
		{ "faults", "gicv5", "--vcpus", "4096" }, { "faults", "gicv5", "--vcpus=" },
		{ "faults", "gicv5", "--x2avic" }, { "faults", "gicv5", "--x2avic-4k" },
		{ "faults", "gicv5", "--two-level=yes" }, { "faults", "gicv5", "--load", "0:1" },
		{ "faults", "gicv5", "extra" }, { "faults", "gicv6" },
		{ "help", "dump", "gicv6" }, { "help", "help", "dump" },
		{ "help", "dump", "gicv5", "extra" },
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
	USAGE_ERROR("vintc: dump: missing target (expected 'avic' or 'gicv5'; "
		    "try 'vintc dump --help')\n", "dump");
	USAGE_ERROR("vintc: faults: unknown target 'gicv6' (expected 'avic' or 'gicv5')\n",
		    "faults", "gicv6");
	USAGE_ERROR("vintc: dump: missing target before '--json' (expected 'avic' or 'gicv5')\n",
		    "dump", "--json");
	USAGE_ERROR("vintc: --vcpus: 65 is out of range (1..64)\n",
		    "faults", "gicv5", "--vcpus", "65");
	USAGE_ERROR("vintc: --vcpus: 4097 is out of range (1..4096)\n",
		    "dump", "gicv5", "--vcpus", "4097");
	USAGE_ERROR("vintc: faults gicv5: --x2avic applies to 'faults avic' only\n",
		    "faults", "gicv5", "--x2avic");
	USAGE_ERROR("vintc: faults avic: --two-level applies to 'faults gicv5' only\n",
		    "faults", "avic", "--two-level");
	USAGE_ERROR("vintc: dump gicv5: --block applies to 'dump avic' only\n",
		    "dump", "gicv5", "--block", "0");
	USAGE_ERROR("vintc: --load: CPU 64 is out of range (0..63)\n",
		    "dump", "gicv5", "--load", "0:64");
	USAGE_ERROR("vintc: --load: vCPU 1 is loaded twice\n",
		    "dump", "gicv5", "--load", "1:1", "--load", "1:2");
	USAGE_ERROR("vintc: dump gicv5: unknown option '--bogus' (try 'vintc dump gicv5 --help')\n",
		    "dump", "gicv5", "--bogus=3");
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

/* ---- faults gicv5 ------------------------------------------------------ */

static void check_gicv5_faults(const char *out, bool two_level, int line)
{
	if (strncmp(out, "{\"sites\":", 9))
		test_fail(__FILE__, line, "not the campaign's JSON: %.200s", out);
	if (num(out, "sites", line) <= 20 || num(out, "cases", line) != num(out, "sites", line) ||
	    num(out, "failures", line) != 0 || num(out, "leaked_pages", line) != 0 ||
	    num(out, "leaked_bytes", line) != 0 || num(out, "stale_ids", line) != 0 ||
	    num(out, "valid_left", line) != 0 || num(out, "retired_vm_ids", line) < 0 ||
	    num(out, "vcpus", line) != 2)
		test_fail(__FILE__, line, "campaign: %s", out);
	/* Some sites are IRS commands that never complete. */
	if (num(out, "hangs", line) <= 0)
		test_fail(__FILE__, line, "no hung-command case: %s", out);
	if (!strstr(out, two_level ? "\"two_level\":true" : "\"two_level\":false"))
		test_fail(__FILE__, line, "two_level: %s", out);
}

TEST(cli_faults_gicv5_json)
{
	struct cli_run r;

	RUN(&r, "faults", "gicv5", "--vcpus", "2", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_faults(r.out, false, __LINE__);
	cli_free(&r);
}

TEST(cli_faults_gicv5_two_level)
{
	struct cli_run r, linear;

	RUN(&r, "faults", "gicv5", "--vcpus", "2", "--two-level", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_faults(r.out, true, __LINE__);
	/* The L2 VM table adds its allocation and its VMAP_L2_VMTR command. */
	RUN(&linear, "faults", "gicv5", "--vcpus", "2", "--json");
	ASSERT_RAN_OK(&linear);
	ASSERT(NUM(r.out, "sites") > NUM(linear.out, "sites"));
	cli_free(&r);
	cli_free(&linear);
}

TEST(cli_faults_gicv5_human)
{
	struct cli_run r;

	RUN(&r, "faults", "gicv5", "--vcpus", "1");
	ASSERT_RAN_OK(&r);
	ASSERT(r.out[0] != '{');
	ASSERT(strstr(r.out, "GICv5 fault campaign"));
	ASSERT(strstr(r.out, "fault sites"));
	ASSERT(strstr(r.out, "PASS"));
	cli_free(&r);
}

/* ---- sim --------------------------------------------------------------- */

/* Exit 2, nothing on stdout, one "vintc: ..." line on stderr holding want. */
static void assert_usage_error_has(const char *const *args, const char *want, int line)
{
	struct cli_run r;
	char *nl;

	cli_run_to(&r, NULL, args);
	nl = strchr(r.err, '\n');
	if (r.status != 2 || r.out[0] || strncmp(r.err, "vintc: ", 7) || !nl || nl[1])
		test_fail(__FILE__, line, "exit %d, stdout %zu bytes, stderr '%s'",
			  r.status, strlen(r.out), r.err);
	if (!strstr(r.err, want))
		test_fail(__FILE__, line, "stderr '%s' does not mention '%s'", r.err, want);
	cli_free(&r);
}

#define USAGE_ERROR_HAS(want, ...) \
	assert_usage_error_has((const char *const[]){ __VA_ARGS__, NULL }, (want), __LINE__)

/* One JSON object on one line, as sim_result_json() makes it. */
static void check_sim_json(const char *out, const char *workload, int line)
{
	char head[64];
	const char *nl = strchr(out, '\n');

	snprintf(head, sizeof(head), "{\"workload\":\"%s\",", workload);
	if (strncmp(out, head, strlen(head)) || !nl || nl[1] || nl[-1] != '}')
		test_fail(__FILE__, line, "not one JSON line for %s: %.300s", workload, out);
}

TEST(cli_sim_help)
{
	static const char *const cases[][6] = {
		{ "sim", "--help" }, { "sim", "-h" }, { "help", "sim" },
		{ "sim", "ipi-pingpong", "--help" },
		/* Help wins over anything else on the line. */
		{ "sim", "nope", "--vcpus", "0", "--help" },
	};
	struct cli_run r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cli_run_to(&r, NULL, cases[i]);
		ASSERT_RAN_OK(&r);
		ASSERT(!strncmp(r.out, "usage: vintc sim WORKLOAD", 25));
		cli_free(&r);
	}
	RUN(&r, "sim", "--help");
	ASSERT_RAN_OK(&r);
	/* Every workload the engine has, at the start of its own line. */
	for (const char *const *w = sim_workloads(); *w; w++) {
		char pat[64];

		snprintf(pat, sizeof(pat), "\n  %s ", *w);
		if (!strstr(r.out, pat))
			test_fail(__FILE__, __LINE__, "sim --help does not list %s", *w);
	}
	for (const char *const *w = (const char *const[]){ "--vms", "--vcpus", "--host-cpus",
			"--messages", "--seed", "--x2avic", "--x2avic-4k", "--no-ipiv",
			"--erratum-1235", "--watchdog-ms", "--json", "--trace", "1..208",
			"ui.perfetto.dev", "one track per vCPU", "same seed", "byte for byte",
			"halting in between", "doorbells", "Exit status", NULL }; *w; w++)
		if (!strstr(r.out, *w))
			test_fail(__FILE__, __LINE__, "sim --help does not mention %s", *w);
	cli_free(&r);
	/* The top-level help has the command and its help. */
	RUN(&r, "--help");
	ASSERT_RAN_OK(&r);
	ASSERT(strstr(r.out, "  sim WORKLOAD") && strstr(r.out, "usage: vintc sim WORKLOAD"));
	cli_free(&r);
}

TEST(cli_sim_json)
{
	struct cli_run r;

	/* Two pairs, 50 round trips each: 2 x 2 x 50 interrupts. */
	RUN(&r, "sim", "ipi-pingpong", "--seed", "5", "--vcpus", "4", "--messages", "50",
	    "--json");
	ASSERT_RAN_OK(&r);
	check_sim_json(r.out, "ipi-pingpong", __LINE__);
	ASSERT_EQ(NUM(r.out, "sent"), 200);
	ASSERT_EQ(NUM(r.out, "delivered"), 200);
	ASSERT_EQ(NUM(r.out, "merged"), 0);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	ASSERT_EQ(NUM(r.out, "leaked_pages"), 0);
	ASSERT(strstr(r.out, "\"lost\":0,"));
	ASSERT(strstr(r.out, "\"sent\":200,"));
	ASSERT(strstr(r.out, "\"failure\":\"\"}"));
	/* Each IPI but the first of a pair finds its target halted. */
	ASSERT(NUM(r.out, "target_not_running") > 0);
	ASSERT(NUM(r.out, "target_not_running") < 200);
	ASSERT(NUM(r.out, "p50") <= NUM(r.out, "p99"));
	ASSERT(NUM(r.out, "p99") <= NUM(r.out, "max"));
	cli_free(&r);

	/* Every AVIC IPI and GICv5 injection is counted once. */
	RUN(&r, "sim", "ipi-all-to-all", "--seed", "1", "--vcpus", "3", "--messages", "20",
	    "--x2avic", "--json");
	ASSERT_RAN_OK(&r);
	check_sim_json(r.out, "ipi-all-to-all", __LINE__);
	ASSERT_EQ(NUM(r.out, "sent"), 3 * 20);
	ASSERT_EQ(NUM(r.out, "delivered"), 3 * 20);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	cli_free(&r);
	RUN(&r, "sim", "gicv5-lpi", "--seed", "2", "--vcpus", "2", "--host-cpus", "2",
	    "--messages", "10", "--json");
	ASSERT_RAN_OK(&r);
	check_sim_json(r.out, "gicv5-lpi", __LINE__);
	ASSERT_EQ(NUM(r.out, "sent"), 2 * 10);	/* two devices */
	ASSERT_EQ(NUM(r.out, "delivered"), 2 * 10);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	cli_free(&r);
}

TEST(cli_sim_deterministic)
{
	struct cli_run a, b;

	RUN(&a, "sim", "ipi-all-to-all", "--seed", "7", "--vcpus", "4", "--messages", "100",
	    "--json");
	RUN(&b, "sim", "ipi-all-to-all", "--seed", "7", "--vcpus", "4", "--messages", "100",
	    "--json");
	ASSERT_RAN_OK(&a);
	ASSERT_RAN_OK(&b);
	check_sim_json(a.out, "ipi-all-to-all", __LINE__);
	ASSERT_EQ(NUM(a.out, "sent"), 400);
	ASSERT(!strcmp(a.out, b.out));
	cli_free(&a);
	cli_free(&b);

	/* The summary too: latencies in steps, no wall-clock figures. */
	RUN(&a, "sim", "ipi-pingpong", "--seed", "5", "--vcpus", "4", "--messages", "50");
	RUN(&b, "sim", "ipi-pingpong", "--seed", "5", "--vcpus", "4", "--messages", "50");
	ASSERT_RAN_OK(&a);
	ASSERT_RAN_OK(&b);
	ASSERT(!strcmp(a.out, b.out));
	ASSERT(!strncmp(a.out, "sim ipi-pingpong: 1 VM(s) x 4 vCPU(s) on 4 host CPU(s)", 54));
	ASSERT(strstr(a.out, "deterministic, seed 5,"));
	ASSERT(strstr(a.out, "\n  sent              200 "));
	ASSERT(strstr(a.out, "\n  lost              0\n"));
	ASSERT(strstr(a.out, " steps, max "));
	ASSERT(!strstr(a.out, "interrupts/s"));
	ASSERT(strstr(a.out, "\n  result            PASS\n"));
	cli_free(&a);
	cli_free(&b);
}

TEST(cli_sim_free)
{
	struct cli_run r;

	RUN(&r, "sim", "ipi-pingpong", "--vcpus", "2", "--messages", "100");
	ASSERT_RAN_OK(&r);
	ASSERT(strstr(r.out, "free-running, watchdog 2000 ms"));
	ASSERT(strstr(r.out, "\n  sent              200 "));
	ASSERT(strstr(r.out, "\n  delivered         200 "));
	ASSERT(strstr(r.out, "\n  lost              0\n"));
	ASSERT(strstr(r.out, " ns, max "));
	ASSERT(strstr(r.out, "interrupts/s\n"));
	ASSERT(strstr(r.out, "\n  elapsed           "));
	ASSERT(strstr(r.out, "\n    target not running "));
	ASSERT(strstr(r.out, "\n  result            PASS\n"));
	cli_free(&r);
}

TEST(cli_sim_trace)
{
	char path[] = "/tmp/vintc-cli-trace-XXXXXX";
	int fd = mkstemp(path), tracks = 0;
	struct cli_run r;
	char *trace;
	FILE *f;

	ASSERT(fd >= 0);
	close(fd);
	RUN(&r, "sim", "ipi-pingpong", "--seed", "5", "--vcpus", "4", "--messages", "50",
	    "--trace", path, "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	cli_free(&r);
	f = fopen(path, "r");
	ASSERT(f);
	trace = slurp(f);
	unlink(path);
	ASSERT(!strncmp(trace, "{\"displayTimeUnit\"", 18));
	ASSERT(strstr(trace, "\"traceEvents\":["));
	/* One track per vCPU, and the interrupts on them. */
	for (const char *p = trace; (p = strstr(p, "\"thread_name\"")); p++)
		tracks++;
	ASSERT_EQ(tracks, 4);
	ASSERT(strstr(trace, "{\"name\":\"interrupt\",\"ph\":\"i\""));
	ASSERT(!strcmp(trace + strlen(trace) - 4, "\n]}\n"));
	free(trace);
}

TEST(cli_sim_erratum_1235)
{
	struct cli_run r;

	/*
	 * The CPU misses the target's IsRunning change: no doorbell, no exit,
	 * and the halting target is never woken.  The results come out first.
	 */
	RUN(&r, "sim", "ipi-pingpong", "--erratum-1235", "--seed", "3", "--vcpus", "2",
	    "--messages", "200", "--json");
	ASSERT_EQ(r.status, 1);
	check_sim_json(r.out, "ipi-pingpong", __LINE__);
	/* One pair, one IPI in flight: exactly one is lost, then nothing runs. */
	ASSERT_EQ(NUM(r.out, "lost"), 1);
	ASSERT_EQ(NUM(r.out, "sent"), NUM(r.out, "delivered") + NUM(r.out, "merged") + 1);
	ASSERT(NUM(r.out, "sent") < 400);
	ASSERT(strstr(r.out, "\"failure\":\"lost wake-up"));
	ASSERT(!strncmp(r.err, "vintc: sim: lost wake-up: vCPU ", 31));
	ASSERT(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
	cli_free(&r);

	/* The summary says so too. */
	RUN(&r, "sim", "ipi-pingpong", "--erratum-1235", "--seed", "3", "--vcpus", "2",
	    "--messages", "200");
	ASSERT_EQ(r.status, 1);
	ASSERT(strstr(r.out, "\n  lost              1\n"));
	ASSERT(strstr(r.out, "\n  result            FAIL\n"));
	ASSERT(strstr(r.err, "lost wake-up"));
	cli_free(&r);

	/* KVM's workaround: with IPIv off every IPI exits, and all arrive. */
	RUN(&r, "sim", "ipi-pingpong", "--erratum-1235", "--no-ipiv", "--seed", "3",
	    "--vcpus", "2", "--messages", "200", "--json");
	ASSERT_RAN_OK(&r);
	ASSERT_EQ(NUM(r.out, "sent"), 400);
	ASSERT_EQ(NUM(r.out, "delivered"), 400);
	ASSERT_EQ(NUM(r.out, "lost"), 0);
	ASSERT_EQ(NUM(r.out, "target_not_running"), 400);
	cli_free(&r);
}

TEST(cli_sim_usage_errors)
{
	USAGE_ERROR_HAS("sim: unknown workload 'ipi-pong' (expected 'ipi-pingpong', ",
			"sim", "ipi-pong");
	USAGE_ERROR_HAS("'gicv5-lpi'", "sim", "ipi-pong");
	USAGE_ERROR_HAS("sim: missing workload (expected 'ipi-pingpong', ", "sim");
	USAGE_ERROR_HAS("sim: missing workload", "sim", "--vcpus", "2", "--json");
	USAGE_ERROR("vintc: --vcpus: 0 is out of range (1..208)\n",
		    "sim", "ipi-pingpong", "--vcpus", "0");
	USAGE_ERROR("vintc: --vcpus: 209 is out of range (1..208)\n",
		    "sim", "ipi-pingpong", "--vcpus", "209");
	USAGE_ERROR("vintc: --seed: 'x' is not a number (decimal or 0x hex)\n",
		    "sim", "ipi-pingpong", "--seed", "x");
	USAGE_ERROR("vintc: --seed: '-1' is not a number (decimal or 0x hex)\n",
		    "sim", "ipi-pingpong", "--seed=-1");
	USAGE_ERROR("vintc: --vms: 65 is out of range (1..64)\n",
		    "sim", "ipi-pingpong", "--vms", "65");
	USAGE_ERROR("vintc: --host-cpus: 1025 is out of range (1..1024)\n",
		    "sim", "ipi-pingpong", "--host-cpus", "1025");
	USAGE_ERROR("vintc: --messages: 0 is out of range (1..1000000000)\n",
		    "sim", "ipi-pingpong", "--messages", "0");
	USAGE_ERROR("vintc: --messages: 1000000001 is out of range (1..1000000000)\n",
		    "sim", "ipi-pingpong", "--messages", "1000000001");
	USAGE_ERROR("vintc: --watchdog-ms: 600001 is out of range (1..600000)\n",
		    "sim", "ipi-pingpong", "--watchdog-ms", "600001");
	USAGE_ERROR("vintc: --trace: missing value\n", "sim", "ipi-pingpong", "--trace");
	USAGE_ERROR("vintc: --json takes no value (got '--json=1')\n",
		    "sim", "ipi-pingpong", "--json=1");
	USAGE_ERROR("vintc: --x2avic and --x2avic-4k conflict: choose one model\n",
		    "sim", "ipi-pingpong", "--x2avic", "--x2avic-4k");
	USAGE_ERROR("vintc: sim: unknown option '--bogus' (try 'vintc sim --help')\n",
		    "sim", "ipi-pingpong", "--bogus");
	USAGE_ERROR("vintc: sim: unexpected argument 'self-ipi' (try 'vintc sim --help')\n",
		    "sim", "ipi-pingpong", "self-ipi");
	/* Options the engine refuses (sim_run() -EINVAL), explained. */
	USAGE_ERROR("vintc: sim: gicv5-spi needs a host CPU per vCPU (a VPE is resident on "
		    "one PE at a time): 8 vCPU(s) on 4 host CPU(s); raise --host-cpus or "
		    "lower --vcpus\n",
		    "sim", "gicv5-spi", "--vcpus", "8", "--host-cpus", "4");
	USAGE_ERROR("vintc: sim: --vms 64 x --vcpus 65 is 4160 vCPUs, more than 4096\n",
		    "sim", "ipi-all-to-all", "--vms", "64", "--vcpus", "65");
	USAGE_ERROR("vintc: sim: logical-cluster takes at most 60 vCPUs per VM "
		    "(15 xAPIC clusters of 4), not 61\n",
		    "sim", "logical-cluster", "--vcpus", "61");
}
