// SPDX-License-Identifier: MIT
/* Make, notify and destroy the machine's devices (the list: devices.h). */
#include <errno.h>

#include "devices.h"

static const struct vkvm_device *const all_devices[] = {
#define VKVM_DEVICE_REF(name) &vkvm_dev_##name,
	VKVM_DEVICES(VKVM_DEVICE_REF)
#undef VKVM_DEVICE_REF
};

int vkvm_devices_create(struct vkvm *v, char *why, size_t why_size)
{
	int chip = v->kernel_chip ? VKVM_IRQCHIP_KERNEL : VKVM_IRQCHIP_AVIC;

	for (size_t i = 0; i < sizeof(all_devices) / sizeof(all_devices[0]); i++) {
		const struct vkvm_device *d = all_devices[i];
		void *state = NULL;
		int ret;

		if (d->irqchip != VKVM_NR_IRQCHIPS && d->irqchip != chip)
			continue;
		if (v->nr_devices == VKVM_MAX_DEVICES)
			return vkvm_say(why, why_size, -ENOSPC, "too many devices");
		ret = d->create(v, &state, why, why_size);
		if (ret)
			return ret;
		v->devices[v->nr_devices] = d;
		v->device_state[v->nr_devices++] = state;
	}
	return 0;
}

void vkvm_devices_cpu_exit(struct vkvm_cpu *c)
{
	struct vkvm *v = c->v;

	for (uint32_t i = 0; i < v->nr_devices; i++)
		if (v->devices[i]->cpu_exit)
			v->devices[i]->cpu_exit(v->device_state[i], c);
}

/* Idempotent: the run calls it once, from any partial state. */
void vkvm_devices_destroy(struct vkvm *v)
{
	while (v->nr_devices) {
		uint32_t i = --v->nr_devices;

		if (v->devices[i]->destroy)
			v->devices[i]->destroy(v->device_state[i]);
		v->devices[i] = NULL;
		v->device_state[i] = NULL;
	}
}
