# libds2 build. Sources are found by convention, so adding a file needs no edit here:
#   lib/<room>/*.c, kernels/*.c, kernels/<family>/*.c -> build/libds2.{a,so} (only *-<isa>.c gets
#                                     <isa> flags; libds2.so exports only DS2_API, i.e. ds2_*)
#   cuda/*.cu                      -> build/libds2_cuda.so when nvcc is found (WITH_CUDA=0/1
#                                     forces); libds2 dlopens it on first GPU use
#   tools/common/*.c               -> build/libds2_tools.a (what only tools and tests need)
#   tools/<name>/*.c               -> build/<name>
#   test/test_*.c (+ test/common)  -> build/test/test_*   (Check suites)
#   test/fuzz/fuzz_*.c             -> build/fuzz/fuzz_*   (libFuzzer targets, `make fuzz`)
# `make test` runs every suite plain and then under ASan+UBSan (build/asan/), then a 20 s
# libFuzzer smoke of each test/fuzz target (build/fuzz/, clang).

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
AMXFLAGS       := $(AVX512VNNIFLAGS) -mamx-tile -mamx-int8
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

.PHONY: all lib tools tests test test-plain test-python test-python-package test-asan test-tsan \
        bench install clean deps format fuzz fuzz-build fuzz-bins fuzz-smoke fuzz-seeds
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

$(BUILD)/obj/%-amx.o: %-amx.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AMXFLAGS) -MMD -MP -c $< -o $@

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
# tools/bench-peers' table logic on fake runner outputs (numpy only, no venv); tools/make-corpus's
# text splits against the committed eval sets (Debian's fortunes and wordnet-base); tools/build-lm's
# LMs normalised and read by the library (needs the tools built); tools/train-default-model's
# batch schedule and oversampling (tools/ds2_train_schedule.py, no torch) and its frequency warp
# (tools/ds2_vtlp.py, numpy).
test-python: tools
	/usr/bin/python3 tools/check-convert
	/usr/bin/python3 test/check_bench_peers.py
	/usr/bin/python3 test/check_default_pth.py
	/usr/bin/python3 test/check_corpus_text.py
	/usr/bin/python3 test/check_train_schedule.py
	/usr/bin/python3 test/check_vtlp.py
	/usr/bin/python3 test/check_wer_breakdown.py
	/usr/bin/python3 test/check_average.py
	BUILD=$(BUILD) /usr/bin/python3 test/check_grow_model.py
	BUILD=$(BUILD) test/check_build_lm.sh

# ThreadSanitizer (clang) over the suites that run sessions concurrently and split every
# recurrent step over threads: zero reports (OpenBLAS runs no thread of its own under libds2).
TSAN_SUITES := test_session test_cpu_backend test_soak
test-tsan:
	$(MAKE) BUILD=build/tsan SANITIZE=thread CC=clang WITH_CUDA=0 OPT=-O1 \
	    $(TSAN_SUITES:%=build/tsan/test/%)
	@for t in $(TSAN_SUITES); do echo "== tsan $$t"; \
	  TSAN_OPTIONS=halt_on_error=1:exitcode=66 CK_FORK=no build/tsan/test/$$t || exit 1; done

# The Python package (python/ds2, ctypes) against this build's libds2.so and ds2-transcribe, with
# the interpreter of `scripts/setup-venv.sh ray` (Debian's python3 + PyPI's pinned ray[serve]),
# so the Ray batch and Serve tests run; DS2_REQUIRE_RAY=1 makes them fail rather than skip.
# PYTEST_PYTHON=/usr/bin/python3 runs the suite without Ray (those tests then skip).
PYTEST_PYTHON ?=
test-python-package: $(BUILD)/libds2.so tools
	py="$(PYTEST_PYTHON)"; req=0; \
	if [ -z "$$py" ]; then py=$$(scripts/setup-venv.sh ray | tail -n 1) || exit 1; req=1; fi; \
	PYTHONPATH=python DS2_LIBRARY=$(BUILD)/libds2.so DS2_BUILD_DIR=$(BUILD) \
	  DS2_REQUIRE_RAY=$$req "$$py" -m pytest -q python/tests

test: test-plain test-python test-python-package test-asan test-tsan fuzz-smoke

# libFuzzer targets (test/fuzz/fuzz_<name>.c, clang): the library and tools/common built again
# with -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/. `make fuzz` runs each
# target FUZZ_SECONDS on its committed seeds (test/fuzz/corpus/<name>/, read only) plus a
# working corpus in build/fuzz/corpus/<name>/; any crash, leak or UBSan report fails, and the
# input is left as build/fuzz/crash-<name>-*. FUZZ_FLAGS adds libFuzzer options (-jobs=N ...).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
FUZZ_NAMES   := $(patsubst test/fuzz/fuzz_%.c,%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(BUILD)/fuzz_%)
# OpenBLAS keeps per-thread buffers to exit; libsndfile 1.2.0 + libvorbis leak on some malformed
# Ogg Vorbis headers inside sf_open (issue 16: nothing libds2 holds or can free).
FUZZ_ENV     := LSAN_OPTIONS=suppressions=$(CURDIR)/test/fuzz/lsan.supp:print_suppressions=0 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

fuzz-build:
	$(MAKE) BUILD=build/fuzz CC=$(FUZZ_CC) SANITIZE=fuzzer-no-link,address,undefined WITH_CUDA=0 \
	  OPT=-O1 fuzz-bins

fuzz-bins: $(FUZZ_BINS)

$(FUZZ_BINS): $(BUILD)/fuzz_%: $(BUILD)/obj/test/fuzz/fuzz_%.o $(TOOLS_LIB) $(BUILD)/libds2.a
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(TOOLS_LIB) $(BUILD)/libds2.a $(LDLIBS)

fuzz: fuzz-build
	@fail=0; for t in $(FUZZ_NAMES); do echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
	  mkdir -p build/fuzz/corpus/$$t; \
	  $(FUZZ_ENV) build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -timeout=25 -rss_limit_mb=2048 -artifact_prefix=build/fuzz/crash-$$t- $(FUZZ_FLAGS) \
	    build/fuzz/corpus/$$t test/fuzz/corpus/$$t > build/fuzz/$$t.log 2>&1; rc=$$?; \
	  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|cov: .*DONE' build/fuzz/$$t.log; \
	  [ $$rc -eq 0 ] || { tail -40 build/fuzz/$$t.log; echo "FUZZ FAILED: $$t (build/fuzz/$$t.log)"; \
	    fail=1; }; done; exit $$fail

# The short run `make test` includes (about 1 min of fuzzing plus the clang build).
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20

# Regenerates the committed seeds (tiny models, 400-sample audio in each format, manifests).
# Kept by hand beside them: past findings (audio_load/vorbis-bad-header.ogg,
# model_run/nan-weights-int8-conv.gguf), run again at the start of every fuzz run.
fuzz-seeds: $(BUILD)/fuzz-make-seeds
	$(BUILD)/fuzz-make-seeds
	cp test/golden/unirnn.gguf test/fuzz/corpus/model_load/
	cp test/fuzz/corpus/model_load/tiny-*.gguf test/fuzz/corpus/model_run/

$(BUILD)/fuzz-make-seeds: $(BUILD)/obj/test/fuzz/make_seeds.o $(BUILD)/obj/test/common/gguf_builder.o \
                          $(BUILD)/obj/test/common/test_random.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	scripts/install-deps.sh

# The main benchmark: greedy and beam search with the bundled LM per condition (BENCH_LM= for
# greedy only).
BENCH_LM ?= data/lm-3gram.arpa
bench: all
	$(BUILD)/ds2-bench $(if $(BENCH_LM),--lm $(BENCH_LM))

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
