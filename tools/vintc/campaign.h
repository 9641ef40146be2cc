/* SPDX-License-Identifier: MIT */
/*
 * Exhaustive fault campaigns: run a scenario once to count the fault sites
 * it passes, then once per site with exactly that site failing, checking
 * the rules after each run.
 */
#ifndef VINTC_CAMPAIGN_H
#define VINTC_CAMPAIGN_H

#include <stdint.h>

#include <vintc/vm.h>

struct campaign_opts {
	uint32_t vcpus;			/* vCPUs 0..vcpus-1 */
	enum avic_model model;
	bool two_level;			/* GICv5: two-level VM table */
	/*
	 * Optional: called on the campaign's thread after every case with
	 * the cases run so far (1, 2, ...) and how many there will be (the
	 * sites); as often as that, so a slow consumer rate-limits itself.
	 */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

struct campaign_result {
	uint64_t sites;			/* fault sites the scenario passes */
	uint64_t cases;			/* runs with one site failing */
	uint64_t failures;		/* cases that broke a rule */
	uint64_t leaked_pages;		/* summed over every case */
	uint64_t leaked_bytes;
	uint64_t stale_ids;		/* VM IDs still taken after teardown */
	uint64_t retired_vm_ids;	/* GICv5: IDs retired after a failed teardown */
	uint64_t hangs;			/* GICv5: cases where a command never completed */
	uint64_t valid_left;		/* GICv5: VALID entries left after teardown */
	char first_failure[256];	/* what the first failing case broke */
};

/*
 * AVIC: for each site, create a VM and its vCPUs with that site failing;
 * the failing step must return an error and leave nothing half-made that
 * a retry cannot finish; the retried VM must be complete and consistent;
 * after destroy no page, byte or VM ID may remain.  Returns 0, or a
 * negative errno if the campaign itself could not run.
 */
int campaign_avic(const struct campaign_opts *opts, struct campaign_result *res);

/*
 * GICv5: the same for the IRS probe, VM init, residency, teardown and IRS
 * removal, where a site is an allocation, an IRS command that faults, or
 * an IRS command that never completes.  A hung IRS is released after the
 * caller has seen the failure, and the teardown retried: it must then
 * free everything, and the ID of a VM whose teardown failed is retired.
 */
int campaign_gicv5(const struct campaign_opts *opts, struct campaign_result *res);

#endif
