#!/usr/bin/python3
"""Checks tools/bench-peers' table logic with fake runner outputs (numpy only: no torch, no venv):
per-utterance medians, both time ratios, argmax agreement and max |diff| against PyTorch fp32, a
fast row that computes something else, a failed row, a shape mismatch, the verdict, the missing
venv message and the per-process peak RSS. Run by `make test-python`; exit 1 on failure."""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "bench-peers")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tool_module import load_tool  # noqa: E402

bp = load_tool("bench-peers")

failures = 0


def check(name, cond, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL {name} {detail}")


rng = np.random.default_rng(7)
B, T, L = 2, 40, 29
logits = rng.normal(0, 3, (B, T, L))
ref = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
close = ref + 1e-4  # same argmax everywhere
other = ref.copy()
other[:, :10] = np.roll(other[:, :10], 1, axis=-1)  # argmax moved on 10 of 40 frames per item
results = {
    "pytorch-fp32": {"median_s": 1.0, "precision": "fp32", "version": "torch 2.x",
                     "times_s": [1.0, 1.2, 0.9], "load_s": 0.5, "peak_rss_mb": 700.0},
    "ort-int8": {"median_s": 0.1, "precision": "int8"},          # fast but 75 % agreement
    "openvino-default": {"median_s": 0.6, "precision": "default (bf16)"},
    "pytorch-int8-x86": {"error": "exit 1: RuntimeError: boom", "peak_rss_mb": 50.0},
    "ort-fp32": {"median_s": 0.8},                               # wrong output shape
    "libds2-fp32": {"median_s": 1.2},
    "libds2-int8": {"median_s": 0.4, "precision": "int8 (model-int8.gguf)"},
}
probs = {"pytorch-fp32": ref, "ort-int8": other, "openvino-default": close,
         "ort-fp32": ref[:, :-1], "libds2-fp32": ref, "libds2-int8": close}
rows = {r["runner"]: r for r in bp.make_rows(results, probs, batch=B)}

check("order kept", list(rows) == list(results))
check("per utterance", rows["pytorch-fp32"]["median_s"] == 0.5, rows["pytorch-fp32"]["median_s"])
check("ratio vs pytorch", abs(rows["libds2-int8"]["vs_pytorch_fp32"] - 0.4) < 1e-12)
check("ratio vs libds2 int8", abs(rows["pytorch-fp32"]["vs_libds2_int8"] - 2.5) < 1e-12)
check("own ratio", rows["libds2-int8"]["vs_libds2_int8"] == 1.0)
check("reference agrees", rows["pytorch-fp32"]["agreement_pct"] == 100.0)
check("reference diff", rows["pytorch-fp32"]["max_abs_diff"] == 0.0)
check("close agrees", rows["openvino-default"]["agreement_pct"] == 100.0)
check("close diff", abs(rows["openvino-default"]["max_abs_diff"] - 1e-4) < 1e-9)
check("other agreement", rows["ort-int8"]["agreement_pct"] == 75.0, rows["ort-int8"]["agreement_pct"])
check("error row", rows["pytorch-int8-x86"]["median_s"] is None
      and rows["pytorch-int8-x86"]["vs_pytorch_fp32"] is None)
check("failed row's precision from its name", rows["pytorch-int8-x86"]["precision"] == "int8 (x86)")
check("shape mismatch", rows["ort-fp32"]["agreement_pct"] is None
      and "shape" in rows["ort-fp32"].get("agreement_note", ""))
table = bp.format_table(list(rows.values()), B)
lines = table.splitlines()
check("table rows", len(lines) == 2 + len(results), len(lines))
check("table columns", all(ln.count("|") == lines[0].count("|") for ln in lines), table)
check("batch header", "batch 2" in lines[0], lines[0])
check("failed row shown", "FAILED: exit 1: RuntimeError: boom" in table)
check("low agreement shown", "| 75.00 |" in table, table)
check("ratios shown", "| 0.40 | 1.00 |" in table and "| 1.00 | 2.50 |" in table, table)
v = bp.verdict(list(rows.values()))
check("verdict skips the row that computes something else",
      "libds2-int8" in v and "openvino-default" in v and "ort-int8" not in v, v)
check("verdict ratio", "1.50× faster" in v, v)
rows["libds2-int8"]["median_s"] = 0.45
check("verdict slower", "1.50× slower" in bp.verdict([rows["libds2-int8"],
                                                      dict(rows["openvino-default"], median_s=0.3)]))
check("no verdict without reference",
      bp.verdict(bp.make_rows({"libds2-int8": {"median_s": 1}}, {"libds2-int8": ref}, 1))
      .startswith("no verdict"))

n = bp.noisy(list(rows.values()))
check("noisy row named", "pytorch-fp32 (1.3×)" not in n and n == "", n)
check("noisy row", "pytorch-fp32 (1.3×)" in bp.noisy(list(rows.values()), spread=1.2))

# Rounds: trials pooled, the largest RSS, the median load; a failing round fails the row.
r = bp.merge_rounds(None, {"times_s": [3.0, 1.0], "load_s": 1.0, "peak_rss_mb": 10.0})
r = bp.merge_rounds(r, {"times_s": [2.0, 5.0], "load_s": 3.0, "peak_rss_mb": 30.0})
r = bp.merge_rounds(r, {"times_s": [4.0], "load_s": 2.0, "peak_rss_mb": 20.0})
check("rounds pooled", r["times_s"] == [3.0, 1.0, 2.0, 5.0, 4.0] and r["median_s"] == 3.0
      and r["peak_rss_mb"] == 30.0 and r["load_s"] == 2.0 and r["rounds"] == 3, r)
r = bp.merge_rounds(r, {"error": "exit 1: boom"})
check("round failure", r["error"] == "round 4: exit 1: boom", r)

# Peak RSS of one child process (about 200 MB touched), not of this one.
out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"check_bench_peers.{os.getpid()}.log")
rc, rss, timed_out = bp.run_measured(
    [sys.executable, "-c", "b = bytearray(200 << 20); print(len(b))"], dict(os.environ), out, 60)
check("run_measured", rc == 0 and not timed_out and 180 < rss < 400, (rc, rss, timed_out))
rc, _, timed_out = bp.run_measured([sys.executable, "-c", "import time; time.sleep(30)"],
                                   dict(os.environ), out, 0.5)
check("run_measured timeout", timed_out, (rc, timed_out))
os.remove(out)

# Without the venv it says how to make it.
env = dict(os.environ, DS2_VENV=os.path.join(ROOT, "no-such-venv"))
p = subprocess.run([sys.executable, TOOL, TOOL, TOOL], env=env, capture_output=True, text=True)
check("no venv message", p.returncode == 1 and "scripts/setup-venv.sh peers" in p.stderr,
      (p.returncode, p.stderr))

print(f"check_bench_peers: {'FAILED ' + str(failures) if failures else 'all passed'}")
sys.exit(1 if failures else 0)
