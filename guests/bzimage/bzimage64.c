// SPDX-License-Identifier: MIT
/*
 * bzimage64: bzimage.c's checks with XLF_KERNEL_64 in the setup header's
 * xloadflags, so that the loader enters by the 64-bit boot protocol at
 * startup_64 (+0x200) in long mode; start.S records the entry state and
 * bzimage.c checks it.
 */
__asm__(".globl bz_xloadflags\n\t.set bz_xloadflags, 1");

#include "bzimage.c"
