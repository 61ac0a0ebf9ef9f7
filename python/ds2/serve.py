"""HTTP transcription service on Ray Serve: replicas of one model behind Serve's HTTP proxy.

    python -m ds2.serve --model M [--replicas N] [--port P] [--host 127.0.0.1]
        [--precision fp32|int8] [--threads T] [--max-bytes B]
        [--decoder greedy|beam] [--lm LM.arpa] [--alpha A] [--beta B] [--beam-width W]
        [--address auto|ray://HOST:PORT] [--num-cpus C]

POST /transcribe with an audio file as the body (any format libsndfile reads) answers
{"text", "words": [{"word", "start", "end"} (seconds)], "duration" (audio seconds),
"compute_ms" (inference), "score"}. GET /health answers {"status": "ok", "model", "replicas"}.
Audio libds2 rejects (not audio, empty, silent) answers 400 with the library's message, and the
replica goes on serving; a body over --max-bytes (default 32 MiB) answers 413, read no further.

The C API reads audio from a path only (ds2_audio_load), so each body is written to a private
temporary file, in /dev/shm (memory) where there is one, and removed once read. Each replica
loads the model (and LM) once, from bytes shipped through Ray's object store, and runs one
ds2_run at a time on its own session, in a worker thread so that its event loop keeps
accepting (and refusing) requests meanwhile.

Without --address a local Ray cluster is started on 127.0.0.1; Serve's proxy listens on
--host:--port (127.0.0.1:8000 by default: pass --host 0.0.0.0 to be reachable from other
machines). Stops cleanly on SIGINT/SIGTERM.
"""
import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import threading
import time

import numpy as np

import ds2

DEFAULT_MAX_BYTES = 32 << 20
_SHM = "/dev/shm"


def _load_from_bytes(data, suffix, loader):
    """loader(path) on a private temporary copy of data; the copy is removed at once (libds2
    maps a model and reads an LM whole, so neither needs the file afterwards)."""
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return loader(path)
    finally:
        os.unlink(path)


class Transcriber:
    """One Serve replica: a Model (and LanguageModel) loaded once and one Session."""

    def __init__(self, model_bytes, precision="fp32", threads=1, max_bytes=DEFAULT_MAX_BYTES,
                 lm_bytes=None, decode=None, name="model"):
        t0 = time.perf_counter()
        self.model = _load_from_bytes(model_bytes, ".gguf", ds2.Model)
        self.lm = _load_from_bytes(lm_bytes, ".arpa", ds2.LanguageModel) if lm_bytes else None
        self.session = self.model.session(precision=precision, threads=threads, lm=self.lm,
                                          **(decode or {}))
        self.rate = self.model.info.sample_rate
        self.max_bytes = max_bytes
        self.name = name
        self.tmpdir = _SHM if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK) else None
        # One ds2_run at a time (the session's own lock would serialise them too); the audio
        # decoding of the next request overlaps the current run.
        self.lock = threading.Lock()
        self.load_seconds = time.perf_counter() - t0

    def transcribe_bytes(self, body):
        """The service's work for one request body: (HTTP status, JSON-able dict)."""
        if not body:
            return 400, {"error": "empty request body (send an audio file)"}
        fd, path = tempfile.mkstemp(prefix="ds2-serve-", dir=self.tmpdir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            try:
                audio = ds2.load_audio(path, self.rate)
            except ds2.Error as e:
                # The temporary file's name means nothing to the client.
                return _error_status(e), {"error": e.message.replace(path, "request body")}
        finally:
            os.unlink(path)
        try:
            with self.lock:
                t0 = time.perf_counter()  # the run itself, not the wait for the previous one
                r = self.session.transcribe(audio)
                ms = (time.perf_counter() - t0) * 1000
        except ds2.Error as e:
            return _error_status(e), {"error": e.message}
        return 200, {"text": r.text,
                     "words": [{"word": w.word, "start": round(w.start_s, 3),
                                "end": round(w.end_s, 3)} for w in r.words],
                     "duration": audio.size / self.rate, "compute_ms": ms, "score": r.score}

    async def __call__(self, request):
        from starlette.responses import JSONResponse
        path = request.url.path.rstrip("/") or "/"
        if path.endswith("/health"):
            if request.method not in ("GET", "HEAD"):
                return JSONResponse({"error": "use GET /health"}, status_code=405)
            return JSONResponse({"status": "ok", "model": self.name,
                                 "sample_rate": self.rate})
        if not path.endswith("/transcribe"):
            return JSONResponse({"error": f"no such endpoint {path} (POST /transcribe, "
                                          "GET /health)"}, status_code=404)
        if request.method != "POST":
            return JSONResponse({"error": "use POST /transcribe with an audio file body"},
                                status_code=405)
        too_big = {"error": f"request body over the limit of {self.max_bytes} bytes"}
        length = request.headers.get("content-length")
        if length is not None:
            try:
                if int(length) > self.max_bytes:
                    return JSONResponse(too_big, status_code=413)
            except ValueError:
                return JSONResponse({"error": "bad Content-Length"}, status_code=400)
        chunks, n = [], 0
        async for chunk in request.stream():  # also bounds a chunked body with no length
            n += len(chunk)
            if n > self.max_bytes:
                return JSONResponse(too_big, status_code=413)
            chunks.append(chunk)
        loop = asyncio.get_running_loop()
        status, body = await loop.run_in_executor(None, self.transcribe_bytes, b"".join(chunks))
        return JSONResponse(body, status_code=status)

    def check_health(self):
        """Serve's periodic replica health check: the session must still be there."""
        if self.session._handle is None:
            raise RuntimeError("ds2 session closed")


def _error_status(e):
    """400 for what the client sent (not audio, silent, too short); 500 for the server's own
    failures (out of memory, a GPU backend error)."""
    client = (ds2.Status.AUDIO_FORMAT, ds2.Status.INVALID_ARGUMENT, ds2.Status.IO)
    return 400 if e.status in client else 500


def build_app(model_bytes, replicas=1, precision="fp32", threads=1,
              max_bytes=DEFAULT_MAX_BYTES, lm_bytes=None, decode=None, name="model"):
    """The Serve application (serve.run it): `replicas` copies of Transcriber."""
    from ray import serve
    dep = serve.deployment(Transcriber, name="ds2", num_replicas=replicas,
                           ray_actor_options={"num_cpus": threads},
                           max_ongoing_requests=16)
    return dep.bind(model_bytes, precision=precision, threads=threads, max_bytes=max_bytes,
                    lm_bytes=lm_bytes, decode=decode, name=name)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m ds2.serve",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="libds2 GGUF model (read by the driver)")
    ap.add_argument("--replicas", type=int, default=1, help="replicas, one model each (1)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    ap.add_argument("--port", type=int, default=8000, help="HTTP port (8000)")
    ap.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads (and Ray CPUs) per replica (1)")
    ap.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                    help=f"largest request body accepted, bytes ({DEFAULT_MAX_BYTES})")
    ap.add_argument("--decoder", choices=("greedy", "beam"), default="greedy")
    ap.add_argument("--lm", help="ARPA n-gram LM for the beam decoder")
    ap.add_argument("--alpha", type=float, help="LM weight (beam)")
    ap.add_argument("--beta", type=float, help="word insertion bonus (beam)")
    ap.add_argument("--beam-width", type=int, help="beam width (10)")
    ap.add_argument("--unk-score-offset", type=float,
                    help="log10 penalty of a word the LM lacks, pyctcdecode's (-10; 0 off)")
    ap.add_argument("--token-min-logp", type=float,
                    help="skip characters below this log probability per frame (0: off)")
    ap.add_argument("--beam-prune-logp", type=float,
                    help="drop beams this far below the best, natural log (0: off)")
    ap.add_argument("--address", help="existing cluster: auto or ray://HOST:PORT "
                    "(default: a local cluster on 127.0.0.1)")
    ap.add_argument("--num-cpus", type=int, help="CPUs of the local cluster (default: all)")
    a = ap.parse_args(argv)
    for name in ("replicas", "threads", "max_bytes"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 < a.port < 65536:
        ap.error("--port must be 1..65535")
    if a.lm and a.decoder != "beam":
        ap.error("--lm needs --decoder beam")
    try:
        import ray
        from ray import serve
    except ImportError:
        print("ds2.serve needs Ray Serve: pip install 'ray[serve]'", file=sys.stderr)
        return 2
    decode = {"decoder": a.decoder, "alpha": a.alpha, "beta": a.beta,
              "beam_width": a.beam_width, "unk_score_offset": a.unk_score_offset,
              "token_min_logp": a.token_min_logp, "beam_prune_logp": a.beam_prune_logp}
    try:
        with open(a.model, "rb") as f:
            model_bytes = f.read()
        lm_bytes = None
        # Bad files and options fail here, with libds2's message, before Ray starts.
        with ds2.Model(a.model) as m:
            lm = ds2.LanguageModel(a.lm) if a.lm else None
            with m.session(precision=a.precision, threads=a.threads, lm=lm, **decode) as s:
                # 1 s of noise: runs every option through ds2_run once (bad ones fail here).
                noise = np.random.default_rng(0).standard_normal(m.info.sample_rate)
                s.transcribe((0.1 * noise).astype(np.float32))
            if lm:
                with open(a.lm, "rb") as f:
                    lm_bytes = f.read()
                lm.close()
    except (OSError, ds2.Error) as e:
        print(f"ds2.serve: {e}", file=sys.stderr)
        return 2

    from ds2.ray_batch import _runtime_env
    if a.address:
        ray.init(address=a.address, runtime_env=_runtime_env(), log_to_driver=False)
    else:
        ray.init(num_cpus=a.num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                 runtime_env=_runtime_env(), log_to_driver=False)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve.start(http_options={"host": a.host, "port": a.port})
        t0 = time.perf_counter()
        serve.run(build_app(model_bytes, a.replicas, a.precision, a.threads, a.max_bytes,
                            lm_bytes, decode, os.path.basename(a.model)),
                  name="ds2", route_prefix="/")
        print(json.dumps({"url": f"http://{a.host}:{a.port}", "replicas": a.replicas,
                          "precision": a.precision, "decoder": a.decoder,
                          "start_seconds": round(time.perf_counter() - t0, 2)}), flush=True)
        print(f"ds2.serve: POST http://{a.host}:{a.port}/transcribe (audio body), "
              f"GET /health; Ctrl-C stops", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
