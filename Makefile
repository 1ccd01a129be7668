# SPDX-License-Identifier: MIT
#
# make              liblpc, libcsr, csrd, csrcall, examples (in build/)
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
.PHONY: all test bench install clean check-tools FORCE fuzz-bins fuzz-tools \
	fuzz

LIB_SRCS := $(wildcard lpc/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))

# csr/: libcsr (the client API, installed), libcsrsrv (csrd's core and
# server DLLs, internal: csrd, the tests and the fuzz harnesses link it),
# and the two programs.
CSR_PROGS := csr/csrd.c csr/csrcall.c
CSR_CLIENT_SRCS := $(wildcard csr/client_*.c)
CSR_SRV_SRCS := $(filter-out $(CSR_PROGS) $(CSR_CLIENT_SRCS),$(wildcard csr/*.c))
CSR_CLIENT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CSR_CLIENT_SRCS))
CSR_SRV_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CSR_SRV_SRCS))
CSR_LIBS := $(BUILD)/libcsrsrv.a $(BUILD)/libcsr.a

TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HELPERS := $(filter-out $(TEST_SRCS),$(wildcard tests/*.c))
TEST_HELPER_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_HELPERS))

BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BIN := $(BUILD)/bench/lpcbench

EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))

# The fuzz harnesses' replay programs and the seed tools (fuzz/, below);
# defined here because all: needs them.
FUZZ_SHARED := fuzz/driver.c fuzz/util.c
FUZZ_SRCS := $(filter-out $(FUZZ_SHARED),$(wildcard fuzz/*.c))
FUZZ_BINS := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_TOOL_SRCS := $(wildcard fuzz/tools/*.c)
FUZZ_TOOLS := $(patsubst fuzz/tools/%.c,$(BUILD)/fuzz/tools/%,$(FUZZ_TOOL_SRCS))

all: $(BUILD)/liblpc.a $(BUILD)/liblpc.so $(BUILD)/lpc.pc $(EXAMPLE_BINS) \
	$(BUILD)/libcsr.a $(BUILD)/libcsr.so $(BUILD)/csrd $(BUILD)/csrcall \
	$(BUILD)/lpctrace $(FUZZ_BINS) $(FUZZ_TOOLS)

$(BUILD)/libcsr.a: $(CSR_CLIENT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libcsrsrv.a: $(CSR_SRV_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libcsr.so: $(BUILD)/libcsr.so.$(VERSION)
	$(Q)ln -sf libcsr.so.$(VERSION) $(BUILD)/libcsr.so.0
	$(Q)ln -sf libcsr.so.0 $@

$(BUILD)/libcsr.so.$(VERSION): $(CSR_CLIENT_OBJS) csr/libcsr.map \
		$(BUILD)/liblpc.so
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,--version-script=csr/libcsr.map \
		-Wl,-soname,libcsr.so.0 $(LDFLAGS) -o $@ $(CSR_CLIENT_OBJS) \
		-L$(BUILD) -llpc $(LIBS)

$(BUILD)/csrd: $(BUILD)/csr/csrd.o $(BUILD)/libcsrsrv.a $(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/csrcall: $(BUILD)/csr/csrcall.o $(CSR_LIBS) $(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The traffic generator of lpctrace's tests also makes CSR calls.
$(BUILD)/examples/lpc-traffic: $(BUILD)/examples/lpc-traffic.o \
		$(BUILD)/libcsr.a $(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

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

# bpf/ + trace/: lpctrace.  vmlinux.h is generated from the running
# kernel's BTF when the build needs it and never committed; one chain
# %.bpf.o -> %.skel.h -> the tracer's objects (libbpf-bootstrap's).
BPF_CLANG ?= clang
BPFTOOL ?= bpftool
BPF_ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null)
TRACE_SRCS := $(wildcard trace/*.c)
TRACE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TRACE_SRCS))

$(BUILD)/bpf/vmlinux.h:
	$(call msg,GEN,$@)
	@mkdir -p $(@D)
	@test -r /sys/kernel/btf/vmlinux || { echo "no /sys/kernel/btf/vmlinux:" \
		"lpctrace needs a kernel built with CONFIG_DEBUG_INFO_BTF" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%.h $(BUILD)/bpf/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(BPF_CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 $(WARN) \
		-I$(BUILD)/bpf -Ibpf -idirafter $(BPF_ARCH_INC) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GENSKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(TRACE_OBJS): $(BUILD)/bpf/lpctrace.skel.h
$(TRACE_OBJS): override CFLAGS += -I$(BUILD)/bpf -Ibpf -Itrace -Ilpc -Icsr

$(BUILD)/lpctrace: $(TRACE_OBJS) $(BUILD)/libcsrsrv.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TRACE_OBJS) $(BUILD)/libcsrsrv.a \
		-lbpf -lelf -lz

# fuzz/: a harness per fuzz/<target>.c (fuzz/fuzz.h), sharing driver.c
# (the AFL++ persistent loop, or stdin/file replay under plain cc) and
# util.c.  make builds the replay programs; scripts/fuzz builds the AFL++,
# sanitizer, CmpLog and libFuzzer variants into their own BUILD dirs with
# CC=afl-clang-fast (or FUZZ_ENGINE=libfuzzer CC=clang).
# OSS-Fuzz passes its own engine ($LIB_FUZZING_ENGINE).
FUZZ_LIBFUZZER ?= -fsanitize=fuzzer
ifeq ($(FUZZ_ENGINE),libfuzzer)
FUZZ_MAIN := $(BUILD)/fuzz/util.o
FUZZ_LINK := $(FUZZ_LIBFUZZER)
else
FUZZ_MAIN := $(BUILD)/fuzz/driver.o $(BUILD)/fuzz/util.o
FUZZ_LINK :=
endif

$(BUILD)/fuzz/%.o: override CFLAGS += -Ilpc -Icsr -Ifuzz

$(FUZZ_BINS): $(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(FUZZ_MAIN) \
		$(BUILD)/libcsrsrv.a $(BUILD)/libcsr.a $(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $(FUZZ_LINK) -o $@ $^ $(LIBS)

fuzz-bins: $(FUZZ_BINS)

# fuzz/tools/: seed generators and corpus helpers, plain programs.
$(BUILD)/fuzz/tools/%.o: override CFLAGS += -Ilpc -Icsr -Ifuzz
$(FUZZ_TOOLS): $(BUILD)/fuzz/tools/%: $(BUILD)/fuzz/tools/%.o \
		$(BUILD)/fuzz/util.o $(BUILD)/libcsrsrv.a $(BUILD)/libcsr.a \
		$(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

fuzz-tools: $(FUZZ_TOOLS)

# A campaign (scripts/fuzz, docs/fuzzing.md): FUZZ_TIME seconds in all.
FUZZ_TIME ?= 180
fuzz:
	$(Q)./scripts/fuzz -t $(FUZZ_TIME)

# Tests link the static library: unit suites also reach internals.
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_HELPER_OBJS) $(CSR_LIBS) \
		$(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(TEST_EXTRA_OBJS) $(TEST_HELPER_OBJS) \
		$(CSR_LIBS) $(BUILD)/liblpc.a -lcriterion $(LIBS)

$(BUILD)/tests/%.o: override CFLAGS += -Ilpc -Icsr -Itests

# The corpus suite also checks the harnesses' failure log (fuzz/util.c).
$(BUILD)/tests/test_fuzz_corpus: $(BUILD)/fuzz/util.o
$(BUILD)/tests/test_fuzz_corpus: TEST_EXTRA_OBJS := $(BUILD)/fuzz/util.o

# The CSR suites start build/csrd; the probe suite reads liblpc.so; the
# lpctrace suite runs lpctrace on lpc-traffic; the example suites run the
# examples.
test: $(TEST_BINS) $(BUILD)/csrd $(BUILD)/csrcall $(BUILD)/liblpc.so \
		$(BUILD)/lpctrace $(EXAMPLE_BINS) $(FUZZ_BINS)
	$(Q)LPC_BUILD=$(BUILD) ./scripts/run-tests $(TEST_BINS)

$(BENCH_BIN): $(patsubst %.c,$(BUILD)/%.o,$(BENCH_SRCS)) $(BUILD)/libcsr.a \
		$(BUILD)/liblpc.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lm

# The CSR mechanisms exec the csrd of this build.
$(BUILD)/bench/mech_csr.o: override CFLAGS += \
	-DLPCBENCH_CSRD='"$(abspath $(BUILD))/csrd"'

# liblpc without its probes, for the probe-cost baseline.
# The sub-make knows its dependencies (its .d files): always ask it.
$(BUILD)/noprobes/examples/lpc-echo: FORCE
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/noprobes \
		CFLAGS="-O2 -g -DLPC_NO_PROBES" $@

bench: $(BENCH_BIN) $(BUILD)/csrd $(BUILD)/lpctrace $(BUILD)/examples/lpc-echo \
		$(BUILD)/noprobes/examples/lpc-echo
	$(Q)$(BENCH_BIN)
	$(Q)LPC_BUILD=$(BUILD) ./scripts/bench-trace

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(PREFIX)/include/lpc \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	$(Q)install -m 644 include/lpc/*.h $(DESTDIR)$(PREFIX)/include/lpc/
	$(Q)install -m 755 $(EXAMPLE_BINS) $(BUILD)/csrd $(BUILD)/csrcall \
		$(DESTDIR)$(PREFIX)/bin/
	$(Q)install -m 644 $(BUILD)/liblpc.a $(BUILD)/libcsr.a \
		$(DESTDIR)$(PREFIX)/lib/
	$(Q)install -m 755 $(BUILD)/libcsr.so.$(VERSION) \
		$(DESTDIR)$(PREFIX)/lib/libcsr.so.$(VERSION)
	$(Q)ln -sf libcsr.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libcsr.so.0
	$(Q)ln -sf libcsr.so.0 $(DESTDIR)$(PREFIX)/lib/libcsr.so
	$(Q)install -m 755 $(BUILD)/liblpc.so.$(VERSION) \
		$(DESTDIR)$(PREFIX)/lib/liblpc.so.$(VERSION)
	$(Q)ln -sf liblpc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/liblpc.so.0
	$(Q)ln -sf liblpc.so.0 $(DESTDIR)$(PREFIX)/lib/liblpc.so
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@INCLUDEDIR@|$(PREFIX)/include|' \
		-e 's|@LIBDIR@|$(PREFIX)/lib|' \
		-e 's|@VERSION@|$(VERSION)|' lpc/lpc.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/lpc.pc
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@INCLUDEDIR@|$(PREFIX)/include|' \
		-e 's|@LIBDIR@|$(PREFIX)/lib|' \
		-e 's|@VERSION@|$(VERSION)|' csr/csr.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/csr.pc

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
