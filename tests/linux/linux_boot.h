/* SPDX-License-Identifier: MIT */
/*
 * Booting the Linux that `make linux` builds (tools/linux.sh) with the CLI,
 * timing each milestone as its line arrives on the serial console.  A boot
 * takes minutes here, so each (image, vCPUs, irqchip) boots once per test
 * run: the first test that asks boots it, the others read what it left in
 * $VINTC_LINUX/results/.
 */
#ifndef VINTC_TEST_LINUX_BOOT_H
#define VINTC_TEST_LINUX_BOOT_H

#include <stdbool.h>

enum linux_milestone {
	LINUX_BANNER,		/* "Linux version " */
	LINUX_SMP,		/* "smp: Brought up 1 node, N CPU(s)" */
	LINUX_RUN_INIT,		/* "Run /init as init process" */
	LINUX_USERSPACE,	/* /init's "vintc-init: userspace is up" */
	LINUX_NPROC,		/* "vintc-init: nproc N" */
	LINUX_PINGPONG,		/* "pingpong: ... ns per round trip" */
	LINUX_POWEROFF,		/* "vintc-init: powering off" */
	LINUX_NR_MILESTONES
};

struct linux_boot {
	char *out;		/* the console, then the --json line */
	char *err;		/* vintc's stderr */
	const char *json;	/* the --json line in out, or NULL */
	int status;		/* vintc's exit status */
	/* Seconds from the start of vintc to each milestone; < 0: never seen. */
	double at[LINUX_NR_MILESTONES];
};

/* The directory `make linux` filled, or a visible skip without one. */
const char *linux_dir(void);

/*
 * Boot image ("vmlinux": PVH, "vmlinuz": bzImage) of linux_dir() on `cpus`
 * vCPUs with --irqchip=chip, or read the boot this test run already made.
 */
const struct linux_boot *linux_boot(const char *image, unsigned int cpus, const char *chip);

/* The milestone's name, for messages. */
const char *linux_milestone_name(enum linux_milestone m);

/* The text of the line holding needle in b->out (up to 200 bytes), or "". */
const char *linux_line(const struct linux_boot *b, const char *needle);

#endif
