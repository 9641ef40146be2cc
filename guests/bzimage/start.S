/* SPDX-License-Identifier: MIT */
/*
 * A bzImage for the test guests: a two-sector setup area holding only the
 * setup header (no real-mode code: the loader enters by the 32-bit or the
 * 64-bit boot protocol), then the protected-mode kernel, linked at 1 MiB.
 * Entered at code32_start in flat 32-bit protected mode, paging off, ESI
 * = the zero page; main() gets (0, ESI).  bzimage.ld makes the two
 * contiguous (the setup's load address is 1 MiB - 0x400) and the Makefile
 * flattens them with objcopy.
 *
 * xloadflags is the guest's bz_xloadflags symbol (0 if it defines none):
 * with XLF_KERNEL_64 (bit 0) the loader enters at startup_64 (+0x200) in
 * long mode instead.  startup_64 records what it was handed in boot64
 * (below) and goes on in compatibility mode (our own 32-bit code segment,
 * paging still on, the identity map), so that main() is the same 32-bit C.
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
	.byte	0			/* min_alignment */
	.weak	bz_xloadflags
	.word	bz_xloadflags		/* xloadflags */
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
start32:
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

	/*
	 * The 64-bit boot protocol's entry, load address + 0x200.  An ELF32
	 * object has no sign-extended 32-bit relocation: absolute addresses
	 * go through a register loaded with a zero-extended immediate.
	 */
	.org	0x200
	.code64
	.globl	startup_64
startup_64:
	mov	$boot64, %edi
	mov	%rsi, B64_RSI(%rdi)
	/* The protocol gives no stack: ours, before pushfq. */
	mov	$stack_top, %esp
	pushfq
	pop	%rax
	mov	%rax, B64_RFLAGS(%rdi)
	mov	%cs, %ax
	mov	%ax, B64_CS(%rdi)
	mov	%ds, %ax
	mov	%ax, B64_DS(%rdi)
	mov	%ss, %ax
	mov	%ax, B64_SS(%rdi)
	mov	%cr0, %rax
	mov	%rax, B64_CR0(%rdi)
	mov	%cr3, %rax
	mov	%rax, B64_CR3(%rdi)
	mov	%cr4, %rax
	mov	%rax, B64_CR4(%rdi)
	mov	$0xc0000080, %ecx	/* IA32_EFER */
	rdmsr
	mov	%eax, B64_EFER(%rdi)
	/* Only in 64-bit mode does a register keep its upper half. */
	movabs	$0x0123456789abcdef, %rax
	mov	%rax, B64_WIDE(%rdi)
	/* The identity map reaches the top of 4 GiB: the APIC version register. */
	mov	$0xfee00030, %ebx
	mov	(%rbx), %eax
	mov	%eax, B64_APIC_VERSION(%rdi)
	/*
	 * RAM from 4 GiB, if the machine has any: map 4-5 GiB through the
	 * loader's PDPT (entry 4, unused: its map stops at 4 GiB) and write
	 * there.  Without RAM the write is dropped MMIO and reads back ~0.
	 */
	mov	%cr3, %rax
	mov	(%rax), %rax		/* PML4[0]: the PDPT */
	and	$-0x1000, %rax
	mov	$pd_high + 3, %ebx	/* present, writable */
	mov	%rbx, 32(%rax)
	mov	%cr3, %rax
	mov	%rax, %cr3
	movabs	$0x100000000, %rbx
	movl	$0x4b1d4b1d, (%rbx)
	mov	(%rbx), %eax
	mov	%eax, B64_HIGH(%rdi)
	movl	$1, B64_ENTERED(%rdi)
	/* On to compatibility mode through our own GDT's 32-bit code segment. */
	mov	$gdt32_desc, %eax
	lgdt	(%rax)
	pushq	$0x08
	mov	$compat32, %eax
	push	%rax
	lretq
	.code32
compat32:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %fs
	movl	%eax, %gs
	movl	%eax, %ss
	movl	boot64 + B64_RSI, %esi
	jmp	start32

	.section .data
	.balign	8
	/* What startup_64 found (struct boot64 in the guest). */
	.set	B64_ENTERED, 0
	.set	B64_RSI, 8
	.set	B64_RFLAGS, 16
	.set	B64_CR0, 24
	.set	B64_CR3, 32
	.set	B64_CR4, 40
	.set	B64_WIDE, 48
	.set	B64_EFER, 56
	.set	B64_APIC_VERSION, 60
	.set	B64_CS, 64
	.set	B64_DS, 66
	.set	B64_SS, 68
	.set	B64_HIGH, 72
	.globl	boot64
boot64:
	.skip	80
	/* Null, flat 32-bit code (0x08), flat data (0x10). */
	.balign	8
gdt32:
	.quad	0
	.quad	0x00cf9b000000ffff
	.quad	0x00cf93000000ffff
gdt32_desc:
	.word	gdt32_desc - gdt32 - 1
	.long	gdt32, 0		/* the base: 8 bytes in 64-bit mode */
	/* A page directory for 4-5 GiB: one 2 MiB page (PS), present, writable. */
	.balign	4096
pd_high:
	.quad	0x100000083
	.skip	4096 - 8

	.section .note.GNU-stack, "", @progbits
