"""Evaluation-set manifests, read by the same rules as ds2-bench (tools/common/manifest.h):

- JSON (deepspeech.pytorch V3): {"root_path": DIR, "samples": [{"wav_path": P,
  "transcript_path": P}, ...]}; P relative to root_path, root_path relative to the manifest's
  directory (default: that directory), or to the current directory as deepspeech.pytorch
  does when only that reading names a directory;
- CSV: "wav_path,txt_path" per line; TSV: "audio_path<TAB>transcript text" per line (the first
  non-blank line decides); relative paths are relative to the manifest's directory;
- a bare list of audio paths, one per line without tab or comma, is accepted too (no
  references; ds2-bench needs them, batch transcription does not).
Transcript files are read with trailing newlines stripped.
"""
import json
import os


class ManifestError(ValueError):
    """A manifest that cannot be read; the message names the file and line or sample."""


def _read_text(path, where, manifest):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except OSError as e:
        raise ManifestError(f"{manifest}: {where}: transcript file '{path}': {e.strerror}")


def read_manifest(path):
    """Returns [(audio_path, reference or None)], audio paths as given or joined to the
    manifest's directory. Raises ManifestError (or OSError for an unreadable manifest)."""
    path = os.fspath(path)
    d = os.path.dirname(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.lstrip().startswith("{"):
        return _read_json(path, d, text)
    out, fmt = [], None
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if fmt is None:
            fmt = "tsv" if "\t" in line else "csv" if "," in line else "list"
        where = f"line {lineno}"
        if fmt == "tsv":
            if "\t" not in line:
                raise ManifestError(f"{path}:{lineno}: expected 'audio_path<TAB>transcript'")
            audio, ref = line.split("\t", 1)
            if not audio:
                raise ManifestError(f"{path}:{lineno}: empty audio path")
            out.append((os.path.join(d, audio), ref))
        elif fmt == "csv":
            cols = line.split(",")
            if len(cols) != 2 or not all(cols):
                raise ManifestError(f"{path}:{lineno}: expected 2 non-empty comma-separated "
                                    "columns (wav_path,txt_path)")
            out.append((os.path.join(d, cols[0]),
                        _read_text(os.path.join(d, cols[1]), where, path)))
        else:
            out.append((os.path.join(d, line.strip()), None))
    return out


def _read_json(path, d, text):
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}: JSON syntax error at line {e.lineno}: {e.msg}")
    if not isinstance(obj, dict) or not isinstance(obj.get("samples"), list):
        raise ManifestError(f"{path}: expected an object with a \"samples\" array")
    rp = obj.get("root_path")
    if rp is None:
        root = d
    elif not isinstance(rp, str):
        raise ManifestError(f"{path}: \"root_path\" is not a string")
    else:
        root = os.path.join(d, rp)
        if not os.path.isabs(rp) and not os.path.isdir(root) and os.path.isdir(rp):
            root = rp
    out = []
    for i, s in enumerate(obj["samples"]):
        where = f"samples[{i}]"
        if not isinstance(s, dict):
            raise ManifestError(f"{path}: {where} is not an object")
        for k in ("wav_path", "transcript_path"):
            if not isinstance(s.get(k), str) or not s[k]:
                raise ManifestError(f"{path}: {where}: \"{k}\" must be a non-empty string")
        out.append((os.path.join(root, s["wav_path"]),
                    _read_text(os.path.join(root, s["transcript_path"]), where, path)))
    return out
