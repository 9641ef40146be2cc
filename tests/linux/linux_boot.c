// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "kvm_util.h"
#include "linux_boot.h"
#include "test.h"

/* Four times a boot to "Run /init" here on a quiet host (about 6 min). */
#define LINUX_BOOT_TIMEOUT_S	"2400"

static const char *const milestone_names[LINUX_NR_MILESTONES] = {
	[LINUX_BANNER] = "kernel banner",
	[LINUX_SMP] = "smp: all CPUs up",
	[LINUX_RUN_INIT] = "Run /init",
	[LINUX_USERSPACE] = "/init's marker",
	[LINUX_NPROC] = "nproc",
	[LINUX_PINGPONG] = "pingpong figure",
	[LINUX_POWEROFF] = "poweroff",
};

const char *linux_milestone_name(enum linux_milestone m)
{
	return milestone_names[m];
}

const char *linux_dir(void)
{
	const char *d = getenv("VINTC_LINUX");

	if (!d || !*d)
		test_skip("boots Linux only in 'make check-linux' (a Debian kernel, minutes per boot)");
	return d;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The milestone a console line shows, or -1. */
static int line_milestone(const char *line, unsigned int cpus)
{
	char smp[64];

	snprintf(smp, sizeof(smp), "smp: Brought up 1 node, %u CPU%s", cpus, cpus == 1 ? "" : "s");
	if (strstr(line, "Linux version "))
		return LINUX_BANNER;
	if (strstr(line, smp))
		return LINUX_SMP;
	if (strstr(line, "Run /init as init process"))
		return LINUX_RUN_INIT;
	if (strstr(line, "vintc-init: userspace is up"))
		return LINUX_USERSPACE;
	if (strstr(line, "vintc-init: nproc "))
		return LINUX_NPROC;
	if (strstr(line, "pingpong: ") && strstr(line, "ns per round trip"))
		return LINUX_PINGPONG;
	if (strstr(line, "vintc-init: powering off"))
		return LINUX_POWEROFF;
	return -1;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");

	return f ? cli_slurp(f) : NULL;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		test_fail(__FILE__, __LINE__, "cannot write %s: %s", path, strerror(errno));
}

/* The last line starting with '{' : the --json result. */
static const char *find_json(const char *out)
{
	const char *p = out, *last = NULL;

	while ((p = strstr(p, "{\"end\":"))) {
		if (p == out || p[-1] == '\n')
			last = p;
		p++;
	}
	return last;
}

static void run_boot(struct linux_boot *b, const char *dir, const char *image, unsigned int cpus,
		     const char *chip)
{
	char img[4096], initrd[4096], cmdpath[4096], ncpus[16], chiparg[32], *cmdline, *nl;
	size_t len = 0, cap = 1 << 20, line_start = 0;
	int out_pipe[2], err_fd;
	char err_path[] = "/tmp/vintc-linux-err-XXXXXX";
	double t0;
	pid_t pid;
	int st;

	snprintf(img, sizeof(img), "%s/%s", dir, image);
	snprintf(initrd, sizeof(initrd), "%s/initrd.gz", dir);
	snprintf(cmdpath, sizeof(cmdpath), "%s/cmdline", dir);
	snprintf(ncpus, sizeof(ncpus), "%u", cpus);
	snprintf(chiparg, sizeof(chiparg), "--irqchip=%s", chip);
	cmdline = read_file(cmdpath);
	if (!cmdline)
		test_fail(__FILE__, __LINE__, "no %s: run 'make linux'", cmdpath);
	if ((nl = strchr(cmdline, '\n')))
		*nl = '\0';
	err_fd = mkstemp(err_path);
	if (err_fd < 0 || pipe(out_pipe))
		test_fail(__FILE__, __LINE__, "mkstemp/pipe: %s", strerror(errno));
	unlink(err_path);
	b->out = malloc(cap);
	if (!b->out)
		test_fail(__FILE__, __LINE__, "out of memory");
	t0 = now_s();
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(out_pipe[1], 1);
		dup2(err_fd, 2);
		close(out_pipe[0]);
		execl(test_vintc_bin(), "vintc", "run", "-c", ncpus, "-m", "512", chiparg,
		      "--no-reboot", "--json", "--timeout", LINUX_BOOT_TIMEOUT_S, "--initrd", initrd,
		      "--append", cmdline, img, (char *)NULL);
		_exit(127);
	}
	close(out_pipe[1]);
	for (;;) {
		ssize_t n;

		if (len + 65536 + 1 > cap) {
			cap *= 2;
			b->out = realloc(b->out, cap);
			if (!b->out)
				test_fail(__FILE__, __LINE__, "out of memory");
		}
		n = read(out_pipe[0], b->out + len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		b->out[len] = '\0';
		/* Each complete line once, timed as it arrives. */
		while ((nl = memchr(b->out + line_start, '\n', len - line_start))) {
			int m;

			*nl = '\0';
			m = line_milestone(b->out + line_start, cpus);
			if (m >= 0 && b->at[m] < 0)
				b->at[m] = now_s() - t0;
			*nl = '\n';
			line_start = (size_t)(nl - b->out) + 1;
		}
	}
	close(out_pipe[0]);
	b->out[len] = '\0';
	if (waitpid(pid, &st, 0) != pid)
		test_fail(__FILE__, __LINE__, "waitpid: %s", strerror(errno));
	b->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	lseek(err_fd, 0, SEEK_SET);
	b->err = slurp_fd(err_fd, NULL);
	close(err_fd);
	free(cmdline);
}

/* results/NAME.{out,err,times}: what one boot left for the other tests. */
static void result_path(char *buf, size_t size, const char *dir, const char *name, const char *ext)
{
	snprintf(buf, size, "%s/results/%s.%s", dir, name, ext);
}

static bool load_boot(struct linux_boot *b, const char *dir, const char *name)
{
	char path[4096], *times, *p;

	result_path(path, sizeof(path), dir, name, "times");
	times = read_file(path);
	if (!times)
		return false;
	p = times;
	if (sscanf(p, "%d", &b->status) != 1)
		return free(times), false;
	for (int m = 0; m < LINUX_NR_MILESTONES; m++) {
		p = strchr(p, '\n');
		if (!p || sscanf(++p, "%lf", &b->at[m]) != 1)
			return free(times), false;
	}
	free(times);
	result_path(path, sizeof(path), dir, name, "out");
	b->out = read_file(path);
	result_path(path, sizeof(path), dir, name, "err");
	b->err = read_file(path);
	return b->out && b->err;
}

static void save_boot(const struct linux_boot *b, const char *dir, const char *name)
{
	char path[4096], times[64 * (LINUX_NR_MILESTONES + 1)];
	int n;

	snprintf(path, sizeof(path), "%s/results", dir);
	if (mkdir(path, 0755) && errno != EEXIST)
		test_fail(__FILE__, __LINE__, "mkdir %s: %s", path, strerror(errno));
	n = snprintf(times, sizeof(times), "%d\n", b->status);
	for (int m = 0; m < LINUX_NR_MILESTONES; m++)
		n += snprintf(times + n, sizeof(times) - (size_t)n, "%.3f %s\n", b->at[m],
			      milestone_names[m]);
	result_path(path, sizeof(path), dir, name, "out");
	write_file(path, b->out);
	result_path(path, sizeof(path), dir, name, "err");
	write_file(path, b->err);
	/* Last: its presence says the boot is complete. */
	result_path(path, sizeof(path), dir, name, "times");
	write_file(path, times);
}

const struct linux_boot *linux_boot(const char *image, unsigned int cpus, const char *chip)
{
	static struct linux_boot b;
	const char *dir = linux_dir();
	char name[256];

	need_kvm();
	/*
	 * Tests are forked children of one runner: its pid names this run's
	 * boots, so a later run never reads an earlier one's.
	 */
	snprintf(name, sizeof(name), "%s-%ucpu-%s.%d", image, cpus, chip, (int)getppid());
	memset(&b, 0, sizeof(b));
	for (int m = 0; m < LINUX_NR_MILESTONES; m++)
		b.at[m] = -1;
	if (!load_boot(&b, dir, name)) {
		for (int m = 0; m < LINUX_NR_MILESTONES; m++)
			b.at[m] = -1;
		run_boot(&b, dir, image, cpus, chip);
		save_boot(&b, dir, name);
	}
	b.json = find_json(b.out);
	return &b;
}

const char *linux_line(const struct linux_boot *b, const char *needle)
{
	static char line[201];
	const char *p = strstr(b->out, needle), *s, *e;
	size_t n;

	line[0] = '\0';
	if (!p)
		return line;
	for (s = p; s > b->out && s[-1] != '\n'; s--)
		;
	e = strchr(p, '\n');
	n = e ? (size_t)(e - s) : strlen(s);
	if (n > sizeof(line) - 1)
		n = sizeof(line) - 1;
	memcpy(line, s, n);
	line[n] = '\0';
	if (n && line[n - 1] == '\r')
		line[n - 1] = '\0';
	return line;
}
