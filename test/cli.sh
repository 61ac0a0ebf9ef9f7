#!/bin/bash
# The command-line tools on bad and good input: clear messages and exit codes, never a crash
# (exit status >= 128 would be a signal). Run from the repository root after `make`.
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
# expect NAME STATUS PATTERN -- command...: exit status and a stderr/stdout pattern.
expect() {
    local name=$1 want=$2 pattern=$3
    shift 4
    "$@" > "$T/out" 2>&1
    local got=$?
    if [ "$got" -eq "$want" ] && grep -q -- "$pattern" "$T/out"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name: exit $got (want $want), output:"; sed 's/^/    /' "$T/out"
    fi
}
M=test/golden/bigru.gguf
W=test/golden/speech.wav
head -c 5000 $M > "$T/truncated.gguf"
printf 'hello' > "$T/empty.wav"; : > "$T/zero.wav"
echo "not audio at all" > "$T/text.wav"
expect "good file" 0 "speech.wav	" -- $B/ds2-transcribe -m $M $W
expect "8 kHz stereo" 0 "speech-8k-stereo.wav	" -- $B/ds2-transcribe -m $M test/golden/speech-8k-stereo.wav
expect "int8" 0 "speech.wav	" -- $B/ds2-transcribe -m $M --precision int8 -t 2 $W
expect "chunked" 0 "speech.wav	" -- $B/ds2-transcribe -m $M --chunk-seconds 0.5 $W
expect "probs" 0 "speech.wav	" -- $B/ds2-transcribe -m $M --probs "$T/p" $W
expect "never chunk" 0 "speech.wav	" -- $B/ds2-transcribe -m $M --chunk-seconds 0 $W
expect "negative chunk" 2 "chunk-seconds" -- $B/ds2-transcribe -m $M --chunk-seconds -1 $W
# Default chunking of a file over 60 s (70 s: speech.wav tiled): the same output as 60 s chunks
# asked for, and other frames than a whole run (--chunk-seconds 0).
/usr/bin/python3 -c "import wave, numpy as np
r = wave.open('$W'); x = np.frombuffer(r.readframes(r.getnframes()), '<i2'); rate = r.getframerate()
y = np.tile(x, 70 * rate // len(x) + 1)[:70 * rate]
w = wave.open('$T/long.wav', 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
w.writeframes(y.tobytes()); w.close()"
for c in default 60 0; do
    a=; [ $c = default ] || a="--chunk-seconds $c"
    expect "70 s, chunks $c" 0 "long.wav	" -- $B/ds2-transcribe -m $M $a --probs "$T/long-$c" "$T/long.wav"
done
expect "70 s default = 60 s chunks" 0 "ok" -- /usr/bin/python3 -c "import numpy as np
d, c, w = (np.load('$T/long-%s/long.npy' % k) for k in ('default', '60', '0'))
print('ok' if d.tobytes() == c.tobytes() and d.shape[0] == w.shape[0] + 1 else f'{d.shape} {c.shape} {w.shape}')"
[ -s "$T/p/speech.npy" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL probs: no speech.npy"; }
expect "missing model" 1 "cannot open model" -- $B/ds2-transcribe -m "$T/nope.gguf" $W
expect "truncated model" 1 "truncated or corrupt\|outside the file" -- $B/ds2-transcribe -m "$T/truncated.gguf" $W
expect "text as model" 1 "not a GGUF" -- $B/ds2-transcribe -m test/golden/golden.json $W
expect "missing audio" 1 "nope.wav" -- $B/ds2-transcribe -m $M "$T/nope.wav"
expect "empty audio" 1 "zero.wav" -- $B/ds2-transcribe -m $M "$T/zero.wav"
expect "text as audio" 1 "text.wav" -- $B/ds2-transcribe -m $M "$T/text.wav"
# A FIFO with no writer must be refused, not block: timeout's 124 would fail the exit check.
mkfifo "$T/fifo"
expect "fifo as model" 1 "a FIFO" -- timeout 20 $B/ds2-transcribe -m "$T/fifo" $W
expect "fifo as audio" 1 "a FIFO" -- timeout 20 $B/ds2-transcribe -m $M "$T/fifo"
expect "fifo as manifest" 1 "a FIFO" -- timeout 20 $B/ds2-bench -q -m $M -e "$T/fifo" -n 1 -T 1
expect "bad threads" 2 "threads" -- $B/ds2-transcribe -m $M --threads 0 $W
expect "bad precision" 2 "precision" -- $B/ds2-transcribe -m $M --precision fp8 $W
expect "beam" 0 "speech.wav	" -- $B/ds2-transcribe -m $M --decoder beam --beam-width 8 $W
expect "beam + lm + timestamps" 0 '"words": \[{"word": ' -- $B/ds2-transcribe -m $M --decoder beam --lm test/golden/tiny.arpa --alpha 0.5 --beta 1 --beam-width 16 --timestamps $W
expect "greedy timestamps" 0 '"start": ' -- $B/ds2-transcribe -m $M --timestamps $W
expect "bad beam width" 1 "beam_width" -- $B/ds2-transcribe -m $M --decoder beam --beam-width -1 $W
expect "alpha nan" 2 "alpha" -- $B/ds2-transcribe -m $M --decoder beam --alpha nan $W
expect "pyctcdecode scoring and pruning" 0 "speech.wav	" -- $B/ds2-transcribe -m $M --decoder beam --lm test/golden/tiny.arpa --alpha 0.5 --beta 1 --beam-width 16 --unk-score-offset -2 --token-min-logp -5 --beam-prune-logp -10 $W
expect "unk offset nan" 2 "unk-score-offset" -- $B/ds2-transcribe -m $M --decoder beam --unk-score-offset nan $W
expect "unk offset positive" 1 "unk_score_offset" -- $B/ds2-transcribe -m $M --decoder beam --unk-score-offset 2 $W
expect "token min logp positive" 1 "token_min_logp" -- $B/ds2-transcribe -m $M --decoder beam --token-min-logp 1 $W
expect "beam prune logp nan" 2 "beam-prune-logp" -- $B/ds2-transcribe -m $M --decoder beam --beam-prune-logp nan $W
expect "bad decoder" 2 "decoder" -- $B/ds2-transcribe -m $M --decoder viterbi $W
expect "lm without beam" 2 "needs --decoder beam" -- $B/ds2-transcribe -m $M --lm test/golden/tiny.arpa $W
expect "missing lm" 1 "nope.arpa" -- $B/ds2-transcribe -m $M --decoder beam --lm "$T/nope.arpa" $W
expect "model as lm" 1 "not an ARPA" -- $B/ds2-transcribe -m $M --decoder beam --lm $M $W
expect "fifo as lm" 1 "a FIFO" -- timeout 20 $B/ds2-transcribe -m $M --decoder beam --lm "$T/fifo" $W
# the binary LM: converted, then the same transcript as from the ARPA file; broken: refused
expect "lm convert" 0 "DS2LMBIN" -- sh -c "$B/ds2-lm-convert test/golden/tiny.arpa '$T/tiny.ds2lm' && head -c 8 '$T/tiny.ds2lm'"
$B/ds2-transcribe -m $M --decoder beam --lm test/golden/tiny.arpa --beam-width 16 $W > "$T/arpa.txt"
$B/ds2-transcribe -m $M --decoder beam --lm "$T/tiny.ds2lm" --beam-width 16 $W > "$T/bin.txt"
expect "binary lm transcript" 0 "same" -- sh -c "[ -s '$T/arpa.txt' ] && cmp '$T/arpa.txt' '$T/bin.txt' && echo same"
head -c 300 "$T/tiny.ds2lm" > "$T/cut.ds2lm"
expect "truncated binary lm" 1 "truncated" -- $B/ds2-transcribe -m $M --decoder beam --lm "$T/cut.ds2lm" $W
expect "lm convert bad input" 1 "ds2-lm-convert: .*not an ARPA" -- $B/ds2-lm-convert $M "$T/x.ds2lm"
expect "lm convert usage" 2 "usage" -- $B/ds2-lm-convert
[ -e /dev/nvidia0 ] || expect "gpu without a device" 1 "gpu" -- $B/ds2-transcribe -m $M --device gpu $W
# ds2-forward (tools/bench-peers' libds2 runner): the front end's spectrogram and the forward
# pass from it, against the golden data.
expect "forward spect" 0 "161 x 176" -- $B/ds2-forward -m $M --spect-out "$T/s.npy" $W
expect "forward run" 0 '"median_s"' -- $B/ds2-forward -m $M --spect "$T/s.npy" -t 2 -b 2 -n 1 --probs "$T/fp.npy"
expect "forward = golden" 0 "ok" -- /usr/bin/python3 -c "import numpy as np, sys
s = np.load('$T/s.npy'); g = np.fromfile('test/golden/speech.spect.f32', '<f4').reshape(161, -1)
p = np.load('$T/fp.npy'); q = np.fromfile('test/golden/bigru.speech.probs.f32', '<f4').reshape(-1, 29)
ok = s.shape == g.shape and abs(s - g).max() < 1e-3 and p.shape == (2,) + q.shape and abs(p - q).max() < 1e-4
print('ok' if ok else f'differ: {s.shape} {g.shape} {p.shape} {q.shape}')"
expect "forward seconds" 0 "161 x 301" -- $B/ds2-forward -m $M --spect-out "$T/s3.npy" --seconds 3 $W
expect "forward 3 s" 0 "(161, 301)" -- /usr/bin/python3 -c "import numpy as np; print(np.load('$T/s3.npy').shape)"
expect "forward not npy" 1 "not a 2-D" -- $B/ds2-forward -m $M --spect $W
expect "forward not audio" 1 "neither audio" -- $B/ds2-forward -m $M --spect-out "$T/x.npy" $M
expect "bench bad manifest" 1 "" -- $B/ds2-bench -q -m $M -e "$T/text.wav" -n 1 -T 1
# ds2-bench with an LM: a greedy and a beam+LM row per condition (the decoders' own time in
# "dec ms"), in the table and the JSON; a bad --lm is refused before anything runs.
printf '%s\tAB CAB\n%s\tBA\n' "$PWD/$W" "$PWD/test/golden/short.wav" > "$T/bench.tsv"
expect "bench beam row" 0 "cpu-fp32  beam+LM " -- $B/ds2-bench -q -m $M -e "$T/bench.tsv" -c cpu-fp32,cpu-int8 -t 1 -n 2 -T 0 --lm test/golden/tiny.arpa --alpha 0.5 --beta 1 --beam-width 8 --json "$T/bench.json"
cp "$T/out" "$T/bench.out"
expect "bench greedy row" 0 "cpu-int8  greedy " -- cat "$T/bench.out"
expect "bench int8 beam row" 0 "cpu-int8  beam+LM " -- cat "$T/bench.out"
expect "bench json decoders" 0 "ok" -- /usr/bin/python3 -c "import json
d = json.load(open('$T/bench.json'))
c = d['conditions'][0]; b = c['decoders']['beam']; u = c['utterances'][0]
ok = (b['lm'] == 'test/golden/tiny.arpa' and b['beam_width'] == 8 and b['decode_ms']['mean'] > 0
      and c['decoders']['greedy']['decode_ms']['mean'] > 0 and 'beam_hypothesis' in u
      and b['word_errors'] >= 0 and abs(b['wer'] - 100.0 * b['word_errors'] / c['ref_words']) < 1e-6)
print('ok' if ok else 'bad: %r' % c['decoders'])"
expect "bench without lm" 0 "cpu-fp32  greedy " -- $B/ds2-bench -q -m $M -e "$T/bench.tsv" -c cpu-fp32 -t 1 -n 1 -T 0
cp "$T/out" "$T/bench.out"
expect "bench no beam row" 1 "^0$" -- grep -c "cpu-fp32  beam" "$T/bench.out"
expect "bench missing lm" 1 "ds2-bench: --lm .*nope.arpa" -- $B/ds2-bench -q -m $M -e "$T/bench.tsv" -n 1 -T 0 --lm "$T/nope.arpa"
expect "bench model as lm" 1 "ds2-bench: --lm .*not an ARPA" -- $B/ds2-bench -q -m $M -e "$T/bench.tsv" -n 1 -T 0 --lm $M
expect "bench bad alpha" 2 "alpha" -- $B/ds2-bench -q -m $M -e "$T/bench.tsv" --lm test/golden/tiny.arpa --alpha nan
expect "bench bad beam width" 2 "beam-width" -- $B/ds2-bench -q -m $M -e "$T/bench.tsv" --beam --beam-width 0
# ds2-decode-bench: the decoders alone on saved probabilities (ds2-transcribe --probs)
$B/ds2-transcribe -m $M --probs "$T/dp" $W test/golden/short.wav > /dev/null
expect "decode bench" 0 "median ms per 5 s of audio" -- $B/ds2-decode-bench -m $M -e "$T/bench.tsv" --probs "$T/dp" --lm test/golden/tiny.arpa --beam-width 8 --repeats 2 --tsv "$T/dec.tsv"
expect "decode bench tsv" 0 "short.wav	" -- cat "$T/dec.tsv"
expect "decode bench missing probs" 1 "nope" -- $B/ds2-decode-bench -m $M -e "$T/bench.tsv" --probs "$T/nope"
expect "convert refuses junk" 1 "ds2-convert" -- tools/ds2-convert "$T/text.wav" "$T/out.gguf"
# wer-breakdown: per-group rates from a hand-checked two-utterance set.
mkdir -p "$T/ev"
printf 'file\tseconds\tvoice\taugment\ttext\n' > "$T/ev/utterances.tsv"
printf 'wav/a.flac\t1.0\t{"engine": "espeak-ng", "voice": "en+m1"}\t{}\tA B C D\n' >> "$T/ev/utterances.tsv"
printf 'wav/b.flac\t1.0\t{"engine": "flite", "voice": "slt"}\t{"snr_db": 5}\tHELLO THERE\n' >> "$T/ev/utterances.tsv"
printf 'x/a.flac\tA B X D\nx/b.flac\tHELO\n' > "$T/hyp.tsv"
expect "breakdown all" 0 "| all | all | 2 | 6 | 50.00 | 50.00 |" -- tools/wer-breakdown "$T/ev" "$T/hyp.tsv"
expect "breakdown voice" 0 "| voice | flite slt | 1 | 2 | 100.00 | 60.00 |" -- tools/wer-breakdown "$T/ev" "$T/hyp.tsv"
expect "breakdown noise" 0 "| noise | no noise | 1 | 4 | 25.00 | 25.00 |" -- tools/wer-breakdown "$T/ev" "$T/hyp.tsv"
head -1 "$T/hyp.tsv" > "$T/hyp1.tsv"
expect "breakdown missing hyp" 1 "no transcript for b.flac" -- tools/wer-breakdown "$T/ev" "$T/hyp1.tsv"
mkdir -p "$T/bad"; echo "not a table" > "$T/bad/utterances.tsv"
expect "breakdown not a table" 1 "header" -- tools/wer-breakdown "$T/bad" "$T/hyp.tsv"
expect "breakdown no table" 1 "No such file" -- tools/wer-breakdown "$T/nope" "$T/hyp.tsv"
# A CUDA plugin from another build is refused before it is called, naming both interface
# versions (the loader looks next to the executable first).
mkdir -p "$T/plug"; cp $B/ds2-transcribe "$T/plug/"
printf 'const int ds2_cuda_plugin_interface_version = 1;\nconst int ds2_cuda_plugin_backend;\n' > "$T/plug/p.c"
cc -shared -fPIC -o "$T/plug/libds2_cuda.so" "$T/plug/p.c"
expect "plugin version mismatch" 1 "implements backend interface version 1, this libds2 needs version" -- "$T/plug/ds2-transcribe" -m $M --device gpu $W
# Only the public API leaves the shared objects (-fvisibility=hidden + DS2_API): an internal
# name such as gguf_find_tensor would interpose on another library's (ggml's) in one process.
# The linker's own symbols (_init, _fini, _edata, _end, __bss_start) are not ours.
exports() { nm -D --defined-only "$1" | awk '{print $NF}' | grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$'; }
check_exports() {
    local so=$1 allowed=$2 bad
    [ -e "$so" ] || { fail=$((fail + 1)); echo "FAIL exports: $so not built"; return; }
    bad=$(exports "$so" | grep -Ev "$allowed")
    if [ -n "$bad" ] || [ -z "$(exports "$so")" ]; then
        fail=$((fail + 1)); echo "FAIL exports of $so outside $allowed:"; echo "$bad" | sed 's/^/    /'
    else
        pass=$((pass + 1))
    fi
}
check_exports $B/libds2.so '^ds2_'
[ -e $B/libds2_cuda.so ] && check_exports $B/libds2_cuda.so '^ds2_cuda_plugin_(backend|interface_version)$'
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
