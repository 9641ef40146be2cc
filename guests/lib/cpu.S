/* SPDX-License-Identifier: MIT */
/*
 * What an SMP test guest needs below C: a flat GDT (the loader enters with
 * segment caches loaded but no GDT in memory, and the first interrupt
 * reloads CS from it), interrupt stubs for vectors 2 and 32..79 that call
 * irq_handler(vector), a #GP stub that resumes gp_handler() bytes past the
 * faulting instruction, and the application processors' real-mode
 * trampoline.
 *
 * The trampoline is position-independent 16-bit code: the BSP copies
 * ap_tramp_start..ap_tramp_end to a 4 KiB page below 1 MiB and sends
 * STARTUP with that page number, so the AP begins at offset 0 with
 * CS = page << 8.  Everything it touches in real mode is addressed
 * relative to CS; the GDT it loads and the 32-bit code it jumps to stay in
 * the kernel image at their linked addresses.
 */
#define KERNEL_CS	0x08
#define KERNEL_DS	0x10
#define AP_STACK_SIZE	4096
#define MAX_CPUS	64

	.section .data
	.balign 8
gdt:
	.quad	0			/* null */
	.quad	0x00cf9b000000ffff	/* 0x08: code, flat 4 GiB, 32-bit */
	.quad	0x00cf93000000ffff	/* 0x10: data, flat 4 GiB */
gdt_end:
	.balign 4
	.word	0
gdtr:
	.word	gdt_end - gdt - 1
	.long	gdt

	.section .bss
	.balign 16
ap_stacks:
	.skip	AP_STACK_SIZE * MAX_CPUS

	.section .text
	.code32
/* void gdt_load(void): the flat GDT, and every segment register from it. */
	.globl	gdt_load
gdt_load:
	lgdt	gdtr
	ljmp	$KERNEL_CS, $1f
1:	movw	$KERNEL_DS, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	ret

/*
 * Interrupt stubs: save the registers, call irq_handler(vector), return.
 * No vector here pushes an error code.
 *
 * The return is not IRET.  On hosts whose KVM runs 32-bit ring-0 code
 * through its instruction emulator (kvm-pvm does), IRET can only be
 * emulated in real mode.  At the same privilege level IRET just pops EIP,
 * CS and EFLAGS, so the frame is rearranged to EFLAGS, EIP and undone with
 * POPF and RET $4.  POPF may set IF one instruction early; a nested
 * interrupt there finds a consistent stack.  (NMIs stay blocked after an
 * NMI handler returns this way: no test guest takes two.)
 */
	.macro	irq_stub vec
irq_stub_\vec:
	pushal
	pushl	$\vec
	call	irq_handler
	addl	$4, %esp
	jmp	irq_return
	.endm

	.globl	irq_return
irq_return:
	popal
frame_return:
	/* EIP, CS, EFLAGS -> EFLAGS, EIP, (unused) */
	pushl	%eax
	movl	4(%esp), %eax
	movl	%eax, 8(%esp)
	movl	12(%esp), %eax
	movl	%eax, 4(%esp)
	popl	%eax
	popfl
	ret	$4

	irq_stub 2

/* #GP (vector 13, with an error code): skip what gp_handler() says. */
irq_stub_gp:
	pushal
	call	gp_handler
	addl	%eax, 36(%esp)		/* the saved EIP, above pushal and the error code */
	popal
	addl	$4, %esp
	jmp	frame_return
	.altmacro
	.set	v, 32
	.rept	48
	irq_stub %v
	.set	v, v + 1
	.endr

	.section .rodata
	.balign 4
	.globl	irq_stub_nmi
irq_stub_nmi:
	.long	irq_stub_2
	.globl	irq_stub_gp_addr
irq_stub_gp_addr:
	.long	irq_stub_gp
	.globl	irq_stubs		/* vectors 32..79 */
irq_stubs:
	.macro	stub_addr vec
	.long	irq_stub_\vec
	.endm
	.set	v, 32
	.rept	48
	stub_addr %v
	.set	v, v + 1
	.endr

	.section .text
	.code16
	.globl	ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	/* The descriptor is in the copy (DS-relative); the GDT is not. */
	lgdtl	tramp_gdtr - ap_tramp_start
	movl	%cr0, %eax
	orl	$1, %eax			/* PE */
	movl	%eax, %cr0
	/* A 32-bit far jump from 16-bit code: 66 EA offset32 selector16. */
	.byte	0x66, 0xea
	.long	ap_pm32
	.word	KERNEL_CS
	.balign 4
	.word	0
tramp_gdtr:
	.word	gdt_end - gdt - 1
	.long	gdt
ap_tramp_end:

	.code32
ap_pm32:
	movw	$KERNEL_DS, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	/* Our own stack, by APIC ID: every AP may arrive at once. */
	movl	0xfee00020, %eax
	shrl	$24, %eax
	andl	$(MAX_CPUS - 1), %eax
	leal	1(%eax), %esp
	shll	$12, %esp
	addl	$ap_stacks, %esp
	pushl	%eax
	call	*ap_entry
1:	cli
	hlt
	jmp	1b

	.section .note.GNU-stack, "", @progbits
