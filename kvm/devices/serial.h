/* SPDX-License-Identifier: MIT */
/*
 * COM1 (kvm/devices/serial.c) as the host side sees it.  Private to kvm/.
 */
#ifndef VINTC_KVM_DEVICES_SERIAL_H
#define VINTC_KVM_DEVICES_SERIAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bytes from the host to COM1's receiver (`state`: the device's state):
 * as many as its receiver has room for, that many returned (0 while the
 * UART is in loopback).  Callable from any thread.
 */
int serial_rx(void *state, const uint8_t *buf, size_t len);

#endif
