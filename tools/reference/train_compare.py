"""Compares a cce4j run folder with a reference run's (train_reference.py's output, or a fixture's expected/).

    python3 tools/reference/train_compare.py EXPECTED_DIR ACTUAL_DIR --metrics-tol T [--weights-tol W] [--keys loss,grad_norm,lr]

For every optimizer step (records with grad_norm) the relative difference |a - e| / max(|e|, 1e-12) of each key;
`tokens` must be equal. With --weights-tol, every tensor of final/ (model.safetensors or
adapter_model.safetensors) by ||a - e|| / ||e||. Prints the worst of each and exits 1 when a tolerance is missed.
"""
import argparse
import json
import math
import os
import sys


def steps(folder):
    out = []
    with open(os.path.join(folder, "metrics.jsonl")) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                if "grad_norm" in r:
                    out.append(r)
    return out


def final_tensors(folder):
    from safetensors.numpy import load_file
    final = os.path.join(folder, "final")
    names = [n for n in os.listdir(final) if n.endswith(".safetensors")]
    t = {}
    for n in names:
        for k, v in load_file(os.path.join(final, n)).items():
            t[k.replace(".default.", ".")] = v.astype("float64")
    return t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("expected")
    p.add_argument("actual")
    p.add_argument("--metrics-tol", type=float, required=True)
    p.add_argument("--weights-tol", type=float)
    p.add_argument("--keys", default="loss,grad_norm,lr")
    a = p.parse_args()
    e, r = steps(a.expected), steps(a.actual)
    ok = True
    if len(e) != len(r):
        print(f"steps: expected {len(e)}, got {len(r)}")
        ok = False
    worst = {}
    for x, y in zip(e, r):
        if x["tokens"] != y["tokens"]:
            print(f"step {x['step']}: tokens {x['tokens']} vs {y['tokens']}")
            ok = False
        for k in a.keys.split(","):
            ev, av = x[k], y[k]
            rel = abs(av - ev) / max(abs(ev), 1e-12) if ev != 0 or av != 0 else 0.0
            if k not in worst or rel > worst[k][0]:
                worst[k] = (rel, x["step"], ev, av)
    for k, (rel, step, ev, av) in worst.items():
        flag = "ok" if rel <= a.metrics_tol else "FAIL"
        ok &= rel <= a.metrics_tol
        print(f"{k:10s} worst relative difference {rel:.3e} at step {step} ({ev!r} vs {av!r}) {flag}")
    if a.weights_tol is not None:
        te, ta = final_tensors(a.expected), final_tensors(a.actual)
        if set(te) != set(ta):
            print("final tensors differ in names:", sorted(set(te) ^ set(ta))[:5])
            ok = False
        wr = (0.0, None)
        for k in te:
            if k not in ta:
                continue
            import numpy as np
            d = float(np.linalg.norm(ta[k] - te[k]) / max(np.linalg.norm(te[k]), 1e-30))
            if d > wr[0]:
                wr = (d, k)
        flag = "ok" if wr[0] <= a.weights_tol else "FAIL"
        ok &= wr[0] <= a.weights_tol
        print(f"final weights worst relative difference {wr[0]:.3e} ({wr[1]}) {flag}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
