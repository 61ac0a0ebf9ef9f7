# libds2 build. Sources are found by convention, so adding a file needs no edit here:
#   lib/<room>/*.c, kernels/*.c, kernels/<family>/*.c -> build/libds2.{a,so} (only *-<isa>.c gets
#                                     <isa> flags; libds2.so exports only DS2_API, i.e. ds2_*)
#   cuda/*.cu                      -> build/libds2_cuda.so when nvcc is found (WITH_CUDA=0/1
#                                     forces); libds2 dlopens it on first GPU use
#   tools/common/*.c               -> build/libds2_tools.a (what only tools and tests need)
#   tools/<name>/*.c               -> build/<name>
#   test/test_*.c (+ test/common)  -> build/test/test_*   (Check suites)
# `make test` runs every suite plain and then under ASan+UBSan (build/asan/).

PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= cc
NVCC      ?= $(shell command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
WITH_CUDA ?= $(if $(wildcard $(NVCC)),1,0)
SANITIZE  ?=

OPT       ?= -O2
CFLAGS    ?= $(OPT) -g
CFLAGS    += -std=c11 -D_GNU_SOURCE -Wall -Wextra -fPIC -pthread -fvisibility=hidden \
             -Iinclude -Ilib -Ikernels
CFLAGS    += $(shell pkg-config --cflags sndfile samplerate 2>/dev/null)
# ISA flags per file, never per build: only a tier's own files may contain its instructions, and
# the dispatch tables (kernels/cpuinfo.c) decide at run time whether they are called.
AVX2FLAGS      := -mavx2 -mfma -mf16c
AVX512FLAGS    := $(AVX2FLAGS) -mavx512f -mavx512bw -mavx512vl -mavx512dq
AVX512VNNIFLAGS := $(AVX512FLAGS) -mavx512vnni
LDLIBS    := $(shell pkg-config --libs sndfile samplerate 2>/dev/null || echo -lsndfile -lsamplerate) \
             -lopenblas -lm -lpthread
ifneq ($(SANITIZE),)
CFLAGS    += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=$(SANITIZE)
endif

LIB_SRC   := $(wildcard lib/*/*.c) $(wildcard kernels/*.c) $(wildcard kernels/*/*.c)
CUDA_SRC  := $(wildcard cuda/*.cu)
ifeq ($(WITH_CUDA),1)
CUDA_PLUGIN := $(BUILD)/libds2_cuda.so
CUDA_LIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
NVFLAGS   ?= -O2 -std=c++17 -Xcompiler -fPIC,-Wall,-fvisibility=hidden -Iinclude -Ilib \
             -gencode arch=compute_90,code=sm_90 -gencode arch=compute_75,code=compute_75
endif

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CUDA_OBJ  := $(CUDA_SRC:%.cu=$(BUILD)/obj/%.cu.o)
LDLIBS    += -ldl
TOOLS_COMMON := $(wildcard tools/common/*.c)
TOOLS_LIB := $(BUILD)/libds2_tools.a
TOOLS     := $(filter-out common,$(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/*.c)))))
TOOL_BINS := $(sort $(TOOLS:%=$(BUILD)/%))
TEST_SRC  := $(wildcard test/test_*.c)
TEST_COMMON := $(wildcard test/common/*.c)
TEST_BINS := $(TEST_SRC:test/%.c=$(BUILD)/test/%)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

.PHONY: all lib tools tests test test-plain test-python test-asan bench install clean deps format
all: lib tools

lib: $(BUILD)/libds2.a $(BUILD)/libds2.so $(CUDA_PLUGIN)
tools: $(TOOL_BINS)
tests: $(TEST_BINS)

# Only tools and tests see tools/common and test/common; the library sees neither.
$(BUILD)/obj/tools/%.o: CFLAGS += -Itools/common
$(BUILD)/obj/test/%.o: CFLAGS += -Itest/common -Itools/common

$(BUILD)/obj/%-avx2.o: %-avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX2FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%-avx512.o: %-avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%-avx512vnni.o: %-avx512vnni.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512VNNIFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(BUILD)/libds2.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libds2.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(TOOLS_LIB): $(TOOLS_COMMON:%.c=$(BUILD)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

# The CUDA backend as a plugin. It links its own copies of the two leaf objects it shares with
# lib/ (ds2_fail, ds2_net_validate: hidden, so neither side sees the other's) and calls nothing
# in libds2.
$(BUILD)/libds2_cuda.so: $(CUDA_OBJ) $(BUILD)/obj/lib/base/error.o $(BUILD)/obj/lib/format/net.o
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(CUDA_LIBS)

.SECONDEXPANSION:
# A function, not an inline patsubst: every `%` in a pattern rule's prerequisites is the stem.
tool_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/$(1)/*.c))
$(TOOL_BINS): $(BUILD)/%: $$(call tool_objs,$$*) $(TOOLS_LIB) $(BUILD)/libds2.a | $(CUDA_PLUGIN)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(TOOLS_LIB) $(BUILD)/libds2.a $(LDLIBS)

$(TEST_BINS): $(BUILD)/test/%: $(BUILD)/obj/test/%.o $(TEST_COMMON:%.c=$(BUILD)/obj/%.o) $(TOOLS_LIB) $(BUILD)/libds2.a | $(CUDA_PLUGIN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(TOOLS_LIB) $(BUILD)/libds2.a $(CHECK_LIBS) $(LDLIBS)

# Each suite runs from the repository root (golden files are found relative to it).
# Exit status 77 means "skipped" (e.g. test_gpu without a CUDA device): shown, not counted as
# passed or failed.
test-plain: $(TEST_BINS) tools $(BUILD)/libds2.so
	@fail=0; skipped=; for t in $(TEST_BINS); do echo "== $$t"; CK_FORK=yes $$t; rc=$$?; \
	  if [ $$rc -eq 77 ]; then echo "SKIPPED: $$t"; skipped="$$skipped $$t"; \
	  elif [ $$rc -ne 0 ]; then fail=1; fi; done; \
	  echo "== test/cli.sh"; BUILD=$(BUILD) test/cli.sh || fail=1; \
	  if [ -n "$$skipped" ]; then echo "== SKIPPED suites:$$skipped"; fi; exit $$fail

test-asan:
	$(MAKE) BUILD=build/asan SANITIZE=address,undefined WITH_CUDA=0 OPT=-O1 test-plain

# The converter's own check: folded GGUF re-run in numpy against PyTorch's golden outputs;
# tools/bench-peers' table logic on fake runner outputs (numpy only, no venv); tools/build-lm's
# LMs normalised and read by the library (needs the tools built).
test-python: tools
	/usr/bin/python3 tools/check-convert
	/usr/bin/python3 test/check_bench_peers.py
	BUILD=$(BUILD) test/check_build_lm.sh

test: test-plain test-python test-asan

deps:
	scripts/install-deps.sh

bench: all
	$(BUILD)/ds2-bench

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/ds2.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libds2.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libds2.so $(CUDA_PLUGIN) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(TOOL_BINS) tools/ds2-convert $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/lib/ds2
	install -m 644 tools/ds2_checkpoint.py tools/ds2gguf.py $(DESTDIR)$(PREFIX)/lib/ds2/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/.*DS2_VERSION_STRING "\(.*\)"/\1/p' include/ds2.h)|' \
	    -e 's|@LIBS@|$(LDLIBS)|' ds2.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ds2.pc

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cu')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
