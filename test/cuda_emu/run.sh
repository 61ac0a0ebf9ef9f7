#!/bin/sh
# Runs the GPU backend's real code on the CPU through a host emulation of CUDA and cuBLAS
# (test/cuda_emu/emu.cc): test/test_golden.c with every session forced onto the GPU backend
# (PyTorch golden probabilities within 1e-4, transcripts equal), and test/test_gpu.c whose device
# suite then runs (GPU vs CPU backend). For machines without a GPU; slow (minutes), not part of
# `make test`. Run from the repository root: test/cuda_emu/run.sh
# SANITIZE=address,undefined test/cuda_emu/run.sh also catches out-of-bounds kernel accesses
# (emulated device memory is malloc'd to the exact size).
set -e
SAN=${SANITIZE:+-fsanitize=$SANITIZE -fno-omit-frame-pointer}
B=build/cuda-emu${SANITIZE:+-asan}
E=$B/emu
mkdir -p $E
make -s BUILD=$B WITH_CUDA=0 OPT=-O1 SANITIZE=$SANITIZE lib $B/obj/test/common/gguf_builder.o
OBJS=$(ls $B/obj/lib/*.o $B/obj/kernels/*/*.o 2>/dev/null | grep -v backend_cuda_stub)
CXX="${CXX:-g++} $SAN -std=c++17 -O1 -g -Wall -Wno-unused-function -Itest/cuda_emu/shim -Icuda -Ilib -Iinclude"
EMU_OBJS=$E/emu.o
for f in cuda/*.cu; do
    n=$(basename "$f" .cu)
    /usr/bin/python3 test/cuda_emu/launch_rewrite.py "$f" "$E/$n.cc"
    $CXX -c "$E/$n.cc" -o "$E/cu_$n.o"
    EMU_OBJS="$EMU_OBJS $E/cu_$n.o"
done
$CXX -c test/cuda_emu/emu.cc -o $E/emu.o
EXTRA=
if ! nm $OBJS 2>/dev/null | grep -q ' [DR] ds2_backend_cpu_fp32$'; then
    # Until the CPU backends land: stubs, so the API links (CPU comparisons then fail).
    cat > $E/cpu_stub.c <<'STUB'
#include "backend.h"
static ds2_status p(const ds2_net *n, int d, void **m, ds2_err *e) { (void)n; (void)d; *m = 0; return ds2_fail(e, DS2_ERR_NOT_BUILT, "no CPU backend yet"); }
static void r(void *m) { (void)m; }
static ds2_status sc(const ds2_net *n, const void *m, int t, int d, void **s, ds2_err *e) { (void)n; (void)m; (void)t; (void)d; *s = 0; return ds2_fail(e, DS2_ERR_NOT_BUILT, "no CPU backend yet"); }
static ds2_status f(void *s, ds2_forward_batch *b, ds2_err *e) { (void)s; (void)b; return ds2_fail(e, DS2_ERR_NOT_BUILT, "no CPU backend yet"); }
const ds2_backend_i ds2_backend_cpu_fp32 = {"cpu-fp32", p, r, sc, r, f};
const ds2_backend_i ds2_backend_cpu_int8 = {"cpu-int8", p, r, sc, r, f};
STUB
    cc $SAN -std=c11 -Iinclude -Ilib -c $E/cpu_stub.c -o $E/cpu_stub.o
    EXTRA=$E/cpu_stub.o
    echo "note: no CPU backend in this tree: CPU comparisons will fail"
fi
LIBS="$(pkg-config --libs check) $(pkg-config --libs sndfile samplerate) -lopenblas -lm -lpthread"
sed 's/    sp.precision = precision;/    sp.precision = DS2_PRECISION_FP32; (void)precision; sp.device = DS2_DEVICE_GPU;/' \
    test/test_golden.c > $E/golden_on_gpu.c
for t in golden_on_gpu test_gpu; do
    src=$E/golden_on_gpu.c; [ $t = test_gpu ] && src=test/test_gpu.c
    cc $SAN -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude -Ilib -Itest/common -c $src -o $E/$t.o
    ${CXX%% *} $SAN -o $E/$t $E/$t.o $B/obj/test/common/gguf_builder.o $OBJS $EMU_OBJS $EXTRA $LIBS
done
fail=0
echo "== golden cases on the emulated GPU (resampled_stereo_input uses the CPU)"
CK_FORK=no $E/golden_on_gpu || fail=1
echo "== test_gpu on the emulated GPU"
CK_FORK=no $E/test_gpu || fail=1
exit $fail
