"""Edit distance for deepspeech.pytorch's WER/CER (shared by the Python tools; the C side has
lib/metrics.c)."""


def levenshtein(a, b):
    """Insertions + deletions + substitutions turning sequence a into b."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def error_counts(hyp, ref):
    """(word errors, reference words, char errors, reference chars) of one transcript, chars
    counted with spaces removed: sum each over a set and divide to get WER and CER."""
    return (levenshtein(hyp.split(), ref.split()), len(ref.split()),
            levenshtein(hyp.replace(" ", ""), ref.replace(" ", "")), len(ref.replace(" ", "")))
