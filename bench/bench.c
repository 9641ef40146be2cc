// SPDX-License-Identifier: MIT
/*
 * vintc-bench: `make bench`.  One line about the machine, then the VM-ID
 * allocator benchmark, the VM lifetime benchmark, delivery, and real guests
 * on /dev/kvm under both irqchips, each a table.
 */
#include <stdarg.h>
#include <stdbool.h>
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

static const struct {
	const char *name;
	void (*fn)(void);
} benches[] = {
	{ "ids", bench_ids }, { "vm", bench_vm }, { "delivery", bench_delivery },
	{ "kvm", bench_kvm }, { "kvm-halt", bench_kvm_halt }, { "kvm-timer", bench_kvm_timer },
};

/* Every benchmark, or only those named: vintc-bench [ids|vm|delivery|kvm|kvm-halt|kvm-timer]... */
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		size_t k = 0;

		while (k < sizeof(benches) / sizeof(benches[0]) && strcmp(argv[i], benches[k].name))
			k++;
		if (k == sizeof(benches) / sizeof(benches[0])) {
			fprintf(stderr, "vintc-bench: unknown benchmark '%s' (ids, vm, delivery, kvm, kvm-halt, kvm-timer)\n",
				argv[i]);
			return 2;
		}
	}
	print_machine();
	for (size_t k = 0; k < sizeof(benches) / sizeof(benches[0]); k++) {
		bool run = argc == 1;

		for (int i = 1; i < argc; i++)
			run |= !strcmp(argv[i], benches[k].name);
		if (run)
			benches[k].fn();
	}
	return 0;
}
