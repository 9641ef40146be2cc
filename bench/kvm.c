// SPDX-License-Identifier: MIT
/*
 * Real guests on /dev/kvm, on vintc's userspace APIC (--irqchip=avic) and
 * on KVM's in-kernel LAPIC (--irqchip=kernel), three loops of the smp
 * guest on two vCPUs: the halting IPI ping-pong, the same with both sides
 * spinning (every ping finds its target inside the guest), and a self-IPI
 * loop.  Each configuration runs RUNS times with 0 iterations and with N;
 * the difference of the median wall times over N is the cost of one
 * iteration, free of boot, bring-up and teardown.  Exits and kicks per
 * iteration come from the run's own counters the same way.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/kvm_run.h>

#include "bench.h"

#define RUNS		5
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

/* One run of the guest; its wall time and total exits. */
static struct sample run_once(const void *img, size_t size, enum vkvm_irqchip chip,
			      const char *cmdline, int null_fd)
{
	struct vkvm_result r;
	enum vkvm_stage stage;
	struct vkvm_opts o;
	struct sample s = { 0 };
	char why[256];

	vkvm_default_opts(&o);
	o.boot.image = img;
	o.boot.image_size = size;
	o.boot.cmdline = cmdline;
	o.nr_cpus = 2;
	o.timeout_s = 60;
	o.out_fd = null_fd;
	o.irqchip = chip;
	if (vkvm_run_guest(&o, &r, &stage, why, sizeof(why)))
		bench_die("kvm: %s", why);
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

void bench_kvm(void)
{
	static const char *const names[] = { "avic", "kernel" };
	static const enum vkvm_irqchip chips[] = { VKVM_IRQCHIP_AVIC, VKVM_IRQCHIP_KERNEL };
	const char *dir = getenv(GUEST_ENV);
	double us[2], per_exit[2];
	char path[4096], why[256], many[32];
	size_t size = 0;
	void *img;
	int null_fd;

	if (vkvm_probe(why, sizeof(why))) {
		printf("kvm: skipped (%s)\n\n", why);
		return;
	}
	snprintf(path, sizeof(path), "%s/smp.elf", dir ? dir : GUEST_DEFAULT);
	img = slurp(path, &size);
	if (!img) {
		printf("kvm: skipped (no guest at %s: run 'make' first)\n\n", path);
		return;
	}
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
