// SPDX-License-Identifier: MIT
/*
 * Real guests on /dev/kvm, on vintc's userspace APIC (--irqchip=avic) and
 * on KVM's in-kernel LAPIC (--irqchip=kernel).  `kvm`: loops of the smp
 * guest on two vCPUs: the halting IPI ping-pong, the same with both sides
 * spinning (every ping finds its target inside the guest), a self-IPI
 * loop, and the halting ping-pong in x2APIC mode.  Each configuration runs
 * RUNS times with 0 iterations and with N; the difference of the median
 * wall times over N is the cost of one iteration, free of boot, bring-up
 * and teardown.  Exits and kicks per iteration come from the run's own
 * counters the same way.  `kvm-halt`: the halting ping-pong with adaptive
 * halt polling, without, and on the kernel's LAPIC, on an idle host and
 * beside a CPU-bound thread.  `kvm-timer`: TSC-deadline latency and the
 * immediate-deadline loop, as the timer2 guest measures them.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/kvm_run.h>

#include "bench.h"

#define RUNS		5
#define PAIRED_RUNS	7	/* kvm-halt, kvm-timer: irqchips interleaved */
#define GUEST_ENV	"VINTC_GUESTS"
#define GUEST_DEFAULT	"build/guests"

struct sample {
	double seconds;
	uint64_t exits, kicks, kick_ns;
};

struct loop {
	const char *name;
	const char *zero, *fmt;		/* command lines: 0 iterations, N */
	unsigned int n;
};

static const struct loop loops[] = {
	{ "ping-pong, halting", "rounds=0", "rounds=%u", 5000 },
	{ "ping-pong, spinning", "rounds=0 spin=1", "rounds=%u spin=1", 300 },
	{ "self-IPI loop", "rounds=0", "rounds=0 selfs=%u", 5000 },
	/* ICR and EOI are one MSR write each: 3 exits a side, not 4. */
	{ "ping-pong, x2APIC", "rounds=0 x2apic=1", "rounds=%u x2apic=1", 5000 },
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*size = (size_t)len;
	return buf;
}

/* --halt-poll-us for the avic runs; -1: the default. */
static int halt_poll_us = -1;

/*
 * One run of the guest on 2 vCPUs, its output to out_fd; a library error
 * ends the benchmark.  The result says how the guest ended.
 */
static void bench_run(const void *img, size_t size, enum vkvm_irqchip chip, const char *cmdline,
		      int out_fd, uint32_t timeout_s, struct vkvm_result *r)
{
	enum vkvm_stage stage;
	struct vkvm_opts o;
	char why[256];

	vkvm_default_opts(&o);
	o.boot.image = img;
	o.boot.image_size = size;
	o.boot.cmdline = cmdline;
	o.nr_cpus = 2;
	o.timeout_s = timeout_s;
	o.out_fd = out_fd;
	o.irqchip = chip;
	if (halt_poll_us >= 0)
		o.halt_poll_us = (uint32_t)halt_poll_us;
	if (vkvm_run_guest(&o, r, &stage, why, sizeof(why)))
		bench_die("kvm: %s", why);
}

/* One run of the guest; its wall time and total exits. */
static struct sample run_once(const void *img, size_t size, enum vkvm_irqchip chip,
			      const char *cmdline, int null_fd)
{
	struct vkvm_result r;
	struct sample s = { 0 };

	bench_run(img, size, chip, cmdline, null_fd, 60, &r);
	if (!r.x2apic && strstr(cmdline, "x2apic=1")) {
		s.seconds = -1;		/* not advertised here (probe): skip */
		return s;
	}
	if (r.exit_status != 1)
		bench_die("kvm: the smp guest failed (%s, irqchip %s)", r.message,
			  chip == VKVM_IRQCHIP_KERNEL ? "kernel" : "avic");
	s.seconds = r.seconds;
	for (unsigned int i = 0; i < VKVM_NR_EXIT_REASONS; i++)
		s.exits += r.exits[i];
	s.exits += r.exits_other;
	s.kicks = r.apic.kicks;
	s.kick_ns = r.apic.kick_ns;
	return s;
}

/* Median seconds, exits and kicks of RUNS runs. */
static void median(const void *img, size_t size, enum vkvm_irqchip chip, const char *cmdline,
		   int null_fd, double *sec, double *exits, double *kicks, double *kick_us)
{
	double t[RUNS], e[RUNS], k[RUNS], kt[RUNS];

	for (int i = 0; i < RUNS; i++) {
		struct sample s = run_once(img, size, chip, cmdline, null_fd);

		if (s.seconds < 0) {
			*sec = -1;
			return;
		}
		t[i] = s.seconds;
		e[i] = (double)s.exits;
		k[i] = (double)s.kicks;
		kt[i] = (double)s.kick_ns / 1000;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	qsort(e, RUNS, sizeof(e[0]), cmp_double);
	qsort(k, RUNS, sizeof(k[0]), cmp_double);
	qsort(kt, RUNS, sizeof(kt[0]), cmp_double);
	*kick_us = kt[RUNS / 2];
	*sec = t[RUNS / 2];
	*exits = e[RUNS / 2];
	*kicks = k[RUNS / 2];
}

/*
 * The guest a benchmark runs, read into memory, or NULL with a "skipped"
 * line (no usable /dev/kvm, or no guest: `make` builds them).
 */
static void *bench_guest(const char *bench, const char *name, size_t *size)
{
	const char *dir = getenv(GUEST_ENV);
	char path[4096], why[256];
	void *img;

	if (vkvm_probe(why, sizeof(why))) {
		printf("%s: skipped (%s)\n\n", bench, why);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : GUEST_DEFAULT, name);
	img = slurp(path, size);
	if (!img)
		printf("%s: skipped (no guest at %s: run 'make' first)\n\n", bench, path);
	return img;
}

void bench_kvm(void)
{
	static const char *const names[] = { "avic", "kernel" };
	static const enum vkvm_irqchip chips[] = { VKVM_IRQCHIP_AVIC, VKVM_IRQCHIP_KERNEL };
	double us[2], per_exit[2];
	char many[32];
	size_t size = 0;
	void *img = bench_guest("kvm", "smp.elf", &size);
	int null_fd;

	if (!img)
		return;
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0)
		bench_die("kvm: cannot open /dev/null");
	printf("smp guest, 2 vCPUs: median of %d runs each of 0 and N iterations,\n"
	       "difference / N\n\n", RUNS);
	printf("%-20s %6s %-8s %10s %11s %11s %14s\n", "loop", "N", "irqchip", "us/iter",
	       "exits/iter", "kicks/iter", "kick us/iter");
	for (size_t l = 0; l < sizeof(loops) / sizeof(loops[0]); l++) {
		for (int i = 0; i < 2; i++) {
			double t0, tn, e0, en, k0, kn, kt0, ktn;

			snprintf(many, sizeof(many), loops[l].fmt, loops[l].n);
			median(img, size, chips[i], loops[l].zero, null_fd, &t0, &e0, &k0, &kt0);
			if (t0 < 0) {
				printf("%-20s %6u %-8s skipped: x2APIC not advertised (probe)\n",
				       loops[l].name, loops[l].n, names[i]);
				us[0] = us[1] = 0;
				continue;
			}
			median(img, size, chips[i], many, null_fd, &tn, &en, &kn, &ktn);
			us[i] = (tn - t0) * 1e6 / loops[l].n;
			per_exit[i] = (en - e0) / loops[l].n;
			printf("%-20s %6u %-8s %10.2f %11.2f %11.2f %14.3f\n", loops[l].name, loops[l].n,
			       names[i], us[i], per_exit[i], (kn - k0) / loops[l].n,
			       (ktn - kt0) / loops[l].n);
		}
		printf("%-20s ratio avic/kernel: %.2fx\n", loops[l].name,
		       us[1] > 0 ? us[0] / us[1] : 0.0);
	}
	printf("\n");
	close(null_fd);
	free(img);
}

/* ---- halting ping-pong on an idle and on a loaded host ----------------- */

struct halt_sample {
	double us, polls, misses, yields;	/* per round trip */
};

static uint32_t busy_stop;

/* The competitor: a CPU-bound thread, not pinned, for the whole measurement. */
static void *busy_main(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&busy_stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

static struct vkvm_result run_result(const void *img, size_t size, enum vkvm_irqchip chip,
				     const char *cmdline, int out_fd)
{
	struct vkvm_result r;

	bench_run(img, size, chip, cmdline, out_fd, 120, &r);
	if (r.exit_status != 1)
		bench_die("kvm: the guest failed (%s, irqchip %s, %s)", r.message,
			  chip == VKVM_IRQCHIP_KERNEL ? "kernel" : "avic", cmdline);
	return r;
}

static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

/* The three configurations the halting bench compares. */
#define HALT_CONFIGS	3
static const struct {
	const char *name;
	enum vkvm_irqchip chip;
	int poll_us;		/* --halt-poll-us, -1: the default */
} halt_configs[HALT_CONFIGS] = {
	{ "avic (adaptive poll)", VKVM_IRQCHIP_AVIC, -1 },
	{ "avic (no polling)", VKVM_IRQCHIP_AVIC, 0 },
	{ "kernel", VKVM_IRQCHIP_KERNEL, -1 },
};

/*
 * PAIRED_RUNS runs each of 0 and n round trips per configuration, the
 * configurations interleaved run by run so that all see the same host
 * (others' load comes and goes); the medians' difference over n.
 */
static void pingpong(const void *img, size_t size, unsigned int n, int null_fd,
		     struct halt_sample *out)
{
	double t[HALT_CONFIGS][2][PAIRED_RUNS], p[HALT_CONFIGS][2][PAIRED_RUNS];
	double m[HALT_CONFIGS][2][PAIRED_RUNS], y[HALT_CONFIGS][2][PAIRED_RUNS];
	char cmd[32];

	for (int i = 0; i < PAIRED_RUNS; i++)
		for (int k = 0; k < 2; k++)
			for (int c = 0; c < HALT_CONFIGS; c++) {
				struct vkvm_result r;

				snprintf(cmd, sizeof(cmd), "rounds=%u", k ? n : 0);
				halt_poll_us = halt_configs[c].poll_us;
				r = run_result(img, size, halt_configs[c].chip, cmd, null_fd);
				t[c][k][i] = r.seconds;
				p[c][k][i] = (double)r.apic.halt_polls;
				m[c][k][i] = (double)r.apic.halt_poll_misses;
				y[c][k][i] = (double)r.apic.halt_poll_yields;
			}
	halt_poll_us = -1;
	for (int c = 0; c < HALT_CONFIGS; c++) {
		out[c].us = (median_of(t[c][1], PAIRED_RUNS) - median_of(t[c][0], PAIRED_RUNS)) *
			    1e6 / n;
		out[c].polls = (median_of(p[c][1], PAIRED_RUNS) -
				median_of(p[c][0], PAIRED_RUNS)) / n;
		out[c].misses = (median_of(m[c][1], PAIRED_RUNS) -
				 median_of(m[c][0], PAIRED_RUNS)) / n;
		out[c].yields = (median_of(y[c][1], PAIRED_RUNS) -
				 median_of(y[c][0], PAIRED_RUNS)) / n;
	}
}

/*
 * The halting ping-pong of the smp guest (2 vCPUs), on an idle host and
 * with one CPU-bound thread competing for the host's CPUs: avic with its
 * adaptive halt polling (the default cap), avic without polling, and KVM's
 * in-kernel LAPIC (the host's own halt polling).
 */
void bench_kvm_halt(void)
{
	static const char *const load_names[] = { "idle", "loaded" };
	const unsigned int n = 3000;
	size_t size = 0;
	void *img = bench_guest("kvm-halt", "smp.elf", &size);
	int null_fd;

	if (!img)
		return;
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0)
		bench_die("kvm: cannot open /dev/null");
	printf("halting ping-pong, smp guest, 2 vCPUs, N = %u: median of %d runs each of 0 and N\n"
	       "round trips, difference / N, the configurations interleaved run by run;\n"
	       "loaded: one CPU-bound thread on the host throughout\n\n", n, PAIRED_RUNS);
	printf("%-7s %-22s %10s %9s %9s %9s\n", "host", "irqchip", "us/round", "polls", "misses",
	       "gave up");
	for (int load = 0; load < 2; load++) {
		struct halt_sample s[HALT_CONFIGS];
		pthread_t busy;

		if (load) {
			__atomic_store_n(&busy_stop, 0, __ATOMIC_RELAXED);
			if (pthread_create(&busy, NULL, busy_main, NULL))
				bench_die("kvm: cannot start the competitor");
		}
		pingpong(img, size, n, null_fd, s);
		if (load) {
			__atomic_store_n(&busy_stop, 1, __ATOMIC_RELAXED);
			pthread_join(busy, NULL);
		}
		for (int c = 0; c < HALT_CONFIGS; c++) {
			printf("%-7s %-22s %10.1f", load_names[load], halt_configs[c].name, s[c].us);
			if (halt_configs[c].chip == VKVM_IRQCHIP_AVIC)
				printf(" %9.2f %9.2f %9.2f", s[c].polls, s[c].misses, s[c].yields);
			printf("\n");
		}
		printf("%-7s ratio avic/kernel: %.2fx (no polling: %.2fx)\n", load_names[load],
		       s[2].us > 0 ? s[0].us / s[2].us : 0.0, s[2].us > 0 ? s[1].us / s[2].us : 0.0);
	}
	printf("polls, misses, gave up: per round trip (2 HLTs): HLTs a poll ended, HLTs that\n"
	       "blocked, and of those the polls cut short because the host had more runnable\n"
	       "tasks than CPUs\n\n");
	close(null_fd);
	free(img);
}

/* ---- TSC deadlines (the timer2 guest) ---------------------------------- */

/* "KEY=<number>" in text, or -1. */
static double field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtod(p + strlen(key), NULL) : -1;
}

/* The guest's "BENCH ..." line of one run: its median and mean, in ns. */
static void timer_run(const void *img, size_t size, enum vkvm_irqchip chip, const char *cmd,
		      double *median, double *mean)
{
	FILE *out = tmpfile();
	char text[4096];
	size_t len;

	if (!out)
		bench_die("kvm-timer: tmpfile");
	run_result(img, size, chip, cmd, fileno(out));
	rewind(out);
	len = fread(text, 1, sizeof(text) - 1, out);
	text[len] = '\0';
	fclose(out);
	if (!strstr(text, "BENCH "))
		bench_die("kvm-timer: no BENCH line (%s, %s):\n%s", cmd,
			  chip == VKVM_IRQCHIP_KERNEL ? "kernel" : "avic", text);
	*median = field(text, "median_ns=");
	*mean = field(text, "mean_ns=");
}

struct timer_loop {
	const char *name, *cmd;
	bool use_mean;		/* the immediate loop has no per-sample median */
};

static const struct timer_loop timer_loops[] = {
	{ "latency, halting, 50 us ahead", "lat=500 ahead=50", false },
	{ "latency, spinning, 50 us ahead", "lat=500 ahead=50 spin=1", false },
	{ "latency, halting, 200 us ahead", "lat=300 ahead=200", false },
	{ "latency, spinning, 200 us ahead", "lat=300 ahead=200 spin=1", false },
	{ "latency, halting, 2 ms ahead", "lat=100 ahead=2000", false },
	{ "latency, spinning, 2 ms ahead", "lat=100 ahead=2000 spin=1", false },
	{ "immediate deadline loop", "now=5000", true },
};

/*
 * TSC deadlines, measured by the guest itself in TSC ticks calibrated
 * against the APIC count: deadline-to-handler latency (the deadline's TSC
 * to the handler's first RDTSC), near and far, with the vCPU halted and
 * spinning; and the immediate-deadline loop (a deadline due when written,
 * taken before the next is written), in ns per deadline.
 */
void bench_kvm_timer(void)
{
	size_t size = 0;
	void *img = bench_guest("kvm-timer", "timer2.elf", &size);

	if (!img)
		return;
	printf("TSC deadlines, timer2 guest, 1 vCPU: the guest's own median (latency) or mean\n"
	       "(immediate loop) per run, median of %d runs, the irqchips interleaved\n\n",
	       PAIRED_RUNS);
	printf("%-32s %12s %12s %8s\n", "loop", "avic ns", "kernel ns", "ratio");
	for (size_t k = 0; k < sizeof(timer_loops) / sizeof(timer_loops[0]); k++) {
		double v[2][PAIRED_RUNS], med, mean;

		for (int i = 0; i < PAIRED_RUNS; i++)
			for (int chip = 0; chip < 2; chip++) {
				timer_run(img, size, chip ? VKVM_IRQCHIP_KERNEL : VKVM_IRQCHIP_AVIC,
					  timer_loops[k].cmd, &med, &mean);
				v[chip][i] = timer_loops[k].use_mean ? mean : med;
			}
		med = median_of(v[0], PAIRED_RUNS);
		mean = median_of(v[1], PAIRED_RUNS);
		printf("%-32s %12.0f %12.0f %7.2fx\n", timer_loops[k].name, med, mean,
		       mean > 0 ? med / mean : 0.0);
	}
	printf("\n");
	free(img);
}
