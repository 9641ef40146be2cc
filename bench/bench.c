// SPDX-License-Identifier: MIT
/*
 * vintc-bench: `make bench`.  One line about the machine, then the VM-ID
 * allocator benchmark, the VM lifetime benchmark, delivery, and real guests
 * on /dev/kvm under both irqchips, each a table.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "vintc-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* "model name : AMD EPYC ..." from /proc/cpuinfo, or "unknown CPU". */
static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon++;
		colon += strspn(colon, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

/* clang's __VERSION__ names the compiler, gcc's is a bare number. */
#if defined(__clang__) || !defined(__GNUC__)
#define COMPILER __VERSION__
#else
#define COMPILER "gcc " __VERSION__
#endif

/* Numbers mean little without the machine and compiler they came from. */
static void print_machine(void)
{
	struct utsname u;
	char cpu[256];

	cpu_model(cpu, sizeof(cpu));
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	printf("machine: %s, nproc %ld, Linux %s, compiler %s\n\n",
	       cpu, sysconf(_SC_NPROCESSORS_ONLN), u.release, COMPILER);
}

int main(void)
{
	print_machine();
	bench_ids();
	bench_vm();
	bench_delivery();
	bench_kvm();
	return 0;
}
