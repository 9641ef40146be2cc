// SPDX-License-Identifier: MIT
/*
 * IPI-heavy workload of the Linux initramfs: two processes pinned to two
 * CPUs bounce one byte through a pair of pipes.  Each hop wakes a task that
 * sleeps on the other CPU, so every round trip is two wake-ups across CPUs:
 * two reschedule IPIs into a CPU that is usually halted, and the EOIs and
 * timer interrupts around them.  It prints one line that the host's test
 * reads:
 *
 *   pingpong: ROUNDS round trips cpu A <-> cpu B: NS ns per round trip
 *
 * With one CPU online both processes share it (no IPI; the figure is the
 * cost of two context switches), and the line says cpu 0 <-> cpu 0.
 *
 * Built static by the Makefile with the host's compiler: it runs the same
 * on the host, which is how its own test checks it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Read or write exactly one byte, retrying on a signal. */
static int hop(int fd, int write_it)
{
	char b = 'p';
	ssize_t n;

	do
		n = write_it ? write(fd, &b, 1) : read(fd, &b, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* The two CPUs to use: the first two this process may run on. */
static void pick_cpus(int *a, int *b)
{
	cpu_set_t set;
	int i, found = 0;

	*a = *b = 0;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (i = 0; i < CPU_SETSIZE && found < 2; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (found++ == 0)
			*a = *b = i;
		else
			*b = i;
	}
}

int main(int argc, char **argv)
{
	long rounds = 10000, i;
	int ping[2], pong[2], cpu_a, cpu_b;
	struct timespec t0, t1;
	char *end;
	pid_t child;
	int status;
	double ns;

	if (argc > 2) {
		fprintf(stderr, "usage: pingpong [ROUNDS]\n");
		return 2;
	}
	if (argc == 2) {
		errno = 0;
		rounds = strtol(argv[1], &end, 10);
		if (errno || *end || rounds < 1 || rounds > 100000000) {
			fprintf(stderr, "pingpong: ROUNDS must be 1..100000000, not '%s'\n", argv[1]);
			return 2;
		}
	}
	pick_cpus(&cpu_a, &cpu_b);
	if (pipe(ping) || pipe(pong)) {
		perror("pingpong: pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("pingpong: fork");
		return 1;
	}
	if (child == 0) {
		if (pin(cpu_b))
			_exit(3);
		for (i = 0; i <= rounds; i++)
			if (hop(ping[0], 0) || hop(pong[1], 1))
				_exit(4);
		_exit(0);
	}
	if (pin(cpu_a)) {
		perror("pingpong: sched_setaffinity");
		return 1;
	}
	/* One untimed round: both sides are pinned and have run once. */
	if (hop(ping[1], 1) || hop(pong[0], 0)) {
		fprintf(stderr, "pingpong: the partner did not start\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds; i++)
		if (hop(ping[1], 1) || hop(pong[0], 0))
			break;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    i != rounds) {
		fprintf(stderr, "pingpong: the partner failed after %ld rounds\n", i);
		return 1;
	}
	ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	printf("pingpong: %ld round trips cpu %d <-> cpu %d: %.0f ns per round trip\n", rounds, cpu_a,
	       cpu_b, ns / (double)rounds);
	return 0;
}
