#!/usr/bin/python3
"""tools/make-corpus's text selection: the committed eval sets' transcripts are exactly what the
tool picks for --seed 2026, and no training or dev sentence is an eval sentence (nor a dev
sentence a training one). Needs Debian's fortunes and wordnet-base (scripts/install-deps.sh);
speaks nothing, so it takes a few seconds."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklist import Checklist  # noqa: E402
from tool_module import load_tool  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def committed_transcripts(eval_set):
    d = os.path.join(ROOT, "data", "eval", eval_set, "txt")
    out = []
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name)) as f:
            out.append(f.read().strip())
    return out


class SerialPool:
    """multiprocessing.Pool's part that build_split uses, in this process (the stub make_one
    below cannot be pickled)."""

    def __init__(self, jobs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, fn, work, chunksize=1):
        return map(fn, work)


def check_voice_seed(mc, check):
    """--voice-seed moves the voice splits' utterance seed and nothing else, and build_split
    refuses a folder made with another seed (it would keep that seed's utterances)."""
    calls = []
    real = mc.build_split
    mc.build_split = lambda split, sentences, count, seed, *rest, **kw: calls.append(
        (split, seed, sentences[:count]))
    argv = sys.argv
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for extra in ([], ["--voice-seed", "2027"]):
                sys.argv = ["make-corpus", "--corpus-dir", tmp, "--splits",
                            "train,train-voices,train-flite", "--voices-count", "50",
                            "--flite-count", "50", "--train-count", "50"] + extra
                mc.main()
    finally:
        mc.build_split, sys.argv = real, argv
    plain, voiced = calls[:3], calls[3:]
    check([c[1] for c in plain] == [2026] * 3 and [c[1] for c in voiced] == [2026, 2027, 2027],
          "--voice-seed 2027 seeds train-voices and train-flite, train keeps --seed")
    check([c[2] for c in plain] == [c[2] for c in voiced],
          "--voice-seed leaves every split's sentences as they are")

    seeds = []

    def fake_one(job):
        seeds.append(job[3])
        return {"wav_path": "wav/%06d.wav" % job[0], "transcript_path": "txt/%06d.txt" % job[0],
                "text": job[2], "seconds": 1.0, "voice": {}, "augment": {}}

    real_one, real_pool = mc.make_one, mc.Pool
    mc.make_one, mc.Pool = fake_one, SerialPool
    try:
        with tempfile.TemporaryDirectory() as tmp:
            mc.build_split("train-flite", ["a b", "c d"], 3, 2027, tmp, "wav", 1)
            with open(os.path.join(tmp, "seed")) as f:
                stamp = f.read().strip()
            mc.build_split("train-flite", ["a b", "c d"], 3, 2027, tmp, "wav", 1)
            try:
                mc.build_split("train-flite", ["a b", "c d"], 3, 2026, tmp, "wav", 1)
                refused = None
            except SystemExit as e:
                refused = str(e)
        with tempfile.TemporaryDirectory() as tmp:
            mc.build_split("eval-heldout", ["a b"], 1, 2026, tmp, "flac", 1)
            eval_stamped = os.path.exists(os.path.join(tmp, "seed"))
    finally:
        mc.make_one, mc.Pool = real_one, real_pool
    check(seeds[:6] == [2027] * 6 and stamp == "2027",
          "build_split stamps its folder with the seed it spoke with (%s)" % stamp)
    check(refused is not None and "made with seed 2027, not 2026" in refused,
          "build_split refuses a folder made with another seed: %s" % refused)
    check(not eval_stamped, "an eval set (FLAC, committed) gets no seed file")


def main():
    mc = load_tool("make-corpus")
    text = mc.split_texts(2026, 80, 8, 200)
    check = Checklist()

    for split, eval_set in (("eval-heldout", "heldout"), ("eval-indomain", "indomain")):
        check(text[split] == committed_transcripts(eval_set),
              "%s text equals data/eval/%s/txt (%d sentences)" % (split, eval_set,
                                                                    len(text[split])))
    evals = set(text["eval-heldout"]) | set(text["eval-indomain"])
    training = ("train", "train-wordnet", "train-glosses", "train-more-fortunes")
    devs = ("dev", "dev-fortunes")
    for split in training + devs:
        check(len(text[split]) > 0 and not evals & set(text[split]),
              "%s: %d sentences, none an eval sentence" % (split, len(text[split])))
    for dev in devs:
        for split in training:
            check(not set(text[dev]) & set(text[split]), "no %s sentence in %s" % (dev, split))
    for k, a in enumerate(training):
        for b in training[k + 1:]:
            check(not set(text[a]) & set(text[b]), "%s shares no sentence with %s" % (a, b))
    # train-voices re-speaks training text: it must add no sentence of its own.
    check(set(text["train-voices"]) == set(text["train"]) | set(text["train-more-fortunes"]),
          "train-voices: the sentences of train and train-more-fortunes (%d)" %
          len(text["train-voices"]))
    for split in ("train-random-voices", "train-random-accents", "train-flite"):
        check(set(text[split]) == set(text["train-voices"]) and text[split] != text["train-voices"],
              "%s: train-voices's sentences in an order of its own" % split)
    # Its random espeak-ng variants: new names, never eval-heldout's klatt2 synthesiser,
    # the same file for the same seed.
    variants = [mc.random_variant(2026, k) for k in range(mc.RANDOM_VOICES)]
    lines = [dict((ln.split(" ", 1) + [""])[:2] for ln in v.splitlines()) for v in variants]
    check(all(ln["language"] == "variant" for ln in lines) and
          len({ln["name"] for ln in lines}) == mc.RANDOM_VOICES and
          not {ln["name"] for ln in lines} & set(mc.TRAIN_VARIANTS + mc.HELDOUT_VARIANTS +
                                                  mc.DEV_VARIANTS + mc.VOICES_VARIANTS),
          "%d random variants with names of their own" % mc.RANDOM_VOICES)
    check(all(ln.get("klatt", "1") != "2" for ln in lines) and
          any("klatt" in ln for ln in lines), "no random variant uses klatt mode 2 (klatt2's)")
    check(variants == [mc.random_variant(2026, k) for k in range(mc.RANDOM_VOICES)] and
          variants != [mc.random_variant(2027, k) for k in range(mc.RANDOM_VOICES)],
          "random variants follow the seed")
    # Its random accents: English, recombining only what the training languages use, never a
    # held-out language's phoneme table or one of the rules only those languages have.
    accents = [mc.random_accent(2026, k) for k in range(mc.RANDOM_ACCENTS)]
    rows = [[ln.split() for ln in a.splitlines()] for a in accents]
    tables = [next(r[1] for r in rs if r[0] == "phonemes") for rs in rows]
    replaced = [{tuple(r[1:]) for r in rs if r[0] == "replace"} for rs in rows]
    check(len({rs[0][1] for rs in rows}) == mc.RANDOM_ACCENTS and
          all(rs[1] == ["language", "en", "50"] for rs in rows),
          "%d random accents of the en dictionary with names of their own" % mc.RANDOM_ACCENTS)
    check(set(tables) <= set(mc.ACCENT_PHONEMES) and not set(tables) & {"en-wi", "en-wm"} and
          len(set(tables)) > 3, "random accents use training phoneme tables only (%s)" %
          " ".join(sorted(set(tables))))
    heldout_only = {("00", "D", "d"), ("00", "T", "t["), ("00", "U@", "o@"), ("00", "h", "NULL")}
    check(all(r <= set(mc.ACCENT_REPLACE) and not r & heldout_only for r in replaced) and
          any(replaced) and all(len({p for _, p, _ in r}) == len(r) for r in replaced),
          "random accents' replace rules: training languages' only, one per phoneme")
    check(accents == [mc.random_accent(2026, k) for k in range(mc.RANDOM_ACCENTS)] and
          accents != [mc.random_accent(2027, k) for k in range(mc.RANDOM_ACCENTS)],
          "random accents follow the seed")
    voice_lists = {"TRAIN_VARIANTS": mc.TRAIN_VARIANTS, "HELDOUT_VARIANTS": mc.HELDOUT_VARIANTS,
                   "DEV_VARIANTS": mc.DEV_VARIANTS, "VOICES_VARIANTS": mc.VOICES_VARIANTS}
    names = sorted(voice_lists)
    for k, a in enumerate(names):
        for b in names[k + 1:]:
            check(not set(voice_lists[a]) & set(voice_lists[b]),
                  "espeak-ng variant lists %s and %s are disjoint" % (a, b))
    check_voice_seed(mc, check)
    alphabet = mc.ALPHABET
    check(all(set(s) <= alphabet for split in training + devs for s in text[split]),
          "every sentence is in the model alphabet")
    check.finish("check_corpus_text")


if __name__ == "__main__":
    main()
