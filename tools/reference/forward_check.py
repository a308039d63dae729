"""Compares a `forward --grads` output with a transformers reference (tools/reference/model_fixtures.py):
prints ||ours - ref|| / ||ref|| for the logits, the loss and every gradient, and exits 1 if any is
above --tol (or any value is not finite).

    python3 tools/reference/forward_check.py OUT.safetensors REFERENCE.safetensors --tol 1e-4
"""
import argparse
import sys

import torch
from safetensors.torch import load_file


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ours")
    p.add_argument("reference")
    p.add_argument("--tol", type=float, default=1e-4)
    a = p.parse_args()
    ours, ref = load_file(a.ours), load_file(a.reference)
    names = ["logits", "loss"] + sorted(n for n in ref if n.startswith("grad."))
    worst, bad = 0.0, []
    for n in names:
        if n not in ours:
            bad.append(n + " missing")
            continue
        x, r = ours[n].double().reshape(-1), ref[n].double().reshape(-1)
        err = ((x - r).norm() / r.norm().clamp_min(1e-30)).item() if torch.isfinite(x).all() else float("inf")
        worst = max(worst, err)
        if err > a.tol:
            bad.append(f"{n} {err:.2e}")
    print(f"{a.ours}: {len(names)} tensors, worst relative error {worst:.2e}" + ("; over " + str(a.tol) + ": " + ", ".join(bad) if bad else ""))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
