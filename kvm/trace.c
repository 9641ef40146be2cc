// SPDX-License-Identifier: MIT
/*
 * The run's trace: per-track event arrays filled by their own threads,
 * written out once every thread has stopped.  Slices (B/E) show time in
 * KVM_RUN and time blocked; everything else is an instant on the track of
 * the thread that did it (a sender's IPI and doorbell, the timer thread's
 * expiry).  Timestamps are microseconds from the first event.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <vintc/host.h>
#include <vintc/kvm_run.h>

#include "trace.h"

/* KVM_EXIT_* names, for the trace's slices and the CLI's exit counts. */
#ifdef __x86_64__
#include <linux/kvm.h>

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG", [KVM_EXIT_HLT] = "HLT", [KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN", [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY", [KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR", [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI", [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT", [KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR", [KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
};

const char *vkvm_exit_name(unsigned int reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]))
		return exit_names[reason];
	return NULL;
}
#else
const char *vkvm_exit_name(unsigned int reason)
{
	(void)reason;
	return NULL;
}
#endif

static const char *const ev_names[VKVM_NR_EV] = {
	[VKVM_EV_GUEST_BEGIN] = "in guest", [VKVM_EV_GUEST_END] = "in guest",
	[VKVM_EV_HALT_BEGIN] = "blocked", [VKVM_EV_HALT_END] = "blocked",
	[VKVM_EV_INJECT] = "interrupt", [VKVM_EV_IPI] = "send",
	[VKVM_EV_DOORBELL] = "doorbell", [VKVM_EV_KICK] = "kick",
	[VKVM_EV_WAKE] = "wake-up", [VKVM_EV_TIMER] = "timer",
	[VKVM_EV_NMI] = "nmi", [VKVM_EV_INIT] = "init", [VKVM_EV_SIPI] = "sipi",
};

int vkvm_trace_init(struct vkvm_trace *t, uint32_t nr_cpus, uint32_t cap)
{
	t->nr_tracks = nr_cpus + 1;
	t->cap = cap;
	t->t0 = host_now_ns();
	t->tracks = calloc(t->nr_tracks, sizeof(*t->tracks));
	if (!t->tracks)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nr_tracks; i++) {
		t->tracks[i].ev = calloc(cap, sizeof(*t->tracks[i].ev));
		if (!t->tracks[i].ev) {
			vkvm_trace_fini(t);
			return -ENOMEM;
		}
	}
	return 0;
}

void vkvm_trace_fini(struct vkvm_trace *t)
{
	for (uint32_t i = 0; t->tracks && i < t->nr_tracks; i++)
		free(t->tracks[i].ev);
	free(t->tracks);
	t->tracks = NULL;
	t->nr_tracks = 0;
}

static __thread uint32_t my_track = UINT32_MAX;

void vkvm_trace_set_track(uint32_t track)
{
	my_track = track;
}

void vkvm_trace_ev(struct vkvm_trace *t, enum vkvm_ev type, uint32_t arg)
{
	bool begin = type == VKVM_EV_GUEST_BEGIN || type == VKVM_EV_HALT_BEGIN;
	bool end = type == VKVM_EV_GUEST_END || type == VKVM_EV_HALT_END;
	struct vkvm_trace_track *k;

	if (!t || my_track >= t->nr_tracks)
		return;
	k = &t->tracks[my_track];
	/* The last slot is kept for the end of an open slice: every B gets its E. */
	if (k->n >= t->cap || (k->n == t->cap - 1 && !(end && k->open)) ||
	    (end && !k->open)) {
		if (!end)
			k->dropped++;
		return;
	}
	k->ev[k->n].ns = host_now_ns();
	k->ev[k->n].type = type;
	k->ev[k->n].arg = arg;
	k->n++;
	if (begin)
		k->open = true;
	else if (end)
		k->open = false;
}

static void write_ev(FILE *f, const struct vkvm_trace *t, uint32_t track,
		     const struct vkvm_trace_ev *e)
{
	const char *ph = "i";
	uint64_t us = (e->ns > t->t0 ? e->ns - t->t0 : 0);

	if (e->type == VKVM_EV_GUEST_BEGIN || e->type == VKVM_EV_HALT_BEGIN)
		ph = "B";
	else if (e->type == VKVM_EV_GUEST_END || e->type == VKVM_EV_HALT_END)
		ph = "E";
	fprintf(f, ",\n{\"name\":\"%s\",\"ph\":\"%s\",\"ts\":%" PRIu64 ".%03u,\"pid\":1,\"tid\":%u",
		ev_names[e->type], ph, us / 1000, (unsigned int)(us % 1000), track + 1);
	if (e->type == VKVM_EV_GUEST_END) {
		const char *name = vkvm_exit_name(e->arg);

		fprintf(f, ",\"args\":{\"exit\":\"%s\"}", name ? name : "other");
	} else if (*ph == 'i') {
		fprintf(f, ",\"s\":\"t\",\"args\":{\"arg\":%u}", e->arg);
	}
	fputc('}', f);
}

int vkvm_trace_write(const struct vkvm_trace *t, const char *path, const char *chip)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
		"{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,"
		"\"args\":{\"name\":\"vintc run (--irqchip=%s)\"}}", chip);
	for (uint32_t i = 0; i < t->nr_tracks; i++) {
		const struct vkvm_trace_track *k = &t->tracks[i];

		if (i + 1 < t->nr_tracks)
			fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,"
				"\"args\":{\"name\":\"vCPU %u\"}}", i + 1, i);
		else
			fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,"
				"\"args\":{\"name\":\"APIC timer\"}}", i + 1);
		if (k->dropped)
			fprintf(f, ",\n{\"name\":\"events dropped\",\"ph\":\"i\",\"ts\":0,\"pid\":1,"
				"\"tid\":%u,\"s\":\"t\",\"args\":{\"arg\":%u}}", i + 1, k->dropped);
		for (uint32_t e = 0; e < k->n; e++)
			write_ev(f, t, i, &k->ev[e]);
	}
	fputs("\n]}\n", f);
	return fclose(f) ? -EIO : 0;
}
