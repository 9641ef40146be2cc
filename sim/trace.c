// SPDX-License-Identifier: MIT
/*
 * Chrome/Perfetto trace-event JSON: one process per VM, one thread (track)
 * per vCPU.  Running slices are B/E pairs; interrupts taken, IPIs sent,
 * doorbells, wake-ups and GA-log wakes are instant events on the track.
 * Timestamps are microseconds in free mode and scheduler steps in
 * deterministic mode (so a seed's trace is byte-identical too).
 */
#include <inttypes.h>
#include <stdio.h>

#include "sim_priv.h"

static const char *const ev_names[] = {
	[SIM_EV_RUN_BEGIN] = "running", [SIM_EV_RUN_END] = "running",
	[SIM_EV_IRQ] = "interrupt", [SIM_EV_SEND] = "send",
	[SIM_EV_DOORBELL] = "doorbell", [SIM_EV_GA_LOG] = "ga_log",
	[SIM_EV_WAKE] = "wake-up",
};

static void write_event(FILE *f, const struct sim *s, const struct sim_vcpu *v,
			const struct sim_event *e, uint64_t t0, bool *first)
{
	uint64_t ts = s->o->deterministic ? e->ts : (e->ts - t0) / 1000;
	const char *ph = e->type == SIM_EV_RUN_BEGIN ? "B" : e->type == SIM_EV_RUN_END ? "E" : "i";

	fprintf(f, "%s\n{\"name\":\"%s\",\"ph\":\"%s\",\"ts\":%" PRIu64 ",\"pid\":%u,\"tid\":%u",
		*first ? "" : ",", ev_names[e->type], ph, ts, (unsigned int)(v->svm - s->vms) + 1,
		v->idx + 1);
	if (*ph == 'i')
		fprintf(f, ",\"s\":\"t\",\"args\":{\"arg\":%u}", e->arg);
	fputc('}', f);
	*first = false;
}

int sim_trace_write(struct sim *s, const char *path)
{
	uint64_t t0 = UINT64_MAX;
	bool first = true;
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	for (uint32_t i = 0; i < s->nvcpus; i++)
		if (s->vcpus[i].trace.n && s->vcpus[i].trace.ev[0].ts < t0)
			t0 = s->vcpus[i].trace.ev[0].ts;
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", f);
	for (uint32_t m = 0; m < s->nvms; m++) {
		fprintf(f, "%s\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%u,"
			"\"args\":{\"name\":\"VM %u (%s)\"}}", first ? "" : ",", m + 1, m, s->wl->name);
		first = false;
	}
	for (uint32_t i = 0; i < s->nvcpus; i++) {
		const struct sim_vcpu *v = &s->vcpus[i];

		fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,"
			"\"args\":{\"name\":\"vCPU %u\"}}", (unsigned int)(v->svm - s->vms) + 1,
			v->idx + 1, v->local);
		for (size_t k = 0; k < v->trace.n; k++)
			write_event(f, s, v, &v->trace.ev[k], t0, &first);
	}
	fputs("\n]}\n", f);
	return fclose(f) ? -EIO : 0;
}
