"""Decoder options (greedy / beam, ds2.LanguageModel, alpha, beta, beam width) and word
timestamps, against build/ds2-transcribe --timestamps on the same files; and the ctypes mirrors
of every struct in include/ds2.h against what the C compiler lays out."""
import ctypes
import json
import os
import re
import shutil
import subprocess
import threading

import pytest

import ds2
from ds2 import _lib
from conftest import MODEL, ROOT, TRANSCRIBE, heldout

LM = os.path.join(ROOT, "data", "lm-3gram.arpa")
BEAM = dict(decoder="beam", alpha=0.6, beta=-0.5, beam_width=16)
BEAM_ARGS = ["--decoder", "beam", "--alpha", "0.6", "--beta", "-0.5", "--beam-width", "16"]


@pytest.fixture(scope="module")
def lm():
    return ds2.LanguageModel(LM)


def _reference(paths, *args):
    """{path: (text, [(word, start, end)])} from ds2-transcribe --timestamps (3 decimals)."""
    if not os.access(TRANSCRIBE, os.X_OK):
        pytest.skip(f"{TRANSCRIBE} not built (run make)")
    out = subprocess.run([TRANSCRIBE, "-m", MODEL, "--timestamps", *args, *paths], check=True,
                         capture_output=True, text=True).stdout
    rows = [json.loads(x) for x in out.splitlines()]
    return {r["file"]: (r["text"], [(w["word"], w["start"], w["end"]) for w in r["words"]])
            for r in rows}


def _rounded(r):
    return r.text, [(w.word, round(w.start_s, 3), round(w.end_s, 3)) for w in r.words]


# --- struct mirrors --------------------------------------------------------------------------

STRUCTS = {"ds2_model_params": _lib.ModelParams, "ds2_model_info": _lib.ModelInfo,
           "ds2_audio": _lib.Audio, "ds2_lm_info": _lib.LmInfo,
           "ds2_session_params": _lib.SessionParams, "ds2_utterance": _lib.Utterance,
           "ds2_run_params": _lib.RunParams, "ds2_word": _lib.Word, "ds2_result": _lib.Result}


def test_ctypes_mirrors_match_ds2_h(tmp_path):
    """Size and every field's offset, as the C compiler computes them from include/ds2.h."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler")
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <ds2.h>", "int main(void) {"]
    for cname, cls in STRUCTS.items():
        lines.append(f'printf("{cname} size %zu\\n", sizeof({cname}));')
        for field, _ in cls._fields_:
            lines.append(f'printf("{cname} {field} %zu\\n", offsetof({cname}, {field}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", "-I", os.path.join(ROOT, "include"), str(src), "-o",
                    str(exe)], check=True)
    c = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    py = []
    for cname, cls in STRUCTS.items():
        py.append(f"{cname} size {ctypes.sizeof(cls)}")
        py += [f"{cname} {f} {getattr(cls, f).offset}" for f, _ in cls._fields_]
    assert py == c
    # ...and no field is missing: a mirror with a field fewer would still match offsets above.
    header = re.sub(r"/\*.*?\*/", " ", open(os.path.join(ROOT, "include", "ds2.h")).read(),
                    flags=re.S)
    for cname, cls in STRUCTS.items():
        body = header[header.index(f"typedef struct {cname} {{") + len(cname) + 17:]
        body = body[:body.index(f"}} {cname};")]
        names = [re.search(r"(\w+)\s*(\[\w*\])?\s*$", part).group(1)
                 for decl in body.split(";") if decl.strip() for part in decl.split(",")]
        assert [f for f, _ in cls._fields_] == names, cname


# --- language model --------------------------------------------------------------------------

def test_lm_info(lm):
    assert lm.info.order == 3 and all(c > 0 for c in lm.info.counts[1:])
    assert len(lm.info.counts) == 4 and "order 3" in repr(lm)


@pytest.mark.parametrize("content,status,words", [
    (None, ds2.Status.IO, "nope.arpa"),
    ("not an arpa file\n", ds2.Status.MODEL_FORMAT, ""),
    ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\t<s>\n\\end\\\n", ds2.Status.MODEL_FORMAT, ""),
])
def test_lm_load_errors(tmp_path, content, status, words):
    p = tmp_path / "nope.arpa"
    if content is not None:
        p.write_text(content)
    with pytest.raises(ds2.Error, match=words) as e:
        ds2.LanguageModel(p)
    assert e.value.status == status and e.value.message


def test_lm_close(model):
    lm = ds2.LanguageModel(LM)
    s = model.session(lm=lm, decoder="beam")
    assert s.transcribe(heldout(1)[0]).text
    lm.close()
    lm.close()  # twice is fine
    with pytest.raises(ds2.Error, match="closed"):
        s.transcribe(heldout(1)[0])


# --- timestamps and decoders vs ds2-transcribe ------------------------------------------------

def test_greedy_words_equal_ds2_transcribe(session):
    paths = heldout(8)
    ref = _reference(paths)
    got = session.transcribe(paths)
    assert {p: _rounded(r) for p, r in zip(paths, got)} == ref
    for r in got:
        assert " ".join(w.word for w in r.words) == r.text
        assert all(0 <= w.start_s <= w.end_s for w in r.words)
        assert all(a.end_s <= b.start_s for a, b in zip(r.words, r.words[1:]))
        assert r.score < 0


# pyctcdecode's scoring off, and its pruning with a stronger soft lexicon
SCORING = {"default": ({}, []),
           "no-unk": ({"unk_score_offset": 0.0}, ["--unk-score-offset", "0"]),
           "pruned": ({"unk_score_offset": -5.0, "token_min_logp": -5.0, "beam_prune_logp": -10.0},
                      ["--unk-score-offset", "-5", "--token-min-logp", "-5",
                       "--beam-prune-logp", "-10"])}


@pytest.mark.parametrize("with_lm,scoring", [(False, "default"), (True, "default"),
                                             (True, "no-unk"), (True, "pruned")])
def test_beam_equals_ds2_transcribe(model, lm, with_lm, scoring):
    paths = heldout(8)
    kw, args = SCORING[scoring]
    ref = _reference(paths, *BEAM_ARGS, *args, *(["--lm", LM] if with_lm else []))
    s = model.session(**BEAM, **kw, lm=lm if with_lm else None)  # session defaults
    got = s.transcribe(paths)
    assert {p: _rounded(r) for p, r in zip(paths, got)} == ref
    assert [r.text for r in got] == [s.transcribe(p).text for p in paths]  # batch = alone


def test_lm_changes_the_result_and_per_call_options_override(model, lm):
    paths = heldout(20)
    s = model.session(**BEAM)
    plain = [r.text for r in s.transcribe(paths)]
    with_lm = [r.text for r in s.transcribe(paths, lm=lm)]
    assert plain != with_lm  # the LM is really used (it fixes words on this set)
    greedy = [r.text for r in s.transcribe(paths, decoder="greedy")]
    assert greedy == [r.text for r in model.session().transcribe(paths)]
    assert s.transcribe(paths[0], timestamps=False).words == ()
    assert s.decode["decoder"] == "beam"  # per-call options do not stick


def test_one_lm_shared_by_threads(model, lm):
    paths = heldout(6)
    want = [r.text for r in model.session(**BEAM, lm=lm).transcribe(paths)]
    out, errors = {}, []

    def work(k):
        try:
            s = model.session(**BEAM, lm=lm)
            out[k] = [s.transcribe(p).text for p in paths]
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and out == {0: want, 1: want}


@pytest.mark.parametrize("kw,exc,words", [
    ({"decoder": "viterbi"}, ds2.Error, "greedy' or 'beam"),
    ({"decoder": "beam", "beam_width": 0}, ds2.Error, "beam"),
    ({"decoder": "beam", "cutoff_prob": 0.0}, ds2.Error, "cutoff"),
    ({"decoder": "beam", "cutoff_top_n": 0}, ds2.Error, "top"),
    ({"decoder": "beam", "alpha": float("nan")}, ds2.Error, "alpha"),
    ({"decoder": "beam", "unk_score_offset": float("nan")}, ds2.Error, "unk_score_offset"),
    ({"decoder": "beam", "unk_score_offset": 1.0}, ds2.Error, "unk_score_offset"),
    ({"decoder": "beam", "token_min_logp": 0.5}, ds2.Error, "token_min_logp"),
    ({"decoder": "beam", "beam_prune_logp": float("inf")}, ds2.Error, "beam_prune_logp"),
    ({"token_min_logp": "x"}, ds2.Error, "number"),
    ({"alpha": "x"}, ds2.Error, "number"),
    ({"beam_width": 2**40}, ds2.Error, "out of range"),
    ({"lm": "data/lm-3gram.arpa"}, TypeError, "LanguageModel"),
    ({"beam": 3}, TypeError, "unexpected"),
])
def test_bad_decoder_options(session, kw, exc, words):
    with pytest.raises(exc, match=words) as e:
        session.transcribe(heldout(1)[0], **kw)
    if exc is ds2.Error:
        assert e.value.status == ds2.Status.INVALID_ARGUMENT
    assert session.transcribe(heldout(1)[0]).text  # the session still works


def test_bad_session_decoder_options_fail_at_creation(model):
    with pytest.raises(ds2.Error, match="greedy' or 'beam"):
        model.session(decoder="nope")
