// SPDX-License-Identifier: MIT
/*
 * Deterministic fault injection.  Each call of host_fault_hit() is one
 * numbered site; a scenario run once unarmed tells how many sites it
 * passes, and re-running it with each number armed in turn covers every
 * failure path exactly once.  The counter is global so that a scenario
 * spread over several helper calls still numbers its sites in order;
 * campaigns are single-threaded by construction.
 */
#include <string.h>

#include <vintc/host.h>

#define FAULT_NAMES_RECORDED 4096

static struct {
	uint64_t count;		/* sites passed since reset */
	uint64_t nth;		/* 0 = not armed by number */
	const char *site;	/* NULL = not armed by name */
	uint64_t skip;
	uint64_t injected;
	const char *names[FAULT_NAMES_RECORDED];
} fault;

void host_fault_reset(void)
{
	__atomic_store_n(&fault.count, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault.injected, 0, __ATOMIC_SEQ_CST);
	host_fault_disarm();
}

void host_fault_arm_nth(uint64_t nth)
{
	__atomic_store_n(&fault.nth, nth, __ATOMIC_SEQ_CST);
}

void host_fault_arm_site(const char *site, uint64_t skip)
{
	__atomic_store_n(&fault.skip, skip, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault.site, site, __ATOMIC_SEQ_CST);
}

void host_fault_disarm(void)
{
	__atomic_store_n(&fault.nth, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault.site, NULL, __ATOMIC_SEQ_CST);
}

uint64_t host_fault_count(void)
{
	return __atomic_load_n(&fault.count, __ATOMIC_SEQ_CST);
}

uint64_t host_fault_injected(void)
{
	return __atomic_load_n(&fault.injected, __ATOMIC_SEQ_CST);
}

const char *host_fault_site_name(uint64_t nth)
{
	if (nth == 0 || nth > FAULT_NAMES_RECORDED || nth > host_fault_count())
		return NULL;
	return __atomic_load_n(&fault.names[nth - 1], __ATOMIC_RELAXED);
}

bool host_fault_hit(const char *site)
{
	uint64_t n = __atomic_add_fetch(&fault.count, 1, __ATOMIC_SEQ_CST);
	const char *armed = __atomic_load_n(&fault.site, __ATOMIC_SEQ_CST);
	bool fail = false;

	if (!site)
		site = "?";
	if (n <= FAULT_NAMES_RECORDED)
		__atomic_store_n(&fault.names[n - 1], site, __ATOMIC_RELAXED);
	if (n == __atomic_load_n(&fault.nth, __ATOMIC_SEQ_CST)) {
		fail = true;
	} else if (armed && !strcmp(armed, site)) {
		uint64_t skip = __atomic_load_n(&fault.skip, __ATOMIC_SEQ_CST);

		if (skip)
			__atomic_store_n(&fault.skip, skip - 1, __ATOMIC_SEQ_CST);
		else
			fail = true;
	}
	if (fail)
		__atomic_add_fetch(&fault.injected, 1, __ATOMIC_SEQ_CST);
	return fail;
}
