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
	char want[4200];

	need_kvm();
	/* The command line is "IMAGE ARGS", IMAGE as typed: argv[0] is the image. */
	snprintf(want, sizeof(want), "cmdline: %s hello from the CLI\n", guest_path("hello"));
	RUN(&c, "run", "--timeout", "30", "-m", "64", "--append", "hello from the CLI",
	    guest_path("hello"));
	if (c.status != 1 || c.err[0] || !strstr(c.out, "PASS hello\n") ||
	    !strstr(c.out, HELLO_MEM_UPPER_64M) || !strstr(c.out, "PASS argv0 hello.elf\n") ||
	    !strstr(c.out, want))
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
			  c.out, c.err);
	cli_free(&c);

	/* -m changes mem_upper; --json adds one line after the guest's output. */
	snprintf(want, sizeof(want), "cmdline: %s \n", guest_path("hello"));
	RUN(&c, "run", "--timeout", "30", "-m", "16", "--json", guest_path("hello"));
	ASSERT_EQ(c.status, 1);
	ASSERT(strstr(c.out, "PASS mbi mem_upper=15360\n"));
	/* No --append: "IMAGE ", as QEMU's "%s %s" with an empty CMDLINE. */
	ASSERT(strstr(c.out, want));
	ASSERT(strstr(c.out, "\n{\"end\":\"debug-exit\",\"exit_status\":1,"));
	ASSERT(strstr(c.out, "\"reboots\":0,"));
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

/* A reset boots the guest again, counted; --no-reboot ends the run with status 10. */
TEST(kvm_run_cli_reset)
{
	int64_t reboots;
	struct cli_run c;

	need_kvm();
	RUN(&c, "run", "--timeout", "30", "-c", "2", "--json", "--stats", guest_path("reset"));
	if (c.status != 1 ||
	    !strstr(c.out, "PASS boot 4: every reset path rebooted the machine\n") ||
	    !json_num(c.out, "reboots", &reboots) || reboots != 4 ||
	    !strstr(c.err, "s, 4 reboots, exits:"))
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
			  c.out, c.err);
	cli_free(&c);
	RUN(&c, "run", "--timeout", "30", "--no-reboot", "--json", guest_path("reset"));
	if (c.status != VKVM_STATUS_RESET || strstr(c.out, "PASS boot 1") ||
	    !strstr(c.out, "{\"end\":\"reset\",\"exit_status\":10,") ||
	    strcmp(c.err, "vintc: run: guest reset the machine (port 0x92 fast reset)\n"))
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
			  c.out, c.err);
	cli_free(&c);
	/* A guest resetting forever ends at --timeout, not before. */
	RUN(&c, "run", "--timeout", "1", "--append", "forever", "--json", guest_path("reset"));
	if (c.status != VKVM_STATUS_TIMEOUT || !json_num(c.out, "reboots", &reboots) ||
	    reboots < 2)
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
			  c.out, c.err);
	cli_free(&c);
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
	ASSERT_USAGE(&c, "-m: 1 is out of range (2..65536)");
	cli_free(&c);
	RUN(&c, "run", "-m", "65537", "x.elf");
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
	RUN(&c, "run", "--no-reboot=1", "x.elf");
	ASSERT_USAGE(&c, "--no-reboot");
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
	ASSERT(strstr(c.out, "--no-reboot"));
	ASSERT(strstr(c.out, "never (the default"));
	cli_free(&c);
}

TEST(kvm_run_cli_smp)
{
	int64_t cpus, polls, misses;
	struct cli_run c;

	need_kvm();
	RUN(&c, "run", "--timeout", "60", "-c", "4", "--irqchip=avic", "--json", "--stats",
	    guest_path("smp"));
	if (c.status != 1 || !strstr(c.out, "PASS ap 3 online\n") ||
	    !strstr(c.out, "PASS pingpong halting\n") || !json_num(c.out, "cpus", &cpus) ||
	    cpus != 4 || !json_val(c.out, "not_running") || !strstr(c.err, "vintc: run: IPIs ") ||
	    !strstr(c.err, "INIT 3, SIPI 3") || !json_num(c.out, "halt_polls", &polls) ||
	    !strstr(c.err, "vintc: run: halt polls "))
		test_fail(__FILE__, __LINE__, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
			  c.out, c.err);
	cli_free(&c);
	/* Polling off: the JSON says no HLT ended in a poll. */
	RUN(&c, "run", "--timeout", "60", "-c", "2", "--halt-poll-us", "0", "--json",
	    guest_path("smp"));
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
