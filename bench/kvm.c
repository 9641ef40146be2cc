// SPDX-License-Identifier: MIT
/*
 * Real guests on /dev/kvm: the smp guest's halting IPI ping-pong between
 * two vCPUs, on vintc's userspace APIC (--irqchip=avic) and on KVM's
 * in-kernel LAPIC (--irqchip=kernel).  Each configuration runs RUNS times
 * with "rounds=0" and with "rounds=ROUNDS"; the difference of the median
 * wall times over ROUNDS is the cost of one round trip, free of boot,
 * bring-up and teardown.  Exits per round trip come from the run's own
 * counters the same way.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/kvm_run.h>

#include "bench.h"

#define RUNS		5
#define ROUNDS		5000
#define GUEST_ENV	"VINTC_GUESTS"
#define GUEST_DEFAULT	"build/guests"

struct sample {
	double seconds;
	uint64_t exits;
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
	if (r.exit_status != 1)
		bench_die("kvm: the smp guest failed (%s, irqchip %s)", r.message,
			  chip == VKVM_IRQCHIP_KERNEL ? "kernel" : "avic");
	s.seconds = r.seconds;
	for (unsigned int i = 0; i < VKVM_NR_EXIT_REASONS; i++)
		s.exits += r.exits[i];
	s.exits += r.exits_other;
	return s;
}

/* Median seconds and exits of RUNS runs. */
static void median(const void *img, size_t size, enum vkvm_irqchip chip, const char *cmdline,
		   int null_fd, double *sec, double *exits)
{
	double t[RUNS], e[RUNS];

	for (int i = 0; i < RUNS; i++) {
		struct sample s = run_once(img, size, chip, cmdline, null_fd);

		t[i] = s.seconds;
		e[i] = (double)s.exits;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	qsort(e, RUNS, sizeof(e[0]), cmp_double);
	*sec = t[RUNS / 2];
	*exits = e[RUNS / 2];
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
	snprintf(many, sizeof(many), "rounds=%u", ROUNDS);
	printf("halting IPI ping-pong, 2 vCPUs, smp guest: median of %d runs each of\n"
	       "rounds=0 and rounds=%u, difference / %u\n\n", RUNS, ROUNDS, ROUNDS);
	printf("irqchip    us/round-trip   exits/round-trip\n");
	for (int i = 0; i < 2; i++) {
		double t0, tn, e0, en;

		median(img, size, chips[i], "rounds=0", null_fd, &t0, &e0);
		median(img, size, chips[i], many, null_fd, &tn, &en);
		us[i] = (tn - t0) * 1e6 / ROUNDS;
		per_exit[i] = (en - e0) / ROUNDS;
		printf("%-10s %14.2f %18.2f\n", names[i], us[i], per_exit[i]);
	}
	printf("ratio avic/kernel: %.2fx\n\n", us[1] > 0 ? us[0] / us[1] : 0.0);
	close(null_fd);
	free(img);
}
