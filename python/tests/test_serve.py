"""The Ray Serve service (python -m ds2.serve), started once for the module on a free loopback
port with 2 replicas on a 2-CPU local cluster: health, transcripts and timestamps equal to
build/ds2-transcribe, bad audio -> 400 with the library's message (and the replicas live on),
oversized -> 413, a short bounded load test (tools/load-test-serve), clean shutdown."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import wave

import numpy as np
import pytest

from conftest import GOLDEN, MODEL, ROOT, TRANSCRIBE, heldout, need_ray, reference_transcripts

MAX_BYTES = 400_000  # above every bundled eval file (< 110 kB), so 413 costs little to provoke


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def service():
    need_ray()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ds2.serve", "--model", MODEL, "--replicas", "2", "--port",
         str(port), "--host", "127.0.0.1", "--num-cpus", "2", "--max-bytes", str(MAX_BYTES)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = []
    threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            time.sleep(0.5)
            pytest.fail(f"ds2.serve exited with {proc.returncode}: {''.join(err)[-2000:]}")
        try:
            if _get(base + "/health")[0] == 200:
                break
        except (OSError, ValueError):  # not listening yet, or the proxy's 404 (no app yet)
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("ds2.serve did not answer /health within 180 s")
        time.sleep(0.5)
    yield base, proc
    # Shutting down cleanly: SIGINT -> serve.shutdown(), ray.shutdown(), exit status 0.
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("ds2.serve did not stop within 90 s of SIGINT")
        assert proc.returncode == 0, "".join(err)[-2000:]


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _post(url, body, headers=None):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _file(path):
    with open(path, "rb") as f:
        return f.read()


def test_health(service):
    base, _ = service
    status, body = _get(base + "/health")
    assert status == 200 and body["status"] == "ok" and body["sample_rate"] == 16000
    assert body["model"] == os.path.basename(MODEL)


def test_transcripts_and_timestamps_equal_ds2_transcribe(service):
    base, _ = service
    paths = heldout(6) + [os.path.join(GOLDEN, "speech.wav")]  # FLAC and WAV bodies
    ref = reference_transcripts(paths)
    out = subprocess.run([TRANSCRIBE, "-m", MODEL, "--timestamps", *paths], check=True,
                         capture_output=True, text=True).stdout
    ref_words = {r["file"]: r["words"] for r in map(json.loads, out.splitlines())}
    for p in paths:
        status, body = _post(base + "/transcribe", _file(p))
        assert status == 200, body
        assert body["text"] == ref[p]
        assert body["words"] == ref_words[p]
        assert body["duration"] > 0 and body["compute_ms"] > 0


def _silent_wav(tmp_path):
    p = tmp_path / "silent.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(np.zeros(16000, np.int16).tobytes())
    return p.read_bytes()


@pytest.mark.parametrize("make,words", [
    (lambda d: b"not audio at all\n" * 50, "Format not recognised"),
    (lambda d: b"", "empty request body"),
    (lambda d: _silent_wav(d), "silent"),
    (lambda d: _file(heldout(1)[0])[:200], ""),  # a truncated FLAC
])
def test_bad_audio_is_400_and_the_service_lives_on(service, tmp_path, make, words):
    base, proc = service
    status, body = _post(base + "/transcribe", make(tmp_path))
    assert status == 400, body
    assert words in body["error"] and "/dev/shm" not in body["error"]
    good = heldout(1)[0]
    for _ in range(3):  # every replica (requests spread over both) still answers
        status, body = _post(base + "/transcribe", _file(good))
        assert status == 200 and body["text"] == reference_transcripts([good])[good]
    assert proc.poll() is None


def test_oversized_body_is_413(service):
    base, _ = service
    status, body = _post(base + "/transcribe", b"\0" * (MAX_BYTES + 1))
    assert status == 413 and str(MAX_BYTES) in body["error"]
    assert _post(base + "/transcribe", _file(heldout(1)[0]))[0] == 200


def test_wrong_method_and_path(service):
    base, _ = service
    assert _get(base + "/transcribe")[0] == 405
    assert _get(base + "/nope")[0] == 404
    assert _post(base + "/health", b"x")[0] == 405


def test_bounded_load_test(service):
    """tools/load-test-serve against the running service: a short run (the full 300 x 8 is
    the benchmark in the README, not a test): every answer 200 and equal to ds2-transcribe."""
    base, _ = service
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "load-test-serve"),
                        "--url", base, "--model", MODEL, "-n", "40", "-c", "4",
                        "--time-limit", "120", "--transcribe", TRANSCRIBE],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "40 ok, 0 errors, 0 mismatches, 0 timed out" in r.stdout
    print("\n" + r.stdout.strip())


def test_bad_model_fails_before_ray_starts(tmp_path):
    need_ray()
    r = subprocess.run([sys.executable, "-m", "ds2.serve", "--model", str(tmp_path / "no.gguf"),
                        "--port", str(_free_port())], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "no.gguf" in r.stderr


def test_bad_pruning_option_fails_before_ray_starts():
    """--beam-prune-logp must be <= 0: libds2's own message, exit 2, no cluster started."""
    need_ray()
    r = subprocess.run([sys.executable, "-m", "ds2.serve", "--model", MODEL, "--decoder", "beam",
                        "--beam-prune-logp", "3", "--port", str(_free_port())], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "beam_prune_logp" in r.stderr, r.stderr


def test_replica_class_with_pruned_beam_matches_transcribe():
    """pyctcdecode's pruning options reach the replica as `--token-min-logp --beam-prune-logp
    --unk-score-offset` do in ds2-transcribe."""
    from ds2.serve import Transcriber
    lm = os.path.join(ROOT, "data", "lm-3gram.arpa")
    with open(MODEL, "rb") as f, open(lm, "rb") as g:
        t = Transcriber(f.read(), lm_bytes=g.read(), max_bytes=MAX_BYTES,
                        decode={"decoder": "beam", "beam_width": 64, "unk_score_offset": -5.0,
                                "token_min_logp": -5.0, "beam_prune_logp": -10.0})
    paths = heldout(4)
    out = subprocess.run([TRANSCRIBE, "-m", MODEL, "--timestamps", "--decoder", "beam", "--lm", lm,
                          "--beam-width", "64", "--unk-score-offset", "-5",
                          "--token-min-logp", "-5", "--beam-prune-logp", "-10", *paths],
                         check=True, capture_output=True, text=True).stdout
    ref = {r["file"]: r for r in map(json.loads, out.splitlines())}
    # The options must matter on these files, or this test could not see them dropped.
    unpruned = subprocess.run([TRANSCRIBE, "-m", MODEL, "--timestamps", "--decoder", "beam",
                               "--lm", lm, "--beam-width", "64", *paths],
                              check=True, capture_output=True, text=True).stdout
    unpruned = {r["file"]: r["text"] for r in map(json.loads, unpruned.splitlines())}
    assert any(unpruned[p] != ref[p]["text"] for p in paths)
    for p in paths:
        status, body = t.transcribe_bytes(_file(p))
        assert status == 200 and body["text"] == ref[p]["text"]


def test_replica_class_with_beam_and_lm_without_ray():
    """ds2.serve.Transcriber's work (no Ray needed): beam + LM as `--decoder beam --lm`."""
    from ds2.serve import Transcriber
    lm = os.path.join(ROOT, "data", "lm-3gram.arpa")
    with open(MODEL, "rb") as f, open(lm, "rb") as g:
        t = Transcriber(f.read(), lm_bytes=g.read(), max_bytes=MAX_BYTES,
                        decode={"decoder": "beam", "alpha": 0.5, "beta": 3.0, "beam_width": 16})
    paths = heldout(4)
    out = subprocess.run([TRANSCRIBE, "-m", MODEL, "--timestamps", "--decoder", "beam", "--lm", lm,
                          "--alpha", "0.5", "--beta", "3", "--beam-width", "16", *paths],
                         check=True, capture_output=True, text=True).stdout
    ref = {r["file"]: r for r in map(json.loads, out.splitlines())}
    for p in paths:
        status, body = t.transcribe_bytes(_file(p))
        assert status == 200 and body["text"] == ref[p]["text"]
        assert body["words"] == ref[p]["words"]
    status, body = t.transcribe_bytes(b"RIFF" + b"\0" * 100)
    assert status == 400 and "request body" in body["error"]
