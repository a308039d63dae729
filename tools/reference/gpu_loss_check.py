#!/usr/bin/env python3
"""`loss --device cuda` against float64 PyTorch, on inputs drawn here and never seen by the tests.

For each case: random E, C, targets (some ignored), optional bias and token weights, written as
safetensors; the trainer jar's `loss` command runs every implementation on the GPU; the same loss
is computed in float64 with PyTorch autograd (inputs first rounded to their storage dtype, so both
sides read identical values); relative errors ||out - ref|| / ||ref|| are printed and checked:
f32 inputs 1e-4 on everything, bf16/f16 inputs 1e-4 on the loss outputs and 2e-2 on dE, dC, dbias.

    python3 tools/reference/gpu_loss_check.py --cli "bash .carry-cuda/run jar" --work /tmp/losscheck
Exit status 1 when any check fails.
"""
import argparse
import json
import os
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file

DT = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}

CASES = [
    dict(name="f32-plain", dtype="f32", lead=(97,), d=64, v=1000),
    dict(name="f32-every-option", dtype="f32", lead=(3, 41), d=72, v=1537, bias=True, weights=True, ignored=0.2,
         args=["--softcap", "30", "--shift", "1", "--ignore-index", "-1", "--label-smoothing", "0.1", "--z-loss", "0.001"]),
    dict(name="f32-none-softcap", dtype="f32", lead=(130,), d=45, v=777, ignored=0.3, args=["--reduction", "none", "--softcap", "5"]),
    dict(name="bf16-every-option", dtype="bf16", lead=(2, 150), d=256, v=3001, bias=True, weights=True, ignored=0.1,
         args=["--softcap", "20", "--shift", "1", "--label-smoothing", "0.05", "--z-loss", "0.0001"]),
    dict(name="f16-sum-odd-d", dtype="f16", lead=(200,), d=100, v=2500, bias=True, ignored=0.1, args=["--reduction", "sum"]),
    dict(name="bf16-paper", dtype="bf16", lead=(512,), d=2304, v=5000, paper=True),
]


def draw(case, seed):
    g = torch.Generator().manual_seed(seed)
    n = 1
    for x in case["lead"]:
        n *= x
    d, v, dt = case["d"], case["v"], DT[case["dtype"]]
    s = d ** -0.25 * (1.0 if case.get("paper") else 3.0)
    e = (torch.randn(n, d, generator=g) * s).to(dt)
    c = (torch.randn(v, d, generator=g) * s).to(dt)
    if case.get("paper"):
        c[:n] = e
    ignore = -1 if "--ignore-index" in case.get("args", []) else -100
    t = torch.randint(0, v, (n,), generator=g)
    t[torch.rand(n, generator=g) < case.get("ignored", 0.0)] = ignore
    out = {"E": e.reshape(*case["lead"], d).contiguous(), "C": c, "targets": t.reshape(case["lead"]).to(torch.int64)}
    if case.get("bias"):
        out["bias"] = torch.randn(v, generator=g).to(dt)
    if case.get("weights"):
        out["weights"] = (torch.rand(n, generator=g) * 2).reshape(case["lead"])
    return out, ignore


def option(args, name, default):
    return type(default)(args[args.index(name) + 1]) if name in args else default


def reference(inp, case, ignore):
    args = case.get("args", [])
    cap = option(args, "--softcap", 0.0)
    shift = option(args, "--shift", 0)
    alpha = option(args, "--label-smoothing", 0.0)
    lam = option(args, "--z-loss", 0.0)
    red = option(args, "--reduction", "mean")
    lead = case["lead"]
    T = lead[-1]
    e = inp["E"].double().reshape(-1, case["d"]).requires_grad_(True)
    c = inp["C"].double().requires_grad_(True)
    b = inp["bias"].double().requires_grad_(True) if "bias" in inp else None
    z = e @ c.T
    if b is not None:
        z = z + b
    if cap > 0:
        z = cap * torch.tanh(z / cap)
    lse = torch.logsumexp(z, -1)
    tg = inp["targets"].reshape(-1, T)
    w = inp["weights"].double().reshape(-1, T) if "weights" in inp else torch.ones_like(tg, dtype=torch.float64)
    ts = torch.full_like(tg, ignore)
    ws = torch.ones_like(w)
    if shift > 0:
        ts[:, :T - shift] = tg[:, shift:]
        ws[:, :T - shift] = w[:, shift:]
    else:
        ts, ws = tg, w
    ts, ws = ts.reshape(-1), ws.reshape(-1)
    count = ts != ignore
    zt = z.gather(1, ts.clamp(min=0).unsqueeze(1)).squeeze(1)
    tok = ws * (lse - (1 - alpha) * zt - alpha * z.mean(-1) + lam * lse * lse)
    tok = torch.where(count, tok, torch.zeros_like(tok))
    W = (ws * count).sum()
    loss = tok.sum() / W if red == "mean" and W > 0 else (tok.sum() * 0 if red == "mean" else tok.sum())
    loss.backward()
    out = {"loss": loss.detach(), "lse": lse.detach(), "nll": tok.detach(), "dE": e.grad.reshape(*lead, -1), "dC": c.grad}
    if b is not None:
        out["dbias"] = b.grad
    return out


def rel(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    if not torch.isfinite(a).all():
        return float("inf")
    den = b.norm()
    return float((a - b).norm() / den) if den > 0 else float((a - b).norm())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cli", default="bash .carry-cuda/run jar")
    p.add_argument("--work", default="/tmp/losscheck")
    p.add_argument("--impls", default="cce,cce-exact,baseline")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    failures = 0
    for i, case in enumerate(CASES):
        inp, ignore = draw(case, 100 + i)
        src = os.path.join(a.work, case["name"] + ".safetensors")
        save_file(inp, src)
        ref = reference(inp, case, ignore)
        narrow = case["dtype"] != "f32"
        for impl in a.impls.split(","):
            dst = os.path.join(a.work, case["name"] + "." + impl + ".out.safetensors")
            cmd = a.cli.split() + ["loss", "--input", src, "--output", dst, "--impl", impl, "--device", "cuda"] + case.get("args", [])
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(json.dumps(dict(case=case["name"], impl=impl, error=(r.stderr or r.stdout).strip().splitlines()[-1:])))
                failures += 1
                continue
            out = load_file(dst)
            errs = {k: rel(out[k], ref[k]) for k in ref}
            ok = all(err <= (2e-2 if narrow and k in ("dE", "dC", "dbias") else 1e-4) for k, err in errs.items())
            failures += 0 if ok else 1
            print(json.dumps(dict(case=case["name"], impl=impl, ok=ok, **{k: float("%.3g" % v) for k, v in errs.items()})), flush=True)
    print("loss check: %d failure(s)" % failures)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
