#!/usr/bin/python3
"""tools/ds2_grow.py widens a network without changing its outputs, and deepens it with nearly
unchanged ones (numpy + the C engine).

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
from ds2_grow import COPY_GATE, GrowError, deepen, grow  # noqa: E402
from ds2_random_package import small_package  # noqa: E402
from tool_module import load_tool  # noqa: E402

BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
FORWARD = os.path.join(BUILD, "ds2-forward")
# Probabilities in [0, 1]; the grown network sums the same products plus exact zeros, in
# another blocking order, so the two differ by float32 rounding of K ~ 1e3 terms.
TOL = 1e-4
# Deepening is approximate: the new layer passes y on as tanh(0.05 * y) (|y| <= 2 after a
# bidirectional sum), relative error (0.1)^2 / 3 = 0.33 % per feature; through a GRU layer and
# the FC (logits up to ~20) that moves a logit by <= ~0.07 and a probability by <= ~0.02.
DEEPEN_SCALE = 0.05
DEEPEN_TOL = 0.02


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


def check_deepen(ck, conv, name, state, hp, spect, tmp):
    """One more RNN layer below the last: nearly the same outputs, and an error that grows
    with the scale (the approximation is the one measured, so the check can fail)."""
    base = probs(conv, state, hp, spect, tmp, name + "-old")
    dhp = dict(hp, hidden_layers=hp["hidden_layers"] + 1)
    gaps = {}
    for scale in (DEEPEN_SCALE, 10 * DEEPEN_SCALE):
        deep = deepen(state, hp["rnn_type"], hp["bidirectional"], scale=scale)
        new = probs(conv, deep, dhp, spect, tmp, "%s-deep%g" % (name, scale))
        gaps[scale] = float(np.abs(base - new).max())
        if scale == DEEPEN_SCALE:
            agree = float((base.argmax(-1) == new.argmax(-1)).mean()) * 100
            ck(gaps[scale] <= DEEPEN_TOL and agree == 100.0,
               "%s: layers %d -> %d: probabilities within %.2g (bound %g), argmax agrees on "
               "%.1f %% of frames" % (name, hp["hidden_layers"], dhp["hidden_layers"],
                                      gaps[scale], DEEPEN_TOL, agree))
            layer = hp["hidden_layers"] - 1
            h = hp["hidden_size"]
            w = deep["rnns.%d.rnn.weight_ih_l0" % layer]
            g = COPY_GATE[hp["rnn_type"]]
            ck(np.array_equal(w[g * h:(g + 1) * h], np.eye(h))
               and not deep["rnns.%d.rnn.weight_hh_l0" % layer].any()
               and np.array_equal(deep["rnns.%d.rnn.weight_hh_l0" % (layer + 1)],
                                  state["rnns.%d.rnn.weight_hh_l0" % layer]),
               "%s: the new layer %d copies its input, the old last layer moved to %d"
               % (name, layer, layer + 1))
    ck(gaps[10 * DEEPEN_SCALE] > 10 * gaps[DEEPEN_SCALE],
       "%s: scale %g moves the output %.2g, > 10x scale %g's (the check can fail)"
       % (name, 10 * DEEPEN_SCALE, gaps[10 * DEEPEN_SCALE], DEEPEN_SCALE))


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
        check_deepen(ck, conv, "bundled", state, hp, spect, tmp)
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
            check_deepen(ck, conv, name, sd, php, spect, tmp)
    try:
        grow(state, hp["rnn_type"], c - 1, hp["hidden_size"])
        ck(False, "shrinking is refused")
    except GrowError as e:
        ck("only grow" in str(e), "shrinking is refused: %s" % e)
    one = {k: v for k, v in state.items() if not k.startswith(("rnns.1.", "rnns.2."))}
    try:
        deepen(one, hp["rnn_type"], hp["bidirectional"])
        ck(False, "deepening a one-layer network is refused")
    except GrowError as e:
        ck("L >= 2" in str(e), "deepening a one-layer network is refused: %s" % e)
    ck.finish("check_grow_model")
    print("check_grow_model: all passed")


if __name__ == "__main__":
    main()
