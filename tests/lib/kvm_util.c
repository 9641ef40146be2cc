// SPDX-License-Identifier: MIT
/* Running the test guests on /dev/kvm from the tests (kvm_util.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <vintc/host.h>

#include "kvm_util.h"

void need_kvm(void)
{
	char why[200];

	if (vkvm_probe(why, sizeof(why)))
		test_skip("no usable /dev/kvm: %s", why);
}

const char *guest_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("VINTC_GUESTS");

	if (!dir)
		test_fail(__FILE__, __LINE__,
			  "VINTC_GUESTS is not set: run the KVM tests through 'make check'");
	snprintf(path, sizeof(path), "%s/%s.elf", dir, name);
	return path;
}

char *slurp_fd(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	ASSERT(buf);
	lseek(fd, 0, SEEK_SET);
	while ((r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (n + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ASSERT(buf);
		}
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

void *read_guest(const char *name, size_t *size)
{
	int fd = open(guest_path(name), O_RDONLY);
	void *buf;

	if (fd < 0)
		test_fail(__FILE__, __LINE__, "cannot open %s: %s", guest_path(name),
			  strerror(errno));
	buf = slurp_fd(fd, size);
	close(fd);
	return buf;
}

char *lib_run_opts(const char *name, struct vkvm_opts *o, struct vkvm_result *r)
{
	FILE *out = tmpfile();
	enum vkvm_stage stage;
	char why[256], *text, *path = strdup(guest_path(name));
	void *img;
	size_t len;

	ASSERT(out);
	ASSERT(path);
	img = read_guest(name, &o->boot.image_size);
	o->boot.image = img;
	/* As `vintc run` passes it: the command line is "PATH CMDLINE". */
	o->boot.image_name = path;
	o->out_fd = fileno(out);
	if (vkvm_run_guest(o, r, &stage, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "vkvm_run_guest(%s) failed at stage %d: %s", name,
			  stage, why);
	text = slurp_fd(fileno(out), &len);
	ASSERT_EQ(len, r->serial_bytes);
	fclose(out);
	o->boot.image = NULL;
	o->boot.image_name = NULL;
	free(img);
	free(path);
	return text;
}

char *lib_run_chip(const char *name, const char *cmdline, uint32_t timeout_s,
		   uint32_t cpus, enum vkvm_irqchip chip, struct vkvm_result *r)
{
	struct vkvm_opts o;

	vkvm_default_opts(&o);
	o.boot.cmdline = cmdline;
	o.timeout_s = timeout_s;
	o.nr_cpus = cpus;
	o.irqchip = chip;
	/* No halt polling: the tests count the blocking paths' exits and wake-ups. */
	o.halt_poll_us = 0;
	return lib_run_opts(name, &o, r);
}

char *lib_run_smp(const char *name, const char *cmdline, uint32_t timeout_s,
		  uint32_t cpus, struct vkvm_result *r)
{
	return lib_run_chip(name, cmdline, timeout_s, cpus, VKVM_IRQCHIP_AVIC, r);
}

char *lib_run(const char *name, const char *cmdline, uint32_t timeout_s,
	      struct vkvm_result *r)
{
	return lib_run_smp(name, cmdline, timeout_s, 1, r);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *lines_sorted(const char **lines, size_t n)
{
	size_t len = 1;
	char *res;

	for (size_t i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	qsort(lines, n, sizeof(lines[0]), cmp_str);
	res = malloc(len);
	ASSERT(res);
	res[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(res, lines[i]);
		strcat(res, "\n");
	}
	return res;
}

/*
 * The PASS lines of a guest's output, sorted (APs' lines interleave) and
 * joined.  The known differences between the irqchips: KVM's LAPIC does
 * not latch Send Illegal Vector in ESR, so the smp guest prints a SKIP
 * line there, and it reads back no ISR bit (nor its class in PPR) inside a
 * handler, so the tpr guest prints a SKIP line for its PPR check; and it
 * takes a non-zero x2APIC EOI write without the SDM's #GP; those lines
 * count as their PASS lines.
 */
char *pass_lines(const char *out)
{
	static const char skip_esr[] = "SKIP illegal vector esr:";
	static const char skip_ppr[] = "SKIP ppr:";
	static const char skip_eoi[] = "SKIP x2apic gp eoi nonzero:";
	const char *lines[256];
	size_t n = 0;
	char *copy = strdup(out), *save = NULL, *res;

	ASSERT(copy);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(l, skip_esr, sizeof(skip_esr) - 1))
			l = "PASS illegal vector esr";
		else if (!strncmp(l, skip_ppr, sizeof(skip_ppr) - 1))
			l = "PASS ppr";
		else if (!strncmp(l, skip_eoi, sizeof(skip_eoi) - 1))
			l = "PASS x2apic gp eoi nonzero";
		else if (strncmp(l, "PASS ", 5))
			continue;
		ASSERT(n < ARRAY_SIZE(lines));
		lines[n++] = l;
	}
	res = lines_sorted(lines, n);
	free(copy);
	return res;
}

void both_irqchips(const char *name, const char *cmdline, uint32_t cpus)
{
	struct vkvm_result ra, rk;
	char *oa, *ok, *pa, *pk;

	need_kvm();
	oa = lib_run_chip(name, cmdline, 30, cpus, VKVM_IRQCHIP_AVIC, &ra);
	/* KVM's LAPIC always has them: compare only what both advertise. */
	if (!ra.x2apic && !strcmp(name, "x2apic"))
		test_skip("this kernel does not hand x2APIC MSRs to userspace (probe)");
	if (!ra.tsc_deadline && !strcmp(name, "timer"))
		test_skip("this kernel does not hand IA32_TSC_DEADLINE to userspace (probe)");
	ok = lib_run_chip(name, cmdline, 30, cpus, VKVM_IRQCHIP_KERNEL, &rk);
	pa = pass_lines(oa);
	pk = pass_lines(ok);
	if (!pa[0] || strcmp(pa, pk) || ra.exit_status != 1 || rk.exit_status != 1)
		test_fail(__FILE__, __LINE__,
			  "%s -c %u: avic (exit %d):\n%s\nkernel (exit %d, %s):\n%s", name, cpus,
			  ra.exit_status, oa, rk.exit_status, rk.message, ok);
	ASSERT_EQ(rk.irqchip, VKVM_IRQCHIP_KERNEL);
	ASSERT_EQ(rk.nr_cpus, cpus);
	/*
	 * The in-kernel LAPIC keeps HLT (and the xAPIC page) to itself; MMIO
	 * exits there are the I/O APIC's, which is vintc's under both.
	 */
	ASSERT_EQ(rk.exits[KVM_EXIT_HLT], 0);
	ASSERT_EQ(rk.apic.ipis, 0);
	free(pa);
	free(pk);
	free(oa);
	free(ok);
}
