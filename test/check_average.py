#!/usr/bin/python3
"""tools/ds2_average.py: the float tensors of the average are the element-wise means (exact
for values that add without rounding), integer ones come from the last snapshot, the inputs
are left unchanged, and mismatched snapshots are refused with a message. Plain numpy."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklist import Checklist  # noqa: E402

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
from ds2_average import AverageError, average_state_dicts  # noqa: E402


def snapshot(w, count):
    return {"rnn.weight": np.full((2, 3), w, dtype=np.float32),
            "bn.running_var": np.array([w, 2 * w], dtype=np.float32),
            "bn.num_batches_tracked": np.array(count, dtype=np.int64)}


def main():
    check = Checklist()
    snaps = [snapshot(1.0, 10), snapshot(2.0, 20), snapshot(4.5, 30)]
    before = [{k: v.copy() for k, v in s.items()} for s in snaps]
    avg = average_state_dicts(snaps)
    check(np.array_equal(avg["rnn.weight"], np.full((2, 3), 2.5, dtype=np.float32)),
          "weights: the mean of 1, 2 and 4.5 is 2.5")
    check(np.array_equal(avg["bn.running_var"], np.array([2.5, 5.0], dtype=np.float32)),
          "BatchNorm statistics are averaged too")
    check(int(avg["bn.num_batches_tracked"]) == 30 and
          avg["bn.num_batches_tracked"].dtype == np.int64,
          "an integer entry is the last snapshot's")
    check(avg["rnn.weight"].dtype == np.float32, "float32 stays float32")
    check(all(np.array_equal(s[k], b[k]) for s, b in zip(snaps, before) for k in s),
          "the snapshots are not modified")
    one = average_state_dicts([snapshot(3.0, 1)])
    check(np.array_equal(one["rnn.weight"], snapshot(3.0, 1)["rnn.weight"]),
          "the average of one snapshot is that snapshot")
    rng = np.random.default_rng(3)
    many = [{"w": rng.standard_normal((4, 5)).astype(np.float32)} for _ in range(7)]
    ref = np.mean(np.stack([m["w"].astype(np.float64) for m in many]), axis=0)
    check(np.max(np.abs(average_state_dicts(many)["w"] - ref)) < 7 * 4 * 2.0 ** -23,
          "random snapshots: within float32 rounding of the float64 mean")
    for bad, what in (([], "no snapshots"),
                      ([snapshot(1.0, 1), {"rnn.weight": np.zeros((2, 3), np.float32)}],
                       "other tensors"),
                      ([snapshot(1.0, 1), dict(snapshot(1.0, 1),
                                               **{"rnn.weight": np.zeros((3, 2), np.float32)})],
                       "another shape")):
        try:
            average_state_dicts(bad)
            check(False, "%s: refused" % what)
        except AverageError as e:
            check(True, "%s: refused (%s)" % (what, e))
    check.finish("check_average")


if __name__ == "__main__":
    main()
