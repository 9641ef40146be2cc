// SPDX-License-Identifier: MIT
/*
 * vintc run, run as a program with the test guests from guests/
 * (VINTC_GUESTS): exit status, the guest's output, the --json line and the
 * --stats lines.  Guest runs need a usable /dev/kvm and are a visible SKIP
 * without one; the usage errors are checked everywhere, since they must
 * never reach KVM.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/host.h>
#include <vintc/kvm_run.h>

#include "cli_util.h"
#include "json.h"
#include "kvm_util.h"
#include "test.h"

TEST(kvm_run_cli_hello)
{
	struct cli_run c;

	need_kvm();
	RUN(&c, "run", "-m", "64", "--append", "hello from the CLI", guest_path("hello"));
	if (c.status != 1 || c.err[0] || !strstr(c.out, "PASS hello\n") ||
	    !strstr(c.out, HELLO_MEM_UPPER_64M) ||
	    !strstr(c.out, "cmdline: hello from the CLI\n"))
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
			  c.out, c.err);
	cli_free(&c);

	/* -m changes mem_upper; --json adds one line after the guest's output. */
	RUN(&c, "run", "-m", "16", "--json", guest_path("hello"));
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
		struct cli_run c;

		RUN(&c, "run", "--timeout", cases[i].timeout, guest_path(cases[i].guest));
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
	struct cli_run c;

	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, "\177ELF\2\1\1", 7), 7);
	close(fd);

	RUN(&c, "run");
	ASSERT_USAGE(&c, "missing IMAGE");
	cli_free(&c);
	RUN(&c, "run", "-m", "1", "x.elf");
	ASSERT_USAGE(&c, "-m: 1 is out of range (2..4096)");
	cli_free(&c);
	RUN(&c, "run", "-m", "4097", "x.elf");
	ASSERT_USAGE(&c, "out of range");
	cli_free(&c);
	RUN(&c, "run", "-m", "64M", "x.elf");
	ASSERT_USAGE(&c, "-m");
	cli_free(&c);
	RUN(&c, "run", "-c", "65", "x.elf");
	ASSERT_USAGE(&c, "-c: 65 is out of range (1..64)");
	cli_free(&c);
	RUN(&c, "run", "-c", "0", "x.elf");
	ASSERT_USAGE(&c, "-c");
	cli_free(&c);
	RUN(&c, "run", "--timeout", "-1", "x.elf");
	ASSERT_USAGE(&c, "--timeout");
	cli_free(&c);
	RUN(&c, "run", "--halt-poll-us", "10001", "x.elf");
	ASSERT_USAGE(&c, "--halt-poll-us: 10001 is out of range (0..10000)");
	cli_free(&c);
	RUN(&c, "run", "--trace", "/nonexistent-dir/t.json", guest_path("hello"));
	ASSERT_USAGE(&c, "cannot write the trace /nonexistent-dir/t.json");
	cli_free(&c);
	/* A valid irqchip: the missing image is still a usage error. */
	RUN(&c, "run", "--irqchip=kernel", "/nonexistent/vintc-guest.elf");
	ASSERT_USAGE(&c, "/nonexistent/vintc-guest.elf");
	cli_free(&c);
	RUN(&c, "run", "--irqchip=pic", "x.elf");
	ASSERT_USAGE(&c, "'pic' is not avic or kernel");
	cli_free(&c);
	RUN(&c, "run", "--irqchip=avic", "-c", "2", "/nonexistent/vintc-guest.elf");
	ASSERT_USAGE(&c, "No such file or directory");
	cli_free(&c);
	RUN(&c, "run", "--bogus", "x.elf");
	ASSERT_USAGE(&c, "--bogus");
	cli_free(&c);
	RUN(&c, "run", "a.elf", "b.elf");
	ASSERT_USAGE(&c, "unexpected argument 'b.elf'");
	cli_free(&c);
	RUN(&c, "run", "/nonexistent/vintc-guest.elf");
	ASSERT_USAGE(&c, "/nonexistent/vintc-guest.elf: No such file or directory");
	cli_free(&c);
	RUN(&c, "run", "/tmp");
	ASSERT_USAGE(&c, "Is a directory");
	cli_free(&c);
	RUN(&c, "run", junk);
	ASSERT_USAGE(&c, "truncated ELF header");
	cli_free(&c);
	RUN(&c, "run", "--initrd", "/nonexistent/initrd", junk);
	ASSERT_USAGE(&c, "/nonexistent/initrd");
	cli_free(&c);
	unlink(junk);

	RUN(&c, "run", "--help");
	ASSERT_EQ(c.status, 0);
	ASSERT(strstr(c.out, "usage: vintc run"));
	ASSERT(strstr(c.out, "--irqchip=avic"));
	ASSERT(strstr(c.out, "-c CPUS"));
	cli_free(&c);
}

TEST(kvm_run_cli_smp)
{
	int64_t cpus, polls, misses;
	struct cli_run c;

	need_kvm();
	RUN(&c, "run", "-c", "4", "--irqchip=avic", "--json", "--stats", guest_path("smp"));
	if (c.status != 1 || !strstr(c.out, "PASS ap 3 online\n") ||
	    !strstr(c.out, "PASS pingpong halting\n") || !json_num(c.out, "cpus", &cpus) ||
	    cpus != 4 || !json_val(c.out, "not_running") || !strstr(c.err, "vintc: run: IPIs ") ||
	    !strstr(c.err, "INIT 3, SIPI 3") || !json_num(c.out, "halt_polls", &polls) ||
	    !strstr(c.err, "vintc: run: halt polls "))
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
			  c.out, c.err);
	cli_free(&c);
	/* Polling off: the JSON says no HLT ended in a poll. */
	RUN(&c, "run", "-c", "2", "--halt-poll-us", "0", "--json", guest_path("smp"));
	if (c.status != 1 || !json_num(c.out, "halt_polls", &polls) || polls ||
	    !json_num(c.out, "halt_poll_misses", &misses) || misses)
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s", c.status, c.out);
	cli_free(&c);
}

/* The real test guests, refused for what they are. */
TEST(kvm_run_cli_guest_does_not_fit)
{
	struct cli_run c;

#ifndef __x86_64__
	test_skip("the x86 test guests are built on x86-64 hosts only");
#endif
	/* Linked at 4 MiB: 2 MiB of RAM cannot hold it (no KVM needed). */
	RUN(&c, "run", "-m", "2", guest_path("hello"));
	ASSERT_USAGE(&c, "is outside RAM");
	cli_free(&c);
}
