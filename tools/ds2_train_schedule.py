"""What tools/train-default-model trains on, and when: the batches of an epoch, the learning
rate at a step, and error rates pooled over evaluation sets. Plain Python (no torch), so that
test/check_train_schedule.py checks it with Debian's python3."""
import random


def parse_oversample(spec):
    """'flite=2,train-extra=3' -> {'flite': 2, 'train-extra': 3}. A key is a synthesiser
    (make-corpus's utterances.tsv engine) or a make-corpus split name; raises ValueError on a
    malformed item or a count below 1."""
    out = {}
    for item in filter(None, spec.split(",")):
        key, eq, n = item.partition("=")
        if not key or not eq or not n.isdigit() or int(n) < 1:
            raise ValueError("--oversample: %r is not KEY=N with N >= 1" % item)
        out[key] = int(n)
    return out


def batches_for_epoch(fs, epoch, batch_size, seed, oversample=None, sortagrad=True):
    """SortaGrad: epoch 0 in ascending length; later epochs (and epoch 0 without sortagrad:
    a fine-tuned model needs no curriculum) length-bucketed batches in a seeded random order.
    fs needs .lengths, .engines and .splits (one per utterance).
    oversample: {engine or split: n}, each utterance of that synthesiser or make-corpus split
    n times per epoch (with its own SpecAugment masks each time; both factors when both
    match)."""
    ov = oversample or {}
    ids = [i for i in range(len(fs.lengths))
           for _ in range(ov.get(fs.engines[i], 1) * ov.get(fs.splits[i], 1))]
    order = sorted(ids, key=lambda i: (fs.lengths[i], i))
    batches = [order[b:b + batch_size] for b in range(0, len(order), batch_size)]
    if epoch > 0 or not sortagrad:
        random.Random(seed * 1000 + epoch).shuffle(batches)
    return batches


def lr_at(args, step, epoch_pos):
    """Linear warm-up, then x lr_anneal per epoch, applied continuously.

    A run resumed with a new base rate (--lr-restart: args.lr_restart_step, the step it took
    effect, and args.lr_before_restart, the base reached by then) ramps linearly from the old base to the
    new one over warmup_steps instead of warming up from zero again: the weights are trained
    and Adam's moments are kept, so only the jump in rate needs smoothing."""
    s0 = getattr(args, "lr_restart_step", None)
    if s0 is None:
        base = args.lr * min(1.0, (step + 1) / args.warmup_steps)
    else:
        t = min(1.0, max(0, step - s0 + 1) / args.warmup_steps)
        base = args.lr_before_restart + (args.lr - args.lr_before_restart) * t
    return base * (args.lr_anneal ** epoch_pos)


def rates(totals):
    """(CER, WER) in % from error_counts totals [word errors, words, char errors, chars], as
    deepspeech.pytorch computes them (summed distances over summed reference lengths)."""
    word_err, n_words, char_err, n_chars = totals
    return 100.0 * char_err / max(1, n_chars), 100.0 * word_err / max(1, n_words)


def pooled(totals_list):
    """Several sets' error totals as one set's (so pooled WER weighs each set by its words)."""
    return [sum(t) for t in zip(*totals_list)]
