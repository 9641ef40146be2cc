# vintc build.  `make` builds libvintc.a, the CLI and the tests into build/;
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
else
$(error SAN must be empty, address or thread)
endif

ifneq ($(CC),cc)
ifneq ($(findstring clang,$(CC)),)
BUILD   := $(BUILD)-clang
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

LIB_SRCS   := $(sort $(wildcard host/*.c hw/*.c hyp/*.c sim/*.c))
CLI_SRCS   := $(sort $(wildcard tools/vintc/*.c))
TEST_SRCS  := $(sort $(wildcard tests/*.c))
BENCH_SRCS := $(sort $(wildcard bench/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB   := $(BUILD)/libvintc.a
CLI   := $(BUILD)/vintc
TESTS := $(BUILD)/vintc-tests
BENCH := $(BUILD)/vintc-bench

.PHONY: all check bench run clean deps
all: $(LIB) $(CLI) $(TESTS) $(BENCH)

deps:
	$(Q)CC="$(CC)" SAN="$(SAN)" sh tools/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(call obj,$(LIB_SRCS))
	$(Q)rm -f $@ && ar rcs $@ $^

$(CLI): $(call obj,$(CLI_SRCS)) $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

$(TESTS): $(call obj,$(TEST_SRCS)) $(call obj,$(filter-out tools/vintc/main.c,$(CLI_SRCS))) $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

$(BENCH): $(call obj,$(BENCH_SRCS)) $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

# The runner forks each test, prints its own summary line last.
check: deps
	$(Q)$(MAKE) --no-print-directory $(TESTS) $(CLI)
	$(Q)VINTC_BIN=$(abspath $(CLI)) $(TESTS)

bench: deps
	$(Q)$(MAKE) --no-print-directory $(BENCH)
	$(Q)$(BENCH)

run: deps
	$(Q)$(MAKE) --no-print-directory $(CLI)
	$(Q)sh tools/demo.sh $(CLI)

clean:
	rm -rf build build-* 

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
