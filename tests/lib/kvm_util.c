// SPDX-License-Identifier: MIT
/* Running the test guests on /dev/kvm from the tests (kvm_util.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Run a guest through the library on `cpus` vCPUs; returns its COM1 output. */
char *lib_run_chip(const char *name, const char *cmdline, uint32_t timeout_s,
		   uint32_t cpus, enum vkvm_irqchip chip, struct vkvm_result *r)
{
	FILE *out = tmpfile();
	enum vkvm_stage stage;
	struct vkvm_opts o;
	char why[256], *text;
	void *img;
	size_t len;

	ASSERT(out);
	vkvm_default_opts(&o);
	img = read_guest(name, &o.boot.image_size);
	o.boot.image = img;
	o.boot.cmdline = cmdline;
	o.timeout_s = timeout_s;
	o.out_fd = fileno(out);
	o.nr_cpus = cpus;
	o.irqchip = chip;
	/* No halt polling: the tests count the blocking paths' exits and wake-ups. */
	o.halt_poll_us = 0;
	if (vkvm_run_guest(&o, r, &stage, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "vkvm_run_guest(%s) failed at stage %d: %s", name,
			  stage, why);
	text = slurp_fd(fileno(out), &len);
	ASSERT_EQ(len, r->serial_bytes);
	fclose(out);
	free(img);
	return text;
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
