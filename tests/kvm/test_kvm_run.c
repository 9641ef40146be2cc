// SPDX-License-Identifier: MIT
/*
 * The /dev/kvm runner (kvm/run.c) and `vintc run`, with the test guests
 * from guests/ (VINTC_GUESTS, set by `make check`).  Guest runs need a
 * usable /dev/kvm and are a visible SKIP without one; the CLI's usage
 * errors are checked everywhere, since they must never reach KVM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <vintc/amd_defs.h>
#include <vintc/host.h>
#include <vintc/kvm_run.h>

#include "test.h"

#define HELLO_MEM_UPPER_64M	"PASS mbi mem_upper=64512\n"	/* (64 MiB - 1 MiB) / 1 KiB */

static void need_kvm(void)
{
	char why[200];

	if (vkvm_probe(why, sizeof(why)))
		test_skip("no usable /dev/kvm: %s", why);
}

static const char *guest_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("VINTC_GUESTS");

	if (!dir)
		test_fail(__FILE__, __LINE__,
			  "VINTC_GUESTS is not set: run the KVM tests through 'make check'");
	snprintf(path, sizeof(path), "%s/%s.elf", dir, name);
	return path;
}

static char *slurp_fd(int fd, size_t *len)
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

static void *read_guest(const char *name, size_t *size)
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
static char *lib_run_chip(const char *name, const char *cmdline, uint32_t timeout_s,
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

static char *lib_run_smp(const char *name, const char *cmdline, uint32_t timeout_s,
			 uint32_t cpus, struct vkvm_result *r)
{
	return lib_run_chip(name, cmdline, timeout_s, cpus, VKVM_IRQCHIP_AVIC, r);
}

static char *lib_run(const char *name, const char *cmdline, uint32_t timeout_s,
		     struct vkvm_result *r)
{
	return lib_run_smp(name, cmdline, timeout_s, 1, r);
}

TEST(kvm_run_hello)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("hello", "console=ttyS0 answer=42", 10, &r);
	if (!strstr(out, "PASS hello\n") || !strstr(out, HELLO_MEM_UPPER_64M) ||
	    !strstr(out, "cmdline: console=ttyS0 answer=42\n") || strstr(out, "FAIL"))
		test_fail(__FILE__, __LINE__, "guest output:\n%s", out);
	ASSERT_EQ(r.end, VKVM_END_DEBUG_EXIT);
	ASSERT_EQ(r.debug_exit_value, 0);
	ASSERT_EQ(r.exit_status, 1);
	ASSERT(r.exits[KVM_EXIT_IO] >= r.serial_bytes);
	ASSERT_EQ(r.exits[KVM_EXIT_HLT], 0);
	ASSERT_EQ(r.layout.entry, r.layout.entry & 0xffffffffU);
	ASSERT(r.layout.entry >= 0x400000);
	free(out);
}

TEST(kvm_run_triple_fault)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("triple", NULL, 10, &r);
	ASSERT(strstr(out, "triple: loading an empty IDT"));
	ASSERT(!strstr(out, "FAIL"));
	ASSERT_EQ(r.end, VKVM_END_SHUTDOWN);
	ASSERT_EQ(r.exit_status, VKVM_STATUS_SHUTDOWN);
	ASSERT(strstr(r.message, "triple fault"));
	free(out);
}

TEST(kvm_run_halt_without_wakeup)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("halt", NULL, 10, &r);
	ASSERT(!strstr(out, "FAIL"));
	ASSERT_EQ(r.end, VKVM_END_HALT);
	ASSERT_EQ(r.exit_status, VKVM_STATUS_HALT);
	ASSERT_EQ(r.exits[KVM_EXIT_HLT], 1);
	ASSERT(strstr(r.message, "halted"));
	free(out);
}

TEST(kvm_run_timeout)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("hang", NULL, 1, &r);
	ASSERT(strstr(out, "hang: spinning\n"));
	ASSERT_EQ(r.end, VKVM_END_TIMEOUT);
	ASSERT_EQ(r.exit_status, VKVM_STATUS_TIMEOUT);
	ASSERT(r.seconds >= 0.9 && r.seconds < 10);
	free(out);
}

TEST(kvm_run_bad_image_before_kvm)
{
	static const char junk[] = "this is not a kernel";
	struct vkvm_result r;
	enum vkvm_stage stage;
	struct vkvm_opts o;
	char why[256];

	/* No need_kvm(): a bad image is refused before /dev/kvm is opened. */
	vkvm_default_opts(&o);
	o.boot.image = junk;
	o.boot.image_size = sizeof(junk);
	ASSERT_EQ(vkvm_run_guest(&o, &r, &stage, why, sizeof(why)), -ENOEXEC);
	ASSERT_EQ(stage, VKVM_STAGE_LOAD);
	ASSERT(strstr(why, "not an ELF"));
	o.ram_mib = 1;
	ASSERT_EQ(vkvm_run_guest(&o, &r, &stage, why, sizeof(why)), -EINVAL);
	ASSERT_EQ(stage, VKVM_STAGE_LOAD);
}

/*
 * The SMP guest: INIT-SIPI-SIPI bring-up, 1000 halting ping-pong round
 * trips, a self-IPI and an illegal vector, all through the AVIC model.
 */
static void smp_run(uint32_t cpus)
{
	static const char *const lines[] = {
		"PASS pingpong halting\n", "PASS self-ipi\n", "PASS illegal vector esr\n",
	};
	const struct vkvm_apic_stats *a;
	struct vkvm_result r;
	char want[64], *out;

	out = lib_run_smp("smp", NULL, 30, cpus, &r);
	a = &r.apic;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		if (!strstr(out, lines[i]))
			test_fail(__FILE__, __LINE__, "-c %u: no \"%s\" in:\n%s", cpus, lines[i], out);
	for (uint32_t i = 1; i < cpus; i++) {
		snprintf(want, sizeof(want), "PASS ap %u online\n", i);
		if (!strstr(out, want))
			test_fail(__FILE__, __LINE__, "-c %u: no \"%s\" in:\n%s", cpus, want, out);
	}
	if (strstr(out, "FAIL") || r.end != VKVM_END_DEBUG_EXIT)
		test_fail(__FILE__, __LINE__, "-c %u: %s\n%s", cpus, r.message, out);
	ASSERT_EQ(r.exit_status, 1);
	ASSERT_EQ(r.nr_cpus, cpus);
	/* One INIT and two STARTUPs, broadcast: the INVALID_INT_TYPE path. */
	ASSERT(a->ipi_exits[AVIC_IPI_FAILURE_INVALID_INT_TYPE] >= 3);
	ASSERT_EQ(a->inits, cpus - 1);
	ASSERT_EQ(a->sipis, cpus - 1);	/* the second STARTUP finds no one waiting */
	/* The halting ping-pong targets halted vCPUs: not-running exits, wake-ups. */
	ASSERT(a->ipi_exits[AVIC_IPI_FAILURE_TARGET_NOT_RUNNING] > 0);
	ASSERT(a->wakeups > 0);
	ASSERT(r.exits[KVM_EXIT_HLT] > 0);
	/* 1000 pings, 1000 pongs, the self-IPI; the illegal vector never. */
	ASSERT(a->injected >= 2001);
	ASSERT_EQ(a->ipi_exits[AVIC_IPI_FAILURE_INVALID_IPI_VECTOR], 1);
	ASSERT_EQ(a->ipi_exits[AVIC_IPI_FAILURE_INVALID_BACKING_PAGE], 0);
	ASSERT(a->writes[0xb0 >> 4] >= 2001);	/* EOI */
	ASSERT(a->ipis >= 2000);
	free(out);
}

TEST(kvm_run_smp_2)
{
	need_kvm();
	smp_run(2);
}

TEST(kvm_run_smp_4)
{
	need_kvm();
	smp_run(4);
}

/* The same guest with every CPU in x2APIC mode: ICR and EOI through MSRs. */
TEST(kvm_run_smp_x2apic)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run_smp("smp", "x2apic=1 rounds=200", 30, 2, &r);
	if (!r.x2apic)
		test_skip("this kernel does not hand x2APIC MSRs to userspace (probe)");
	if (!strstr(out, "PASS pingpong halting\n") || !strstr(out, "PASS illegal vector esr\n") ||
	    strstr(out, "FAIL"))
		test_fail(__FILE__, __LINE__, "guest output:\n%s", out);
	ASSERT_EQ(r.exit_status, 1);
	/* 200 pings and pongs, the self-IPI and the illegal one: all ICR MSR writes. */
	ASSERT(r.exits[KVM_EXIT_X86_WRMSR] >= 2 * 402);
	ASSERT_EQ(r.apic.writes[APIC_ICR2 >> 4], 3);	/* only INIT and STARTUPs, in xAPIC mode */
	ASSERT_EQ(r.apic.ipi_exits[AVIC_IPI_FAILURE_INVALID_IPI_VECTOR], 1);
	free(out);
}

/* One vCPU: no APs to start, but the self-IPI and ESR still work. */
TEST(kvm_run_smp_1)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run_smp("smp", NULL, 30, 1, &r);
	if (!strstr(out, "PASS self-ipi\n") || !strstr(out, "PASS illegal vector esr\n") ||
	    strstr(out, "FAIL") || strstr(out, "pingpong"))
		test_fail(__FILE__, __LINE__, "guest output:\n%s", out);
	ASSERT_EQ(r.exit_status, 1);
	ASSERT_EQ(r.apic.inits, 0);
	ASSERT_EQ(r.apic.ipi_exits[AVIC_IPI_FAILURE_INVALID_IPI_VECTOR], 1);
	free(out);
}

/* The APIC timer on the model: every mode, expiries counted, TMCCT answered. */
TEST(kvm_run_timer)
{
	static const char *const want[] = {
		"PASS timer one-shot\n", "PASS timer periodic\n", "PASS timer count\n",
		"PASS timer masked\n",
	};
	static const char *const want_deadline[] = {
		"PASS timer tsc-deadline\n", "PASS timer tsc-deadline past\n",
		"PASS timer tsc-deadline disarm\n",
		"PASS timer tsc-deadline ignored in one-shot mode\n",
	};
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("timer", NULL, 30, &r);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(out, want[i]) || strstr(out, "FAIL"))
			test_fail(__FILE__, __LINE__, "guest output:\n%s", out);
	/* TSC-deadline is advertised only when the probe saw IA32_TSC_DEADLINE exit. */
	for (size_t i = 0; i < ARRAY_SIZE(want_deadline); i++)
		if (r.tsc_deadline ? !strstr(out, want_deadline[i]) :
		    !strstr(out, "SKIP timer tsc-deadline: not in CPUID\n"))
			test_fail(__FILE__, __LINE__, "tsc_deadline %d, guest output:\n%s",
				  r.tsc_deadline, out);
	if (r.tsc_deadline)
		ASSERT_EQ(r.exits[KVM_EXIT_X86_WRMSR], 5);	/* arm, past, far, 0, ignored */
	ASSERT_EQ(r.exit_status, 1);
	/* One-shot 1, periodic at least 5, the masked one-shot 1. */
	ASSERT(r.apic.timer_fires >= 7);
	ASSERT(r.apic.injected >= 6);
	ASSERT(r.apic.reads[APIC_TMCCT >> 4] >= 3);
	free(out);
}

/*
 * x2APIC through MSR exits: only where the probe saw them exit (a visible
 * SKIP elsewhere).  Every check must PASS on the model, the SDM's #GP for a
 * non-zero EOI included.  Ten accesses get #GP from the runner: nine the
 * model refuses, and x2APIC back to xAPIC, which KVM refuses and (with
 * INVAL exits on) hands to userspace, where the answer is #GP as well.
 */
static void x2apic_run(uint32_t cpus)
{
	static const char *const want[] = {
		"PASS x2apic id\n", "PASS x2apic ldr\n", "PASS x2apic self-ipi msr\n",
		"PASS x2apic self-ipi icr\n", "PASS x2apic tpr to ppr\n",
		"PASS x2apic gp write id\n", "PASS x2apic gp write ppr\n",
		"PASS x2apic gp read eoi\n", "PASS x2apic gp eoi nonzero\n",
		"PASS x2apic gp dfr\n", "PASS x2apic gp icr2\n",
		"PASS x2apic gp reserved high bits\n", "PASS x2apic gp self-ipi reserved\n",
		"PASS x2apic gp icr reserved bits\n",
		"PASS x2apic gp back to xapic\n", "PASS x2apic no stray interrupt\n",
	};
	static const char *const want_smp[] = {
		"PASS x2apic pingpong physical\n", "PASS x2apic pingpong logical\n",
		"PASS x2apic broadcast\n",
	};
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run_smp("x2apic", NULL, 30, cpus, &r);
	if (!r.x2apic) {
		if (!strstr(out, "SKIP x2apic: not in CPUID\n"))
			test_fail(__FILE__, __LINE__, "x2APIC hidden, guest output:\n%s", out);
		test_skip("this kernel does not hand x2APIC MSRs to userspace (probe)");
	}
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(out, want[i]) || strstr(out, "FAIL") || strstr(out, "SKIP"))
			test_fail(__FILE__, __LINE__, "missing %s guest output:\n%s", want[i], out);
	for (size_t i = 0; cpus > 1 && i < ARRAY_SIZE(want_smp); i++)
		if (!strstr(out, want_smp[i]))
			test_fail(__FILE__, __LINE__, "missing %s guest output:\n%s", want_smp[i],
				  out);
	ASSERT_EQ(r.exit_status, 1);
	ASSERT_EQ(r.msr_gp, 10);
	ASSERT(r.exits[KVM_EXIT_X86_WRMSR] > 0);
	ASSERT(r.apic.writes[0x3F0 >> 4] >= 1);	/* SELF_IPI */
	if (cpus > 1) {
		/* 101 pings, their pongs, the broadcast: through the x2APIC ICR. */
		ASSERT(r.apic.writes[APIC_ICR >> 4] >= 203);
		ASSERT(r.apic.ipi_exits[AVIC_IPI_FAILURE_TARGET_NOT_RUNNING] > 0);
	}
	free(out);
}

TEST(kvm_run_x2apic_1)
{
	x2apic_run(1);
}

TEST(kvm_run_x2apic_4)
{
	x2apic_run(4);
}

/*
 * Destination forms and delivery modes: shorthands, 0xFF, logical flat and
 * cluster, NMI, and a ping-pong whose target spins inside KVM_RUN, so
 * every ping rings a doorbell (a signal) instead of waking a halted vCPU.
 */
static void ipi_run(uint32_t cpus)
{
	static const char *const want[] = {
		"PASS ipi all-including-self\n", "PASS ipi all-excluding-self\n",
		"PASS ipi physical broadcast 0xff\n", "PASS ipi logical flat\n",
		"PASS ipi logical cluster\n", "PASS ipi nmi\n", "PASS ipi pingpong spinning\n",
	};
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run_smp("ipi", NULL, 30, cpus, &r);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(out, want[i]) || strstr(out, "FAIL") || strstr(out, "SKIP"))
			test_fail(__FILE__, __LINE__, "missing %s guest output:\n%s", want[i], out);
	ASSERT_EQ(r.exit_status, 1);
	ASSERT_EQ(r.apic.nmis, 1);
	/* INIT, two STARTUPs and the NMI take the INVALID_INT_TYPE path. */
	ASSERT(r.apic.ipi_exits[AVIC_IPI_FAILURE_INVALID_INT_TYPE] >= 4);
	/* 200 pings to a spinning target: accelerated, each with a doorbell. */
	ASSERT(r.apic.ipi_accelerated >= 200);
	ASSERT(r.apic.doorbells >= 150);
	ASSERT(r.apic.kicks >= 150);
	ASSERT(r.apic.writes[APIC_LDR >> 4] >= 2 * cpus);
	free(out);
}

TEST(kvm_run_ipi_2)
{
	ipi_run(2);
}

TEST(kvm_run_ipi_5)
{
	ipi_run(5);
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/*
 * --trace: every slice closed, and the instants agree with the counters:
 * one "send" per ICR write, one "interrupt" per injection, INIT and SIPI
 * per AP, one "in guest" slice per KVM_RUN.
 */
TEST(kvm_run_trace)
{
	char path[] = "/tmp/vintc-trace-XXXXXX";
	struct vkvm_result r;
	uint64_t runs = 0;
	char *out, *json;
	int fd;

	need_kvm();
	fd = mkstemp(path);
	ASSERT(fd >= 0);
	{
		FILE *o = tmpfile();
		enum vkvm_stage stage;
		struct vkvm_opts opts;
		char why[256];
		void *img;

		ASSERT(o);
		vkvm_default_opts(&opts);
		img = read_guest("smp", &opts.boot.image_size);
		opts.boot.image = img;
		opts.boot.cmdline = "rounds=100";
		opts.timeout_s = 30;
		opts.out_fd = fileno(o);
		opts.nr_cpus = 2;
		opts.trace_path = path;
		if (vkvm_run_guest(&opts, &r, &stage, why, sizeof(why)))
			test_fail(__FILE__, __LINE__, "run failed at stage %d: %s", stage, why);
		out = slurp_fd(fileno(o), NULL);
		fclose(o);
		free(img);
	}
	json = slurp_fd(fd, NULL);
	close(fd);
	unlink(path);
	if (strstr(out, "FAIL"))
		test_fail(__FILE__, __LINE__, "guest output:\n%s", out);
	ASSERT(!strncmp(json, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", 38));
	ASSERT(strstr(json, "\n]}\n"));
	ASSERT_EQ(r.trace_dropped, 0);
	ASSERT_EQ(count_str(json, "\"ph\":\"B\""), count_str(json, "\"ph\":\"E\""));
	ASSERT_EQ(count_str(json, "\"name\":\"send\""), r.apic.ipis);
	ASSERT_EQ(count_str(json, "\"name\":\"interrupt\""), r.apic.injected);
	ASSERT_EQ(count_str(json, "\"name\":\"init\""), 1);
	ASSERT_EQ(count_str(json, "\"name\":\"sipi\""), 1);
	for (unsigned int e = 0; e < VKVM_NR_EXIT_REASONS; e++)
		runs += r.exits[e];
	ASSERT_EQ(count_str(json, "\"name\":\"in guest\",\"ph\":\"B\""), runs);
	ASSERT_EQ(count_str(json, "\"thread_name\""), 3);	/* 2 vCPUs, the timer */
	free(json);
	free(out);
}

/*
 * Halt polling: every HLT either ends in the poll (the vCPU stayed
 * IsRunning, so the IPI was accelerated) or gives up and blocks; with a
 * generous 2 ms poll most halting round trips never block.
 */
TEST(kvm_run_halt_poll)
{
	FILE *o = tmpfile();
	struct vkvm_result r;
	enum vkvm_stage stage;
	struct vkvm_opts opts;
	char why[256], *out;
	void *img;

	need_kvm();
	ASSERT(o);
	vkvm_default_opts(&opts);
	ASSERT_EQ(opts.halt_poll_us, VKVM_DEFAULT_HALT_POLL_US);
	img = read_guest("smp", &opts.boot.image_size);
	opts.boot.image = img;
	opts.timeout_s = 30;
	opts.out_fd = fileno(o);
	opts.nr_cpus = 2;
	opts.halt_poll_us = 2000;
	if (vkvm_run_guest(&opts, &r, &stage, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "run failed at stage %d: %s", stage, why);
	out = slurp_fd(fileno(o), NULL);
	fclose(o);
	free(img);
	if (strstr(out, "FAIL") || !strstr(out, "PASS pingpong halting\n"))
		test_fail(__FILE__, __LINE__, "guest output:\n%s", out);
	ASSERT_EQ(r.apic.halt_polls + r.apic.halt_poll_misses, r.exits[KVM_EXIT_HLT]);
	ASSERT(r.apic.halt_polls > r.exits[KVM_EXIT_HLT] / 4);
	/* A poll that ended a HLT saw an accelerated IPI, not a not-running exit. */
	ASSERT(r.apic.ipi_exits[AVIC_IPI_FAILURE_TARGET_NOT_RUNNING] < 2000);
	free(out);
}

/* A guest misusing its xAPIC gets the architectural answers, and runs on. */
TEST(kvm_run_badapic)
{
	static const char *const want[] = {
		"PASS badapic read-only registers ignore writes\n",
		"PASS badapic offsets without a register ignore writes\n",
		"PASS badapic tpr reserved bits\n", "PASS badapic lvt reserved bits\n",
		"PASS badapic byte and misaligned writes ignored\n",
		"PASS badapic eoi with nothing in service\n",
		"PASS badapic reserved delivery mode\n",
		"PASS badapic still works after the sweep\n",
	};
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("badapic", NULL, 30, &r);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(out, want[i]) || strstr(out, "FAIL"))
			test_fail(__FILE__, __LINE__, "missing %s guest output:\n%s", want[i], out);
	ASSERT_EQ(r.exit_status, 1);
	/* The byte write and the misaligned word never reach a register. */
	ASSERT_EQ(r.apic.bad_accesses, 2);
	ASSERT(r.apic.writes[0x3F0 >> 4] >= 2);	/* no register there in xAPIC mode */
	free(out);
}

/* TPR masking, PPR and nested EOI order: every line must PASS on the model. */
TEST(kvm_run_tpr)
{
	static const char *const want[] = {
		"PASS tpr masking\n", "PASS ppr\n", "PASS eoi nesting\n",
	};
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("tpr", NULL, 30, &r);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(out, want[i]) || strstr(out, "FAIL") || strstr(out, "SKIP"))
			test_fail(__FILE__, __LINE__, "guest output:\n%s", out);
	ASSERT_EQ(r.exit_status, 1);
	/* 0x38, 0x3C, then 0x28, 0x48 and 0x2A. */
	ASSERT_EQ(r.apic.injected, 5);
	free(out);
}

/* ---- the same guests on KVM's in-kernel LAPIC ------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
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
static char *pass_lines(const char *out)
{
	static const char skip_esr[] = "SKIP illegal vector esr:";
	static const char skip_ppr[] = "SKIP ppr:";
	static const char skip_eoi[] = "SKIP x2apic gp eoi nonzero:";
	const char *lines[256];
	size_t n = 0, len = 1;
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
		len += strlen(l) + 1;
	}
	qsort(lines, n, sizeof(lines[0]), cmp_str);
	res = malloc(len);
	ASSERT(res);
	res[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(res, lines[i]);
		strcat(res, "\n");
	}
	free(copy);
	return res;
}

static void both_irqchips(const char *name, const char *cmdline, uint32_t cpus)
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
	/* The in-kernel LAPIC keeps the xAPIC page and HLT to itself. */
	ASSERT_EQ(rk.exits[KVM_EXIT_MMIO], 0);
	ASSERT_EQ(rk.exits[KVM_EXIT_HLT], 0);
	ASSERT_EQ(rk.apic.ipis, 0);
	free(pa);
	free(pk);
	free(oa);
	free(ok);
}

TEST(kvm_run_irqchips_hello)
{
	both_irqchips("hello", "console=ttyS0 answer=42", 1);
}

TEST(kvm_run_irqchips_timer)
{
	both_irqchips("timer", NULL, 1);
}

TEST(kvm_run_irqchips_tpr)
{
	both_irqchips("tpr", NULL, 1);
}

TEST(kvm_run_irqchips_smp_2)
{
	both_irqchips("smp", NULL, 2);
}

TEST(kvm_run_irqchips_smp_4)
{
	both_irqchips("smp", NULL, 4);
}

TEST(kvm_run_irqchips_x2apic_2)
{
	both_irqchips("x2apic", NULL, 2);
}

TEST(kvm_run_irqchips_x2apic_4)
{
	both_irqchips("x2apic", NULL, 4);
}

TEST(kvm_run_irqchips_badapic)
{
	both_irqchips("badapic", NULL, 1);
}

TEST(kvm_run_irqchips_ipi_2)
{
	both_irqchips("ipi", NULL, 2);
}

TEST(kvm_run_irqchips_ipi_5)
{
	both_irqchips("ipi", NULL, 5);
}

/* ---- the CLI ------------------------------------------------------- */

struct cli_out {
	int status;
	char *out, *err;
};

static void cli(struct cli_out *c, const char *const *args)
{
	const char *bin = test_vintc_bin();
	FILE *out = tmpfile(), *err = tmpfile();
	char *argv[32];
	int n = 0, status;
	pid_t pid;

	if (!bin)
		test_fail(__FILE__, __LINE__,
			  "VINTC_BIN is not set: run the CLI tests through 'make check'");
	ASSERT(out && err);
	argv[n++] = (char *)bin;
	while (*args && n < 31)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	ASSERT(pid >= 0);
	if (!pid) {
		dup2(fileno(out), STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		execv(bin, argv);
		_exit(127);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	c->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	c->out = slurp_fd(fileno(out), NULL);
	c->err = slurp_fd(fileno(err), NULL);
	fclose(out);
	fclose(err);
}

#define CLI(c, ...) cli((c), (const char *const[]){ __VA_ARGS__, NULL })

static void cli_free(struct cli_out *c)
{
	free(c->out);
	free(c->err);
}

/* Exit 2, nothing on stdout, one "vintc: " line holding want on stderr. */
static void usage_error(const struct cli_out *c, const char *want, int line)
{
	const char *nl = strchr(c->err, '\n');

	if (c->status != 2 || c->out[0] || strncmp(c->err, "vintc: ", 7) || !nl || nl[1] ||
	    !strstr(c->err, want))
		test_fail(__FILE__, line, "want exit 2 and one line with \"%s\"; got %d, "
			  "stdout \"%s\", stderr \"%s\"", want, c->status, c->out, c->err);
}

#define ASSERT_USAGE(c, want) usage_error((c), (want), __LINE__)

TEST(kvm_run_cli_hello)
{
	struct cli_out c;

	need_kvm();
	CLI(&c, "run", "-m", "64", "--append", "hello from the CLI", guest_path("hello"));
	if (c.status != 1 || c.err[0] || !strstr(c.out, "PASS hello\n") ||
	    !strstr(c.out, HELLO_MEM_UPPER_64M) ||
	    !strstr(c.out, "cmdline: hello from the CLI\n"))
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
			  c.out, c.err);
	cli_free(&c);

	/* -m changes mem_upper; --json adds one line after the guest's output. */
	CLI(&c, "run", "-m", "16", "--json", guest_path("hello"));
	ASSERT_EQ(c.status, 1);
	ASSERT(strstr(c.out, "PASS mbi mem_upper=15360\n"));
	ASSERT(strstr(c.out, "\n{\"end\":\"debug-exit\",\"exit_status\":1,"));
	ASSERT(strstr(c.out, "\"exits\":{\"IO\":"));
	ASSERT(!c.err[0]);
	cli_free(&c);
}

TEST(kvm_run_cli_abnormal_ends)
{
	static const struct {
		const char *guest, *timeout, *msg;
		int status;
	} cases[] = {
		{ "triple", "10", "vintc: run: guest triple fault", VKVM_STATUS_SHUTDOWN },
		{ "halt", "10", "vintc: run: guest halted", VKVM_STATUS_HALT },
		{ "hang", "1", "vintc: run: guest still running after the 1 s timeout",
		  VKVM_STATUS_TIMEOUT },
	};

	need_kvm();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cli_out c;

		CLI(&c, "run", "--timeout", cases[i].timeout, guest_path(cases[i].guest));
		if (c.status != cases[i].status || strncmp(c.err, cases[i].msg, strlen(cases[i].msg)) ||
		    strchr(c.err, '\n') != c.err + strlen(c.err) - 1)
			test_fail(__FILE__, __LINE__, "%s: exit %d, stderr \"%s\"", cases[i].guest,
				  c.status, c.err);
		cli_free(&c);
	}
}

/* These never reach /dev/kvm, so they run everywhere. */
TEST(kvm_run_cli_usage_errors)
{
	char junk[] = "/tmp/vintc-run-junk-XXXXXX";
	int fd = mkstemp(junk);
	struct cli_out c;

	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, "\177ELF\2\1\1", 7), 7);
	close(fd);

	CLI(&c, "run");
	ASSERT_USAGE(&c, "missing IMAGE");
	cli_free(&c);
	CLI(&c, "run", "-m", "1", "x.elf");
	ASSERT_USAGE(&c, "-m: 1 is out of range (2..4096)");
	cli_free(&c);
	CLI(&c, "run", "-m", "4097", "x.elf");
	ASSERT_USAGE(&c, "out of range");
	cli_free(&c);
	CLI(&c, "run", "-m", "64M", "x.elf");
	ASSERT_USAGE(&c, "-m");
	cli_free(&c);
	CLI(&c, "run", "-c", "65", "x.elf");
	ASSERT_USAGE(&c, "-c: 65 is out of range (1..64)");
	cli_free(&c);
	CLI(&c, "run", "-c", "0", "x.elf");
	ASSERT_USAGE(&c, "-c");
	cli_free(&c);
	CLI(&c, "run", "--timeout", "-1", "x.elf");
	ASSERT_USAGE(&c, "--timeout");
	cli_free(&c);
	CLI(&c, "run", "--halt-poll-us", "10001", "x.elf");
	ASSERT_USAGE(&c, "--halt-poll-us: 10001 is out of range (0..10000)");
	cli_free(&c);
	CLI(&c, "run", "--trace", "/nonexistent-dir/t.json", guest_path("hello"));
	ASSERT_USAGE(&c, "cannot write the trace /nonexistent-dir/t.json");
	cli_free(&c);
	/* A valid irqchip: the missing image is still a usage error. */
	CLI(&c, "run", "--irqchip=kernel", "/nonexistent/vintc-guest.elf");
	ASSERT_USAGE(&c, "/nonexistent/vintc-guest.elf");
	cli_free(&c);
	CLI(&c, "run", "--irqchip=pic", "x.elf");
	ASSERT_USAGE(&c, "'pic' is not avic or kernel");
	cli_free(&c);
	CLI(&c, "run", "--irqchip=avic", "-c", "2", "/nonexistent/vintc-guest.elf");
	ASSERT_USAGE(&c, "No such file or directory");
	cli_free(&c);
	CLI(&c, "run", "--bogus", "x.elf");
	ASSERT_USAGE(&c, "--bogus");
	cli_free(&c);
	CLI(&c, "run", "a.elf", "b.elf");
	ASSERT_USAGE(&c, "unexpected argument 'b.elf'");
	cli_free(&c);
	CLI(&c, "run", "/nonexistent/vintc-guest.elf");
	ASSERT_USAGE(&c, "/nonexistent/vintc-guest.elf: No such file or directory");
	cli_free(&c);
	CLI(&c, "run", "/tmp");
	ASSERT_USAGE(&c, "Is a directory");
	cli_free(&c);
	CLI(&c, "run", junk);
	ASSERT_USAGE(&c, "truncated ELF header");
	cli_free(&c);
	CLI(&c, "run", "--initrd", "/nonexistent/initrd", junk);
	ASSERT_USAGE(&c, "/nonexistent/initrd");
	cli_free(&c);
	unlink(junk);

	CLI(&c, "run", "--help");
	ASSERT_EQ(c.status, 0);
	ASSERT(strstr(c.out, "usage: vintc run"));
	ASSERT(strstr(c.out, "--irqchip=avic"));
	ASSERT(strstr(c.out, "-c CPUS"));
	cli_free(&c);
}

TEST(kvm_run_cli_smp)
{
	struct cli_out c;

	need_kvm();
	CLI(&c, "run", "-c", "4", "--irqchip=avic", "--json", "--stats", guest_path("smp"));
	if (c.status != 1 || !strstr(c.out, "PASS ap 3 online\n") ||
	    !strstr(c.out, "PASS pingpong halting\n") || !strstr(c.out, "\"cpus\":4") ||
	    !strstr(c.out, "\"not_running\":") || !strstr(c.err, "vintc: run: IPIs ") ||
	    !strstr(c.err, "INIT 3, SIPI 3") || !strstr(c.out, "\"halt_polls\":") ||
	    !strstr(c.err, "vintc: run: halt polls "))
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
			  c.out, c.err);
	cli_free(&c);
	/* Polling off: the JSON says no HLT ended in a poll. */
	CLI(&c, "run", "-c", "2", "--halt-poll-us", "0", "--json", guest_path("smp"));
	if (c.status != 1 || !strstr(c.out, "\"halt_polls\":0,\"halt_poll_misses\":0"))
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s", c.status, c.out);
	cli_free(&c);
}

/* The real test guests, refused for what they are. */
TEST(kvm_run_cli_guest_does_not_fit)
{
	struct cli_out c;

#ifndef __x86_64__
	test_skip("the x86 test guests are built on x86-64 hosts only");
#endif
	/* Linked at 4 MiB: 2 MiB of RAM cannot hold it (no KVM needed). */
	CLI(&c, "run", "-m", "2", guest_path("hello"));
	ASSERT_USAGE(&c, "is outside RAM");
	cli_free(&c);
}
