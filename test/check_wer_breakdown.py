#!/usr/bin/python3
"""tools/wer-breakdown on a made-up three-utterance eval set: every kind's rows (espeak-ng
utterances by language and by variant too) carry the right counts and rates, and a
transcript list that misses an utterance is an error, not a silent gap. A fraction of a
second; needs nothing but Python."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklist import Checklist  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "wer-breakdown")

# (file, voice, augment, reference, hypothesis)
UTTERANCES = [
    ("000000.flac", {"engine": "espeak-ng", "voice": "en-029+m4"}, {"snr_db": 5},
     "THE CAT SAT", "THE CAT SAD"),
    ("000001.flac", {"engine": "espeak-ng", "voice": "en-us"}, {"reverb": [20, 30]},
     "A DOG", "A DOG"),
    ("000002.flac", {"engine": "flite", "voice": "rms"}, {"band": "300-3400"},
     "NO WAY", "NO"),
]


def run(eval_dir, hyps):
    return subprocess.run([sys.executable, TOOL, eval_dir, hyps], capture_output=True,
                          text=True)


def rows(stdout):
    """(by, group) -> (utterances, words, WER, CER) from the Markdown table."""
    out = {}
    for line in stdout.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[(cells[0], cells[1])] = (int(cells[2]), int(cells[3]), float(cells[4]),
                                     float(cells[5]))
    return out


def main():
    check = Checklist()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "utterances.tsv"), "w") as f:
            f.write("file\tseconds\tvoice\taugment\ttext\n")
            for name, voice, aug, ref, _ in UTTERANCES:
                f.write("wav/%s\t1.000\t%s\t%s\t%s\n" % (name, json.dumps(voice),
                                                          json.dumps(aug), ref))
        hyps = os.path.join(d, "hyp.tsv")
        with open(hyps, "w") as f:
            for name, _, _, _, hyp in UTTERANCES:
                f.write("/somewhere/wav/%s\t%s\n" % (name, hyp))
        r = run(d, hyps)
        check(r.returncode == 0, "runs (rc %d, stderr %r)" % (r.returncode, r.stderr))
        got = rows(r.stdout)
        # Words 3 + 2 + 2 = 7, word errors 1 + 0 + 1; characters (no spaces) 9 + 4 + 5 = 18,
        # character errors 1 (T -> D) + 0 + 3 (WAY deleted).
        want = {("all", "all"): (3, 7, 100 * 2 / 7, 100 * 4 / 18),
                ("voice", "espeak-ng"): (2, 5, 100 * 1 / 5, 100 * 1 / 13),
                ("voice", "flite rms"): (1, 2, 50.0, 60.0),
                ("espeak-ng language", "en-029"): (1, 3, 100 / 3, 100 / 9),
                ("espeak-ng language", "en-us"): (1, 2, 0.0, 0.0),
                ("espeak-ng variant", "m4"): (1, 3, 100 / 3, 100 / 9),
                ("espeak-ng variant", "default"): (1, 2, 0.0, 0.0),
                ("noise", "SNR < 10 dB"): (1, 3, 100 / 3, 100 / 9),
                ("noise", "no noise"): (2, 4, 25.0, 100 * 3 / 9),
                ("reverb", "reverb"): (1, 2, 0.0, 0.0),
                ("band", "band-limited"): (1, 2, 50.0, 60.0)}
        for key, (u, w, wer, cer) in want.items():
            g = got.get(key)
            check(g is not None and g[:2] == (u, w) and abs(g[2] - wer) < 0.006 and
                  abs(g[3] - cer) < 0.006,
                  "%s / %s: %r, expected (%d, %d, %.2f, %.2f)" % (key + (g, u, w, wer, cer)))
        check(not any(k[0].startswith("espeak-ng") and k[1] == "rms" for k in got),
              "the flite utterance has no espeak-ng rows")
        kinds = list(dict.fromkeys(k[0] for k in got))
        check(kinds == ["all", "voice", "espeak-ng language", "espeak-ng variant", "noise",
                        "reverb", "band"], "kinds in the fixed order: %s" % kinds)

        with open(hyps, "w") as f:
            f.write("/somewhere/wav/000000.flac\tTHE CAT\n")
        r = run(d, hyps)
        check(r.returncode != 0 and "no transcript for 000001.flac" in r.stderr,
              "a missing transcript is an error: %r" % r.stderr.strip())
    check.finish("check_wer_breakdown")


if __name__ == "__main__":
    main()
