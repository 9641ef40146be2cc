// SPDX-License-Identifier: MIT
/*
 * reset: the machine's reset paths, one per boot.  RAM is reloaded at
 * each reboot, so the guest learns how many times it was reset from the
 * machine: the fw_cfg file "opt/vintc/reboots", found in the file
 * directory.  Boot 0 checks the reset registers and the i8042 as a guest
 * finds them, then each boot N resets through path N:
 *
 *   0  port 0x92, bit 0 (fast reset)
 *   1  port 0xCF9: 0x02 (SYS_RST), read back, then 0x06 (RST_CPU)
 *   2  the i8042 command 0xFE (pulse the reset line), once IBF is clear
 *   3  the i8042 output port (command 0xD1) written with bit 0 clear
 *
 * and boot 4 exits with 0.  Each boot first checks that its initialised
 * data and its bss are as loaded (the boot before changed both) and, on
 * more than one vCPU, starts the APs, which halt with interrupts off: a
 * reset must stop them and bring them back parked, waiting for INIT.
 * Under `--no-reboot` the run ends at the first reset (exit status 10).
 * With "forever" on the command line every boot resets through port
 * 0x92, so only a timeout ends the run.
 */
#include "guest.h"

#define TRAMPOLINE	0x8000U
#define SPIN_LIMIT	200000000U
#define NR_PATHS	4

#define FW_CFG_FILE_DIR	0x19
#define FW_CFG_NAME	56

#define PORT_A		0x92
#define RST_CNT		0xCF9
#define I8042_DATA	0x60
#define I8042_STATUS	0x64
#define I8042_CMD	0x64
#define STS_OBF		0x01
#define STS_IBF		0x02
#define STS_SYS		0x04
#define STS_A2		0x08
#define STS_AUXB	0x20

static volatile uint32_t loaded = 0x5eed1e55;	/* .data */
static volatile uint32_t dirty;			/* .bss */
static volatile uint32_t online;
static uint32_t boot;

static uint32_t fw_cfg_be(int bytes)
{
	uint32_t v = 0;

	while (bytes--)
		v = v << 8 | inb(FW_CFG_DATA);
	return v;
}

/* The key of fw_cfg file `name` of `size` bytes, from the directory; 0: none. */
static uint16_t fw_cfg_file(const char *name, uint32_t size)
{
	uint32_t count;

	outw(FW_CFG_SEL, FW_CFG_FILE_DIR);
	count = fw_cfg_be(4);
	for (uint32_t i = 0; i < count && i < 256; i++) {
		uint32_t fsize = fw_cfg_be(4), match = 1, k;
		uint16_t key = (uint16_t)fw_cfg_be(2);

		fw_cfg_be(2);	/* reserved */
		for (k = 0; k < FW_CFG_NAME; k++) {
			char c = (char)inb(FW_CFG_DATA);

			if (match && c != name[k])
				match = 0;
			if (match && !c)
				break;
		}
		/* The rest of this entry's name, to reach the next entry. */
		while (++k < FW_CFG_NAME)
			inb(FW_CFG_DATA);
		if (match && fsize == size)
			return key;
	}
	return 0;
}

/* "PASS boot N: what" or "FAIL boot N: what: 0x<v>"; returns 1 on failure. */
static int check(int ok, const char *what, uint32_t v)
{
	console_lock();
	puts(ok ? "PASS boot " : "FAIL boot ");
	put_u32(boot);
	puts(": ");
	puts(what);
	if (!ok) {
		puts(": ");
		put_hex(v);
	}
	putc('\n');
	console_unlock();
	return !ok;
}

/* Does the command line hold `word`? */
static int has_word(uint32_t info, const char *word)
{
	const struct mb_info *mbi = (const struct mb_info *)info;
	const char *s;

	if (!info || !(mbi->flags & MB_INFO_CMDLINE))
		return 0;
	for (s = (const char *)mbi->cmdline; *s; s++) {
		uint32_t k = 0;

		while (word[k] && s[k] == word[k])
			k++;
		if (!word[k])
			return 1;
	}
	return 0;
}

static void ap_main(uint32_t id)
{
	console_lock();
	puts("PASS boot ");
	put_u32(boot);
	puts(": ap ");
	put_u32(id);
	puts(" online\n");
	console_unlock();
	__atomic_add_fetch(&online, 1, __ATOMIC_SEQ_CST);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static int i8042_read(uint8_t *v)
{
	for (uint32_t n = 0; n < SPIN_LIMIT; n++) {
		if (inb(I8042_STATUS) & STS_OBF) {
			*v = inb(I8042_DATA);
			return 1;
		}
	}
	return 0;
}

static void i8042_wait_input_empty(void)
{
	for (uint32_t n = 0; n < SPIN_LIMIT && (inb(I8042_STATUS) & STS_IBF); n++)
		;
}

/* The registers as a guest finds them after a boot; no reset here. */
static int registers(void)
{
	int bad = 0;
	uint8_t v = 0, st;

	bad |= check(inb(PORT_A) == 0x02, "port 0x92 reads A20 on", inb(PORT_A));
	bad |= check(inb(RST_CNT) == 0, "port 0xcf9 reads 0", inb(RST_CNT));
	/* SYS_RST and FULL_RST are kept; RST_CPU is never set by a write without it. */
	outb(RST_CNT, 0x0a);
	bad |= check(inb(RST_CNT) == 0x0a, "port 0xcf9 keeps sys_rst full_rst", inb(RST_CNT));
	outb(RST_CNT, 0xf0);
	bad |= check(inb(RST_CNT) == 0, "port 0xcf9 reserved bits read 0", inb(RST_CNT));

	st = inb(I8042_STATUS);
	bad |= check((st & (STS_OBF | STS_IBF | STS_SYS)) == STS_SYS,
		     "i8042 status: system flag, buffers empty", st);
	outb(I8042_CMD, 0xaa);
	bad |= check(inb(I8042_STATUS) & STS_A2, "i8042 status a2 after a command",
		     inb(I8042_STATUS));
	bad |= check(i8042_read(&v) && v == 0x55, "i8042 self-test", v);
	outb(I8042_CMD, 0x20);
	bad |= check(i8042_read(&v) && v == 0x45, "i8042 command byte", v);
	/* The system flag in the command byte is the status register's. */
	outb(I8042_CMD, 0x60);
	outb(I8042_DATA, 0x41);
	st = inb(I8042_STATUS);
	bad |= check(!(st & (STS_SYS | STS_A2)), "i8042 system flag follows the command byte", st);
	outb(I8042_CMD, 0x60);
	outb(I8042_DATA, 0x45);
	outb(I8042_CMD, 0xd0);
	bad |= check(i8042_read(&v) && v == 0x03, "i8042 output port", v);
	outb(I8042_CMD, 0xd3);
	outb(I8042_DATA, 0xa5);
	st = inb(I8042_STATUS);
	bad |= check((st & (STS_OBF | STS_AUXB)) == (STS_OBF | STS_AUXB) && inb(I8042_DATA) == 0xa5,
		     "i8042 auxiliary output buffer", st);
	st = inb(I8042_STATUS);
	bad |= check(!(st & (STS_OBF | STS_AUXB)), "i8042 reading 0x60 empties it", st);
	/* Pulses that leave bit 0 alone do not reset. */
	outb(I8042_CMD, 0xff);
	outb(I8042_CMD, 0xf1);
	return bad;
}

static void reset_through(uint32_t path)
{
	switch (path) {
	case 0:
		check(1, "reset through port 0x92", 0);
		outb(PORT_A, inb(PORT_A) | 1);
		break;
	case 1:
		outb(RST_CNT, 0x02);
		if (check(inb(RST_CNT) == 0x02, "reset through port 0xcf9", inb(RST_CNT)))
			return;
		outb(RST_CNT, 0x06);
		break;
	case 2:
		check(1, "reset through i8042 command 0xfe", 0);
		i8042_wait_input_empty();
		outb(I8042_CMD, 0xfe);
		break;
	case 3:
		check(1, "reset through the i8042 output port", 0);
		i8042_wait_input_empty();
		outb(I8042_CMD, 0xd1);
		outb(I8042_DATA, 0x02);	/* A20 on, reset line low */
		break;
	}
	check(0, "still running after the reset", path);
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t ncpus = fw_cfg_u32(FW_CFG_NB_CPUS) & 0xffff, spins = 0;
	uint16_t key = fw_cfg_file("opt/vintc/reboots", 4);

	if (magic != MB_BOOT_MAGIC)
		return report(0, "magic", magic);
	if (report(key != 0, "fw_cfg file opt/vintc/reboots", key))
		return 1;
	boot = fw_cfg_u32(key);
	if (has_word(info, "forever"))
		outb(PORT_A, 1);
	if (check(boot <= NR_PATHS, "boot count in range", boot))
		return 1;
	if (check(loaded == 0x5eed1e55 && !dirty, "data and bss as loaded", loaded))
		return 1;
	loaded = 0;
	dirty = 1;
	if (ncpus > 1) {
		cpu_init();
		smp_start_aps(TRAMPOLINE, ap_main);
		while (__atomic_load_n(&online, __ATOMIC_SEQ_CST) < ncpus - 1)
			if (++spins > SPIN_LIMIT)
				return check(0, "aps online", online);
	}
	if (boot == 0 && registers())
		return 1;
	if (boot == NR_PATHS) {
		check(1, "every reset path rebooted the machine", boot);
		return 0;
	}
	reset_through(boot);
	return 1;
}
