#!/usr/bin/python3
"""tools/ds2_train_schedule.py, what tools/train-default-model trains on: --oversample by engine
and by make-corpus split (each utterance exactly the product of its factors, once a batch
list), SortaGrad's ascending first epoch (shuffled without SortaGrad), seeded shuffles,
malformed --oversample values refused, and pooled error rates. Plain Python: runs with Debian's python3, no torch."""
import collections
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklist import Checklist  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import ds2_train_schedule as sched  # noqa: E402


class FakeSet:
    def __init__(self, n, rng):
        self.lengths = [rng.randint(50, 900) for _ in range(n)]
        self.engines = [rng.choice(["espeak-ng", "flite", "festival", ""]) for _ in range(n)]
        self.splits = [rng.choice(["train", "train-extra", "train-more-fortunes"])
                       for _ in range(n)]


def main():
    check = Checklist()

    fs = FakeSet(1000, random.Random(7))
    ov = sched.parse_oversample("flite=2,train-more-fortunes=3")
    check(ov == {"flite": 2, "train-more-fortunes": 3}, "parse_oversample reads KEY=N pairs")
    check(sched.parse_oversample("") == {}, "an empty --oversample is no oversampling")
    for bad in ("flite", "flite=", "=2", "flite=0", "flite=-1", "flite=x", "flite=2=3"):
        try:
            sched.parse_oversample(bad)
            check(False, "parse_oversample refuses %r" % bad)
        except ValueError:
            check(True, "parse_oversample refuses %r" % bad)

    for epoch in (0, 3):
        batches = sched.batches_for_epoch(fs, epoch, 32, 2026, ov)
        seen = collections.Counter(i for b in batches for i in b)
        want = {i: ov.get(fs.engines[i], 1) * ov.get(fs.splits[i], 1) for i in range(1000)}
        check(dict(seen) == want, "epoch %d: each utterance (engine x split factor) times" % epoch)
        check(sorted(len(b) for b in batches)[1:] == [32] * (len(batches) - 1),
              "epoch %d: all batches full but one" % epoch)
    first = sched.batches_for_epoch(fs, 0, 32, 2026, ov)
    flat = [fs.lengths[i] for b in first for i in b]
    check(flat == sorted(flat), "epoch 0 (SortaGrad) is in ascending length")
    mixed = sched.batches_for_epoch(fs, 0, 32, 2026, ov, sortagrad=False)
    check(sorted(mixed) == sorted(first) and mixed != first,
          "epoch 0 without SortaGrad: the same batches in a shuffled order")
    plain = sched.batches_for_epoch(fs, 2, 32, 2026)
    check(plain == sched.batches_for_epoch(fs, 2, 32, 2026, {}),
          "no oversampling and {} give the same batches")
    check(plain == sched.batches_for_epoch(fs, 2, 32, 2026, {"festival-x": 5}),
          "a key no utterance has changes nothing")
    check(plain != sched.batches_for_epoch(fs, 3, 32, 2026), "each epoch has its own order")
    check(plain == sched.batches_for_epoch(fs, 2, 32, 2026) and
          plain != sched.batches_for_epoch(fs, 2, 32, 2027),
          "an epoch's order is a function of (seed, epoch): a resumed run sees the same batches")

    a, b = [30, 100, 60, 500], [10, 300, 40, 1500]
    check(sched.rates(sched.pooled([a, b])) == (100.0 * 100 / 2000, 100.0 * 40 / 400),
          "pooled rates are summed errors over summed reference lengths")
    check(sched.rates([0, 0, 0, 0]) == (0.0, 0.0), "an empty set's rates are 0, not a crash")

    class Args:
        lr, warmup_steps, lr_anneal = 1e-3, 100, 0.5
    check(abs(sched.lr_at(Args, 0, 0.0) - 1e-5) < 1e-12 and
          abs(sched.lr_at(Args, 500, 2.0) - 2.5e-4) < 1e-12, "lr: linear warm-up, x anneal per epoch")

    class Restarted(Args):  # base 1e-3 -> 3e-3 at step 400, ramped over 100 steps
        lr, lr_before_restart, lr_restart_step = 3e-3, 1e-3, 400
    check(abs(sched.lr_at(Restarted, 399, 0.0) - 1e-3) < 1e-12 and
          abs(sched.lr_at(Restarted, 400, 0.0) - 1.02e-3) < 1e-12 and
          abs(sched.lr_at(Restarted, 449, 1.0) - 1e-3) < 1e-12 and
          abs(sched.lr_at(Restarted, 499, 1.0) - 1.5e-3) < 1e-12 and
          abs(sched.lr_at(Restarted, 900, 1.0) - 1.5e-3) < 1e-12,
          "lr restart: ramps from the old base to the new over warmup_steps, then anneals")
    check.finish("check_train_schedule")


if __name__ == "__main__":
    main()
