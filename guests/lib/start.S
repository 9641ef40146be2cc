/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 entry for the test guests.  The loader enters here in flat
 * 32-bit protected mode with paging off and interrupts disabled, EAX holding
 * the boot magic and EBX the physical address of the info block; both are
 * handed to main() untouched so the guest can check what it was given.
 */
#define MB_MAGIC	0x1BADB002
#define MB_PAGE_ALIGN	(1 << 0)	/* modules on 4 KiB boundaries */
#define MB_MEMORY_INFO	(1 << 1)	/* mem_lower/mem_upper and the map */
#define MB_FLAGS	(MB_PAGE_ALIGN | MB_MEMORY_INFO)

	.section .multiboot, "a"
	.balign 4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.section .bss
	.balign 16
stack_bottom:
	.skip	16384
stack_top:

	.section .text
	.globl	_start
	.type	_start, @function
_start:
	cld
	movl	$stack_top, %esp
	pushl	%ebx
	pushl	%eax
	call	main
	/* main() returning means success unless it said otherwise. */
	pushl	%eax
	call	guest_exit
1:	cli
	hlt
	jmp	1b
	.size	_start, . - _start

	.section .note.GNU-stack, "", @progbits
