/* SPDX-License-Identifier: MIT */
/*
 * sim/: interrupts end to end on model vCPUs.  Each model vCPU runs a
 * small guest program; at every instruction boundary it takes the highest
 * deliverable interrupt from its vAPIC backing page (AVIC) or its resident
 * VPE (GICv5), as the silicon would.  Senders go through the hardware
 * models (hw/avic_cpu for ICR writes, the IRS for GICv5 injections) and
 * the hypervisor's slow paths, never around them.
 *
 * Free-running mode gives each vCPU a host thread that halts through the
 * hypervisor's real blocking protocol (futex sleeps).  Deterministic mode
 * (a seed) runs every vCPU and device as a step function picked by a
 * seeded scheduler on one thread: the same seed gives the same output,
 * byte for byte, and a lost wake-up shows as a blocked vCPU with a
 * deliverable interrupt and nothing left to run.
 */
#ifndef VINTC_SIM_H
#define VINTC_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <vintc/vm.h>

/*
 * How far a run has come, for a progress display.  Counts are totals since
 * sim_run() began, over every run of a soak.
 */
struct sim_progress {
	uint64_t runs;			/* machines finished (soak; 0 in a single run) */
	uint64_t steps;			/* deterministic mode: scheduler steps */
	uint64_t sent, delivered;	/* delivered never above sent */
	uint64_t elapsed_ns;		/* wall clock since sim_run() began */
	uint64_t total_ns;		/* soak: opts.seconds in ns; 0 otherwise */
};

struct sim_opts {
	const char *workload;
	uint32_t vms;			/* default 1 */
	uint32_t vcpus;			/* per VM, default 4 */
	uint32_t host_cpus;		/* model host CPUs, default 4 */
	uint64_t messages;		/* per sending vCPU (or device), default 1000 */
	bool deterministic;
	uint64_t seed;
	enum avic_model model;		/* AVIC workloads; default xAVIC */
	bool disable_ipiv;
	bool erratum_1235;
	bool spin;			/* guests poll instead of halting: running targets */
	/*
	 * Fault injection into the blocking protocol, to show what each half
	 * of the pairing is for: skip the IRR re-check after IsRunning = 0, or
	 * the full barrier between them (see avic_config.omit_blocking_barrier).
	 */
	bool omit_recheck;
	bool omit_blocking_barrier;
	const char *trace_path;		/* Perfetto/Chrome trace-event JSON, or NULL */
	uint64_t watchdog_ms;		/* free mode: a halt this long with a pending interrupt is a lost wake-up; default 2000 */
	/*
	 * Soak: 0 runs the workload once.  N > 0 builds, runs and tears the
	 * machine down again and again (each run `messages` long; seeded runs
	 * use seed, seed + 1, ...) until N seconds have passed or a run fails,
	 * and reports the totals (latency percentiles: the worst run's).
	 */
	uint64_t seconds;
	/*
	 * Optional: called on the thread that called sim_run(), from its
	 * scheduler or watching loop and between the runs of a soak, at most
	 * once per progress_ms (0: 200 ms), the first time as soon as the
	 * run is under way.  It must not call back into the engine.  The
	 * seeded scheduler looks at the clock only every few thousand steps
	 * and draws nothing for it: a seed's results do not change.
	 */
	void (*progress)(void *arg, const struct sim_progress *p);
	void *progress_arg;
	uint32_t progress_ms;
};

struct sim_result {
	char workload[32];
	uint64_t sent;			/* (target, message) pairs addressed */
	uint64_t delivered;		/* observed by the guest side */
	uint64_t merged;		/* set onto an already-pending vector */
	uint64_t lost;			/* sent - delivered - merged: must be 0 */
	uint64_t doorbells;
	uint64_t incomplete_ipi[5];	/* by AVIC_IPI_FAILURE_* cause */
	uint64_t ga_log_entries;
	uint64_t wakeups;
	uint64_t steps;			/* deterministic mode: scheduler steps */
	uint64_t lat_p50, lat_p99, lat_max;	/* ns (free) or steps (deterministic) */
	uint64_t leaked_pages, leaked_bytes;
	bool watchdog_fired;
	char failure[256];		/* empty on success */
	double seconds;
	uint64_t runs;			/* machines built and torn down (1 unless opts.seconds) */
	uint64_t vms_created, vms_destroyed;	/* every VM, long-lived and churned */
	uint64_t ga_log_unknown;	/* GA log entries whose VM was gone by the notifier */
};

void sim_default_opts(struct sim_opts *o);
/* Names of the workloads, NULL-terminated. */
const char *const *sim_workloads(void);
/*
 * Run a workload to completion.  0 with *r filled (check r->failure and
 * r->lost), -EINVAL for bad options, -ENOENT for an unknown workload, or a
 * negative errno if the machine could not be built.
 */
int sim_run(const struct sim_opts *o, struct sim_result *r);
/* r as one JSON object on one line (no newline). */
int sim_result_json(const struct sim_result *r, char *buf, size_t len);

#endif
