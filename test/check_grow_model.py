#!/usr/bin/python3
"""tools/ds2_grow.py widens a network without changing its outputs (numpy + the C engine).

For the bundled model and a random package of every variant deepspeech.pytorch defines
(GRU/LSTM/RNN, bidirectional or unidirectional with lookahead), the grown state dict is
converted as tools/ds2-convert converts a checkpoint and run by build/ds2-forward on a real
utterance's spectrogram: its probabilities must equal the original's to float32 rounding. It
also checks the new units are really there (random incoming weights, zero outgoing ones), and
that the comparison can fail: one new outgoing weight made non-zero must change the output.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "test"))
from checklist import Checklist  # noqa: E402
from ds2_grow import GrowError, grow  # noqa: E402
from ds2_random_package import small_package  # noqa: E402
from tool_module import load_tool  # noqa: E402

BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
FORWARD = os.path.join(BUILD, "ds2-forward")
# Probabilities in [0, 1]; the grown network sums the same products plus exact zeros, in
# another blocking order, so the two differ by float32 rounding of K ~ 1e3 terms.
TOL = 1e-4


def probs(conv, state, hp, spect, tmp, tag):
    gguf = os.path.join(tmp, tag + ".gguf")
    out = os.path.join(tmp, tag + ".probs.npy")
    kv, tensors, _ = conv.build(state, hp, False, tag)
    conv.write_gguf(gguf, kv, tensors)
    subprocess.run([FORWARD, "-m", gguf, "--spect", spect, "--threads", "1", "--probs", out],
                   check=True, stdout=subprocess.DEVNULL)
    return np.load(out)


def check_case(ck, conv, name, state, hp, c_new, h_new, spect, tmp):
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[hp["rnn_type"]]
    h_old = state["rnns.0.rnn.weight_ih_l0"].shape[0] // gates
    grown = grow(state, hp["rnn_type"], c_new, h_new, seed=7)
    ghp = dict(hp, hidden_size=h_new)
    base = probs(conv, state, hp, spect, tmp, name + "-old")
    new = probs(conv, grown, ghp, spect, tmp, name + "-new")
    gap = float(np.abs(base - new).max())
    ck(gap <= TOL, "%s: conv %d -> %d, hidden %d -> %d: probabilities equal to %.2g "
             "(bound %g)" % (name, state["conv.seq_module.0.weight"].shape[0], c_new, h_old,
                             h_new, gap, TOL))
    fresh_in = grown["rnns.0.rnn.weight_hh_l0"][h_old:h_new]
    fresh_out = grown["fc.0.module.1.weight"][:, h_old:]
    ck(np.all(fresh_in != 0) and np.all(fresh_out == 0),
             "%s: new units read random weights and are read through zeros" % name)
    poked = dict(grown)
    poked["fc.0.module.1.weight"] = grown["fc.0.module.1.weight"].copy()
    # One label's logit only: the same value added to every logit would leave the softmax alone.
    poked["fc.0.module.1.weight"][2, -1] = 2.0
    moved = float(np.abs(probs(conv, poked, ghp, spect, tmp, name + "-poked") - base).max())
    ck(moved > 10 * TOL, "%s: a non-zero outgoing weight changes the output by %.2g "
             "(the comparison can fail)" % (name, moved))


def main():
    ck = Checklist()
    conv = load_tool("ds2-convert")
    with tempfile.TemporaryDirectory() as tmp:
        spect = os.path.join(tmp, "speech.spect.npy")
        subprocess.run([FORWARD, "-m", os.path.join(ROOT, "data", "default-model.gguf"),
                        "--spect-out", spect, "--seconds", "3",
                        os.path.join(ROOT, "test", "golden", "speech.wav")],
                       check=True, stdout=subprocess.DEVNULL)
        state, hp = conv.read_checkpoint(os.path.join(ROOT, "data", "default-model.pth"))
        c = state["conv.seq_module.0.weight"].shape[0]
        # Odd sizes: the grown shapes are not the multiples of 8 or 16 the kernels block by.
        check_case(ck, conv, "bundled", state, hp, c + 5, hp["hidden_size"] + 37, spect, tmp)
        rng = np.random.default_rng(11)
        for rnn_type, bidir in (("gru", True), ("lstm", True), ("lstm", False),
                                ("rnn", False)):
            pkg = small_package(rng, H=6, C=2, ctx=3, rnn_type=rnn_type,
                                bidirectional=bidir, labels=hp["labels"])
            # small_package's N(0, 1) weights saturate every gate; scale them to a trained
            # network's range so that the outputs depend on all of them.
            sd = {k: (v * 0.3 if "running_var" not in k else v)
                  for k, v in pkg["state_dict"].items()}
            php = {k: pkg[k] for k in ("hidden_size", "hidden_layers", "rnn_type",
                                       "bidirectional", "labels")}
            php["audio"] = pkg["audio_conf"]
            if not bidir:
                php["lookahead_context"] = 3
            name = "%s-%s" % ("bi" if bidir else "uni", rnn_type)
            check_case(ck, conv, name, sd, php, 3, 11, spect, tmp)
    try:
        grow(state, hp["rnn_type"], c - 1, hp["hidden_size"])
        ck(False, "shrinking is refused")
    except GrowError as e:
        ck("only grow" in str(e), "shrinking is refused: %s" % e)
    ck.finish("check_grow_model")
    print("check_grow_model: all passed")


if __name__ == "__main__":
    main()
