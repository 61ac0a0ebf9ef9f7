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
[ -s "$T/p/speech.npy" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL probs: no speech.npy"; }
expect "missing model" 1 "cannot open model" -- $B/ds2-transcribe -m "$T/nope.gguf" $W
expect "truncated model" 1 "truncated or corrupt\|outside the file" -- $B/ds2-transcribe -m "$T/truncated.gguf" $W
expect "text as model" 1 "not a GGUF" -- $B/ds2-transcribe -m test/golden/golden.json $W
expect "missing audio" 1 "nope.wav" -- $B/ds2-transcribe -m $M "$T/nope.wav"
expect "empty audio" 1 "zero.wav" -- $B/ds2-transcribe -m $M "$T/zero.wav"
expect "text as audio" 1 "text.wav" -- $B/ds2-transcribe -m $M "$T/text.wav"
expect "bad threads" 2 "threads" -- $B/ds2-transcribe -m $M --threads 0 $W
expect "bad precision" 2 "precision" -- $B/ds2-transcribe -m $M --precision fp8 $W
[ -e /dev/nvidia0 ] || expect "gpu without a device" 1 "gpu" -- $B/ds2-transcribe -m $M --device gpu $W
expect "bench bad manifest" 1 "" -- $B/ds2-bench -q -m $M -e "$T/text.wav" -n 1 -T 1
expect "convert refuses junk" 1 "ds2-convert" -- tools/ds2-convert "$T/text.wav" "$T/out.gguf"
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
