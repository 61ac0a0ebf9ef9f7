"""ds2.manifest (always) and the Ray batch job (where `ray` is importable: make
test-python-package runs this with the venv of `scripts/setup-venv.sh ray` and DS2_REQUIRE_RAY=1,
so in CI they run; elsewhere without Ray they skip)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import GOLDEN, MODEL, ROOT, need_ray, reference_transcripts
from ds2.manifest import ManifestError, read_manifest

HELDOUT_MANIFEST = os.path.join("data", "eval", "heldout", "manifest.json")


def _has_ray():
    try:
        import ray  # noqa: F401
        return True
    except ImportError:
        return False


def test_manifest_formats(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    j = read_manifest(HELDOUT_MANIFEST)  # root_path relative to the cwd, as upstream writes it
    assert len(j) == 80 and j[0] == (os.path.join("data", "eval", "heldout", "wav",
                                                  "000000.flac"),
                                     "SINNERS CAN REPENT BUT STUPID IS FOREVER")
    (tmp_path / "a.txt").write_text("HELLO WORLD\n")
    (tmp_path / "m.csv").write_text("a.wav,a.txt\n\n")
    (tmp_path / "m.tsv").write_text("a.wav\tHELLO WORLD\r\n/abs/b.wav\tX\n")
    (tmp_path / "m.lst").write_text("a.wav\n/abs/b.wav\n")
    a = str(tmp_path / "a.wav")
    assert read_manifest(tmp_path / "m.csv") == [(a, "HELLO WORLD")]
    assert read_manifest(tmp_path / "m.tsv") == [(a, "HELLO WORLD"), ("/abs/b.wav", "X")]
    assert read_manifest(tmp_path / "m.lst") == [(a, None), ("/abs/b.wav", None)]
    (tmp_path / "m.json").write_text(json.dumps(
        {"samples": [{"wav_path": "a.wav", "transcript_path": "a.txt"}]}))
    assert read_manifest(tmp_path / "m.json") == [(a, "HELLO WORLD")]


@pytest.mark.parametrize("content,words", [
    ("a.wav,a.txt,extra\n", "2 non-empty"), ("a.wav,nope.txt\n", "nope.txt"),
    ("a.wav\tX\nb.wav\n", ":2:"), ('{"samples": 3}', "samples"), ("{", "JSON syntax"),
    ('{"samples": [{"wav_path": "a.wav"}]}', "transcript_path"),
])
def test_manifest_errors(tmp_path, content, words):
    (tmp_path / "m").write_text(content)
    with pytest.raises(ManifestError, match=words):
        read_manifest(tmp_path / "m")


def _job(tmp_path, manifest, *args):
    out, summary = tmp_path / "r.jsonl", tmp_path / "s.json"
    r = subprocess.run([sys.executable, "-m", "ds2.ray_batch", manifest, "--model", MODEL,
                        "--out", str(out), "--num-cpus", "2", "--summary", str(summary), *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    rows = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    s = json.loads(summary.read_text()) if summary.exists() else None
    return r, rows, s


@pytest.mark.skipif(_has_ray(), reason="ray is installed")
def test_without_ray_says_so(tmp_path):
    r, _, _ = _job(tmp_path, HELDOUT_MANIFEST)
    assert r.returncode != 0 and "pip install ray" in r.stderr


def test_ray_batch_equals_ds2_transcribe(tmp_path):
    need_ray()
    r, rows, s = _job(tmp_path, HELDOUT_MANIFEST, "--actors", "2")
    assert r.returncode == 0, r.stderr
    entries = read_manifest(os.path.join(ROOT, HELDOUT_MANIFEST))
    assert len(rows) == len(entries) == s["files"] == 80 and s["failed"] == 0
    paths = [os.path.join(ROOT, row["path"]) for row in rows]
    ref = reference_transcripts(paths)
    assert [row["text"] for row in rows] == [ref[p] for p in paths]  # manifest order too
    assert all(row["duration"] > 0 and row["seconds"] > 0 and row["reference"] for row in rows)
    assert 0 <= s["wer"] <= 1.5 and s["files_per_second"] > 0
    print(f"\n{r.stdout.strip()}")


def test_ray_batch_reports_bad_files_and_goes_on(tmp_path):
    need_ray()
    good = os.path.join(GOLDEN, "speech.wav")
    (tmp_path / "text.wav").write_text("not audio at all\n" * 50)
    import numpy as np
    import wave
    with wave.open(str(tmp_path / "silent.wav"), "wb") as w:  # rejected by ds2_run, not load
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(np.zeros(16000, np.int16).tobytes())
    lst = tmp_path / "m.lst"
    lst.write_text("\n".join([good, str(tmp_path / "text.wav"), str(tmp_path / "silent.wav"),
                              str(tmp_path / "missing.wav"), good]) + "\n")
    r, rows, s = _job(tmp_path, str(lst), "--actors", "1", "--precision", "int8",
                      "--batch-size", "5")
    assert r.returncode == 1 and (s["files"], s["failed"]) == (2, 3)
    ref = reference_transcripts([good], "--precision", "int8")[good]
    assert rows[0]["text"] == rows[4]["text"] == ref
    assert "Format not recognised" in rows[1]["error"] and "silent" in rows[2]["error"]
    assert "missing.wav" in rows[3]["error"] and "wer" not in s
