/* SPDX-License-Identifier: MIT */
/*
 * kvm/trace.c: what `vintc run --trace FILE` writes, in the trace-event
 * JSON of `vintc sim --trace` (Chrome, Perfetto).  One track per vCPU and
 * one for the APIC timer; each track has exactly one writer (its own
 * thread), so recording takes no lock.  A track holds a bounded number of
 * events; later ones are dropped and counted.  Private to kvm/.
 */
#ifndef VINTC_KVM_TRACE_H
#define VINTC_KVM_TRACE_H

#include <stdbool.h>
#include <stdint.h>

enum vkvm_ev {
	VKVM_EV_GUEST_BEGIN,	/* entering KVM_RUN */
	VKVM_EV_GUEST_END,	/* back from KVM_RUN; arg: exit reason */
	VKVM_EV_HALT_BEGIN,	/* blocked in the hypervisor (HLT, or parked) */
	VKVM_EV_HALT_END,
	VKVM_EV_INJECT,		/* arg: vector */
	VKVM_EV_IPI,		/* ICR write; arg: ICR low word */
	VKVM_EV_DOORBELL,	/* arg: target vCPU */
	VKVM_EV_KICK,		/* signal to a vCPU inside KVM_RUN; arg: target */
	VKVM_EV_WAKE,		/* arg: target vCPU */
	VKVM_EV_TIMER,		/* arg: vCPU whose timer fired */
	VKVM_EV_NMI, VKVM_EV_INIT, VKVM_EV_SIPI,
	VKVM_NR_EV
};

struct vkvm_trace_ev {
	uint64_t ns;
	uint32_t type, arg;
};

struct vkvm_trace_track {
	struct vkvm_trace_ev *ev;
	uint32_t n, dropped;
	bool open;		/* a slice began and has not ended */
};

struct vkvm_trace {
	uint32_t nr_tracks;	/* vCPUs, then the timer */
	uint32_t cap;		/* events per track */
	uint64_t t0;
	struct vkvm_trace_track *tracks;
};

#define VKVM_TRACE_EVENTS	(1U << 18)	/* per track: 4 MiB */

/* nr_cpus vCPU tracks plus the timer's; 0 or -ENOMEM. */
int vkvm_trace_init(struct vkvm_trace *t, uint32_t nr_cpus, uint32_t cap);
void vkvm_trace_fini(struct vkvm_trace *t);
/* The calling thread records on this track from now on. */
void vkvm_trace_set_track(uint32_t track);
/* An event on the calling thread's track.  t may be NULL (not tracing). */
void vkvm_trace_ev(struct vkvm_trace *t, enum vkvm_ev type, uint32_t arg);
/* 0, or -errno if the file cannot be written. */
int vkvm_trace_write(const struct vkvm_trace *t, const char *path, const char *chip);

#endif
