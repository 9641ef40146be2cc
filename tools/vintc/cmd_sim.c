// SPDX-License-Identifier: MIT
/*
 * vintc sim WORKLOAD: run one of the engine's workloads (sim_workloads())
 * end to end on model vCPUs with sim_run() and print the result, as JSON
 * or as a summary.  A run that lost an interrupt, failed a check or leaked
 * exits 1 after printing its results, with the engine's reason on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <vintc/host.h>
#include <vintc/sim.h>

#include "args.h"
#include "cmds.h"
#include "progress.h"

#define SIM_MAX_VMS		64U
#define SIM_MAX_VCPUS		208U	/* one IPI vector per sender: 0x30..0xff */
#define SIM_MAX_HOST_CPUS	HOST_MAX_CPUS
#define SIM_MAX_MESSAGES	1000000000ULL
#define SIM_MAX_WATCHDOG_MS	600000ULL
#define SIM_MAX_SECONDS		604800ULL	/* --seconds: a week */
#define SIM_MAX_TOTAL_VCPUS	4096U	/* --vms x --vcpus */
#define SIM_CLUSTER_MAX_VCPUS	60U	/* xAPIC cluster mode: 15 clusters of 4 */
#define SIM_JSON_SIZE		4096

struct sim_wl_desc {
	const char *name;
	const char *desc;
};

/* A workload the engine has but this table lacks is listed without one. */
static const struct sim_wl_desc sim_wl_descs[] = {
	{ "ipi-pingpong",    "pairs of vCPUs (0,1), (2,3), ... bounce an IPI, the receiver\n"
			     "                    halting in between (AVIC)" },
	{ "ipi-all-to-all",  "every vCPU sends fixed IPIs to every other, round robin\n"
			     "                    (AVIC)" },
	{ "broadcast",       "vCPU 0 sends all-excluding-self IPIs, the others halt\n"
			     "                    between them (AVIC)" },
	{ "logical-cluster", "xAPIC cluster-mode logical destinations, 4 vCPUs per\n"
			     "                    cluster, at most 60 vCPUs (AVIC)" },
	{ "self-ipi",        "every vCPU sends IPIs to itself (AVIC)" },
	{ "churn",           "ipi-all-to-all while a device thread creates and destroys\n"
			     "                    short-lived two-vCPU VMs, each taking a device interrupt\n"
			     "                    through a GA-mode IRTE whose GA log tag a separate\n"
			     "                    notifier thread resolves as the VM goes (AVIC)" },
	{ "device-storm",    "two devices post interrupts through GA-mode IOMMU IRTEs with\n"
			     "                    no flow control: doorbells, GA log, merges (AVIC)" },
	{ "gicv5-spi",       "two devices inject virtual SPIs into VPEs that sleep on\n"
			     "                    doorbells (GICv5)" },
	{ "gicv5-lpi",       "the same with virtual LPIs (GICv5)" },
};

static const char *const sim_cause_names[] = {
	"invalid int type", "target not running", "invalid target",
	"invalid backing page", "invalid IPI vector",
};

/* Only for wording: the AVIC options do not apply to these. */
static bool sim_wl_gicv5(const char *name)
{
	return !strncmp(name, "gicv5-", 6);
}

static const char *sim_wl_desc(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(sim_wl_descs); i++)
		if (!strcmp(sim_wl_descs[i].name, name))
			return sim_wl_descs[i].desc;
	return "";
}

void cmd_sim_usage(FILE *f)
{
	fputs("usage: vintc sim WORKLOAD [--vms N] [--vcpus N] [--host-cpus N] [--messages N]\n"
	      "                 [--seed N] [--x2avic|--x2avic-4k] [--no-ipiv] [--erratum-1235]\n"
	      "                 [--watchdog-ms N] [--seconds N] [--json] [--trace FILE]\n"
	      "\n"
	      "Deliver interrupts end to end on model vCPUs.  Each vCPU runs a small guest\n"
	      "program and takes interrupts at instruction boundaries from its vAPIC\n"
	      "backing page (AVIC) or its resident VPE (GICv5); senders go through the\n"
	      "silicon models (ICR writes, IRS injections) and the hypervisor's slow\n"
	      "paths.  Every interrupt sent must be taken once or merged onto one already\n"
	      "pending; then the machine is torn down and leaks are counted.\n"
	      "\n"
	      "workloads:\n", f);
	for (const char *const *w = sim_workloads(); *w; w++)
		fprintf(f, "  %-17s %s\n", *w, sim_wl_desc(*w));
	fputs("\n"
	      "  --vms N           VMs, 1..64 (default 1)\n"
	      "  --vcpus N         vCPUs per VM, 1..208 (default 4); at most 4096 in all;\n"
	      "                    ipi-pingpong, ipi-all-to-all, broadcast and\n"
	      "                    logical-cluster need 2 or more\n"
	      "  --host-cpus N     model host CPUs, 1..1024 (default 4).  vCPUs are spread\n"
	      "                    over them; a GICv5 workload needs one per vCPU (a VPE is\n"
	      "                    resident on one PE at a time)\n"
	      "  --messages N      interrupts per sending vCPU or device, 1..10^9\n"
	      "                    (default 1000)\n"
	      "  --seed N          deterministic mode (see below) with this seed, 0..2^64-1\n"
	      "  --x2avic          AVIC workloads: x2AVIC model (physical IDs 0..0x1FF)\n"
	      "  --x2avic-4k       AVIC workloads: x2AVIC with 4K IDs (0..0xFFF)\n"
	      "                    default: xAVIC (0..0xFE)\n"
	      "  --no-ipiv         AVIC workloads: IPI virtualisation off, so every IPI to\n"
	      "                    another vCPU exits (KVM's workaround for erratum #1235)\n"
	      "  --erratum-1235    AVIC workloads: model AMD erratum #1235, where the CPU\n"
	      "                    misses an IsRunning change and neither delivers a\n"
	      "                    doorbell nor exits: a halting target is never woken\n"
	      "  --watchdog-ms N   free-running mode: a vCPU halted this long with an\n"
	      "                    interrupt pending is a lost wake-up, 1..600000\n"
	      "                    (default 2000)\n"
	      "  --seconds N       soak: build, run and tear down the machine again and\n"
	      "                    again (each run --messages long; with --seed S, seeds S,\n"
	      "                    S+1, ...) until N seconds have passed or a run fails,\n"
	      "                    1..604800; the result is the totals over every run\n"
	      "                    (latency: the worst run's), plus runs, VMs created and\n"
	      "                    destroyed; --trace keeps the last run's\n"
	      "  --json            the result as one JSON object on one line:\n"
	      "                      workload, sent, delivered, merged, lost, doorbells,\n"
	      "                      incomplete_ipi (count per cause), ga_log_entries,\n"
	      "                      wakeups, latency_ns {p50, p99, max}, leaked_pages,\n"
	      "                      leaked_bytes, runs, vms_created, vms_destroyed,\n"
	      "                      ga_log_unknown (GA log entries whose VM was gone),\n"
	      "                      failure (\"\" on success)\n"
	      "                    default: a summary\n"
	      "  --trace FILE      write a Chrome/Perfetto trace-event JSON file: open it in\n"
	      "                    https://ui.perfetto.dev (or chrome://tracing).  One\n"
	      "                    process per VM, one track per vCPU: \"running\" slices,\n"
	      "                    and instant events for interrupts taken, IPIs sent,\n"
	      "                    doorbells, wake-ups and GA-log entries (\"ga_log\")\n"
	      "  -h, --help        this text\n"
	      "\n"
	      "Modes.  By default each vCPU and device is a host thread and a halting vCPU\n"
	      "sleeps through the hypervisor's real blocking protocol; latencies are in ns.\n"
	      "With --seed every vCPU and device is a step function picked by a seeded\n"
	      "scheduler on one thread, which also preempts and migrates vCPUs now and\n"
	      "then: the same seed gives the same output, byte for byte (trace included),\n"
	      "latencies and trace timestamps are scheduler steps, and a lost wake-up is\n"
	      "found at once as a blocked vCPU with an interrupt pending and nothing left\n"
	      "to run.  Trace timestamps are microseconds in free-running mode.\n"
	      "While a run goes on, a terminal on stderr shows the interrupts sent and\n"
	      "delivered so far, the scheduler steps if seeded, and in a soak the runs\n"
	      "done and the seconds left; nothing when stderr is not a terminal.\n"
	      "\n"
	      "Exit status 0 if every interrupt arrived, 1 if one was lost, a check failed\n"
	      "or memory leaked (the results on stdout, then \"vintc: sim: <reason>\" on\n"
	      "stderr), 2 for a usage error, including options the engine cannot run.\n", f);
}

/* "'a', 'b' or 'c'" */
static void sim_wl_list(char *buf, size_t size)
{
	const char *const *names = sim_workloads();
	size_t n = 0, len = 0;

	while (names[n])
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		const char *sep = !i ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(buf + len, size - len, "%s'%s'", sep, names[i]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static bool sim_wl_known(const char *name)
{
	for (const char *const *w = sim_workloads(); *w; w++)
		if (!strcmp(*w, name))
			return true;
	return false;
}

/* Workloads whose senders and targets are distinct vCPUs of one VM. */
static bool sim_wl_needs_two(const char *name)
{
	static const char *const two[] = {
		"ipi-pingpong", "ipi-all-to-all", "broadcast", "logical-cluster",
	};

	for (size_t i = 0; i < ARRAY_SIZE(two); i++)
		if (!strcmp(two[i], name))
			return true;
	return false;
}

/* sim_run() said -EINVAL: say which rule the options broke. */
static int sim_invalid(const struct sim_opts *o)
{
	uint64_t total = (uint64_t)o->vms * o->vcpus;

	if (total > SIM_MAX_TOTAL_VCPUS)
		return cli_usage_error("sim: --vms %u x --vcpus %u is %" PRIu64
				       " vCPUs, more than %u", o->vms, o->vcpus, total,
				       SIM_MAX_TOTAL_VCPUS);
	if (sim_wl_gicv5(o->workload) && total > o->host_cpus)
		return cli_usage_error("sim: %s needs a host CPU per vCPU (a VPE is resident on one PE at a time): %" PRIu64
				       " vCPU(s) on %u host CPU(s); raise --host-cpus or lower --vcpus",
				       o->workload, total, o->host_cpus);
	if (!strcmp(o->workload, "logical-cluster") && o->vcpus > SIM_CLUSTER_MAX_VCPUS)
		return cli_usage_error("sim: logical-cluster takes at most %u vCPUs per VM "
				       "(15 xAPIC clusters of 4), not %u",
				       SIM_CLUSTER_MAX_VCPUS, o->vcpus);
	return cli_usage_error("sim: the engine cannot run %s with %u VM(s) x %u vCPU(s) on %u host CPU(s)",
			       o->workload, o->vms, o->vcpus, o->host_cpus);
}

static void sim_print(const struct sim_opts *o, const struct sim_result *r)
{
	const char *unit = o->deterministic ? "steps" : "ns";
	uint64_t incomplete = 0;

	for (size_t i = 0; i < ARRAY_SIZE(r->incomplete_ipi); i++)
		incomplete += r->incomplete_ipi[i];
	printf("sim %s: %u VM(s) x %u vCPU(s) on %u host CPU(s)", r->workload, o->vms,
	       o->vcpus, o->host_cpus);
	if (!sim_wl_gicv5(r->workload))
		printf(", %s%s%s", args_model_name(o->model), o->disable_ipiv ? ", IPIv off" : "",
		       o->erratum_1235 ? ", erratum #1235" : "");
	printf("\n");
	if (o->deterministic)
		printf("  mode              deterministic, seed %" PRIu64 ", %" PRIu64
		       " scheduler steps\n", o->seed, r->steps);
	else
		printf("  mode              free-running, watchdog %" PRIu64 " ms\n",
		       o->watchdog_ms);
	printf("  sent              %" PRIu64 " (target, message) pairs\n", r->sent);
	printf("  delivered         %" PRIu64 " taken by the guest\n", r->delivered);
	printf("  merged            %" PRIu64 " onto an already-pending interrupt\n", r->merged);
	printf("  lost              %" PRIu64 "\n", r->lost);
	printf("  doorbells         %" PRIu64 "\n", r->doorbells);
	printf("  incomplete IPIs   %" PRIu64 "\n", incomplete);
	for (size_t i = 0; i < ARRAY_SIZE(r->incomplete_ipi); i++)
		printf("    %-22s  %" PRIu64 "\n", sim_cause_names[i], r->incomplete_ipi[i]);
	printf("  GA-log entries    %" PRIu64 " (%" PRIu64 " naming a VM already gone)\n",
	       r->ga_log_entries, r->ga_log_unknown);
	printf("  VMs               %" PRIu64 " created, %" PRIu64 " destroyed, %" PRIu64 " run(s)\n",
	       r->vms_created, r->vms_destroyed, r->runs);
	printf("  wake-ups          %" PRIu64 "\n", r->wakeups);
	printf("  latency           p50 %" PRIu64 " %s, p99 %" PRIu64 " %s, max %" PRIu64 " %s\n",
	       r->lat_p50, unit, r->lat_p99, unit, r->lat_max, unit);
	if (o->deterministic) {
		/* Wall-clock figures would make a seed's output differ from run to run. */
		printf("  rate              %.1f interrupts per 1000 steps\n",
		       r->steps ? (double)r->delivered * 1000.0 / (double)r->steps : 0.0);
	} else {
		printf("  elapsed           %.3f s\n", r->seconds);
		printf("  rate              %.0f interrupts/s\n",
		       r->seconds > 0 ? (double)r->delivered / r->seconds : 0.0);
	}
	printf("  leaked            %" PRIu64 " page(s), %" PRIu64 " byte(s)\n",
	       r->leaked_pages, r->leaked_bytes);
	printf("  result            %s\n",
	       r->failure[0] || r->lost || r->leaked_pages || r->leaked_bytes ? "FAIL" : "PASS");
}

struct sim_cli_progress {
	struct progress p;
	const struct sim_opts *o;
};

/*
 * "sim churn: 14 runs done, 42 s left, sent 2000, delivered 1990" in a
 * soak; "sim ipi-pingpong: step 123456, sent ..." in one seeded run.  The
 * engine calls at most every 200 ms already.
 */
static void sim_progress_show(void *arg, const struct sim_progress *sp)
{
	struct sim_cli_progress *cp = arg;
	uint64_t left = sp->elapsed_ns < sp->total_ns ? sp->total_ns - sp->elapsed_ns : 0;
	char where[64] = "";

	if (sp->total_ns)
		snprintf(where, sizeof(where), " %" PRIu64 " run%s done, %" PRIu64 " s left,",
			 sp->runs, sp->runs == 1 ? "" : "s", (left + 999999999U) / 1000000000U);
	else if (cp->o->deterministic)
		snprintf(where, sizeof(where), " step %" PRIu64 ",", sp->steps);
	progress_show(&cp->p, "sim %s:%s sent %" PRIu64 ", delivered %" PRIu64,
		      cp->o->workload, where, sp->sent, sp->delivered);
}

/* Numbers are checked after the loop, so a bad one is reported once. */
struct sim_args {
	const char *vms, *vcpus, *host_cpus, *messages, *seed, *watchdog, *seconds;
	bool x2, x2_4k, json;
};

static int sim_num(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return s ? args_parse_u64(flag, NULL, s, min, max, out) : 0;
}

/* Returns an exit status, or -1 to go on with *o filled. */
static int sim_parse(int argc, char **argv, struct sim_opts *o, bool *json)
{
	const char **val, *workload = NULL;
	struct sim_args sa = { 0 };
	uint64_t vms = o->vms, vcpus = o->vcpus, host_cpus = o->host_cpus;
	uint64_t watchdog = o->watchdog_ms;
	char expected[256];
	struct args a;

	args_init(&a, argc, argv, 1);
	while (args_next(&a)) {
		val = NULL;
		if (args_is(&a, "--vms"))
			val = &sa.vms;
		else if (args_is(&a, "--vcpus"))
			val = &sa.vcpus;
		else if (args_is(&a, "--host-cpus"))
			val = &sa.host_cpus;
		else if (args_is(&a, "--messages"))
			val = &sa.messages;
		else if (args_is(&a, "--seed"))
			val = &sa.seed;
		else if (args_is(&a, "--watchdog-ms"))
			val = &sa.watchdog;
		else if (args_is(&a, "--seconds"))
			val = &sa.seconds;
		else if (args_is(&a, "--trace"))
			val = &o->trace_path;
		if (val) {
			if (!(*val = args_value(&a)))
				return CLI_EXIT_USAGE;
			continue;
		}
		if (args_is(&a, "--x2avic")) {
			sa.x2 = true;
		} else if (args_is(&a, "--x2avic-4k")) {
			sa.x2_4k = true;
		} else if (args_is(&a, "--no-ipiv")) {
			o->disable_ipiv = true;
		} else if (args_is(&a, "--erratum-1235")) {
			o->erratum_1235 = true;
		} else if (args_is(&a, "--json")) {
			sa.json = true;
		} else if (a.arg[0] != '-' && !workload) {
			workload = a.arg;
			continue;
		} else {
			return args_unknown(&a, "sim");
		}
		if (args_no_value(&a))
			return CLI_EXIT_USAGE;
	}

	sim_wl_list(expected, sizeof(expected));
	if (!workload)
		return cli_usage_error("sim: missing workload (expected %s)", expected);
	if (!sim_wl_known(workload))
		return cli_usage_error("sim: unknown workload '%s' (expected %s)", workload,
				       expected);
	o->workload = workload;
	/* Options that would do nothing are refused, not ignored. */
	if (sim_wl_gicv5(workload) && (sa.x2 || sa.x2_4k || o->disable_ipiv || o->erratum_1235))
		return cli_usage_error("sim: %s runs on GICv5: --x2avic, --x2avic-4k, --no-ipiv and --erratum-1235 are AVIC options",
				       workload);
	if (args_model(sa.x2, sa.x2_4k, &o->model))
		return CLI_EXIT_USAGE;
	if (sim_num("--vms", sa.vms, 1, SIM_MAX_VMS, &vms) ||
	    sim_num("--vcpus", sa.vcpus, 1, SIM_MAX_VCPUS, &vcpus) ||
	    sim_num("--host-cpus", sa.host_cpus, 1, SIM_MAX_HOST_CPUS, &host_cpus) ||
	    sim_num("--messages", sa.messages, 1, SIM_MAX_MESSAGES, &o->messages) ||
	    sim_num("--seed", sa.seed, 0, UINT64_MAX, &o->seed) ||
	    sim_num("--watchdog-ms", sa.watchdog, 1, SIM_MAX_WATCHDOG_MS, &watchdog) ||
	    sim_num("--seconds", sa.seconds, 1, SIM_MAX_SECONDS, &o->seconds))
		return CLI_EXIT_USAGE;
	if (vcpus < 2 && sim_wl_needs_two(workload))
		return cli_usage_error("sim: %s sends between the vCPUs of a VM: it needs --vcpus 2 or more, not %" PRIu64,
				       workload, vcpus);
	o->vms = (uint32_t)vms;
	o->vcpus = (uint32_t)vcpus;
	o->host_cpus = (uint32_t)host_cpus;
	o->watchdog_ms = watchdog;
	o->deterministic = sa.seed != NULL;
	*json = sa.json;
	return -1;
}

int cmd_sim(int argc, char **argv)
{
	struct sim_cli_progress cp;
	struct sim_opts o;
	struct sim_result r;
	char buf[SIM_JSON_SIZE];
	bool json = false;
	int status, ret;

	if (args_want_help(argc, argv, 1)) {
		cmd_sim_usage(stdout);
		return CLI_EXIT_OK;
	}
	sim_default_opts(&o);
	status = sim_parse(argc, argv, &o, &json);
	if (status >= 0)
		return status;
	if (cli_parse_only)
		return CLI_EXIT_OK;
	/* A trace that cannot be written is known before the run, not after it. */
	if (o.trace_path) {
		FILE *f = fopen(o.trace_path, "w");

		if (!f)
			return cli_usage_error("sim: cannot write the trace %s: %s", o.trace_path,
					       strerror(errno));
		fclose(f);
	}

	/* Progress only on a terminal: stdout, and a seed's bytes, stay as they are. */
	progress_init(&cp.p);
	cp.o = &o;
	if (cp.p.on) {
		o.progress = sim_progress_show;
		o.progress_arg = &cp;
	}
	ret = sim_run(&o, &r);
	progress_clear(&cp.p);
	if (ret == -EINVAL)
		return sim_invalid(&o);
	if (ret == -ENOENT)
		return cli_usage_error("sim: the engine has no workload '%s'", o.workload);
	if (ret)
		return cli_lib_error(ret, "sim_run(%s)", o.workload);

	if (json) {
		ret = sim_result_json(&r, buf, sizeof(buf));
		if (ret)
			return cli_lib_error(ret, "sim_result_json");
		printf("%s\n", buf);
	} else {
		sim_print(&o, &r);
	}

	/* Results first, so they are out before the verdict. */
	fflush(stdout);
	if (r.failure[0])
		return cli_error("sim: %s", r.failure);
	if (r.lost)
		return cli_error("sim: %" PRIu64 " interrupt(s) lost", r.lost);
	if (r.leaked_pages || r.leaked_bytes)
		return cli_error("sim: %" PRIu64 " page(s), %" PRIu64 " byte(s) leaked",
				 r.leaked_pages, r.leaked_bytes);
	return CLI_EXIT_OK;
}
