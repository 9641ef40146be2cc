// SPDX-License-Identifier: MIT
/*
 * sim_opts.progress: called on sim_run()'s thread, no more often than
 * progress_ms, with counts that only grow and stay within the result;
 * a seed's result is the same with it as without.
 */
#include <pthread.h>
#include <string.h>

#include <vintc/host.h>
#include <vintc/sim.h>

#include "test.h"

#define PROG_MAX_CALLS	4096

struct prog_log {
	struct sim_progress p[PROG_MAX_CALLS];
	unsigned int n;
	pthread_t thread;
	bool other_thread;
};

static void prog_note(void *arg, const struct sim_progress *p)
{
	struct prog_log *l = arg;

	if (!pthread_equal(pthread_self(), l->thread))
		l->other_thread = true;
	if (l->n < PROG_MAX_CALLS)
		l->p[l->n++] = *p;
}

static void prog_opts(struct sim_opts *o, const char *workload, uint64_t messages,
		      struct prog_log *l)
{
	sim_default_opts(o);
	o->workload = workload;
	o->messages = messages;
	o->progress = prog_note;
	o->progress_arg = l;
	o->progress_ms = 1;
	memset(l, 0, sizeof(*l));
	l->thread = pthread_self();
}

/* Counts grow, calls are progress_ms apart, all within the final result. */
static void prog_check(const struct prog_log *l, const struct sim_opts *o,
		       const struct sim_result *r)
{
	uint64_t gap = (uint64_t)o->progress_ms * 1000000ULL;

	ASSERT(l->n >= 1);
	ASSERT(!l->other_thread);
	for (unsigned int i = 0; i < l->n; i++) {
		const struct sim_progress *p = &l->p[i];

		ASSERT_EQ(p->total_ns, o->seconds * 1000000000ULL);
		ASSERT(p->delivered <= p->sent);
		ASSERT(p->sent <= r->sent && p->delivered <= r->delivered);
		ASSERT(p->steps <= r->steps && p->runs <= r->runs);
		if (!o->deterministic)
			ASSERT_EQ(p->steps, 0);
		if (!o->seconds)
			ASSERT_EQ(p->runs, 0);
		if (!i)
			continue;
		ASSERT(p->elapsed_ns >= p[-1].elapsed_ns + gap);
		ASSERT(p->sent >= p[-1].sent && p->delivered >= p[-1].delivered);
		ASSERT(p->runs >= p[-1].runs);
		if (o->deterministic)
			ASSERT(p->steps > p[-1].steps);
	}
}

TEST(sim_progress_seeded)
{
	static struct prog_log l;
	struct sim_result r, plain;
	char a[2048], b[2048];
	struct sim_opts o;

	prog_opts(&o, "ipi-all-to-all", 20000, &l);
	o.deterministic = true;
	o.seed = 11;
	ASSERT_OK(sim_run(&o, &r));
	ASSERT(!r.failure[0]);
	prog_check(&l, &o, &r);
	/* Steps are looked at every few thousand: the first report is early. */
	ASSERT(l.p[0].steps <= 8192);

	/* The same seed without progress: the same result, byte for byte. */
	o.progress = NULL;
	ASSERT_OK(sim_run(&o, &plain));
	ASSERT_OK(sim_result_json(&r, a, sizeof(a)));
	ASSERT_OK(sim_result_json(&plain, b, sizeof(b)));
	ASSERT(!strcmp(a, b));
	ASSERT_EQ(r.steps, plain.steps);
}

TEST(sim_progress_free_running)
{
	static struct prog_log l;
	struct sim_result r;
	struct sim_opts o;

	prog_opts(&o, "ipi-all-to-all", 20000, &l);
	o.progress_ms = 2;
	ASSERT_OK(sim_run(&o, &r));
	ASSERT(!r.failure[0]);
	prog_check(&l, &o, &r);
}

TEST(sim_progress_soak)
{
	static struct prog_log l;
	struct sim_result r;
	struct sim_opts o;

	prog_opts(&o, "ipi-pingpong", 50, &l);
	o.deterministic = true;
	o.seed = 3;
	o.seconds = 1;
	o.progress_ms = 20;
	ASSERT_OK(sim_run(&o, &r));
	ASSERT(!r.failure[0]);
	ASSERT(r.runs > 1);
	prog_check(&l, &o, &r);
	/* Between runs too: the runs done reach the last ones. */
	ASSERT(l.n >= 10);
	ASSERT(l.p[l.n - 1].runs >= 1);
}

/* The default interval: a few calls a second, not one per step. */
TEST(sim_progress_default_interval)
{
	static struct prog_log l;
	struct sim_result r;
	struct sim_opts o;
	uint64_t t0 = host_now_ns(), ms;

	prog_opts(&o, "ipi-all-to-all", 20000, &l);
	o.deterministic = true;
	o.progress_ms = 0;
	ASSERT_OK(sim_run(&o, &r));
	ms = (host_now_ns() - t0) / 1000000;
	ASSERT(l.n >= 1);
	ASSERT(l.n <= 1 + ms / 200);
}
