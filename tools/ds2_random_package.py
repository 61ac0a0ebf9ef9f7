"""Small random deepspeech.pytorch packages with upstream key names, for the converter's and
the growth tool's checks (numpy only; the values are random, the layout is upstream's)."""
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def small_package(rng, H=4, C=2, ctx=2, labels=None, rnn_type="rnn", bidirectional=False,
                  layers=2):
    """A package of `layers` RNN layers of H units over C conv channels; unidirectional ones
    end in a lookahead layer of `ctx` frames, as upstream's UniDirectionalConfig does."""
    labels = labels or ["_", "A", "B", " "]
    G = GATES[rnn_type]
    sd = {}
    for i, (cin, kf) in enumerate(((1, 41), (C, 21))):
        j = 3 * i
        sd[f"conv.seq_module.{j}.weight"] = rng.standard_normal((C, cin, kf, 11))
        sd[f"conv.seq_module.{j}.bias"] = rng.standard_normal(C)
        for k in ("weight", "bias", "running_mean"):
            sd[f"conv.seq_module.{j + 1}.{k}"] = rng.standard_normal(C)
        sd[f"conv.seq_module.{j + 1}.running_var"] = rng.uniform(0.5, 2, C)
    n_in = C * 41
    for L in range(layers):
        p = f"rnns.{L}."
        for sfx in ("", "_reverse") if bidirectional else ("",):
            sd[p + "rnn.weight_ih_l0" + sfx] = rng.standard_normal((G * H, n_in if L == 0 else H))
            sd[p + "rnn.weight_hh_l0" + sfx] = rng.standard_normal((G * H, H))
            sd[p + "rnn.bias_ih_l0" + sfx] = rng.standard_normal(G * H)
            sd[p + "rnn.bias_hh_l0" + sfx] = rng.standard_normal(G * H)
        if L:
            for k in ("weight", "bias", "running_mean"):
                sd[p + "batch_norm.module." + k] = rng.standard_normal(H)
            sd[p + "batch_norm.module.running_var"] = rng.uniform(0.5, 2, H)
    if not bidirectional:
        sd["lookahead.0.conv.weight"] = rng.standard_normal((H, 1, ctx))
    for k in ("weight", "bias", "running_mean"):
        sd["fc.0.module.0." + k] = rng.standard_normal(H)
    sd["fc.0.module.0.running_var"] = rng.uniform(0.5, 2, H)
    sd["fc.0.module.1.weight"] = rng.standard_normal((len(labels), H))
    return {"hidden_size": H, "hidden_layers": layers, "rnn_type": rnn_type,
            "bidirectional": bidirectional, "labels": labels, "state_dict": sd,
            "audio_conf": {"sample_rate": 16000, "window_size": 0.02, "window_stride": 0.01,
                           "window": "hamming"}}
