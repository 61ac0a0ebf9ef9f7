"""ds2.convert: the same bytes as tools/ds2-convert, a model libds2 loads, and the converter's
messages as ds2.Error. Checkpoints are written without torch by tools/check-convert's helper."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import ds2
from conftest import GOLDEN, ROOT


def _check_convert():
    loader = importlib.machinery.SourceFileLoader(
        "check_convert", os.path.join(ROOT, "tools", "check-convert"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


CC = _check_convert()


def _package(path, **override):
    pkg = CC.small_package(np.random.default_rng(7))
    pkg.update(override)
    CC.write_fake_torch_zip(str(path), pkg)
    return path


@pytest.mark.parametrize("int8", [False, True])
def test_convert_matches_the_command_and_loads(tmp_path, int8):
    ck = _package(tmp_path / "m.pth")
    out = tmp_path / "py.gguf"
    summary = ds2.convert(ck, out, int8=int8)
    assert "rnn H=4 layers=2" in summary and ("int8" in summary) == int8
    cli = tmp_path / "cli.gguf"
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "ds2-convert"), str(ck), str(cli)]
                   + (["--int8"] if int8 else []), check=True, capture_output=True)
    assert out.read_bytes() == cli.read_bytes()
    m = ds2.Model(out)
    assert (m.info.rnn_type, m.info.hidden_size, m.info.hidden_layers) == ("rnn", 4, 2)
    assert m.info.weights_int8 == int8 and m.labels == ("_", "A", "B", " ")
    r = m.session().transcribe(os.path.join(GOLDEN, "speech.wav"), probs=True)
    assert set(r.text) <= set("AB ") and r.probs.shape == (r.n_frames, 4)


def test_convert_name(tmp_path):
    ck = _package(tmp_path / "m.pth")
    ds2.convert(ck, tmp_path / "a.gguf", name="my model")
    assert b"my model" in (tmp_path / "a.gguf").read_bytes()


@pytest.mark.parametrize("override,words", [
    ({"hidden_size": 8}, "hidden_size=8"),
    ({"labels": ["X", "A", "B", " "]}, "blank"),
    ({"audio_conf": {"window": "kaiser"}}, "unknown window"),
])
def test_convert_errors(tmp_path, override, words):
    ck = _package(tmp_path / "m.pth", **override)
    out = tmp_path / "m.gguf"
    with pytest.raises(ds2.Error, match=words) as e:
        ds2.convert(ck, out)
    assert e.value.status == ds2.Status.MODEL_FORMAT
    assert not out.exists() and not (tmp_path / "m.gguf.tmp").exists()


def test_convert_missing_and_garbage(tmp_path):
    with pytest.raises(ds2.Error) as e:
        ds2.convert(tmp_path / "nope.pth", tmp_path / "m.gguf")
    assert e.value.status in (ds2.Status.IO, ds2.Status.MODEL_FORMAT) and "nope.pth" in str(e.value)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x80\x02garbage")
    with pytest.raises(ds2.Error):
        ds2.convert(bad, tmp_path / "m.gguf")
    with pytest.raises(ds2.Error) as e:  # unwritable output
        ds2.convert(_package(tmp_path / "m.pth"), tmp_path / "no" / "dir" / "m.gguf")
    assert e.value.status == ds2.Status.IO
