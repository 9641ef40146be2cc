# vintc build.  `make` builds libvintc.a, the CLI, the tests and the x86
# test guests into build/;
# `make check` runs every test; SAN=address / SAN=thread build into
# build-asan/ / build-tsan/ and run the same suite.

CC      ?= cc
SAN     ?=
WERROR  ?=
V       ?=

ifeq ($(SAN),)
BUILD   := build
SANFLAGS :=
OPT     := -O2
else ifeq ($(SAN),address)
BUILD   := build-asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     := -O1
else ifeq ($(SAN),thread)
BUILD   := build-tsan
SANFLAGS := -fsanitize=thread
OPT     := -O1
else ifeq ($(SAN),fuzz)
BUILD   := build-fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     := -O1
ifeq ($(findstring clang,$(CC)),)
$(error SAN=fuzz needs clang (libFuzzer): make SAN=fuzz CC=clang, or make fuzz)
endif
else
$(error SAN must be empty, address, thread or fuzz)
endif

ifneq ($(CC),cc)
ifneq ($(findstring clang,$(CC)),)
ifneq ($(SAN),fuzz)
BUILD   := $(BUILD)-clang
endif
endif
endif

CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
ifneq ($(WERROR),)
WARN    += -Werror
endif
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -pthread -Iinclude -MMD -MP
LDFLAGS += $(SANFLAGS) -pthread

ifeq ($(V),)
Q := @
else
Q :=
endif

LIB_SRCS   := $(sort $(wildcard host/*.c hw/*.c hyp/*.c sim/*.c kvm/*.c kvm/*/*.c))
CLI_SRCS   := $(sort $(wildcard tools/vintc/*.c))
TEST_SRCS  := $(sort $(wildcard tests/*.c tests/*/*.c))
BENCH_SRCS := $(sort $(wildcard bench/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB   := $(BUILD)/libvintc.a
CLI   := $(BUILD)/vintc
TESTS := $(BUILD)/vintc-tests
BENCH := $(BUILD)/vintc-bench

# Test guests: freestanding 32-bit x86 Multiboot kernels, built with the
# machine's gcc (not $(CC), and never with sanitizers: they run on bare
# virtual hardware) and linked at 4 MiB by guests/guest.ld.  Each
# guests/NAME.c becomes $(BUILD)/guests/NAME.elf with guests/lib/.
GUEST_CC      := gcc
GUEST_LD      := ld
GUEST_CFLAGS  := -m32 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -nostdlib \
		 -O2 -g -Wall -Wextra -fno-asynchronous-unwind-tables -Iguests/lib -MMD -MP
ifneq ($(WERROR),)
GUEST_CFLAGS  += -Werror
endif
GUEST_LDFLAGS := -m elf_i386 -T guests/guest.ld -z max-page-size=0x1000 --build-id=none
GUEST_LIB_SRCS := $(sort $(wildcard guests/lib/*.c guests/lib/*.S))
GUEST_SRCS    := $(sort $(wildcard guests/*.c))
GUEST_LIB_OBJS := $(patsubst %,$(BUILD)/guests/obj/%.o,$(GUEST_LIB_SRCS))
# x86 code: only an x86 host can run (or, without a cross toolchain, build) it.
ifeq ($(shell uname -m),x86_64)
GUESTS        := $(patsubst guests/%.c,$(BUILD)/guests/%.elf,$(GUEST_SRCS))
else
GUESTS        :=
endif
# PVH guests: guests/pvh/NAME.c becomes $(BUILD)/guests/NAME.elf, entered
# through an ELF note (guests/pvh/start.S, guests/pvh/pvh.ld) instead of
# guests/lib/start.S's Multiboot header, which the loader would prefer.
PVH_GUEST_SRCS := $(sort $(wildcard guests/pvh/*.c))
PVH_GUEST_LIB_OBJS := $(filter-out %/start.S.o,$(GUEST_LIB_OBJS)) $(BUILD)/guests/obj/guests/pvh/start.S.o
PVH_GUESTS    := $(if $(GUESTS),$(patsubst guests/pvh/%.c,$(BUILD)/guests/%.elf,$(PVH_GUEST_SRCS)))
GUESTS        += $(PVH_GUESTS)
# bzImage guests: guests/bzimage/NAME.c becomes the flat $(BUILD)/guests/NAME.bin,
# a setup header (guests/bzimage/start.S) then the kernel linked at 1 MiB.
BZ_GUEST_SRCS := $(sort $(wildcard guests/bzimage/*.c))
BZ_GUEST_LIB_OBJS := $(filter-out %/start.S.o,$(GUEST_LIB_OBJS)) $(BUILD)/guests/obj/guests/bzimage/start.S.o
BZ_GUESTS     := $(if $(GUESTS),$(patsubst guests/bzimage/%.c,$(BUILD)/guests/%.bin,$(BZ_GUEST_SRCS)))
GUESTS        += $(BZ_GUESTS)
# Keep the objects (make would delete them as intermediates of the pattern).
.SECONDARY: $(GUEST_LIB_OBJS) $(patsubst %,$(BUILD)/guests/obj/%.o,$(GUEST_SRCS) $(PVH_GUEST_SRCS) $(BZ_GUEST_SRCS))

# Host tools of the Linux boot (see `make linux` below).
LINUX_TOOLS := $(BUILD)/tools/mkinitramfs $(BUILD)/tools/pingpong

.PHONY: all check bench run clean deps guests fuzz linux check-linux
all: $(LIB) $(CLI) $(TESTS) $(BENCH) $(GUESTS) $(LINUX_TOOLS)

guests: $(GUESTS)

deps:
	$(Q)CC="$(CC)" SAN="$(SAN)" sh tools/deps.sh

# Harnesses (tests, fuzz, bench) may reach private headers by their
# path from the top (e.g. "hyp/avic_priv.h"); the library and CLI may not.
HARNESS_CFLAGS := -I. -Itests -Itests/lib -Ikvm
$(BUILD)/obj/tests/%.o $(BUILD)/obj/fuzz/%.o $(BUILD)/obj/bench/%.o: ALL_CFLAGS += $(HARNESS_CFLAGS)
# A folder's subfolders (kvm/devices/) reach the folder's private headers.
$(BUILD)/obj/kvm/%.o: ALL_CFLAGS += -Ikvm

# The flags this build folder was made with.  Every object depends on the
# file, which is rewritten only when they change, so `make WERROR=1 check`
# after `make check` compiles everything again.
FLAGS_FILE := $(BUILD)/.flags
FLAGS_NOW  := $(CC) $(ALL_CFLAGS) $(HARNESS_CFLAGS) $(LDFLAGS) | $(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS)
$(shell mkdir -p $(BUILD) && printf '%s\n' '$(FLAGS_NOW)' | cmp -s - $(FLAGS_FILE) || \
	printf '%s\n' '$(FLAGS_NOW)' > $(FLAGS_FILE))

$(BUILD)/obj/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/guests/obj/%.o: % $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUESTCC $<")
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guests/%.elf: $(BUILD)/guests/obj/guests/%.c.o $(GUEST_LIB_OBJS) guests/guest.ld
	@$(if $(Q),echo "  GUESTLD $@")
	$(Q)$(GUEST_LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB_OBJS) $<

$(PVH_GUESTS): $(BUILD)/guests/%.elf: $(BUILD)/guests/obj/guests/pvh/%.c.o $(PVH_GUEST_LIB_OBJS) guests/pvh/pvh.ld
	@$(if $(Q),echo "  GUESTLD $@")
	$(Q)$(GUEST_LD) $(subst guests/guest.ld,guests/pvh/pvh.ld,$(GUEST_LDFLAGS)) -o $@ $(PVH_GUEST_LIB_OBJS) $<

$(BZ_GUESTS): $(BUILD)/guests/%.bin: $(BUILD)/guests/obj/guests/bzimage/%.c.o $(BZ_GUEST_LIB_OBJS) guests/bzimage/bzimage.ld
	@$(if $(Q),echo "  GUESTLD $@")
	$(Q)$(GUEST_LD) $(subst guests/guest.ld,guests/bzimage/bzimage.ld,$(GUEST_LDFLAGS)) -o $(BUILD)/guests/obj/$*.bzimage.elf $(BZ_GUEST_LIB_OBJS) $<
	$(Q)objcopy -O binary $(BUILD)/guests/obj/$*.bzimage.elf $@

$(LIB): $(call obj,$(LIB_SRCS))
	$(Q)rm -f $@ && ar rcs $@ $^

$(CLI): $(call obj,$(CLI_SRCS)) $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

$(TESTS): $(call obj,$(TEST_SRCS)) $(call obj,$(filter-out tools/vintc/main.c,$(CLI_SRCS))) $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

$(BENCH): $(call obj,$(BENCH_SRCS)) $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

# An unmodified Linux (tools/linux.sh): Debian's cloud kernel and
# busybox-static fetched with apt-get download into ~/.cache/vintc (outside
# the tree), an initramfs of guests/linux/ built by tools/mkinitramfs.c,
# all in $(BUILD)/linux/.  `make check-linux` boots it (tests/linux/):
# about 6 minutes per boot on a nested host, so not part of `make check`.
# The initramfs tool and the workload are built (and tested) by `make`.
LINUX_DIR   := $(BUILD)/linux
MKINITRAMFS := $(BUILD)/tools/mkinitramfs
PINGPONG    := $(BUILD)/tools/pingpong
LINUX_TIMEOUT ?= 3000

$(MKINITRAMFS): tools/mkinitramfs.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -o $@ $<

# Static, with the guests' compiler: it runs in the guest's initramfs.
$(PINGPONG): guests/linux/pingpong.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUESTCC $<")
	$(Q)$(GUEST_CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -static -o $@ $<

$(LINUX_DIR)/initrd.gz: tools/linux.sh $(wildcard guests/linux/*) $(MKINITRAMFS) $(PINGPONG)
	$(Q)sh tools/deps.sh linux
	$(Q)sh tools/linux.sh $(LINUX_DIR) $(MKINITRAMFS) $(PINGPONG)

linux: $(LINUX_DIR)/initrd.gz

check-linux: deps
	$(Q)$(MAKE) --no-print-directory $(TESTS) $(CLI) $(GUESTS) $(LINUX_DIR)/initrd.gz
	$(Q)VINTC_BIN=$(abspath $(CLI)) VINTC_LINUX=$(abspath $(LINUX_DIR)) \
		VINTC_GUESTS=$(abspath $(BUILD)/guests) VINTC_TOOLS=$(abspath $(BUILD)/tools) \
		VINTC_TEST_TIMEOUT=$(LINUX_TIMEOUT) $(TESTS) linux_

# The layering rule (tools/check_layers.sh) over the library's and the
# CLI's objects and sources: no upward reference, no other folder's private
# header.  `make layers` fails on a violation; in `make check` a violation
# fails only with LAYERS_STRICT=1.
LAYERS_STRICT ?= 1
LAYERS_CHECK = sh tools/check_layers.sh $(BUILD)/obj

.PHONY: layers
layers:
	$(Q)$(MAKE) --no-print-directory $(LIB) $(CLI)
	$(Q)$(LAYERS_CHECK)

# The runner forks each test, prints its own summary line last.
check: deps
	$(Q)$(MAKE) --no-print-directory $(TESTS) $(CLI) $(GUESTS) $(LINUX_TOOLS)
	$(Q)$(LAYERS_CHECK)$(if $(filter 1,$(LAYERS_STRICT)),, || echo "layering: not fatal (LAYERS_STRICT=0)")
	$(Q)VINTC_BIN=$(abspath $(CLI)) VINTC_GUESTS=$(abspath $(BUILD)/guests) \
		VINTC_TOOLS=$(abspath $(BUILD)/tools) $(TESTS)

bench: deps
	$(Q)$(MAKE) --no-print-directory $(BENCH) $(GUESTS)
	$(Q)VINTC_GUESTS=$(abspath $(BUILD)/guests) $(BENCH)

run: deps
	$(Q)$(MAKE) --no-print-directory $(CLI) $(GUESTS)
	$(Q)sh tools/demo.sh $(CLI)

# libFuzzer targets (fuzz/fuzz_*.c, see fuzz/README.md): the library with
# SAN=fuzz CC=clang, each target linked into build-fuzz/fuzz/, then each run
# for FUZZ_SECONDS on a copy of its seed corpus.  Fails on any crash.
FUZZ_SECONDS ?= 60
FUZZ_SRCS    := $(sort $(wildcard fuzz/fuzz_*.c))

$(BUILD)/fuzz/%: $(BUILD)/obj/fuzz/%.o $(call obj,$(filter-out tools/vintc/main.c,$(CLI_SRCS))) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^

fuzz:
	$(Q)CC=clang sh tools/deps.sh
	$(Q)$(MAKE) --no-print-directory SAN=fuzz CC=clang \
		$(patsubst fuzz/%.c,build-fuzz/fuzz/%,$(FUZZ_SRCS))
	$(Q)sh fuzz/run.sh $(FUZZ_SECONDS) build-fuzz/fuzz

# Soak (tools/soak.sh): churn and device-storm for SOAK_SECONDS each under
# ASan+UBSan and under TSan; fails on a lost interrupt, a leak or any
# sanitizer report.
SOAK_SECONDS ?= 600
.PHONY: soak
soak:
	$(Q)sh tools/soak.sh $(SOAK_SECONDS)

# Model checking (verify/): spin proves the AVIC and GICv5 delivery models
# and refutes their deliberately broken variants.
.PHONY: verify
verify:
	$(Q)CC="$(CC)" SAN="$(SAN)" sh tools/deps.sh verify
	$(Q)sh verify/run.sh

clean:
	rm -rf build build-* 

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
