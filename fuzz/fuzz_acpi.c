// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: ACPI, both of its guest-facing halves.
 *
 * The PM1a registers (kvm/devices/acpi_pm.c) as port I/O on a bare
 * machine (no /dev/kvm).  The input after the first 8 bytes is operations
 * of five bytes each (zeros past the end): an opcode, whose bits 2:0 pick
 * the port (0x5FF, 0x600..0x605, 0x606), bit 3 a write, bits 5:4 the
 * access size (1, 2, 4, 1 bytes), then a 32-bit little-endian value.
 *
 * The tables (kvm/boot/acpi.c), built first from the input's first 8
 * bytes: the vCPU count (0..4199, past the limit too), the region's size
 * (0..128 KiB) and its address (0xE0000 plus 0, 8, 16 or 48).
 *
 * Invariants (abort on violation):
 *   - the builder returns -EINVAL exactly for a vCPU count of 0 or past
 *     VKVM_ACPI_MAX_CPUS or an address not 16-byte aligned, else -E2BIG or
 *     the bytes used, within the region; writes nothing past what it says
 *     it used; and then the RSDP's two checksums, the XSDT's, each table's
 *     it names and the DSDT's are 0, every table lies inside the used
 *     bytes, and the MADT has one processor entry per vCPU;
 *   - a port access is claimed exactly when it lies inside 0x600..0x603
 *     or 0x604..0x605;
 *   - reads give what a model kept here says: PM1_STS 0, PM1_EN the
 *     defined enable bits written, PM1_CNT SCI_EN set with BM_RLD and
 *     SLP_TYP as written, GBL_RLS and SLP_EN 0;
 *   - a write ends the machine exactly when it sets SLP_EN in a PM1_CNT
 *     whose SLP_TYP is then 5, and the end is VKVM_END_POWEROFF with exit
 *     status 0; the machine is then made again.
 * After the input: the device is destroyed, leaking nothing (LSan).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/boot/acpi.h"
#include "kvm/bus.h"
#include "kvm/devices/devices.h"

#define FUZZ_NAME "fuzz_acpi"
#include "fuzz_util.h"

#define REGION	0x20000U
#define FILL	0xA5

static const uint16_t ports[8] = { 0x5ff, 0x600, 0x601, 0x602, 0x603, 0x604, 0x605, 0x606 };
static const unsigned int sizes[4] = { 1, 2, 4, 1 };

static uint8_t region[REGION + 64];
static struct vkvm v;
static struct vkvm_result r;
static struct vkvm_cpu cpu;
static void *state;

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The table at guest address a, inside [base, base + used), with sum 0. */
static const uint8_t *table(uint64_t base, long used, uint64_t a, const char *sig)
{
	const uint8_t *t;

	CHECK(a >= base && a + 36 <= base + (uint64_t)used, "%s at 0x%llx", sig,
	      (unsigned long long)a);
	t = region + (a - base);
	CHECK(!memcmp(t, sig, 4), "%.4s is not %s", (const char *)t, sig);
	CHECK(a + rd32(t + 4) <= base + (uint64_t)used, "%s length %u", sig, rd32(t + 4));
	CHECK(!sum(t, rd32(t + 4)), "%s checksum", sig);
	return t;
}

static void fuzz_tables(struct input *in)
{
	static const uint32_t skews[4] = { 0, 8, 16, 48 };
	uint32_t nr = u16(in) % 4200, size = u32(in) % (REGION + 1);
	uint64_t base = 0xE0000 + skews[u8(in) & 3];
	struct vkvm_acpi_config cfg = { .nr_cpus = nr, .ioapic_addr = 0xFEC00000U };
	const uint8_t *xsdt, *madt = NULL, *fadt = NULL;
	uint32_t cpus = 0, at;
	long used;

	u8(in);
	memset(region, FILL, sizeof(region));
	used = vkvm_acpi_build(region, base, size, &cfg);
	if (!nr || nr > VKVM_ACPI_MAX_CPUS || (base & 15)) {
		CHECK(used == -EINVAL, "nr %u base 0x%llx: %ld", nr, (unsigned long long)base, used);
		return;
	}
	CHECK(used == -E2BIG || (used > 0 && used <= (long)size), "size %u: %ld", size, used);
	for (size_t i = used > 0 ? (size_t)used : 0; i < sizeof(region); i++)
		CHECK(region[i] == FILL, "byte %zu past the %ld used written", i, used);
	if (used < 0)
		return;
	CHECK(!memcmp(region, "RSD PTR ", 8) && !sum(region, 20) && !sum(region, 36), "RSDP");
	xsdt = table(base, used, rd32(region + 24), "XSDT");
	for (uint32_t i = 0; i < (rd32(xsdt + 4) - 36) / 8; i++) {
		uint64_t a = rd32(xsdt + 36 + 8 * i);

		if (a >= base && a + 4 <= base + (uint64_t)used &&
		    !memcmp(region + (a - base), "APIC", 4))
			madt = table(base, used, a, "APIC");
		else
			fadt = table(base, used, a, "FACP");
	}
	CHECK(madt && fadt, "XSDT without MADT or FADT");
	table(base, used, rd32(fadt + 40), "DSDT");
	for (at = 44; at + 2 <= rd32(madt + 4) && madt[at + 1]; at += madt[at + 1])
		cpus += madt[at] == 0 || madt[at] == 9;
	CHECK(at == rd32(madt + 4) && cpus == nr, "MADT: %u CPUs of %u, end %u", cpus, nr, at);
}

struct model {
	uint16_t en, cnt;
};

static void machine_up(struct model *m)
{
	char why[128];

	memset(&v, 0, sizeof(v));
	memset(&r, 0, sizeof(r));
	memset(&cpu, 0, sizeof(cpu));
	memset(m, 0, sizeof(*m));
	v.nr = 1;
	v.r = &r;
	v.ram_size = 64ULL << 20;
	v.kvm_fd = v.vm_fd = v.out_fd = -1;
	pthread_mutex_init(&v.end_lock, NULL);
	vkvm_bus_init(&v.bus);
	cpu.v = &v;
	CHECK(!vkvm_dev_acpi_pm.create(&v, &state, why, sizeof(why)), "create: %s", why);
}

static void machine_down(void)
{
	vkvm_dev_acpi_pm.destroy(state);
	vkvm_bus_fini(&v.bus);
	pthread_mutex_destroy(&v.end_lock);
}

static uint16_t model_read(const struct model *m, unsigned int reg)
{
	if (reg == 0)
		return 0;
	if (reg == 1)
		return m->en;
	return (uint16_t)(m->cnt | 1);
}

/* Apply one access's bytes to the model; true if it powers off. */
static bool model_write(struct model *m, unsigned int first, uint32_t val, unsigned int sz)
{
	uint16_t cnt = m->cnt, cmask = 0, cval = 0;

	for (unsigned int i = 0; i < sz; i++) {
		unsigned int byte = first + i, sh = 8 * (byte & 1);
		uint16_t b = (uint16_t)(((val >> (8 * i)) & 0xff) << sh);

		if (byte / 2 == 1)
			m->en = (uint16_t)((m->en & ~(0xff << sh)) | (b & 0x4721));
		if (byte / 2 == 2) {
			cval |= b;
			cmask |= (uint16_t)(0xff << sh);
		}
	}
	if (!cmask)
		return false;
	cnt = (uint16_t)((cnt & ~cmask) | cval);
	m->cnt = cnt & 0x1c02;
	return (cnt & 0x2000) && ((cnt >> 10) & 7) == 5;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct model m;

	fuzz_tables(&in);
	machine_up(&m);
	while (in.n) {
		uint8_t op = u8(&in);
		uint32_t val = u32(&in);
		uint16_t port = ports[op & 7];
		unsigned int sz = sizes[(op >> 4) & 3], first = port - 0x600u;
		bool write = op & 8, want, hit, off;
		uint8_t buf[4];
		enum vkvm_io_ret ret = VKVM_IO_DONE;

		memcpy(buf, &val, sizeof(buf));
		want = (port >= 0x600 && port + sz <= 0x604) ||
		       (port >= 0x604 && port + sz <= 0x606);
		hit = vkvm_bus_access(&v.bus, VKVM_PIO, port, &cpu, 0, write, buf, sz, &ret);
		CHECK(hit == want, "port 0x%x size %u claimed %d", port, sz, hit);
		if (!hit)
			continue;
		if (!write) {
			for (unsigned int i = 0; i < sz; i++) {
				unsigned int byte = first + i;
				uint8_t want_byte = (uint8_t)(model_read(&m, byte / 2) >> (8 * (byte & 1)));

				CHECK(buf[i] == want_byte, "read 0x%x+%u: 0x%x, want 0x%x", port, i,
				      buf[i], want_byte);
			}
			CHECK(ret == VKVM_IO_DONE && !v.ended, "a read ended the machine");
			continue;
		}
		off = model_write(&m, first, val, sz);
		CHECK(off == (ret == VKVM_IO_END) && off == v.ended,
		      "write 0x%x to 0x%x size %u: end %d, want %d", val, port, sz, v.ended, off);
		if (off) {
			CHECK(r.end == VKVM_END_POWEROFF && r.exit_status == 0 && r.message[0],
			      "end %d status %d", r.end, r.exit_status);
			machine_down();
			machine_up(&m);
		}
	}
	machine_down();
	return 0;
}
