/* SPDX-License-Identifier: MIT */
/*
 * The devices of the machine, one file each in kvm/devices/, made in this
 * order.  Adding a device: its file, defining `const struct vkvm_device
 * vkvm_dev_NAME`, and one line here.  Private to kvm/.
 */
#ifndef VINTC_KVM_DEVICES_H
#define VINTC_KVM_DEVICES_H

#include "vkvm.h"

#define VKVM_DEVICES(X)							\
	X(pic)			/* 8259 pair: masks kept, never raises */	\
	X(debug_exit)		/* isa-debug-exit 0xF4 */			\
	X(fw_cfg)		/* 0x510/0x511 */				\
	X(reset)		/* 0x92 fast reset, 0xCF9 reset control */	\
	X(i8042)		/* 0x60/0x64 controller, no keyboard */	\
	X(ioapic)		/* 0xFEC00000, GSIs 0-23 */			\
	X(serial)		/* COM1 0x3F8, GSI 4: after the lines' chip */	\
	X(testdev)		/* 0x2000 + n: raise and lower GSI n */	\
	X(lapic_window)		/* each vCPU's xAPIC page (--irqchip=avic) */	\
	X(acpi_pm)		/* 0x600 PM1a event, 0x604 PM1a control */

#define VKVM_DEVICE_DECLARE(name) extern const struct vkvm_device vkvm_dev_##name;
VKVM_DEVICES(VKVM_DEVICE_DECLARE)
#undef VKVM_DEVICE_DECLARE

#endif
