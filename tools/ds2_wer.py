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
