// SPDX-License-Identifier: MIT
/*
 * An unmodified Linux on vintc's machine (`make check-linux`): Debian's
 * cloud kernel with a busybox initramfs (guests/linux/), booted by PVH on
 * one vCPU and as a bzImage on two, under both irqchips.
 *
 * Two tests per boot.  linux_boot_* needs the kernel's milestones: its
 * banner, every CPU up, "Run /init", and, from the --json result, the
 * interrupts that got it there (IPIs between CPUs, timer interrupts).
 * linux_user_* needs /init's: its marker, nproc equal to the vCPUs, the
 * pingpong workload's figure and an ACPI poweroff that ends vintc with
 * status 0.  Where the host cannot run Linux's user mode (kvm-pvm leaves
 * SYSCALL in ring 3 under both irqchips, as guests/usermode.c shows), and
 * only then, linux_user_* is a SKIP saying so, never a pass.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "json.h"
#include "kvm_util.h"
#include "linux_boot.h"
#include "newc.h"
#include "test.h"

static void need_milestone(const struct linux_boot *b, enum linux_milestone m, const char *file,
			   int line)
{
	const char *tail;

	if (b->at[m] >= 0)
		return;
	tail = strlen(b->out) > 1500 ? b->out + strlen(b->out) - 1500 : b->out;
	test_fail(file, line, "no %s (vintc exit %d; stderr: %s); the console ends:\n%s",
		  linux_milestone_name(m), b->status, b->err, tail);
}
#define NEED(b, m) need_milestone((b), (m), __FILE__, __LINE__)

static void check_kernel(const char *image, unsigned int cpus, const char *chip)
{
	const struct linux_boot *b = linux_boot(image, cpus, chip);

	NEED(b, LINUX_BANNER);
	NEED(b, LINUX_SMP);
	NEED(b, LINUX_RUN_INIT);
	ASSERT(b->at[LINUX_BANNER] <= b->at[LINUX_SMP]);
	ASSERT(b->at[LINUX_SMP] <= b->at[LINUX_RUN_INIT]);
	if (!b->json)
		test_fail(__FILE__, __LINE__, "no --json result; stderr: %s", b->err);
	ASSERT_EQ(NUM(b->json, "cpus"), cpus);
	if (!strcmp(chip, "avic")) {
		/* Every interrupt of the boot went through the AVIC model. */
		ASSERT(NUM(b->json, "injected") > 1000);
		ASSERT(NUM(b->json, "timer_fires") > 1000);
		if (cpus > 1)
			ASSERT(NUM(b->json, "sent") > 100);
		ASSERT_EQ(NUM(b->json, "bad_accesses"), 0);
	}
}

/*
 * Why this host cannot run Linux's user mode, or NULL if it can:
 * guests/usermode.c probes whether the host's KVM takes a SYSCALL into
 * ring 0.  Only an answer that is the same under both irqchips is the
 * host's.
 */
static const char *host_user_mode_limit(void)
{
	static char why[256];
	enum vkvm_irqchip chips[2] = { VKVM_IRQCHIP_AVIC, VKVM_IRQCHIP_KERNEL };
	bool stuck[2];

	for (int i = 0; i < 2; i++) {
		struct vkvm_result r;
		char *out = lib_run_chip("usermode", NULL, 30, 2, chips[i], &r);

		stuck[i] = strstr(out, "INFO usermode syscall stays in ring 3") != NULL;
		free(out);
	}
	if (!stuck[0] || !stuck[1])
		return NULL;
	snprintf(why, sizeof(why),
		 "this host's KVM leaves SYSCALL in ring 3 (CS 0x33 at LSTAR) under both irqchips "
		 "(guests/usermode.c), so init dies at its first system call");
	return why;
}

static void check_user(const char *image, unsigned int cpus, const char *chip)
{
	const struct linux_boot *b = linux_boot(image, cpus, chip);
	char want[64];
	const char *limit;

	NEED(b, LINUX_RUN_INIT);
	if (b->at[LINUX_USERSPACE] < 0 && (limit = host_user_mode_limit()))
		test_skip("%s: '%s'", limit, linux_line(b, "RIP: 0033:"));
	NEED(b, LINUX_USERSPACE);
	NEED(b, LINUX_NPROC);
	snprintf(want, sizeof(want), "vintc-init: nproc %u", cpus);
	if (!strstr(b->out, want))
		test_fail(__FILE__, __LINE__, "want '%s', got '%s'", want,
			  linux_line(b, "vintc-init: nproc"));
	ASSERT(strstr(b->out, "LOC:"));		/* /proc/interrupts was printed */
	NEED(b, LINUX_PINGPONG);
	NEED(b, LINUX_POWEROFF);
	ASSERT_EQ(b->status, 0);
	ASSERT(b->json && strstr(b->json, "\"end\":\"poweroff\""));
}

#define LINUX_TESTS(image, tag, cpus, chip)					\
	TEST(linux_boot_##tag##_##cpus##cpu_##chip)				\
	{									\
		check_kernel(image, cpus, #chip);				\
	}									\
	TEST(linux_user_##tag##_##cpus##cpu_##chip)				\
	{									\
		check_user(image, cpus, #chip);					\
	}

/*
 * Four boots, minutes each here: one vCPU by PVH, two by the bzImage (the
 * README's command), each under both irqchips.
 */
LINUX_TESTS("vmlinux", pvh, 1, avic)
LINUX_TESTS("vmlinux", pvh, 1, kernel)
LINUX_TESTS("vmlinuz", bzimage, 2, avic)
LINUX_TESTS("vmlinuz", bzimage, 2, kernel)

/* Unpack the initramfs's directories, files and links under root. */
static void unpack_initramfs(const char *dir, const char *root)
{
	char gz[4096], cpio[4096], path[4096];
	struct newc_entry e;
	struct cli_run r;
	uint8_t *a;
	size_t len;
	int fd, ret;

	snprintf(gz, sizeof(gz), "%s/initrd.gz", dir);
	snprintf(cpio, sizeof(cpio), "%s/initrd.cpio", root);
	fd = open(cpio, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ASSERT(fd >= 0);
	close(fd);
	cli_run_prog(&r, "/bin/gzip", cpio, (const char *const[]){ "-dc", gz, NULL });
	ASSERT_EQ(r.status, 0);
	cli_free(&r);
	fd = open(cpio, O_RDONLY);
	ASSERT(fd >= 0);
	a = (uint8_t *)slurp_fd(fd, &len);
	close(fd);
	unlink(cpio);
	for (unsigned int k = 0; (ret = newc_entry(a, len, k, &e)) == 0; k++) {
		snprintf(path, sizeof(path), "%s/%s", root, e.name);
		if (S_ISDIR(e.mode)) {
			ASSERT_OK(mkdir(path, e.mode & 07777));
		} else if (S_ISREG(e.mode)) {
			fd = open(path, O_CREAT | O_WRONLY, e.mode & 07777);
			ASSERT(fd >= 0);
			ASSERT_EQ(write(fd, e.data, e.size), e.size);
			close(fd);
		} else if (S_ISLNK(e.mode)) {
			char target[256];

			ASSERT(e.size < sizeof(target));
			memcpy(target, e.data, e.size);
			target[e.size] = '\0';
			ASSERT_OK(symlink(target, path));
		}
		/* Device nodes: the namespace's /dev is not needed on the host. */
	}
	ASSERT_EQ(ret, 1);
	free(a);
}

/*
 * /init itself, on the host: the same initramfs in a new mount and PID
 * namespace (its poweroff ends the namespace, not the host), so the
 * user-space half of the milestones is checked even where the guest
 * cannot run user mode.
 */
TEST(linux_init_runs_on_the_host)
{
	const char *dir = linux_dir();
	char root[] = "/tmp/vintc-initramfs-XXXXXX", proc[4096], want[64], cmd[8192];
	struct cli_run r;

	if (geteuid() != 0)
		test_skip("needs root for the mount and PID namespaces");
	ASSERT(mkdtemp(root));
	unpack_initramfs(dir, root);
	snprintf(proc, sizeof(proc), "--mount-proc=%s/proc", root);
	cli_run_prog(&r, "/usr/bin/unshare", NULL,
		     (const char *const[]){ "-mpf", proc, "chroot", root, "/init", NULL });
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		test_fail(__FILE__, __LINE__, "cannot remove %s", root);
	if (!strstr(r.out, "vintc-init: userspace is up"))
		test_fail(__FILE__, __LINE__, "exit %d, stdout: %s, stderr: %s", r.status, r.out, r.err);
	snprintf(want, sizeof(want), "vintc-init: nproc %ld", sysconf(_SC_NPROCESSORS_ONLN));
	ASSERT(strstr(r.out, want));
	ASSERT(strstr(r.out, "LOC:"));
	ASSERT(strstr(r.out, "ns per round trip"));
	ASSERT(strstr(r.out, "vintc-init: powering off"));
	cli_free(&r);
}
