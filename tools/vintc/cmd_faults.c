// SPDX-License-Identifier: MIT
/*
 * vintc faults avic|gicv5: run campaign_avic() or campaign_gicv5() (every
 * fault site of building a VM, each failing once) and print the totals.
 * Exit 1 with the first broken rule on stderr if any case failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "campaign.h"
#include "cmds.h"
#include "progress.h"

#define FAULTS_DEFAULT_VCPUS 4U
/* Each GICv5 case probes an IRS and builds the whole VM: keep N small. */
#define FAULTS_GICV5_MAX_VCPUS 64U

void cmd_faults_usage(FILE *f)
{
	cmd_faults_avic_usage(f);
	fputs("\n", f);
	cmd_faults_gicv5_usage(f);
}

void cmd_faults_avic_usage(FILE *f)
{
	fputs("usage: vintc faults avic [--vcpus N] [--x2avic|--x2avic-4k] [--json]\n"
	      "\n"
	      "Exhaustive fault campaign: build an AVIC VM with vCPUs 0..N-1 once to count\n"
	      "the fault sites it passes (allocations, ID allocation), then once per site\n"
	      "with exactly that site failing.  Every failing step must report the error,\n"
	      "a retry must finish the VM, and after destroy no page, byte or VM ID may\n"
	      "remain.\n"
	      "\n"
	      "  --vcpus N         vCPUs per VM, 1..4096 (default 4); the number of sites,\n"
	      "                    and so the run time, grows with N\n"
	      "  --x2avic          x2AVIC model (physical IDs 0..0x1FF)\n"
	      "  --x2avic-4k       x2AVIC with 4K IDs (0..0xFFF)\n"
	      "                    default: xAVIC (0..0xFE)\n"
	      "  --json            {\"sites\":S,\"cases\":C,\"failures\":F,\"leaked_pages\":L,\n"
	      "                     \"leaked_bytes\":B,\"stale_ids\":I,\"model\":M,\"vcpus\":N}\n"
	      "  -h, --help        this text\n"
	      "\n"
	      "While it runs, a terminal on stderr shows the cases done of the total, the\n"
	      "rate and the time left.  Exit status 0 if every case kept the rules, 1\n"
	      "otherwise (the first broken rule on stderr).\n", f);
}

void cmd_faults_gicv5_usage(FILE *f)
{
	fputs("usage: vintc faults gicv5 [--vcpus N] [--two-level] [--json]\n"
	      "\n"
	      "Exhaustive GICv5 fault campaign.  One case creates an IRS model, probes it\n"
	      "(vgic_v5_probe), builds a VM with vCPUs 0..N-1, initialises it\n"
	      "(vgic_v5_init), makes every VPE resident once, then tears everything down.\n"
	      "A first run counts the fault sites passed: allocations, host LPIs, and for\n"
	      "each IRS command (VMT_BASER, VMAP_*, VPE_SELR, VPE_CR0, VPE_DBR) a fault and\n"
	      "a never-completing command.  Then one case per site, with exactly that site\n"
	      "failing.  Every failure must be reported; a hung IRS is released and the\n"
	      "step retried, which must then finish; after teardown no page, byte, host\n"
	      "LPI, live VM ID or VALID VMTE may remain, and only a VM whose teardown\n"
	      "failed may have its ID retired.\n"
	      "\n"
	      "  --vcpus N         vCPUs per VM, 1..64 (default 4).  Every case builds the\n"
	      "                    whole VM and the sites grow with N, so N is kept small\n"
	      "  --two-level       two-level VM table (L1 + on-demand 4 KiB L2s)\n"
	      "                    default: linear VM table\n"
	      "  --json            {\"sites\":S,\"cases\":C,\"failures\":F,\"leaked_pages\":L,\n"
	      "                     \"retired_vm_ids\":R,\"leaked_bytes\":B,\"stale_ids\":I,\n"
	      "                     \"hangs\":H,\"valid_left\":V,\"vcpus\":N,\"two_level\":T}\n"
	      "                    hangs: cases where an IRS command never completed;\n"
	      "                    retired_vm_ids: IDs retired after a failed teardown\n"
	      "  -h, --help        this text\n"
	      "\n"
	      "While it runs, a terminal on stderr shows the cases done of the total, the\n"
	      "rate and the time left.  Exit status 0 if every case kept the rules, 1\n"
	      "otherwise (the first broken rule on stderr).\n", f);
}

static void faults_avic_print(const struct campaign_opts *opts,
			      const struct campaign_result *res, bool json)
{
	if (json) {
		printf("{\"sites\":%" PRIu64 ",\"cases\":%" PRIu64 ",\"failures\":%" PRIu64
		       ",\"leaked_pages\":%" PRIu64 ",\"leaked_bytes\":%" PRIu64
		       ",\"stale_ids\":%" PRIu64 ",\"model\":\"%s\",\"vcpus\":%u}\n",
		       res->sites, res->cases, res->failures, res->leaked_pages,
		       res->leaked_bytes, res->stale_ids, args_model_name(opts->model),
		       opts->vcpus);
		return;
	}
	printf("AVIC fault campaign: model %s, %u vCPU(s)\n", args_model_name(opts->model),
	       opts->vcpus);
	printf("  fault sites     %" PRIu64 "\n", res->sites);
	printf("  cases run       %" PRIu64 " (one failing site each)\n", res->cases);
	printf("  failures        %" PRIu64 "\n", res->failures);
	printf("  leaked pages    %" PRIu64 "\n", res->leaked_pages);
	printf("  leaked bytes    %" PRIu64 "\n", res->leaked_bytes);
	printf("  stale VM IDs    %" PRIu64 "\n", res->stale_ids);
	printf("  result          %s\n", res->failures ? "FAIL" : "PASS");
}

static void faults_gicv5_print(const struct campaign_opts *opts,
			       const struct campaign_result *res, bool json)
{
	if (json) {
		printf("{\"sites\":%" PRIu64 ",\"cases\":%" PRIu64 ",\"failures\":%" PRIu64
		       ",\"leaked_pages\":%" PRIu64 ",\"retired_vm_ids\":%" PRIu64
		       ",\"leaked_bytes\":%" PRIu64 ",\"stale_ids\":%" PRIu64
		       ",\"hangs\":%" PRIu64 ",\"valid_left\":%" PRIu64
		       ",\"vcpus\":%u,\"two_level\":%s}\n",
		       res->sites, res->cases, res->failures, res->leaked_pages,
		       res->retired_vm_ids, res->leaked_bytes, res->stale_ids, res->hangs,
		       res->valid_left, opts->vcpus, opts->two_level ? "true" : "false");
		return;
	}
	printf("GICv5 fault campaign: %s VM table, %u vCPU(s)\n",
	       opts->two_level ? "two-level" : "linear", opts->vcpus);
	printf("  fault sites     %" PRIu64 "\n", res->sites);
	printf("  cases run       %" PRIu64 " (one failing site each)\n", res->cases);
	printf("  IRS hangs       %" PRIu64 " (command never completed, then released)\n",
	       res->hangs);
	printf("  failures        %" PRIu64 "\n", res->failures);
	printf("  leaked pages    %" PRIu64 "\n", res->leaked_pages);
	printf("  leaked bytes    %" PRIu64 "\n", res->leaked_bytes);
	printf("  stale VM IDs    %" PRIu64 "\n", res->stale_ids);
	printf("  retired VM IDs  %" PRIu64 " (teardown failed once)\n", res->retired_vm_ids);
	printf("  VALID VMTEs     %" PRIu64 " (left after teardown)\n", res->valid_left);
	printf("  result          %s\n", res->failures ? "FAIL" : "PASS");
}

struct faults_progress {
	struct progress p;
	const char *cmd;
};

/* "faults avic: 1200/8194 cases (14%), 210/s, 33 s left" */
static void faults_progress(void *arg, uint64_t done, uint64_t total)
{
	struct faults_progress *fp = arg;
	double secs, rate;
	char left[32] = "";

	if (!progress_due(&fp->p))
		return;
	secs = progress_elapsed(&fp->p);
	rate = secs > 0 ? (double)done / secs : 0;
	/* The first second's rate is mostly the set-up: no estimate from it. */
	if (secs >= 1 && rate > 0)
		snprintf(left, sizeof(left), ", %.0f s left", (double)(total - done) / rate);
	progress_show(&fp->p, "%s: %" PRIu64 "/%" PRIu64 " cases (%" PRIu64 "%%), %.0f/s%s",
		      fp->cmd, done, total, total ? done * 100 / total : 100, rate, left);
}

/* Progress on stderr while the campaign runs, if stderr is a terminal. */
static void faults_progress_start(struct faults_progress *fp, const char *cmd,
				  struct campaign_opts *opts)
{
	progress_init(&fp->p);
	fp->cmd = cmd;
	if (fp->p.on) {
		opts->progress = faults_progress;
		opts->progress_arg = fp;
	}
}

/* Results first, so they are out before the verdict. */
static int faults_verdict(const char *cmd, const struct campaign_result *res)
{
	if (!res->failures)
		return CLI_EXIT_OK;
	fflush(stdout);
	return cli_error("%s: %" PRIu64 " of %" PRIu64 " case(s) failed; first: %s",
			 cmd, res->failures, res->cases,
			 res->first_failure[0] ? res->first_failure : "(not recorded)");
}

int cmd_faults_avic(int argc, char **argv)
{
	struct campaign_opts opts = { .vcpus = FAULTS_DEFAULT_VCPUS };
	struct campaign_result res;
	struct faults_progress fp;
	bool x2 = false, x2_4k = false, json = false;
	const char *vcpus = NULL;
	struct args a;
	uint64_t n;
	int r;

	if (args_want_help(argc, argv, 1)) {
		cmd_faults_avic_usage(stdout);
		return CLI_EXIT_OK;
	}
	args_init(&a, argc, argv, 1);
	while (args_next(&a)) {
		if (args_is(&a, "--vcpus")) {
			if (!(vcpus = args_value(&a)))
				return CLI_EXIT_USAGE;
		} else if (args_is(&a, "--x2avic")) {
			if (args_no_value(&a))
				return CLI_EXIT_USAGE;
			x2 = true;
		} else if (args_is(&a, "--x2avic-4k")) {
			if (args_no_value(&a))
				return CLI_EXIT_USAGE;
			x2_4k = true;
		} else if (args_is(&a, "--json")) {
			if (args_no_value(&a))
				return CLI_EXIT_USAGE;
			json = true;
		} else if (args_is_other(&a, "--two-level")) {
			return args_other_target(&a, "faults avic", "faults gicv5");
		} else {
			return args_unknown(&a, "faults avic");
		}
	}
	if (args_model(x2, x2_4k, &opts.model))
		return CLI_EXIT_USAGE;
	if (vcpus) {
		if (args_parse_u64("--vcpus", NULL, vcpus, 1, VM_MAX_VCPUS, &n))
			return CLI_EXIT_USAGE;
		opts.vcpus = (uint32_t)n;
	}
	if (cli_parse_only)
		return CLI_EXIT_OK;

	faults_progress_start(&fp, "faults avic", &opts);
	r = campaign_avic(&opts, &res);
	progress_clear(&fp.p);
	if (r)
		return cli_lib_error(r, "campaign_avic");
	faults_avic_print(&opts, &res, json);
	return faults_verdict("faults avic", &res);
}

int cmd_faults_gicv5(int argc, char **argv)
{
	struct campaign_opts opts = { .vcpus = FAULTS_DEFAULT_VCPUS };
	struct campaign_result res;
	struct faults_progress fp;
	const char *vcpus = NULL;
	bool json = false;
	struct args a;
	uint64_t n;
	int r;

	if (args_want_help(argc, argv, 1)) {
		cmd_faults_gicv5_usage(stdout);
		return CLI_EXIT_OK;
	}
	args_init(&a, argc, argv, 1);
	while (args_next(&a)) {
		if (args_is(&a, "--vcpus")) {
			if (!(vcpus = args_value(&a)))
				return CLI_EXIT_USAGE;
		} else if (args_is(&a, "--two-level")) {
			if (args_no_value(&a))
				return CLI_EXIT_USAGE;
			opts.two_level = true;
		} else if (args_is(&a, "--json")) {
			if (args_no_value(&a))
				return CLI_EXIT_USAGE;
			json = true;
		} else if (args_is_other(&a, "--x2avic") || args_is_other(&a, "--x2avic-4k")) {
			return args_other_target(&a, "faults gicv5", "faults avic");
		} else {
			return args_unknown(&a, "faults gicv5");
		}
	}
	if (vcpus) {
		if (args_parse_u64("--vcpus", NULL, vcpus, 1, FAULTS_GICV5_MAX_VCPUS, &n))
			return CLI_EXIT_USAGE;
		opts.vcpus = (uint32_t)n;
	}
	if (cli_parse_only)
		return CLI_EXIT_OK;

	faults_progress_start(&fp, "faults gicv5", &opts);
	r = campaign_gicv5(&opts, &res);
	progress_clear(&fp.p);
	if (r)
		return cli_lib_error(r, "campaign_gicv5");
	faults_gicv5_print(&opts, &res, json);
	return faults_verdict("faults gicv5", &res);
}

const struct cli_target cmd_faults_targets[] = {
	{ "avic", cmd_faults_avic, cmd_faults_avic_usage },
	{ "gicv5", cmd_faults_gicv5, cmd_faults_gicv5_usage },
	{ NULL, NULL, NULL }
};

int cmd_faults(int argc, char **argv)
{
	return args_dispatch("faults", cmd_faults_targets, cmd_faults_usage, argc, argv);
}
