# SPDX-License-Identifier: MIT
#
# make              build/liblpc.a, build/liblpc.so, build/lpc.pc
# make test         Criterion suites, against every backend
# make SANITIZE=1 test   the same under ASan+UBSan (in build/san)
# make bench        benchmarks, printed as ratios against raw sockets/pipes
# make install PREFIX=/usr/local [DESTDIR=...]
# V=1 shows full commands; WERROR=1 turns warnings into errors.

VERSION := 0.1.0
PREFIX ?= /usr/local
CC ?= cc

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2)
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif

CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -fPIC -fvisibility=hidden \
		   -D_GNU_SOURCE -Iinclude -MMD -MP $(SANFLAGS)
override LDFLAGS += $(SANFLAGS)
LIBS := -luring -lpthread

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all test bench install clean check-tools

LIB_SRCS := $(wildcard lpc/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))

TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HELPERS := $(filter-out $(TEST_SRCS),$(wildcard tests/*.c))
TEST_HELPER_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_HELPERS))

BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BIN := $(BUILD)/bench/lpcbench

EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))

all: $(BUILD)/liblpc.a $(BUILD)/liblpc.so $(BUILD)/lpc.pc $(EXAMPLE_BINS)

$(BUILD)/examples/%: $(BUILD)/examples/%.o $(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%.o: %.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/liblpc.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# liblpc.so -> liblpc.so.0 (the soname) -> liblpc.so.$(VERSION), as installed.
$(BUILD)/liblpc.so: $(BUILD)/liblpc.so.$(VERSION)
	$(Q)ln -sf liblpc.so.$(VERSION) $(BUILD)/liblpc.so.0
	$(Q)ln -sf liblpc.so.0 $@

$(BUILD)/liblpc.so.$(VERSION): $(LIB_OBJS) lpc/liblpc.map
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,--version-script=lpc/liblpc.map \
		-Wl,-soname,liblpc.so.0 $(LDFLAGS) -o $@ $(LIB_OBJS) $(LIBS)

# The build-tree .pc points at this checkout; install writes its own.
$(BUILD)/lpc.pc: lpc/lpc.pc.in Makefile
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@PREFIX@|$(CURDIR)|' \
		-e 's|@INCLUDEDIR@|$(CURDIR)/include|' \
		-e 's|@LIBDIR@|$(CURDIR)/$(BUILD)|' \
		-e 's|@VERSION@|$(VERSION)|' $< > $@

# Tests link the static library: unit suites also reach internals.
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_HELPER_OBJS) $(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(TEST_HELPER_OBJS) $(BUILD)/liblpc.a \
		-lcriterion $(LIBS)

$(BUILD)/tests/%.o: override CFLAGS += -Ilpc -Itests

test: $(TEST_BINS)
	$(Q)LPC_BUILD=$(BUILD) ./scripts/run-tests $(TEST_BINS)

$(BENCH_BIN): $(patsubst %.c,$(BUILD)/%.o,$(BENCH_SRCS)) $(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lm

bench: $(BENCH_BIN)
	$(Q)$(BENCH_BIN)

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(PREFIX)/include/lpc \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	$(Q)install -m 644 include/lpc/*.h $(DESTDIR)$(PREFIX)/include/lpc/
	$(Q)install -m 755 $(EXAMPLE_BINS) $(DESTDIR)$(PREFIX)/bin/
	$(Q)install -m 644 $(BUILD)/liblpc.a $(DESTDIR)$(PREFIX)/lib/
	$(Q)install -m 755 $(BUILD)/liblpc.so.$(VERSION) \
		$(DESTDIR)$(PREFIX)/lib/liblpc.so.$(VERSION)
	$(Q)ln -sf liblpc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/liblpc.so.0
	$(Q)ln -sf liblpc.so.0 $(DESTDIR)$(PREFIX)/lib/liblpc.so
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@INCLUDEDIR@|$(PREFIX)/include|' \
		-e 's|@LIBDIR@|$(PREFIX)/lib|' \
		-e 's|@VERSION@|$(VERSION)|' lpc/lpc.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/lpc.pc

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
