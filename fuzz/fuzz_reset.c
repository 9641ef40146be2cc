// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the machine's reset paths and what a rebooted guest
 * reads, as port I/O on a bare machine (no /dev/kvm): the reset registers
 * (kvm/devices/reset.c: port 0x92, port 0xCF9), the i8042
 * (kvm/devices/i8042.c: 0x60, 0x64) and fw_cfg (kvm/devices/fw_cfg.c:
 * 0x510, 0x511, with the file directory and opt/vintc/reboots).
 *
 * Input: operations of three bytes each (zeros past the end): an opcode,
 * whose bits 2:0 pick the port (0x92, 0xCF9, 0x60, 0x64, 0x510, 0x511,
 * 0x510 again, 0xCF8), bit 3 a write, bits 5:4 the access size (1, 1, 2,
 * 4 bytes), then a 16-bit little-endian value.
 *
 * A small model of the registers kept here, independently of the
 * devices, is the oracle.  Invariants (abort on violation):
 *   - an access is claimed exactly when it is one byte wide at a device
 *     port, or a 1- or 2-byte selector write / 1..4-byte data read of
 *     fw_cfg; nothing claims 0xCF8;
 *   - an access ends the machine exactly when the architecture resets it:
 *     port 0x92 bit 0 rising, port 0xCF9 with RST_CPU, an i8042 pulse
 *     command with bit 0 clear (0xF0..0xFE even), or the i8042 output port
 *     written with bit 0 clear; and then the end is VKVM_END_RESET with
 *     status 10 and a message; the machine is then rebuilt with one more
 *     reboot, as kvm/run.c does;
 *   - port 0x92 and 0xCF9 read what the model says (RST_CPU and reserved
 *     bits 0); the i8042 status has IBF, timeout and parity clear, INH set,
 *     SYS equal to the command byte's, A2 equal to "the last write was a
 *     command", OBF as the model says and AUXB only with OBF; a 0x60 read
 *     with OBF set gives the byte the model expects;
 *   - fw_cfg's signature, ID, directory (one file, opt/vintc/reboots, at
 *     0x20) and the file (the reboot count) read as documented, and every
 *     other key reads 0.
 * After the input: the devices are destroyed, leaking nothing (LSan).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/bus.h"
#include "kvm/devices/devices.h"

#define FUZZ_NAME "fuzz_reset"
#include "fuzz_util.h"

static const uint16_t ports[8] = { 0x92, 0xcf9, 0x60, 0x64, 0x510, 0x511, 0x510, 0xcf8 };
static const unsigned int sizes[4] = { 1, 1, 2, 4 };

struct model {
	uint8_t port_a, rst_cnt;
	/* i8042 */
	uint8_t ram[32], outport, obuf, pending;
	bool obf, aux, a2;
	/* fw_cfg */
	uint16_t key;
	uint32_t off;
};

static struct vkvm v;
static struct vkvm_result r;
static struct vkvm_cpu cpu;
static const struct vkvm_device *const devs[] = {
	&vkvm_dev_reset, &vkvm_dev_i8042, &vkvm_dev_fw_cfg,
};
static void *state[3];

static void machine_up(struct model *m)
{
	uint32_t reboots = r.reboots;
	char why[128];

	memset(&v, 0, sizeof(v));
	memset(&r, 0, sizeof(r));
	memset(&cpu, 0, sizeof(cpu));
	r.reboots = reboots;
	v.nr = 1;
	v.r = &r;
	v.ram_size = 64ULL << 20;
	v.kvm_fd = v.vm_fd = v.out_fd = -1;
	pthread_mutex_init(&v.end_lock, NULL);
	vkvm_bus_init(&v.bus);
	cpu.v = &v;
	for (size_t i = 0; i < 3; i++)
		CHECK(!devs[i]->create(&v, &state[i], why, sizeof(why)), "%s: %s", devs[i]->name,
		      why);
	memset(m, 0, sizeof(*m));
	m->port_a = 0x02;
	m->ram[0] = 0x45;
	m->outport = 0x03;
}

static void machine_down(void)
{
	for (size_t i = 0; i < 3; i++)
		if (devs[i]->destroy)
			devs[i]->destroy(state[i]);
	vkvm_bus_fini(&v.bus);
	pthread_mutex_destroy(&v.end_lock);
}

static void model_output(struct model *m, uint8_t byte, bool aux)
{
	m->obuf = byte;
	m->obf = true;
	m->aux = aux;
}

/* An i8042 command; true if it resets. */
static bool model_command(struct model *m, uint8_t cmd)
{
	m->pending = 0;
	if (cmd >= 0x20 && cmd < 0x40)
		model_output(m, m->ram[cmd & 0x1f], false);
	else if ((cmd >= 0x60 && cmd < 0x80) || (cmd >= 0xd1 && cmd <= 0xd4))
		m->pending = cmd;
	else if (cmd >= 0xf0)
		return !(cmd & 1);
	else if (cmd == 0xa7 || cmd == 0xad)
		m->ram[0] |= cmd == 0xa7 ? 0x20 : 0x10;
	else if (cmd == 0xa8 || cmd == 0xae)
		m->ram[0] &= (uint8_t)~(cmd == 0xa8 ? 0x20 : 0x10);
	else if (cmd == 0xa9 || cmd == 0xab)
		model_output(m, 0, false);
	else if (cmd == 0xaa)
		model_output(m, 0x55, false);
	else if (cmd == 0xd0)
		model_output(m, m->outport, false);
	return false;
}

static bool model_data(struct model *m, uint8_t val)
{
	uint8_t cmd = m->pending;

	m->pending = 0;
	if (cmd >= 0x60 && cmd < 0x80)
		m->ram[cmd & 0x1f] = val;
	else if (cmd == 0xd1)
		m->outport = val;
	else if (cmd == 0xd2 || cmd == 0xd3)
		model_output(m, val, cmd == 0xd3);
	return cmd == 0xd1 && !(val & 1);
}

/* A byte write to a device port; true if the model resets. */
static bool model_write(struct model *m, uint16_t port, uint8_t val)
{
	bool reset = false;

	switch (port) {
	case 0x92:
		reset = (val & 1) && !(m->port_a & 1);
		m->port_a = val;
		break;
	case 0xcf9:
		m->rst_cnt = val & 0x0a;
		reset = val & 0x04;
		break;
	case 0x60:
		m->a2 = false;
		reset = model_data(m, val);
		break;
	case 0x64:
		m->a2 = true;
		reset = model_command(m, val);
		break;
	}
	return reset;
}

static uint8_t fw_cfg_expect(const struct model *m, uint32_t off)
{
	static const char name[] = "opt/vintc/reboots";

	switch (m->key) {
	case 0x00:
		return off < 4 ? (uint8_t)"QEMU"[off] : 0;
	case 0x01:
		return off == 0;
	case 0x03:
		return off < 8 ? (uint8_t)((64ULL << 20) >> (8 * off)) : 0;
	case 0x05:
	case 0x0f:
		return off == 0;
	case 0x19:
		if (off == 3)
			return 1;
		if (off == 7)
			return 4;	/* size, big-endian */
		if (off == 9)
			return 0x20;	/* key, big-endian */
		if (off >= 12 && off - 12 < sizeof(name))
			return (uint8_t)name[off - 12];
		return 0;
	case 0x20:
		return off < 4 ? (uint8_t)(r.reboots >> (8 * off)) : 0;
	default:
		return 0;
	}
}

/* The read value of a one-byte device port. */
static void check_read(struct model *m, uint16_t port, uint8_t got)
{
	switch (port) {
	case 0x92:
		CHECK(got == m->port_a, "port 0x92 0x%02x, model 0x%02x", got, m->port_a);
		break;
	case 0xcf9:
		CHECK(got == m->rst_cnt, "port 0xcf9 0x%02x, model 0x%02x", got, m->rst_cnt);
		break;
	case 0x60:
		if (m->obf)
			CHECK(got == m->obuf, "i8042 data 0x%02x, model 0x%02x", got, m->obuf);
		m->obf = m->aux = false;
		break;
	case 0x64: {
		uint8_t want = (uint8_t)(0x10 | (m->obf ? 0x01 : 0) | (m->ram[0] & 0x04) |
					 (m->a2 ? 0x08 : 0) | (m->obf && m->aux ? 0x20 : 0));

		CHECK(got == want, "i8042 status 0x%02x, model 0x%02x", got, want);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct model m;

	r.reboots = 0;
	machine_up(&m);
	while (in.n) {
		uint8_t op = u8(&in);
		uint16_t val = u16(&in), port = ports[op & 7];
		unsigned int sz = sizes[(op >> 4) & 3];
		bool write = op & 8, fw = port == 0x510 || port == 0x511, want, reset = false;
		uint8_t buf[4] = { (uint8_t)val, (uint8_t)(val >> 8), 0, 0 };
		enum vkvm_io_ret ret = VKVM_IO_DONE;
		bool hit;

		/* fw_cfg's two ports are one range: wide accesses fit inside it. */
		if (fw)
			want = port == 0x510 ? sz <= 2 : sz == 1;
		else
			want = sz == 1 && port != 0xcf8;
		hit = vkvm_bus_access(&v.bus, VKVM_PIO, port, &cpu, 0, write, buf, sz, &ret);
		CHECK(hit == want, "port 0x%x size %u claimed %d", port, sz, hit);
		if (!hit)
			continue;
		if (fw && write && port == 0x510) {
			m.key = sz == 1 ? (uint8_t)val : val;
			m.off = 0;
		} else if (fw && !write && port == 0x511) {
			uint8_t want_byte = fw_cfg_expect(&m, m.off++);

			CHECK(buf[0] == want_byte, "fw_cfg key 0x%x byte %u: 0x%02x, want 0x%02x",
			      m.key, m.off - 1, buf[0], want_byte);
		} else if (!fw && write) {
			reset = model_write(&m, port, (uint8_t)val);
		} else if (!fw) {
			check_read(&m, port, buf[0]);
		}
		CHECK((ret == VKVM_IO_END) == reset, "port 0x%x write 0x%02x: end %d, model %d",
		      port, (uint8_t)val, ret == VKVM_IO_END, reset);
		CHECK(v.ended == reset, "ended %d, model %d", v.ended, reset);
		if (reset) {
			CHECK(r.end == VKVM_END_RESET && r.exit_status == VKVM_STATUS_RESET &&
			      r.message[0], "end %d status %d", r.end, r.exit_status);
			/* A reboot: the machine anew, one more reboot counted. */
			machine_down();
			r.reboots++;
			machine_up(&m);
		}
	}
	machine_down();
	return 0;
}
