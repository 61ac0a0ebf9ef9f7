"""ds2.convert: the converter of tools/ds2-convert, called in-process.

The conversion itself (checkpoint reading, BatchNorm folding, GGUF writing) lives in
tools/ds2-convert, tools/ds2_checkpoint.py and tools/ds2gguf.py; this module only finds and
imports them, so the command-line tool and the Python call cannot drift apart. They are
searched in the copy `pip install` bundles (ds2/_tools/), in the checkout's tools/, and
where `make install` puts them (PREFIX/bin/ds2-convert, PREFIX/lib/ds2/).
"""
import importlib.machinery
import importlib.util
import os
import shutil
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))


def _tool_candidates(filename):
    """Where tools/<filename> is looked for: the copy `pip install` bundled (as a .py), the
    checkout, and `make install`'s PREFIX/bin and PREFIX/lib/ds2."""
    bundled = filename if filename.endswith(".py") else filename.replace("-", "_") + ".py"
    out = [os.path.join(_HERE, "_tools", bundled), os.path.join(_REPO, "tools", filename)]
    installed = shutil.which("ds2-convert")
    if installed:
        prefix = os.path.dirname(os.path.dirname(os.path.realpath(installed)))
        out += [os.path.join(prefix, "bin", filename), os.path.join(prefix, "lib", "ds2", filename)]
    return out


def tool_module(filename):
    """tools/<filename> imported as a module, once (by explicit loader: ds2-convert has no .py
    suffix). sys.modules is the cache, so this module keeps no state of its own; two threads
    racing here both import, harmlessly. ds2-convert puts its own directory on sys.path to
    import its helper modules."""
    name = "ds2._tool_" + filename.replace("-", "_").replace(".py", "")
    if name in sys.modules:
        return sys.modules[name]
    for path in _tool_candidates(filename):
        if os.path.isfile(path):
            loader = importlib.machinery.SourceFileLoader(name, path)
            spec = importlib.util.spec_from_loader(loader.name, loader)
            mod = importlib.util.module_from_spec(spec)
            loader.exec_module(mod)
            sys.modules[name] = mod
            return mod
    raise OSError(f"tools/{filename} not found in " + ", ".join(_tool_candidates(filename)))


def _converter():
    return tool_module("ds2-convert")


def convert(checkpoint, out, int8=False, name=None):
    """Converts a deepspeech.pytorch checkpoint (Lightning .ckpt or .pth package) into a
    libds2 GGUF model at `out`, exactly as `tools/ds2-convert` does (the checkpoint is
    unpickled with an allowlist, never executing code). int8=True stores the RNN and FC
    matrices as per-row int8. Returns a one-line summary of the network.

    Raises ds2.Error (status MODEL_FORMAT, or IO for unreadable/unwritable files) with the
    converter's message. Needs numpy only, not libds2.so."""
    from . import Error, Status  # here: the package imports this module first
    conv = _converter()
    checkpoint, out = os.fspath(checkpoint), os.fspath(out)
    try:
        state, hp = conv.read_checkpoint(checkpoint)
        kv, tensors, summary = conv.build(state, hp, bool(int8),
                                          name if name is not None
                                          else os.path.basename(checkpoint))
        # Written beside the target and renamed: a failed run never leaves half a model.
        tmp = out + ".tmp"
        try:
            conv.write_gguf(tmp, kv, tensors)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    except OSError as e:
        raise Error(Status.IO, str(e)) from e
    except (conv.CheckpointError, conv.ConvertError) as e:
        raise Error(Status.MODEL_FORMAT, str(e)) from e
    return summary
