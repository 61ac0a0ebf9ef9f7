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
make -s BUILD=$B WITH_CUDA=0 OPT=-O1 SANITIZE=$SANITIZE lib $B/libds2_tools.a $B/obj/test/common/gguf_builder.o $B/obj/test/common/test_files.o $B/obj/test/common/test_random.o
OBJS=$(ls $B/obj/lib/*/*.o $B/obj/kernels/*.o $B/obj/kernels/*/*.o 2>/dev/null | grep -v cuda_plugin)
CXX="${CXX:-g++} $SAN -std=c++17 -O1 -g -Wall -Wno-unused-function -Itest/cuda_emu/shim -Icuda -Ilib -Iinclude"
EMU_OBJS=$E/emu.o
for f in cuda/*.cu; do
    n=$(basename "$f" .cu)
    /usr/bin/python3 test/cuda_emu/launch_rewrite.py "$f" "$E/$n.cc"
    $CXX -c "$E/$n.cc" -o "$E/cu_$n.o"
    EMU_OBJS="$EMU_OBJS $E/cu_$n.o"
done
$CXX -c test/cuda_emu/emu.cc -o $E/emu.o
# Link the backend directly instead of through the dlopen loader.
cat > $E/direct.c <<'EOC'
#include "base/backend.h"
extern const ds2_backend_i ds2_cuda_plugin_backend;
static ds2_status prep(const ds2_net *n, ds2_precision p, int d, void **m, ds2_err *e) { return ds2_cuda_plugin_backend.prepare(n, p, d, m, e); }
static void rel(void *m) { ds2_cuda_plugin_backend.release(m); }
static ds2_status sc(const ds2_net *n, const void *m, int t, int d, void **s, ds2_err *e) { return ds2_cuda_plugin_backend.session_create(n, m, t, d, s, e); }
static void sf(void *s) { ds2_cuda_plugin_backend.session_free(s); }
static ds2_status fw(void *s, ds2_forward_batch *b, ds2_err *e) { return ds2_cuda_plugin_backend.forward(s, b, e); }
const ds2_backend_i ds2_backend_cuda = {prep, rel, sc, sf, fw};
EOC
cc $SAN -std=c11 -O1 -g -Iinclude -Ilib -c $E/direct.c -o $E/direct.o
EMU_OBJS="$EMU_OBJS $E/direct.o"
LIBS="$(pkg-config --libs check) $(pkg-config --libs sndfile samplerate) -lopenblas -lm -lpthread"
sed 's/    sp.precision = precision;/    sp.precision = DS2_PRECISION_FP32; (void)precision; sp.device = DS2_DEVICE_GPU;/' \
    test/test_golden.c > $E/golden_on_gpu.c
grep -q DS2_DEVICE_GPU $E/golden_on_gpu.c || { echo "run.sh: test_golden.c changed; update the sed"; exit 1; }
for t in golden_on_gpu test_gpu; do
    src=$E/golden_on_gpu.c; [ $t = test_gpu ] && src=test/test_gpu.c
    cc $SAN -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude -Ilib -Ikernels -Itest/common -Itools/common -c $src -o $E/$t.o
    ${CXX%% *} $SAN -o $E/$t $E/$t.o $B/obj/test/common/gguf_builder.o $B/obj/test/common/test_files.o $B/obj/test/common/test_random.o $OBJS $EMU_OBJS $B/libds2_tools.a $LIBS
done
fail=0
echo "== golden cases on the emulated GPU (resampled_stereo_input uses the CPU)"
CK_FORK=no $E/golden_on_gpu || fail=1
echo "== test_gpu on the emulated GPU"
CK_FORK=no $E/test_gpu || fail=1
exit $fail
