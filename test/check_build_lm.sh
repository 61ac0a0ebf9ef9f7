#!/bin/bash
# tools/build-lm end to end (plain python3, no venv): a trigram and a 4-gram LM from a small text,
# each normalised (sum_w P(w | h) = 1 for its contexts), and loadable by the C reader through
# ds2-transcribe's beam search. Run from the repository root after `make`.
set -e
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/text.txt" <<'TEXT'
the cat sat on the mat
the dog sat on the log
a cat and a dog
the cat saw the dog
on the mat the cat sat
a dog on a log
the bird sang
the bird saw a cat
TEXT
for order in 3 4; do
    /usr/bin/python3 tools/build-lm --order $order --upper "$T/text.txt" "$T/lm$order.arpa"
    /usr/bin/python3 tools/build-lm --check "$T/lm$order.arpa"
    $B/ds2-transcribe -m test/golden/bigru.gguf --decoder beam --lm "$T/lm$order.arpa" \
        --alpha 0.5 --beta 1 test/golden/speech.wav > /dev/null
done
echo "build-lm: ok"
