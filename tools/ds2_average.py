"""Weight averaging of checkpoints along one training run (as fairseq's and ESPnet's
average_checkpoints do, and stochastic weight averaging at a constant learning rate): the
mean of N snapshots taken every few hundred steps usually sits nearer the middle of the
basin the run is circling than any one of them, so it decodes a little better at no
training cost.

Works on state dicts as name -> array (numpy arrays or torch tensors: anything with + and
/, and .dtype). Floating-point entries are averaged, BatchNorm's running mean and variance
with them (the mean of the snapshots' statistics; close to recomputed ones when the
snapshots are close); integer entries (num_batches_tracked) are taken from the last
snapshot, since a count has no mean."""


class AverageError(Exception):
    pass


def is_floating(v):
    kind = getattr(v.dtype, "kind", None)  # numpy
    if kind is not None:
        return kind == "f"
    return bool(getattr(v, "is_floating_point")())  # torch


def average_state_dicts(dicts):
    """The element-wise mean of the float entries of DICTS (same names and shapes), the last
    dict's value for the others. Raises AverageError on mismatched names or shapes."""
    if not dicts:
        raise AverageError("no checkpoints to average")
    first = dicts[0]
    for n, d in enumerate(dicts[1:], 2):
        if sorted(d) != sorted(first):
            raise AverageError("checkpoint %d has other tensors than checkpoint 1 (%s)" % (
                n, ", ".join(sorted(set(d) ^ set(first))[:4])))
        for k, v in d.items():
            if tuple(v.shape) != tuple(first[k].shape):
                raise AverageError("checkpoint %d: %s is %s, checkpoint 1's %s" % (
                    n, k, tuple(v.shape), tuple(first[k].shape)))
    out = {}
    for k, v in dicts[-1].items():
        if is_floating(v):
            total = first[k] * 1.0
            for d in dicts[1:]:
                total = total + d[k]
            out[k] = total / len(dicts)
        else:
            out[k] = v
    return out
