/* SPDX-License-Identifier: MIT */
/*
 * The test guests from guests/ (VINTC_GUESTS, set by `make check`) run on
 * /dev/kvm through the library, for the KVM tests and the `vintc run` ones.
 */
#ifndef VINTC_TEST_KVM_UTIL_H
#define VINTC_TEST_KVM_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <vintc/kvm_run.h>

#include "test.h"

#define HELLO_MEM_UPPER_64M	"PASS mbi mem_upper=64512\n"	/* (64 MiB - 1 MiB) / 1 KiB */
#define HELLO_MEM_UPPER_DEFAULT	"PASS mbi mem_upper=523264\n"	/* (512 MiB - 1 MiB) / 1 KiB */

/* End the test as a visible SKIP without a usable /dev/kvm. */
void need_kvm(void);

/* VINTC_GUESTS/name.elf, in a static buffer. */
const char *guest_path(const char *name);

/* All of fd from its start, NUL-terminated; its length in *len if set. */
char *slurp_fd(int fd, size_t *len);

/* The guest image name.elf, malloc'ed; its size in *size. */
void *read_guest(const char *name, size_t *size);

/*
 * Run guest `name` through the library with options `o` (from
 * vkvm_default_opts, then the caller's), the image, its name and the
 * output filled in here; returns its COM1 output.  The command line is
 * "PATH CMDLINE", as `vintc run` gives it.
 */
char *lib_run_opts(const char *name, struct vkvm_opts *o, struct vkvm_result *r);
/* Run a guest through the library on `cpus` vCPUs; returns its COM1 output. */
char *lib_run_chip(const char *name, const char *cmdline, uint32_t timeout_s,
		   uint32_t cpus, enum vkvm_irqchip chip, struct vkvm_result *r);
/* The same on the AVIC model. */
char *lib_run_smp(const char *name, const char *cmdline, uint32_t timeout_s,
		  uint32_t cpus, struct vkvm_result *r);
/* The same on one vCPU. */
char *lib_run(const char *name, const char *cmdline, uint32_t timeout_s,
	      struct vkvm_result *r);

/*
 * The PASS lines of a guest's output, sorted (APs' lines interleave) and
 * joined, malloc'ed; the irqchips' known differences count as PASS.
 */
char *pass_lines(const char *out);
/* lines[0..n) sorted (in place) and joined, each ending in a newline; malloc'ed. */
char *lines_sorted(const char **lines, size_t n);
/*
 * Run guest `name` on `cpus` vCPUs under --irqchip=avic and
 * --irqchip=kernel: both must end with status 1 and the same PASS lines.
 */
void both_irqchips(const char *name, const char *cmdline, uint32_t cpus);

#endif
