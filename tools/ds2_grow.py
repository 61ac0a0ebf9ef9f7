"""Widen a trained DeepSpeech2 without changing what it computes (function-preserving growth),
or deepen it by a layer that starts as nearly the identity (deepen(), below).

A bigger network trained from scratch needs ~8 h of 2 CPU cores here to catch up with the
bundled one; widening the bundled one keeps every hour already spent. Each new unit (conv
channel or recurrent hidden unit) gets random incoming weights, as a fresh layer would, and
zero outgoing weights: nothing an old unit computes reads a new one, so the grown network's
outputs equal the old network's exactly, and training then starts where the old one stopped.
The outgoing weights get gradients at once (the new units' activations are not zero), so the
new units join in within a few steps; the zero-initialised half is the same trick as LoRA's B.

Works on deepspeech.pytorch state dicts as name -> numpy array (as tools/ds2-convert reads
them, no torch needed), for every variant it defines: LSTM/GRU/RNN, bidirectional or
unidirectional with the lookahead layer. Layout facts it relies on (deepspeech_pytorch/model.py):
- the conv stack's output [N, C, F', T] is viewed as [N, C * F', T]: channel c owns the RNN input
  columns c * F' .. c * F' + F' - 1, so new channels are new columns at the end;
- an RNN's weight_ih / weight_hh / biases stack the gates along dim 0, H rows each
  (LSTM i f g o, GRU r z n, RNN one);
- a bidirectional layer sums its two directions, so its output has H features either way;
- BatchNorm1d sits before every RNN layer but the first and before the FC; new features get a
  fresh one (mean 0, var 1, weight 1, bias 0).
"""
import numpy as np

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
# The gate whose input weights deepen() makes the identity: LSTM i f g o -> g, GRU r z n -> n.
COPY_GATE = {"lstm": 2, "gru": 2, "rnn": 0}
CONV_KEYS = ("conv.seq_module.0", "conv.seq_module.1", "conv.seq_module.3", "conv.seq_module.4")


class GrowError(Exception):
    pass


def _gates(rnn_type):
    if rnn_type.lower() not in GATES:
        raise GrowError("rnn_type %r: expected lstm, gru or rnn" % rnn_type)
    return GATES[rnn_type.lower()]


def _rnn_layers(state):
    return sorted({int(k.split(".")[1]) for k in state if k.startswith("rnns.")})


def _uniform(rng, shape, fan_in):
    # PyTorch's default initialisation of Conv2d/RNN/Linear weights: U(-1/sqrt(fan_in), ..).
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


def _pad_bn(state, out, prefix, n_new):
    n_old = state[prefix + ".running_mean"].shape[0]
    extra = n_new - n_old
    for name, fill in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0),
                       ("running_var", 1.0)):
        key = "%s.%s" % (prefix, name)
        if key in state:
            out[key] = np.concatenate([state[key], np.full(extra, fill)])
    if prefix + ".num_batches_tracked" in state:
        out[prefix + ".num_batches_tracked"] = state[prefix + ".num_batches_tracked"]


def _grow_conv(state, out, c_new, rng):
    w1 = state["conv.seq_module.0.weight"]  # [C, 1, 41, 11]
    w2 = state["conv.seq_module.3.weight"]  # [C, C, 21, 11]
    c_old = w1.shape[0]
    k1 = w1.shape[1] * w1.shape[2] * w1.shape[3]
    new1 = _uniform(rng, (c_new - c_old,) + w1.shape[1:], k1)
    out["conv.seq_module.0.weight"] = np.concatenate([w1, new1])
    out["conv.seq_module.0.bias"] = np.concatenate(
        [state["conv.seq_module.0.bias"], _uniform(rng, (c_new - c_old,), k1)])
    _pad_bn(state, out, "conv.seq_module.1", c_new)
    k2 = c_new * w2.shape[2] * w2.shape[3]
    w2_new = np.zeros((c_new, c_new) + w2.shape[2:])
    w2_new[:c_old, :c_old] = w2  # old outputs read old channels only
    w2_new[c_old:] = _uniform(rng, (c_new - c_old, c_new) + w2.shape[2:], k2)
    out["conv.seq_module.3.weight"] = w2_new
    out["conv.seq_module.3.bias"] = np.concatenate(
        [state["conv.seq_module.3.bias"], _uniform(rng, (c_new - c_old,), k2)])
    _pad_bn(state, out, "conv.seq_module.4", c_new)


def _grow_rnn_layer(state, out, prefix, gates, h_old, h_new, in_map, in_new, rng):
    """One nn.GRU/LSTM/RNN (both directions). in_map: old input index -> new input index."""
    for suffix in ("", "_reverse"):
        wi_key = "%s.weight_ih_l0%s" % (prefix, suffix)
        if wi_key not in state:
            continue
        wh_key = "%s.weight_hh_l0%s" % (prefix, suffix)
        wi, wh = state[wi_key], state[wh_key]
        wi_new = np.zeros((gates * h_new, in_new))
        wh_new = np.zeros((gates * h_new, h_new))
        biases = {}
        for b in ("bias_ih_l0", "bias_hh_l0"):
            key = "%s.%s%s" % (prefix, b, suffix)
            if key in state:
                biases[key] = (state[key], np.zeros(gates * h_new))
        for g in range(gates):
            old = slice(g * h_old, (g + 1) * h_old)
            kept = slice(g * h_new, g * h_new + h_old)
            fresh = slice(g * h_new + h_old, (g + 1) * h_new)
            wi_new[kept, in_map] = wi[old]
            wh_new[kept, :h_old] = wh[old]
            # New units: random rows over every input and every hidden unit, the
            # initialisation nn.GRU/LSTM/RNN gives a whole layer (bound 1/sqrt(H)).
            wi_new[fresh] = _uniform(rng, (h_new - h_old, in_new), h_new)
            wh_new[fresh] = _uniform(rng, (h_new - h_old, h_new), h_new)
            for key, (b_old, b_new) in biases.items():
                b_new[kept] = b_old[old]
                b_new[fresh] = _uniform(rng, (h_new - h_old,), h_new)
        out[wi_key] = wi_new
        out[wh_key] = wh_new
        for key, (_, b_new) in biases.items():
            out[key] = b_new


def grow(state, rnn_type, conv_channels, hidden_size, seed=2026):
    """Returns a new state dict with `conv_channels` conv channels and `hidden_size` hidden
    units per RNN layer (each >= the current one). Raises GrowError on a layout it does not
    know."""
    gates = _gates(rnn_type)
    for k in CONV_KEYS:
        if k + ".weight" not in state:
            raise GrowError("state_dict lacks %s.weight: not a DeepSpeech2 conv stack" % k)
    rng = np.random.default_rng(seed)
    c_old = state["conv.seq_module.0.weight"].shape[0]
    w_ih0 = state.get("rnns.0.rnn.weight_ih_l0")
    if w_ih0 is None:
        raise GrowError("state_dict lacks rnns.0.rnn.weight_ih_l0")
    h_old = w_ih0.shape[0] // gates
    if w_ih0.shape[0] != gates * h_old:
        raise GrowError("rnns.0.rnn.weight_ih_l0 has %d rows: not %d gates of one size"
                        % (w_ih0.shape[0], gates))
    if conv_channels < c_old or hidden_size < h_old:
        raise GrowError("can only grow: conv channels %d -> %d, hidden %d -> %d"
                        % (c_old, conv_channels, h_old, hidden_size))
    in0_old = w_ih0.shape[1]
    if in0_old % c_old:
        raise GrowError("RNN input %d is not a multiple of %d conv channels" % (in0_old, c_old))
    f_out = in0_old // c_old

    out = dict(state)
    _grow_conv(state, out, conv_channels, rng)
    for i in _rnn_layers(state):
        prefix = "rnns.%d.rnn" % i
        if i == 0:
            in_map, in_new = np.arange(in0_old), conv_channels * f_out
        else:
            _pad_bn(state, out, "rnns.%d.batch_norm.module" % i, hidden_size)
            in_map, in_new = np.arange(h_old), hidden_size
        _grow_rnn_layer(state, out, prefix, gates, h_old, hidden_size, in_map, in_new, rng)
    if "lookahead.0.conv.weight" in state:
        la = state["lookahead.0.conv.weight"]  # [H, 1, context], depthwise
        out["lookahead.0.conv.weight"] = np.concatenate(
            [la, _uniform(rng, (hidden_size - h_old,) + la.shape[1:], la.shape[2])])
    _pad_bn(state, out, "fc.0.module.0", hidden_size)
    fc = state["fc.0.module.1.weight"]  # [labels, H]
    fc_new = np.zeros((fc.shape[0], hidden_size))
    fc_new[:, :h_old] = fc
    out["fc.0.module.1.weight"] = fc_new
    return out


def deepen(state, rnn_type, bidirectional, scale=0.05, gate_bias=8.0, eps=1e-5):
    """Returns a new state dict with one more RNN layer, inserted below the last one, that
    starts as (nearly) the identity, so the deeper network computes almost what the old one
    does (the closer, the smaller `scale`).

    No GRU/LSTM/RNN can pass its input through exactly (tanh bounds it), so the new layer
    works in the small-signal range instead: its BatchNorm maps the layer's input y to
    scale * y (y's statistics are in the running mean/var of the BatchNorm of the old last
    layer, which reads y), each direction copies it through tanh with the gates held open or
    shut by `gate_bias` (GRU z = sigmoid(-gate_bias): no memory; LSTM i, o open, f shut) and
    no recurrent weights, so it outputs d * tanh(scale * y) ~ d * scale * y for d directions.
    The old last layer's BatchNorm gets the statistics of that scaled input and a weight that
    undoes the scale, so in eval mode it sees what it saw before, up to tanh's curvature
    (relative (scale * y)^2 / 3, LSTM twice that) and the gates' leak sigmoid(-gate_bias).
    In train mode BatchNorm normalises by batch statistics, which scale alike. Inserting the
    layer below the last one, not on top, keeps the FC, the lookahead and their BatchNorm
    untouched, for every variant. Needs at least two RNN layers."""
    gates = _gates(rnn_type)
    rnn_type = rnn_type.lower()
    if not (0 < scale <= 0.5) or not (gate_bias >= 4):
        raise GrowError("scale %g must be in (0, 0.5] and gate_bias %g >= 4"
                        % (scale, gate_bias))
    layers = _rnn_layers(state)
    if len(layers) < 2 or layers != list(range(len(layers))):
        raise GrowError("deepening needs RNN layers 0..L-1 with L >= 2 (found %s)" % layers)
    last = layers[-1]
    bn = "rnns.%d.batch_norm.module" % last
    if bn + ".running_mean" not in state:
        raise GrowError("state_dict lacks %s.running_mean" % bn)
    mean, var = state[bn + ".running_mean"], state[bn + ".running_var"]
    h = mean.shape[0]
    wh = state["rnns.%d.rnn.weight_hh_l0" % last]
    if wh.shape != (gates * h, h):
        raise GrowError("rnns.%d.rnn.weight_hh_l0 is %s, expected %s"
                        % (last, wh.shape, (gates * h, h)))
    out = {k: v for k, v in state.items() if not k.startswith("rnns.%d." % last)}
    for k, v in state.items():  # the old last layer moves up one
        if k.startswith("rnns.%d." % last):
            out["rnns.%d.%s" % (last + 1, k[len("rnns.%d." % last):])] = v
    # The new layer's BatchNorm: eval output scale * y exactly.
    new_bn = "rnns.%d.batch_norm.module" % last
    out[new_bn + ".running_mean"] = mean.copy()
    out[new_bn + ".running_var"] = var.copy()
    out[new_bn + ".weight"] = scale * np.sqrt(var + eps)
    out[new_bn + ".bias"] = scale * mean
    if bn + ".num_batches_tracked" in state:
        out[new_bn + ".num_batches_tracked"] = state[bn + ".num_batches_tracked"]
    # Gate rows: LSTM i f g o, GRU r z n, RNN one; the copying gate reads y through I.
    copy_gate = COPY_GATE[rnn_type]
    gate_biases = {"lstm": {0: gate_bias, 1: -gate_bias, 3: gate_bias},
                   "gru": {1: -gate_bias}, "rnn": {}}[rnn_type]
    prefix = "rnns.%d.rnn." % last
    for suffix in ("", "_reverse") if bidirectional else ("",):
        wi = np.zeros((gates * h, h))
        wi[copy_gate * h:(copy_gate + 1) * h] = np.eye(h)
        b = np.zeros(gates * h)
        for g, value in gate_biases.items():
            b[g * h:(g + 1) * h] = value
        out[prefix + "weight_ih_l0" + suffix] = wi
        out[prefix + "weight_hh_l0" + suffix] = np.zeros((gates * h, h))
        out[prefix + "bias_ih_l0" + suffix] = b
        out[prefix + "bias_hh_l0" + suffix] = np.zeros(gates * h)
    # The old last layer's BatchNorm now reads x ~ s * y, s = directions * scale: statistics
    # of x, and a weight that maps (x - s m) / sqrt(s^2 v + eps) to what (y - m) /
    # sqrt(v + eps) gave.
    s = (2 if bidirectional else 1) * scale
    moved = "rnns.%d.batch_norm.module" % (last + 1)
    out[moved + ".running_mean"] = s * mean
    out[moved + ".running_var"] = s * s * var
    out[moved + ".weight"] = state[bn + ".weight"] * np.sqrt(s * s * var + eps) / (
        s * np.sqrt(var + eps))
    return out
