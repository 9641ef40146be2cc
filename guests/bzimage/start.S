/* SPDX-License-Identifier: MIT */
/*
 * A bzImage for the test guests: a two-sector setup area holding only the
 * setup header (no real-mode code: the loader enters by the 32-bit boot
 * protocol), then the protected-mode kernel, linked at 1 MiB.  Entered
 * at code32_start in flat 32-bit protected mode, paging off, ESI = the
 * zero page; main() gets (0, ESI).  bzimage.ld makes the two contiguous
 * (the setup's load address is 1 MiB - 0x400) and the Makefile flattens
 * them with objcopy.
 */
	.section .setup, "a"
	.org	0x1f1
	.byte	1			/* setup_sects: (1 + 1) * 512 bytes */
	.org	0x1fe
	.word	0xaa55			/* boot_flag */
	.byte	0xeb, hdr_end - 1f	/* jump over the header: its length */
1:	.ascii	"HdrS"
	.word	0x020f			/* boot protocol 2.15 */
	.org	0x211
	.byte	0x01			/* loadflags: LOADED_HIGH */
	.org	0x214
	.long	0x100000		/* code32_start */
	.org	0x22c
	.long	0x37ffffff		/* initrd_addr_max */
	.long	0x1000			/* kernel_alignment */
	.byte	0			/* not relocatable */
	.org	0x238
	.long	2047			/* cmdline_size */
	.org	0x258
	.quad	0x100000		/* pref_address */
	.long	_end - 0x100000		/* init_size: up to the end of bss */
hdr_end:
	.org	0x400

	.section .bss
	.balign 16
stack_bottom:
	.skip	16384
stack_top:

	/* code32_start is the kernel's first byte: bzimage.ld puts this first. */
	.section .text.start, "ax"
	.globl	_start
	.type	_start, @function
_start:
	cld
	/* The flat file holds no bss: clear it, keeping ESI. */
	movl	$__bss_start, %edi
	movl	$_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb
	movl	$stack_top, %esp
	pushl	%esi
	pushl	$0
	call	main
	pushl	%eax
	call	guest_exit
2:	cli
	hlt
	jmp	2b
	.size	_start, . - _start

	.section .note.GNU-stack, "", @progbits
