"""Batch transcription on Ray: a manifest in, one JSON line per file out.

    python -m ds2.ray_batch MANIFEST --model M --out results.jsonl [--actors N]
        [--precision fp32|int8] [--threads T] [--batch-size B] [--address auto|ray://HOST:PORT]

MANIFEST is any manifest ds2-bench reads (deepspeech.pytorch JSON, CSV, TSV; see
ds2.manifest) or a plain list of audio paths. N actors each load the model once and transcribe
batches of B files; results.jsonl gets, in manifest order, one line per file:
{"path", "text", "duration" (audio seconds), "seconds" (compute: the batch's time shared by
duration), "reference" when the manifest has one} or {"path", "error"} for a file libds2
rejects (the job goes on; exit status 1). A summary (files/s, audio-s/s, WER/CER when
references exist) goes to stdout, and as JSON to --summary.

Without --address a local Ray cluster is started on 127.0.0.1 (--num-cpus caps it); with one,
the job joins that cluster unchanged. The model file is shipped through Ray's object store, so
only the driver needs it; the audio paths must be readable by every node (a shared file
system), and every node needs the ds2 package and libds2.so (pip install ./python).

Plain Ray actors and ray.util.ActorPool are used, not Ray Data: the job needs an ordered map
of batches over a fixed pool of stateful workers, which ActorPool is, with only `ray` as a
dependency (no pyarrow/pandas) and no per-block overhead.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import ds2
from ds2.manifest import ManifestError, read_manifest


class Transcriber:
    """One Ray actor: a Model loaded once from the shipped bytes, and one Session."""

    def __init__(self, model_bytes, precision, threads):
        t0 = time.perf_counter()
        fd, path = tempfile.mkstemp(suffix=".gguf")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(model_bytes)
            self.model = ds2.Model(path)
        finally:
            # libds2 maps the file, so it can go now: no temp file outlives the actor.
            os.unlink(path)
        self.session = self.model.session(precision=precision, threads=threads)
        self.rate = self.model.info.sample_rate
        self.load_seconds = time.perf_counter() - t0

    def ready(self):
        """Returns the model load time; awaited before timing starts."""
        return self.load_seconds

    def run(self, batch):
        """batch: [(index, path)] -> [dict] in the same order (see the module docstring)."""
        rows, audio = [], []
        for i, path in batch:
            try:
                a = ds2.load_audio(path, self.rate)
                audio.append((len(rows), a))
                rows.append({"index": i, "path": path, "duration": a.size / self.rate})
            except ds2.Error as e:
                rows.append({"index": i, "path": path, "error": e.message})
        if audio:
            t0 = time.perf_counter()
            try:
                results = self.session.transcribe([a for _, a in audio])
            except ds2.Error:
                # One bad utterance (e.g. silence) fails the whole batch: rerun them one by one
                # so that only the culprit is reported.
                results = []
                for k, a in audio:
                    try:
                        results.append(self.session.transcribe(a))
                    except ds2.Error as e:
                        results.append(e)
            spent = time.perf_counter() - t0
            total = sum(a.size for _, a in audio) or 1
            for (k, a), r in zip(audio, results):
                if isinstance(r, ds2.Error):
                    rows[k] = {"index": rows[k]["index"], "path": rows[k]["path"],
                               "error": r.message}
                else:
                    rows[k]["text"] = r.text
                    rows[k]["seconds"] = spent * a.size / total
        return rows


def _runtime_env():
    """What the workers need to import this same ds2 and load this same libds2.so."""
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(ds2.__file__)))
    env = {"PYTHONPATH": os.pathsep.join(
        p for p in (pkg_parent, os.environ.get("PYTHONPATH", "")) if p)}
    if os.environ.get("DS2_LIBRARY"):
        env["DS2_LIBRARY"] = os.path.abspath(os.environ["DS2_LIBRARY"])
    return {"env_vars": env}


def run(manifest, model, out, actors=2, precision="fp32", threads=1, batch_size=8,
        address=None, num_cpus=None, log=sys.stderr):
    """Runs the job (see the module docstring) and returns the summary dict."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise SystemExit("ds2.ray_batch needs Ray: pip install ray")
    entries = read_manifest(manifest)  # paths as the manifest resolves them: what rows show
    with open(model, "rb") as f:
        model_bytes = f.read()
    ds2.Model(model).close()  # a bad model fails here, with libds2's message, before Ray starts
    if address:
        ray.init(address=address, runtime_env=_runtime_env(), log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                 runtime_env=_runtime_env(), log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=threads)(Transcriber)
        ref = ray.put(model_bytes)
        pool_actors = [remote.remote(ref, precision, threads) for _ in range(actors)]
        load = ray.get([a.ready.remote() for a in pool_actors])
        # Absolute for the actors, whose working directory is not the driver's.
        batches = [[(i, os.path.abspath(entries[i][0]))
                    for i in range(s, min(s + batch_size, len(entries)))]
                   for s in range(0, len(entries), batch_size)]
        t0 = time.perf_counter()
        n_ok = n_err = 0
        audio_s = compute_s = 0.0
        errs = [0, 0, 0, 0]
        wer = tools_wer()
        with open(out, "w", encoding="utf-8") as f:
            pool = ActorPool(pool_actors)
            for rows in pool.map(lambda a, b: a.run.remote(b), batches):
                for row in rows:
                    row["path"], ref_text = entries[row.pop("index")]
                    if ref_text is not None:
                        row["reference"] = ref_text
                    if "error" in row:
                        n_err += 1
                        print(f"ds2.ray_batch: {row['path']}: {row['error']}", file=log)
                    else:
                        n_ok += 1
                        audio_s += row["duration"]
                        compute_s += row["seconds"]
                        if ref_text is not None:
                            errs = [x + y for x, y in
                                    zip(errs, wer.error_counts(row["text"], ref_text))]
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    summary = {"files": n_ok, "failed": n_err, "actors": actors, "precision": precision,
               "threads_per_actor": threads, "batch_size": batch_size,
               "wall_seconds": wall, "audio_seconds": audio_s, "compute_seconds": compute_s,
               "files_per_second": n_ok / wall if wall else 0.0,
               "audio_seconds_per_second": audio_s / wall if wall else 0.0,
               "model_load_seconds": max(load) if load else 0.0}
    if errs[1]:
        summary["wer"] = errs[0] / errs[1]
        summary["cer"] = errs[2] / errs[3] if errs[3] else 0.0
    return summary


def tools_wer():
    """tools/ds2_wer.py, the edit distance every Python tool of the project uses."""
    from ds2._convert import tool_module
    return tool_module("ds2_wer.py")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m ds2.ray_batch",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", help="deepspeech.pytorch JSON/CSV, TSV, or a list of paths")
    ap.add_argument("--model", required=True, help="libds2 GGUF model (read by the driver)")
    ap.add_argument("--out", required=True, help="results, one JSON line per file")
    ap.add_argument("--actors", type=int, default=2, help="actors, one model each (2)")
    ap.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (and Ray CPUs) per "
                    "actor (1)")
    ap.add_argument("--batch-size", type=int, default=8, help="files per ds2_run (8)")
    ap.add_argument("--address", help="existing cluster: auto or ray://HOST:PORT "
                    "(default: a local cluster on 127.0.0.1)")
    ap.add_argument("--num-cpus", type=int, help="CPUs of the local cluster (default: all)")
    ap.add_argument("--summary", help="also write the summary as JSON here")
    a = ap.parse_args(argv)
    for name in ("actors", "threads", "batch_size"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    try:
        s = run(a.manifest, a.model, a.out, actors=a.actors, precision=a.precision,
                threads=a.threads, batch_size=a.batch_size, address=a.address,
                num_cpus=a.num_cpus)
    except (ManifestError, OSError, ds2.Error) as e:
        print(f"ds2.ray_batch: {e}", file=sys.stderr)
        return 2
    line = (f"{s['files']} files ({s['failed']} failed), {s['audio_seconds']:.1f} s of audio in "
            f"{s['wall_seconds']:.2f} s with {s['actors']} actors: "
            f"{s['files_per_second']:.1f} files/s, {s['audio_seconds_per_second']:.1f} audio-s/s "
            f"(model load {s['model_load_seconds']:.2f} s per actor)")
    if "wer" in s:
        line += f"; WER {100 * s['wer']:.1f} %, CER {100 * s['cer']:.1f} %"
    print(line)
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(s, f, indent=1)
    return 1 if s["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
