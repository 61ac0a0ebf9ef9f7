"""The binding's every public call, on good and bad input (the C API must reject the bad input
with a message that reaches Python as ds2.Error, never a crash)."""
import os

import numpy as np
import pytest

import ds2
from conftest import GOLDEN, MODEL, ROOT, heldout, reference_transcripts


# --- library, status -------------------------------------------------------------------------

def test_library_is_the_one_asked_for():
    path = ds2.library_path()
    assert os.path.isfile(path)
    want = os.environ.get("DS2_LIBRARY")
    if want:
        assert os.path.samefile(path, want)


def test_status_strings():
    names = {s: ds2.status_string(s) for s in ds2.Status}
    assert names[ds2.Status.OK] == "ok"
    assert names[ds2.Status.MODEL_FORMAT] == "bad model file"
    assert len(set(names.values())) == len(names)  # every code has its own name
    assert ds2.status_string(1000) == "unknown status"


# --- model -----------------------------------------------------------------------------------

def test_model_info(model):
    i = model.info
    assert (i.sample_rate, i.n_labels, i.blank_index) == (16000, 29, 0)
    assert i.rnn_type in ("lstm", "gru", "rnn")
    assert i.hidden_size > 0 and i.hidden_layers > 0 and i.conv_channels > 0
    assert i.n_parameters > 0 and i.file_bytes == os.path.getsize(MODEL)
    assert len(model.labels) == i.n_labels and model.labels[i.blank_index] == "_"
    assert [model.label(k) for k in range(i.n_labels)] == list(model.labels)
    assert "16000 Hz" in repr(model)
    with pytest.raises(IndexError):
        model.label(i.n_labels)
    with pytest.raises(IndexError):
        model.label(-1)
    with pytest.raises(AttributeError):  # frozen: the model is immutable
        model.info.sample_rate = 8000


def test_model_info_int8_file():
    m = ds2.Model(os.path.join(GOLDEN, "unilstm-int8.gguf"))
    assert m.info.weights_int8 and not m.info.bidirectional and m.info.lookahead_context > 0


@pytest.mark.parametrize("make,status,words", [
    (lambda d: os.path.join(d, "nope.gguf"), ds2.Status.IO, "cannot open model"),
    (lambda d: os.path.join(GOLDEN, "golden.json"), ds2.Status.MODEL_FORMAT, "not a GGUF"),
    (lambda d: _truncated(d), ds2.Status.MODEL_FORMAT, ""),
])
def test_model_load_errors(tmp_path, make, status, words):
    path = make(str(tmp_path))
    with pytest.raises(ds2.Error) as e:
        ds2.Model(path)
    assert e.value.status == status
    assert words in str(e.value) and str(e.value) == e.value.message != ""


def _truncated(d):
    p = os.path.join(d, "truncated.gguf")
    with open(MODEL, "rb") as f, open(p, "wb") as g:
        g.write(f.read(5000))
    return p


def test_model_path_with_nul():
    with pytest.raises(ds2.Error, match="NUL"):
        ds2.Model("data/default\0model.gguf")


def test_model_close(tmp_path):
    m = ds2.Model(MODEL)
    s = m.session()
    with pytest.raises(ds2.Error, match="still open"):  # a C session must die before its model
        m.close()
    s.close()
    m.close()
    m.close()  # idempotent
    with pytest.raises(ds2.Error, match="closed"):
        m.session()
    with ds2.Model(MODEL) as m2, m2.session() as s2:
        assert s2.transcribe(np.zeros(8000, np.float32) + 0.01 *
                             np.sin(np.arange(8000, dtype=np.float32))).n_frames > 0


# --- session ---------------------------------------------------------------------------------

def test_session_forms(model):
    s = ds2.Session(model, precision="int8", threads=2)
    assert (s.precision, s.device, s.threads) == ("int8", "cpu", 2)
    assert "int8" in repr(s)
    model.session(precision="int8", fp32_convs=True).close()
    s.close()
    s.close()
    with pytest.raises(ds2.Error, match="closed"):
        s.transcribe(np.ones(1600, np.float32))


@pytest.mark.parametrize("kw,words", [
    (dict(threads=0), "bad parameters"),
    (dict(threads=257), "bad parameters"),
    (dict(threads=-1), "bad parameters"),
    (dict(threads=2**40), "out of range"),
    (dict(threads="two"), "integer"),
    (dict(threads=1.5), "out of range"),
    (dict(fp32_convs=2), "bad parameters"),
    (dict(precision="fp16"), "precision"),
    (dict(device="tpu"), "device"),
])
def test_session_bad_params(model, kw, words):
    with pytest.raises(ds2.Error, match=words) as e:
        model.session(**kw)
    assert e.value.status == ds2.Status.INVALID_ARGUMENT


def test_session_gpu_works_or_says_why(model):
    try:
        s = model.session(device="gpu")
    except ds2.Error as e:  # no CUDA build or no device here: a message, not a crash
        assert e.status in (ds2.Status.NOT_BUILT, ds2.Status.NO_DEVICE, ds2.Status.BACKEND)
        assert e.message
    else:
        s.close()
    with pytest.raises(ds2.Error, match="int8 on the GPU"):
        model.session(device="gpu", precision="int8")


def test_session_needs_a_model():
    with pytest.raises(TypeError):
        ds2.Session(MODEL)


# --- audio -----------------------------------------------------------------------------------

def test_load_audio():
    a = ds2.load_audio(os.path.join(GOLDEN, "speech.wav"), 16000)
    assert a.dtype == np.float32 and a.ndim == 1 and a.size > 16000
    assert np.all(np.isfinite(a)) and 0 < np.abs(a).max() <= 1.0
    # 8 kHz stereo: channels averaged, resampled to the rate asked for.
    b = ds2.load_audio(os.path.join(GOLDEN, "speech-8k-stereo.wav"), 16000)
    assert abs(b.size - a.size) < 200
    c = ds2.load_audio(os.path.join(GOLDEN, "speech.wav"), 8000)
    assert abs(c.size * 2 - a.size) < 100


@pytest.mark.parametrize("content,status", [
    (None, ds2.Status.IO), (b"", ds2.Status.AUDIO_FORMAT), (b"hello", ds2.Status.AUDIO_FORMAT),
    (b"not audio at all\n" * 100, ds2.Status.AUDIO_FORMAT),
])
def test_bad_audio(tmp_path, session, content, status):
    p = tmp_path / "bad.wav"
    if content is not None:
        p.write_bytes(content)
    for call in (lambda: ds2.load_audio(p, 16000), lambda: session.transcribe(str(p)),
                 lambda: session.transcribe([heldout(1)[0], p])):
        with pytest.raises(ds2.Error) as e:
            call()
        assert e.value.status == status and "bad.wav" in e.value.message


def test_load_audio_bad_rate():
    with pytest.raises(ds2.Error):
        ds2.load_audio(os.path.join(GOLDEN, "speech.wav"), 0)


# --- transcribe ------------------------------------------------------------------------------

def test_path_array_and_pathlike_agree(session):
    import pathlib
    p = heldout(1)[0]
    a = ds2.load_audio(p, 16000)
    texts = {session.transcribe(p).text, session.transcribe(pathlib.Path(p)).text,
             session.transcribe(a).text, session.transcribe(a.astype(np.float64)).text,
             session.transcribe(a[::-1][::-1]).text}  # a non-contiguous view is copied
    assert len(texts) == 1 and texts.pop()


@pytest.mark.parametrize("chunk", [0.0, -1.0, 0.5, 1.0 / 3.0])
def test_path_runs_from_the_file_as_the_array(session, chunk):
    # a single path goes through ds2_run_file (read chunk by chunk): the same bits as the array
    for p in (os.path.join(GOLDEN, "speech-8k-stereo.wav"), heldout(1)[0]):
        f = session.transcribe(p, probs=True, chunk_seconds=chunk)
        a = session.transcribe(ds2.load_audio(p, 16000), probs=True, chunk_seconds=chunk)
        assert f.text == a.text and f.n_frames == a.n_frames
        assert f.probs.tobytes() == a.probs.tobytes()


def test_probs_are_numpy_and_decode_to_the_text(model, session):
    r = session.transcribe(heldout(1)[0], probs=True)
    assert isinstance(r.probs, np.ndarray) and r.probs.dtype == np.float32
    assert r.probs.shape == (r.n_frames, model.info.n_labels)
    np.testing.assert_allclose(r.probs.sum(axis=1), 1.0, atol=1e-4)
    # Greedy CTC over the returned probabilities gives back the returned text.
    best = r.probs.argmax(axis=1)
    keep = [k for i, k in enumerate(best) if k != model.info.blank_index and
            (i == 0 or k != best[i - 1])]
    assert "".join(model.labels[k] for k in keep).strip() == r.text.strip()
    assert session.transcribe(heldout(1)[0]).probs is None


def test_batch_equals_alone(session):
    paths = heldout(5)
    alone = [session.transcribe(p, probs=True) for p in paths]
    batch = session.transcribe(paths, probs=True)
    assert isinstance(batch, list) and len(batch) == len(paths)
    for a, b in zip(alone, batch):
        assert a.text == b.text and a.n_frames == b.n_frames
        np.testing.assert_allclose(a.probs, b.probs, rtol=0, atol=1e-6)
    # A tuple and a mixed batch (path + array) are batches too.
    mixed = session.transcribe((paths[0], ds2.load_audio(paths[1], 16000)))
    assert [r.text for r in mixed] == [a.text for a in alone[:2]]
    assert session.transcribe([]) == []


def test_int8_batch_equals_alone(model):
    s = model.session(precision="int8")
    paths = heldout(3)
    alone = [s.transcribe(p, probs=True) for p in paths]
    for a, b in zip(alone, s.transcribe(paths, probs=True)):
        assert a.text == b.text
        np.testing.assert_allclose(a.probs, b.probs, rtol=0, atol=1e-6)


@pytest.mark.parametrize("x,exc,words", [
    (np.zeros((2, 100), np.float32), ds2.Error, "1-D"),
    (np.zeros(100, np.int16), ds2.Error, "floating point"),
    (np.zeros(0, np.float32), ds2.Error, "too short"),
    (np.zeros(16000, np.float32), ds2.Error, "silent"),
    (12, TypeError, "path"),
    ([np.ones(100, np.float32), None], TypeError, "path"),
])
def test_bad_arrays(session, x, exc, words):
    with pytest.raises(exc, match=words):
        session.transcribe(x)


@pytest.mark.parametrize("chunk,words", [(1e7, "chunk_seconds"), (float("nan"), "chunk_seconds"),
                                         (1e-9, "below one sample"), ("x", "number")])
def test_bad_chunk_seconds(session, chunk, words):
    with pytest.raises(ds2.Error, match=words) as e:
        session.transcribe(heldout(1)[0], chunk_seconds=chunk)
    assert e.value.status == ds2.Status.INVALID_ARGUMENT
    assert session.transcribe(heldout(1)[0]).text  # the session still works afterwards


def test_batch_too_big_is_refused(session):
    a = np.ones(10, np.float32)
    with pytest.raises(ds2.Error, match="batch"):
        session.transcribe([a] * 4097)


@pytest.mark.parametrize("args,kw", [((), {}), (("--precision", "int8"), {"precision": "int8"}),
                                     (("--chunk-seconds", "1"), {"chunk": 1.0})])
def test_transcripts_equal_ds2_transcribe(model, args, kw):
    paths = heldout(6)
    ref = reference_transcripts(paths, *args)
    s = model.session(precision=kw.get("precision", "fp32"))
    got = s.transcribe(paths, chunk_seconds=kw.get("chunk", 0.0))
    assert {p: r.text for p, r in zip(paths, got)} == ref


def test_version():
    with open(os.path.join(ROOT, "include", "ds2.h")) as f:
        assert f'DS2_VERSION_STRING "{ds2.__version__}"' in f.read()


def test_readme_example_runs(capsys, monkeypatch):
    # The README's "Use it from Python" example, run as written from the repository root.
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    section = text[text.index("## Use it from Python"):]
    code = section[section.index("```python\n") + 10:]
    code = code[:code.index("```")]
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "(" in out and out.strip()
