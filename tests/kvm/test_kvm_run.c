// SPDX-License-Identifier: MIT
/*
 * The /dev/kvm runner (kvm/) with the test guests from guests/
 * (VINTC_GUESTS, set by `make check`): each guest's PASS lines and the
 * runner's counters.  Guest runs need a usable /dev/kvm and are a visible
 * SKIP without one.  The same guests on KVM's in-kernel LAPIC are in
 * test_kvm_irqchips.c, `vintc run` in tests/cli/test_cli_run.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <vintc/amd_defs.h>
#include <vintc/host.h>
#include <vintc/kvm_run.h>

#include "kvm_util.h"
#include "test.h"

TEST(kvm_run_hello)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("hello", "console=ttyS0 answer=42", 10, &r);
	if (!strstr(out, "PASS hello\n") || !strstr(out, HELLO_MEM_UPPER_DEFAULT) ||
	    !strstr(out, "PASS argv0 hello.elf\n") ||
	    !strstr(out, "hello.elf console=ttyS0 answer=42\n") || strstr(out, "FAIL"))
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
 * generous 2 ms poll most halting round trips never block, unless the
 * host has more runnable tasks than CPUs (other work on the machine),
 * where a poll gives way at once and counts in halt_poll_yields.
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
	ASSERT(r.apic.halt_polls + r.apic.halt_poll_yields > r.exits[KVM_EXIT_HLT] / 4);
	ASSERT(r.apic.halt_poll_yields <= r.apic.halt_poll_misses);
	/* A poll that ended a HLT saw an accelerated IPI, not a not-running exit. */
	ASSERT(r.apic.ipi_exits[AVIC_IPI_FAILURE_TARGET_NOT_RUNNING] <
	       2000 + r.apic.halt_poll_yields);
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
