// SPDX-License-Identifier: MIT
/*
 * vintc faults avic: run campaign_avic() (every fault site of building an
 * AVIC VM and its vCPUs, each failing once) and print the totals.  Exit 1
 * with the first broken rule on stderr if any case failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "campaign.h"
#include "cmds.h"

#define FAULTS_DEFAULT_VCPUS 4U

void cmd_faults_usage(FILE *f)
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
	      "Exit status 0 if every case kept the rules, 1 otherwise (the first broken\n"
	      "rule on stderr).\n", f);
}

static void faults_print(const struct campaign_opts *opts, const struct campaign_result *res,
			 bool json)
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

int cmd_faults_avic(int argc, char **argv)
{
	struct campaign_opts opts = { .vcpus = FAULTS_DEFAULT_VCPUS };
	struct campaign_result res;
	bool x2 = false, x2_4k = false, json = false;
	const char *vcpus = NULL;
	struct args a;
	uint64_t n;
	int r;

	if (args_want_help(argc, argv, 1)) {
		cmd_faults_usage(stdout);
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

	r = campaign_avic(&opts, &res);
	if (r)
		return cli_lib_error(r, "campaign_avic");
	faults_print(&opts, &res, json);
	if (res.failures) {
		/* Results first, so they are out before the verdict. */
		fflush(stdout);
		return cli_error("faults avic: %" PRIu64 " of %" PRIu64 " case(s) failed; first: %s",
				 res.failures, res.cases,
				 res.first_failure[0] ? res.first_failure : "(not recorded)");
	}
	return CLI_EXIT_OK;
}

int cmd_faults(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("faults: missing target (expected 'avic'; try 'vintc faults --help')");
	if (!strcmp(argv[1], "avic"))
		return cmd_faults_avic(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		cmd_faults_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argv[1][0] == '-')
		return cli_usage_error("faults: missing target before '%s' (expected 'avic')",
				       argv[1]);
	return cli_usage_error("faults: unknown target '%s' (expected 'avic')", argv[1]);
}
