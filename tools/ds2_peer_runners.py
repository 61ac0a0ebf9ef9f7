#!/usr/bin/python3
"""The peer side of tools/bench-peers, run by the venv's python (scripts/setup-venv.sh peers).

  ds2_peer_runners.py prep --ckpt CKPT --work DIR
      reads the deepspeech.pytorch checkpoint (tools/ds2-convert's reader: numpy, no pickled code
      run), builds tools/ds2_torch.py's DeepSpeech from it and writes DIR/model.pt (state_dict)
      + DIR/model.json (hyperparameters), DIR/model.onnx (torch.onnx.export, dynamic batch and
      time axes), DIR/model-int8.onnx (onnxruntime.quantization.quantize_dynamic) and
      DIR/prep.json (versions, quantized engines, what failed and why).
  ds2_peer_runners.py run --runner NAME --work DIR --spect S.npy --batch B --trials T ...
      one runner in this (fresh) process: loads its model, runs B copies of the spectrogram as
      one batch once to warm up and T times timed, writes --out-json (load seconds, each trial's
      seconds, version, precision) and --out-probs ([B][frames][labels] softmax).

Thread counts come from the caller: OMP/MKL/OPENBLAS_NUM_THREADS are in the environment before
anything is imported, and --threads goes to torch.set_num_threads, ORT's intra_op_num_threads
and OpenVINO's INFERENCE_NUM_THREADS.

Runners: pytorch-fp32, pytorch-int8-<engine> (quantize_dynamic of LSTM/GRU/Linear under
torch.backends.quantized.engine = engine), ort-fp32, ort-int8, openvino-f32 (precision hint
f32), openvino-default (no precision hint: bf16 on CPUs with AVX512_BF16/AMX).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _convert_module():
    from ds2_tool_module import load_tool
    return load_tool("ds2-convert")


def build_model(hp):
    from ds2_torch import DeepSpeech
    return DeepSpeech(labels=hp["labels"], rnn_type=hp["rnn_type"], hidden_size=hp["hidden_size"],
                      hidden_layers=hp["hidden_layers"], bidirectional=hp["bidirectional"],
                      lookahead_context=hp["lookahead_context"], sample_rate=hp["sample_rate"],
                      window_size=hp["window_size"], conv_channels=hp["conv_channels"])


def export_module(m):
    """DeepSpeech.forward for a batch of full-length utterances (what the bench feeds): the same
    modules without the length masks and packed sequences, which neither ONNX exporter can take
    with a dynamic time axis. Equal to DeepSpeech.forward when every length is the full T."""
    import torch

    class Export(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            m = self.m
            x = m.conv.seq_module(x)
            n, c, f, t = x.shape
            x = x.reshape(n, c * f, t).permute(2, 0, 1)
            for r in m.rnns:
                if r.batch_norm is not None:
                    x = r.batch_norm(x)
                x, _ = r.rnn(x)
                if r.bidirectional:
                    x = x.view(x.size(0), x.size(1), 2, -1).sum(2)
            if not m.bidirectional:
                x = m.lookahead(x)
            x = m.fc(x).transpose(0, 1)
            return torch.softmax(x, -1)

    return Export(m).eval()


def prep(a):
    import torch
    conv = _convert_module()
    state, hp = conv.read_checkpoint(a.ckpt)
    audio = hp.get("audio") or {}
    w_hh = state["rnns.0.rnn.weight_hh_l0"]  # the structure from the weights, as ds2-convert
    hp = {
        "labels": hp.get("labels") or None,
        "rnn_type": {4: "lstm", 3: "gru", 1: "rnn"}[w_hh.shape[0] // w_hh.shape[1]],
        "hidden_size": int(w_hh.shape[1]),
        "hidden_layers": sum(1 for k in state if k.startswith("rnns.")
                             and k.endswith(".rnn.weight_hh_l0")),
        "bidirectional": "rnns.0.rnn.weight_hh_l0_reverse" in state,
        "lookahead_context": int(state["lookahead.0.conv.weight"].shape[-1])
        if "lookahead.0.conv.weight" in state else 20,
        "conv_channels": int(state["conv.seq_module.0.weight"].shape[0]),
        "sample_rate": int(audio.get("sample_rate", 16000)),
        "window_size": float(audio.get("window_size", 0.02)),
    }
    if hp["labels"] is None:
        from ds2_torch import LABELS
        hp["labels"] = LABELS
    m = build_model(hp)
    m.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in state.items()})
    m.eval()
    del state
    torch.save(m.state_dict(), os.path.join(a.work, "model.pt"))
    with open(os.path.join(a.work, "model.json"), "w") as f:
        json.dump(hp, f)
    info = {"torch": torch.__version__,
            "engines": [e for e in torch.backends.quantized.supported_engines if e != "none"]}
    onnx_path = os.path.join(a.work, "model.onnx")
    x = torch.randn(2, 1, int(hp["sample_rate"] * hp["window_size"]) // 2 + 1, 201)
    em = export_module(m)
    errors = []
    for stale in ("model.onnx", "model.onnx.data", "model-int8.onnx", "model-int8.onnx.data"):
        if os.path.exists(os.path.join(a.work, stale)):
            os.remove(os.path.join(a.work, stale))
    # torch 2.x's default exporter first, then the TorchScript one; DS2_ONNX_EXPORTER changes
    # the order or picks one ("torchscript", "dynamo,torchscript").
    order = os.environ.get("DS2_ONNX_EXPORTER", "dynamo,torchscript").split(",")
    for dynamo in [e.strip() == "dynamo" for e in order if e.strip() in ("dynamo", "torchscript")]:
        try:
            if dynamo:
                d = torch.export.Dim
                prog = torch.onnx.export(em, (x,), None, input_names=["spect"],
                                         output_names=["probs"], dynamo=True,
                                         dynamic_shapes={"x": {0: d("batch"), 3: d("time")}})
                # The exporter reorders the RNN gates with Slice/Concat of the parameters in
                # the graph; folding them (its default size limits skip big tensors) makes W
                # and R initializers, which quantize_dynamic needs to quantize LSTMs.
                from onnxscript import optimizer
                optimizer.optimize(prog.model, input_size_limit=1 << 40,
                                   output_size_limit=1 << 40)
                prog.save(onnx_path)
            else:
                torch.onnx.export(em, (x,), onnx_path, input_names=["spect"],
                                  output_names=["probs"], dynamo=False, opset_version=17,
                                  dynamic_axes={"spect": {0: "batch", 3: "time"},
                                                "probs": {0: "batch", 1: "frames"}})
            info["onnx_exporter"] = "dynamo" if dynamo else "torchscript"
            break
        except Exception as e:  # noqa: BLE001 -- any exporter failure: try the other, report
            errors.append(f"{'dynamo' if dynamo else 'torchscript'} export: "
                          f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")
    if "onnx_exporter" not in info:
        info["onnx_error"] = "; ".join(errors)
    else:
        try:
            import onnx
            info["onnx_ops"] = sorted({n.op_type for n in onnx.load(onnx_path).graph.node})
            from onnxruntime.quantization import QuantType, quantize_dynamic
            int8_path = os.path.join(a.work, "model-int8.onnx")
            quantize_dynamic(onnx_path, int8_path, weight_type=QuantType.QInt8)
            # which operators it quantized: LSTM, Conv, MatMul (ORT's dynamic mode has no GRU)
            ops = {n.op_type for n in onnx.load(int8_path, load_external_data=False).graph.node}
            info["onnx_int8_quantized"] = sorted(
                o.replace("DynamicQuantize", "").replace("Integer", "") for o in ops
                if o.endswith("Integer") or (o.startswith("DynamicQuantize") and
                                             o != "DynamicQuantizeLinear"))
        except Exception as e:  # noqa: BLE001
            info["onnx_int8_error"] = f"quantize_dynamic: {type(e).__name__}: {e}"[:300]
    with open(os.path.join(a.work, "prep.json"), "w") as f:
        json.dump(info, f, indent=1)


# --- runners: each returns (run(x) -> probs [B][frames][labels], info dict) -----------------

def pytorch_runner(a, engine):
    import torch
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    with open(os.path.join(a.work, "model.json")) as f:
        hp = json.load(f)
    m = build_model(hp)
    m.load_state_dict(torch.load(os.path.join(a.work, "model.pt"), weights_only=True))
    m.eval()
    info = {"version": f"torch {torch.__version__}", "precision": "fp32"}
    if engine:
        torch.backends.quantized.engine = engine
        m = torch.ao.quantization.quantize_dynamic(m, {torch.nn.LSTM, torch.nn.GRU, torch.nn.Linear},
                                                   dtype=torch.qint8)
        info["precision"] = f"int8 ({engine})"

    def run(x):
        xt = torch.from_numpy(x)
        lengths = torch.full((x.shape[0],), x.shape[3], dtype=torch.int32)
        with torch.inference_mode():
            return m(xt, lengths)[0].numpy()
    return run, info


def ort_runner(a, int8):
    import onnxruntime as ort
    path = os.path.join(a.work, "model-int8.onnx" if int8 else "model.onnx")
    if not os.path.exists(path):
        raise RuntimeError(f"no {os.path.basename(path)} (see prep.json)")
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def run(x):
        return sess.run(None, {name: x})[0]
    return run, {"version": f"onnxruntime {ort.__version__}",
                 "precision": "int8 (quantize_dynamic)" if int8 else "fp32"}


def openvino_runner(a, f32):
    import openvino as ov
    path = os.path.join(a.work, "model.onnx")
    if not os.path.exists(path):
        raise RuntimeError("no model.onnx (see prep.json)")
    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": a.threads, "PERFORMANCE_HINT": "LATENCY"}
    if f32:
        config["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = core.compile_model(core.read_model(path), "CPU", config)
    prec = compiled.get_property("INFERENCE_PRECISION_HINT")
    prec = prec.get_type_name() if hasattr(prec, "get_type_name") else str(prec)  # "bf16"
    req = compiled.create_infer_request()

    def run(x):
        req.infer({0: x})
        return np.array(req.get_output_tensor(0).data, copy=True)
    return run, {"version": f"openvino {ov.__version__.split('-')[0]}",
                 "precision": prec if f32 else f"default ({prec})"}


def make_runner(a):
    r = a.runner
    if r == "pytorch-fp32":
        return pytorch_runner(a, None)
    if r.startswith("pytorch-int8-"):
        return pytorch_runner(a, r[len("pytorch-int8-"):])
    if r in ("ort-fp32", "ort-int8"):
        return ort_runner(a, r == "ort-int8")
    if r in ("openvino-f32", "openvino-default"):
        return openvino_runner(a, r == "openvino-f32")
    raise SystemExit(f"ds2_peer_runners: unknown runner {r}")


def run(a):
    s = np.load(a.spect).astype(np.float32)
    x = np.ascontiguousarray(np.broadcast_to(s[None, None], (a.batch, 1) + s.shape))
    t0 = time.perf_counter()
    fn, info = make_runner(a)
    load_s = time.perf_counter() - t0
    for _ in range(a.warmup):
        probs = fn(x)
    times = []
    for _ in range(a.trials):
        t0 = time.perf_counter()
        probs = fn(x)
        times.append(time.perf_counter() - t0)
    np.save(a.out_probs, np.asarray(probs, np.float32))
    info.update(runner=a.runner, threads=a.threads, batch=a.batch, load_s=load_s, times_s=times,
                median_s=float(np.median(times)))
    with open(a.out_json, "w") as f:
        json.dump(info, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["prep", "run"])
    ap.add_argument("--ckpt")
    ap.add_argument("--work", required=True)
    ap.add_argument("--runner")
    ap.add_argument("--spect")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out-json")
    ap.add_argument("--out-probs")
    a = ap.parse_args()
    if a.command == "prep":
        prep(a)
    else:
        run(a)


if __name__ == "__main__":
    main()
