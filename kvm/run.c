// SPDX-License-Identifier: MIT
/*
 * One run of a guest: check the options, build the machine (RAM and the
 * loaded image, the VM and its vCPUs, the userspace APIC, the devices),
 * start a thread per vCPU and a timeout thread, wait for the end, tear
 * down.  The run ends at the first end any thread records (vkvm_end);
 * stop_all() then brings every vCPU thread home.
 *
 * A guest reset (vkvm_reset) ends one boot: the machine is torn down
 * whole and built again from the options, which is what puts every vCPU,
 * the APICs, the devices and RAM back in their reset state without a
 * second copy of each one's reset rules.  The result's counters add up
 * over the boots; the timeout's deadline is the first boot's.
 *
 * No in-kernel irqchip under --irqchip=avic: the local APICs are vintc's
 * AVIC model (kvm/lapic.c).  Under --irqchip=kernel the same machine runs
 * on KVM's own LAPIC, for comparison: KVM_CAP_SPLIT_IRQCHIP, no AVIC
 * model; the PIC, the I/O APIC and every other device are still ours.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/boot.h"
#include "vkvm.h"

void vkvm_default_opts(struct vkvm_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ram_mib = VKVM_DEFAULT_RAM_MIB;
	o->timeout_s = 0;	/* none, as QEMU */
	o->out_fd = STDOUT_FILENO;
	o->in_fd = -1;
	o->nr_cpus = 1;
	o->irqchip = VKVM_IRQCHIP_AVIC;
	o->halt_poll_us = VKVM_DEFAULT_HALT_POLL_US;
}

const char *vkvm_end_name(enum vkvm_end end)
{
	static const char *const names[VKVM_NR_ENDS] = {
		[VKVM_END_DEBUG_EXIT] = "debug-exit", [VKVM_END_HALT] = "halt",
		[VKVM_END_SHUTDOWN] = "shutdown", [VKVM_END_FAILURE] = "failure",
		[VKVM_END_TIMEOUT] = "timeout", [VKVM_END_RESET] = "reset",
		[VKVM_END_POWEROFF] = "poweroff",
	};

	return (unsigned int)end < VKVM_NR_ENDS ? names[end] : "?";
}

int vkvm_say(char *why, size_t why_size, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

#ifndef __x86_64__
/* The guests are x86 code: elsewhere the model engine (sim/) is the way. */
int vkvm_probe(char *why, size_t why_size)
{
	return vkvm_say(why, why_size, -ENOTSUP, "running x86 guests needs an x86-64 host");
}

int vkvm_run_guest(const struct vkvm_opts *o, struct vkvm_result *r,
		   enum vkvm_stage *stage, char *why, size_t why_size)
{
	(void)o;
	memset(r, 0, sizeof(*r));
	*stage = VKVM_STAGE_KVM;
	return vkvm_probe(why, why_size);
}
#else

/* The timeout: a thread that sleeps until the deadline or the run's end. */
struct run_timeout {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started, done;
	bool armed;			/* deadline set: at the first boot's start */
	uint32_t seconds;
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	struct vkvm *v;			/* the machine of the current boot */
};

/*
 * Stop every vCPU: the flag first, then a wake-up for the sleeping ones
 * and a signal for the ones inside KVM_RUN.  Each checks the flag after
 * setting its mode and after each wake-up, so none can miss it.
 */
static void stop_all(struct vkvm *v)
{
	__atomic_store_n(&v->stop, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < v->nr; i++) {
		if (v->lapic_ready)
			vcpu_wake(v->lapic.vcpus[i]);
		vkvm_kick(v, i, true);
	}
}

bool vkvm_stopping(struct vkvm *v)
{
	return __atomic_load_n(&v->stop, __ATOMIC_SEQ_CST);
}

void vkvm_end(struct vkvm *v, enum vkvm_end end, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&v->end_lock);
	if (!v->ended) {
		v->ended = true;
		v->r->end = end;
		v->r->exit_status = status;
		va_start(ap, fmt);
		vsnprintf(v->r->message, sizeof(v->r->message), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&v->end_lock);
	stop_all(v);
}

void vkvm_reset(struct vkvm *v, const char *how)
{
	host_log(HOST_LOG_INFO, "kvm: the guest reset the machine (%s)", how);
	vkvm_end(v, VKVM_END_RESET, VKVM_STATUS_RESET, "guest reset the machine (%s)", how);
}

void vkvm_fail(struct vkvm *v, int err, const char *what)
{
	pthread_mutex_lock(&v->end_lock);
	if (!v->ended) {
		v->ended = true;
		v->err = -err;
		snprintf(v->why, sizeof(v->why), "%s: %s", what, strerror(err));
	}
	pthread_mutex_unlock(&v->end_lock);
	stop_all(v);
}

static void *timeout_main(void *arg)
{
	struct run_timeout *t = arg;
	bool fire = false;

	/* A deadline already past (a reboot after it) fires at once. */
	pthread_mutex_lock(&t->lock);
	while (!t->done) {
		if (pthread_cond_timedwait(&t->cond, &t->lock, &t->deadline) == ETIMEDOUT) {
			fire = true;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (fire)
		vkvm_end(t->v, VKVM_END_TIMEOUT, VKVM_STATUS_TIMEOUT,
			 "guest still running after the %u s timeout", t->seconds);
	return NULL;
}

static void timeout_init(struct run_timeout *t, uint32_t seconds)
{
	pthread_condattr_t cattr;

	memset(t, 0, sizeof(*t));
	t->seconds = seconds;
	pthread_mutex_init(&t->lock, NULL);
	/* The deadline is on CLOCK_MONOTONIC: wall-clock jumps must not matter. */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &cattr);
	pthread_condattr_destroy(&cattr);
}

/* For this boot's machine; the deadline is set once, at the first boot. */
static int timeout_start(struct run_timeout *t, struct vkvm *v)
{
	int ret;

	if (!t->seconds)
		return 0;
	if (!t->armed) {
		clock_gettime(CLOCK_MONOTONIC, &t->deadline);
		t->deadline.tv_sec += t->seconds;
		t->armed = true;
	}
	t->v = v;
	t->done = false;
	ret = pthread_create(&t->thread, NULL, timeout_main, t);
	if (ret)
		return -ret;
	t->started = true;
	return 0;
}

/* Idempotent; the thread is gone when it returns. */
static void timeout_stop(struct run_timeout *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->done = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	t->started = false;
}

static void timeout_fini(struct run_timeout *t)
{
	timeout_stop(t);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
}

static int check_opts(const struct vkvm_opts *o, char *why, size_t why_size)
{
	if (o->ram_mib < VKVM_MIN_RAM_MIB || o->ram_mib > VKVM_MAX_RAM_MIB)
		return vkvm_say(why, why_size, -EINVAL, "RAM size %u MiB is outside %u..%u",
				o->ram_mib, VKVM_MIN_RAM_MIB, VKVM_MAX_RAM_MIB);
	if (o->timeout_s > VKVM_MAX_TIMEOUT_S)
		return vkvm_say(why, why_size, -EINVAL, "timeout %u s is above %u", o->timeout_s,
				VKVM_MAX_TIMEOUT_S);
	if (o->nr_cpus > VKVM_MAX_CPUS)
		return vkvm_say(why, why_size, -EINVAL, "%u vCPUs is outside 1..%u", o->nr_cpus,
				VKVM_MAX_CPUS);
	if (o->halt_poll_us > VKVM_MAX_HALT_POLL_US)
		return vkvm_say(why, why_size, -EINVAL, "halt polling %u us is above %u",
				o->halt_poll_us, VKVM_MAX_HALT_POLL_US);
	if (o->irqchip != VKVM_IRQCHIP_AVIC && o->irqchip != VKVM_IRQCHIP_KERNEL)
		return vkvm_say(why, why_size, -EINVAL, "unknown irqchip %d", (int)o->irqchip);
	return 0;
}

static struct vkvm *machine_new(const struct vkvm_opts *o, struct vkvm_result *r)
{
	struct vkvm *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->kvm_fd = v->vm_fd = -1;
	v->nr = o->nr_cpus ? o->nr_cpus : 1;
	v->kernel_chip = o->irqchip == VKVM_IRQCHIP_KERNEL;
	for (uint32_t i = 0; i < v->nr; i++) {
		v->cpus[i].fd = -1;
		v->cpus[i].v = v;
		v->cpus[i].idx = i;
		/* APs wait for INIT, then STARTUP: in KVM itself on its LAPIC. */
		v->cpus[i].parked = i != 0 && !v->kernel_chip;
	}
	v->r = r;
	r->nr_cpus = v->nr;
	r->irqchip = o->irqchip;
	v->ram_size = (uint64_t)o->ram_mib << 20;
	v->out_fd = o->out_fd;
	v->has_input = o->in_fd >= 0;
	v->in_fd = o->in_fd;
	v->halt_poll_ns = (uint64_t)o->halt_poll_us * 1000;
	pthread_mutex_init(&v->end_lock, NULL);
	vkvm_bus_init(&v->bus);
	return v;
}

/* Works from any partial state of machine_build. */
static void machine_free(struct vkvm *v)
{
	if (v->lapic_ready)
		vkvm_lapic_timer_stop(&v->lapic);
	host_doorbell_set_handler(NULL, NULL);
	vkvm_devices_destroy(v);
	vkvm_vm_destroy(v);
	if (v->ram)
		munmap(v->ram, vkvm_ram_span(v->ram_size));
	if (v->lapic_ready)
		vkvm_lapic_fini(&v->lapic);
	vkvm_bus_fini(&v->bus);
	pthread_mutex_destroy(&v->end_lock);
	free(v);
}

/* RAM, the image in it, the trace buffers: everything before /dev/kvm. */
static int machine_load(struct vkvm *v, const struct vkvm_opts *o, struct vkvm_trace *trace,
			char *why, size_t why_size)
{
	int ret;

	/* NORESERVE: a 4 GiB guest that touches 1 MiB costs 1 MiB; the hole nothing. */
	v->ram = mmap(NULL, vkvm_ram_span(v->ram_size), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->ram == MAP_FAILED) {
		int err = errno;

		v->ram = NULL;
		return vkvm_say(why, why_size, -err, "cannot map %u MiB of guest RAM: %s",
				o->ram_mib, strerror(err));
	}
	/* Load first: a bad image is reported before /dev/kvm is touched. */
	ret = vkvm_boot_load(&o->boot, 0, v->ram, v->ram_size, &v->r->layout, why, why_size);
	if (ret)
		return ret;
	v->lay = &v->r->layout;
	/* The firmware's part: ACPI tables in the BIOS area the memory map reserves. */
	ret = (int)vkvm_acpi_install(v->ram, v->ram_size, v->lay, v->nr);
	if (ret < 0)
		return vkvm_say(why, why_size, ret, "cannot build the ACPI tables: %s",
				strerror(-ret));
	/* The RSDP leads the tables; PVH hands its address to the kernel. */
	if (ret > 0)
		vkvm_boot_set_rsdp(v->ram, v->lay, VKVM_ACPI_ADDR);
	/* One trace for every boot: its tracks go on across reboots. */
	if (o->trace_path && trace->tracks) {
		v->trace = trace;
	} else if (o->trace_path) {
		FILE *f = fopen(o->trace_path, "w");

		if (!f) {
			int err = errno;

			return vkvm_say(why, why_size, -err, "cannot write the trace %s: %s",
					o->trace_path, strerror(err));
		}
		fclose(f);
		if (vkvm_trace_init(trace, v->nr, VKVM_TRACE_EVENTS))
			return vkvm_say(why, why_size, -ENOMEM, "out of memory for the trace");
		v->trace = trace;
	}
	return 0;
}

/* The VM, the boot CPU, the userspace APIC and the devices. */
static int machine_build(struct vkvm *v, char *why, size_t why_size)
{
	int ret = vkvm_vm_create(v, why, why_size);

	if (!ret)
		ret = vkvm_vm_setup_bsp(&v->cpus[0], v->lay, why, why_size);
	if (!ret && !v->kernel_chip)
		ret = vkvm_lapic_init(&v->lapic, v->nr, why, why_size);
	if (ret)
		return ret;
	if (!v->kernel_chip) {
		/* As KVM's LAPIC: x2APIC in CPUID, and the I/O APIC is ours. */
		vkvm_lapic_set_directed_eoi(&v->lapic, v->msrs.x2apic);
		v->lapic_ready = true;
		v->lapic.kick = vkvm_apic_kick;
		v->lapic.opaque = v;
		v->lapic.trace = v->trace;
		for (uint32_t i = 0; i < v->nr; i++)
			v->cpus[i].vcpu = v->lapic.vcpus[i];
		host_doorbell_set_handler(vkvm_doorbell, v);
	}
	ret = vkvm_devices_create(v, why, why_size);
	if (!ret && v->lapic_ready)
		ret = vkvm_lapic_timer_start(&v->lapic, why, why_size);
	return ret;
}

/* Every vCPU thread, until the run ends; r->seconds is the time they ran. */
static void machine_run(struct vkvm *v, struct run_timeout *timeout)
{
	double start = (double)host_now_ns() / 1e9;
	uint32_t started = 0;
	int ret = timeout_start(timeout, v);

	if (ret) {
		vkvm_fail(v, -ret, "cannot start the timeout thread");
		return;
	}
	for (; started < v->nr; started++) {
		ret = pthread_create(&v->threads[started], NULL, vkvm_cpu_main, &v->cpus[started]);
		if (ret) {
			vkvm_fail(v, ret, "cannot start a vCPU thread");
			break;
		}
	}
	for (uint32_t i = 0; i < started; i++)
		pthread_join(v->threads[i], NULL);
	v->r->seconds += (double)host_now_ns() / 1e9 - start;
	/* No expiry may kick a vCPU thread that is gone. */
	if (v->lapic_ready)
		vkvm_lapic_timer_stop(&v->lapic);
	timeout_stop(timeout);
}

/* Every field of struct vkvm_apic_stats is a uint64_t counter. */
static void apic_stats_add(struct vkvm_apic_stats *sum, const struct vkvm_apic_stats *boot)
{
	uint64_t *d = (uint64_t *)sum;
	const uint64_t *s = (const uint64_t *)boot;

	_Static_assert(sizeof(*sum) % sizeof(uint64_t) == 0, "counters only");
	for (size_t i = 0; i < sizeof(*sum) / sizeof(uint64_t); i++)
		d[i] += s[i];
}

/* This boot's counters, added to the run's. */
static void collect(struct vkvm *v, struct vkvm_result *r)
{
	struct vkvm_apic_stats boot;

	for (uint32_t i = 0; i < v->nr; i++) {
		for (unsigned int e = 0; e < VKVM_NR_EXIT_REASONS; e++)
			r->exits[e] += v->cpus[i].exits[e];
		r->exits_other += v->cpus[i].exits_other;
	}
	if (v->lapic_ready) {
		vkvm_lapic_stats(&v->lapic, &boot);
		apic_stats_add(&r->apic, &boot);
	}
	r->x2apic = v->kernel_chip || v->msrs.x2apic;
	r->tsc_deadline = v->kernel_chip || v->msrs.tsc_deadline;
	r->apic_base_msr = v->kernel_chip || v->msrs.apic_base;
}

static int trace_finish(struct vkvm_result *r, struct vkvm_trace *trace,
			const struct vkvm_opts *o, char *why, size_t why_size)
{
	int ret;

	for (uint32_t i = 0; i < trace->nr_tracks; i++) {
		r->trace_events += trace->tracks[i].n;
		r->trace_dropped += trace->tracks[i].dropped;
	}
	ret = vkvm_trace_write(trace, o->trace_path,
			       o->irqchip == VKVM_IRQCHIP_KERNEL ? "kernel" : "avic");
	if (ret)
		return vkvm_say(why, why_size, ret, "cannot write the trace %s: %s",
				o->trace_path, strerror(-ret));
	return 0;
}

/* One boot of the machine, from nothing to torn down; *stage as it got. */
static int boot(const struct vkvm_opts *o, struct vkvm_result *r, struct vkvm_trace *trace,
		struct run_timeout *timeout, enum vkvm_stage *stage, char *why, size_t why_size)
{
	struct vkvm *v = machine_new(o, r);
	sigset_t saved;
	int ret;

	*stage = VKVM_STAGE_LOAD;
	if (!v)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory");
	ret = machine_load(v, o, trace, why, why_size);
	if (ret)
		goto out;

	*stage = VKVM_STAGE_KVM;
	vkvm_signals_setup(v, &saved);
	ret = machine_build(v, why, why_size);
	if (!ret) {
		*stage = VKVM_STAGE_RUN;
		machine_run(v, timeout);
		collect(v, r);
		ret = v->err;
		if (ret)
			vkvm_say(why, why_size, ret, "%s", v->why);
	}
	/* A late kick must not outlive the boot. */
	vkvm_kick_consume();
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
out:
	machine_free(v);
	return ret;
}

int vkvm_run_guest(const struct vkvm_opts *o, struct vkvm_result *r,
		   enum vkvm_stage *stage, char *why, size_t why_size)
{
	struct vkvm_trace trace = { 0 };
	struct run_timeout timeout;
	int ret;

	*stage = VKVM_STAGE_LOAD;
	if (why && why_size)
		why[0] = '\0';
	memset(r, 0, sizeof(*r));
	ret = check_opts(o, why, why_size);
	if (ret)
		return ret;
	timeout_init(&timeout, o->timeout_s);
	/*
	 * Reboot until an end that is not a reset.  Unbounded, as a real
	 * machine's: a guest that resets forever ends at the timeout, or
	 * never without one.
	 */
	for (;;) {
		ret = boot(o, r, &trace, &timeout, stage, why, why_size);
		if (ret || r->end != VKVM_END_RESET || o->no_reboot)
			break;
		r->reboots++;
	}
	/* Written for a run that got as far as running, as its one file. */
	if (trace.tracks && (!ret || *stage == VKVM_STAGE_RUN)) {
		int err = trace_finish(r, &trace, o, ret ? NULL : why, why_size);

		if (!ret)
			ret = err;
	}
	timeout_fini(&timeout);
	vkvm_trace_fini(&trace);
	if (!ret)
		*stage = VKVM_STAGE_NONE;
	return ret;
}

#endif /* __x86_64__ */
