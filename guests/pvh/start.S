/* SPDX-License-Identifier: MIT */
/*
 * PVH entry for the PVH test guests, in place of guests/lib/start.S: no
 * Multiboot header (it would take precedence), an ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY naming _start instead.  The loader enters in
 * flat 32-bit protected mode, paging off, EBX holding the physical address
 * of hvm_start_info; main() gets (0, EBX).
 */
#define XEN_ELFNOTE_PHYS32_ENTRY	18

	.section .note.Xen, "a", @note
	.balign 4
	.long	2f - 1f			/* namesz */
	.long	4f - 3f			/* descsz */
	.long	XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz	"Xen"
2:	.balign 4
3:	.long	_start
4:	.balign 4

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
	pushl	$0
	call	main
	pushl	%eax
	call	guest_exit
1:	cli
	hlt
	jmp	1b
	.size	_start, . - _start

	.section .note.GNU-stack, "", @progbits
