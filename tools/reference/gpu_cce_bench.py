#!/usr/bin/env python3
"""PyTorch's side of the GPU loss benchmark (docs/benchmarks.md, "CCE loss on the GPU").

Measures, on the same machine and the same shapes as cce4j's CudaLossBenchmark, the two PyTorch
yardsticks of the CCE paper: the materialized loss, cross_entropy((E @ C.T).float()), and the same
function through torch.compile. Inputs as the paper's benchmark draws them: E, C ~ N(0, 1)/D^0.25,
the first N rows of C equal to E, uniform targets. Timing: CUDA events, median of --iters runs
after --warmup runs. Extra memory: peak allocated during one forward+backward, less what was
allocated before it and less the gradients of E and C (MiB). One JSON line per measurement, in
the format of CudaLossBenchmark.Result.toJson().

    python3 tools/reference/gpu_cce_bench.py --n 8192 --d 2304 --v 256000 --dtype bf16 --softcap 0
(apple's cut_cross_entropy package is not installed on the GPU machine and cannot be downloaded
there, so its Triton kernels are quoted from the issue, not measured here.)
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F


def draw(n, d, v, dtype, seed=1234):
    g = torch.Generator(device="cuda").manual_seed(seed)
    e = (torch.randn(n, d, device="cuda", generator=g) / d ** 0.25).to(dtype)
    c = (torch.randn(v, d, device="cuda", generator=g) / d ** 0.25).to(dtype)
    c[:n] = e
    t = torch.randint(0, v, (n,), device="cuda", generator=g)
    return e, c, t


def materialized(e, c, t, softcap: float):
    logits = e @ c.T
    if softcap > 0:
        logits = softcap * torch.tanh(logits / softcap)
    return F.cross_entropy(logits.float(), t)


def bench(fn, e, c, t, softcap, iters, warmup):
    e = e.detach().requires_grad_(True)
    c = c.detach().requires_grad_(True)

    def fwd():
        with torch.no_grad():
            return fn(e, c, t, softcap)

    def both():
        e.grad = None
        c.grad = None
        loss = fn(e, c, t, softcap)
        loss.backward()
        return loss

    def timed(step):
        for _ in range(warmup):
            step()
        torch.cuda.synchronize()
        times = []
        for _ in range(iters):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            step()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
        return statistics.median(times)

    f_ms = timed(fwd)
    fb_ms = timed(both)
    e.grad = None
    c.grad = None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    loss = both()
    torch.cuda.synchronize()
    grads = e.grad.numel() * e.grad.element_size() + c.grad.numel() * c.grad.element_size()
    extra = (torch.cuda.max_memory_allocated() - base - grads) / 2 ** 20
    return f_ms, fb_ms, extra, float(loss)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=8192)
    p.add_argument("--d", type=int, default=2304)
    p.add_argument("--v", type=int, default=256000)
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--softcap", type=float, default=0.0)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--impl", default="torch,torch-compile")
    a = p.parse_args()
    dtype = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[a.dtype]
    e, c, t = draw(a.n, a.d, a.v, dtype)
    for impl in a.impl.split(","):
        fn = materialized if impl == "torch" else torch.compile(materialized)
        try:
            f_ms, fb_ms, extra, loss = bench(fn, e, c, t, a.softcap, a.iters, a.warmup)
            out = dict(impl=impl, device="cuda:0", gpu=torch.cuda.get_device_name(), n=a.n, d=a.d, v=a.v, dtype=a.dtype,
                       softcap=a.softcap, iters=a.iters, forward_ms=round(f_ms, 3), forward_backward_ms=round(fb_ms, 3),
                       extra_memory_mb=round(extra, 1), loss=loss, torch=torch.__version__)
        except Exception as ex:  # report and go on with the next implementation
            out = dict(impl=impl, error=str(ex).splitlines()[0][:300])
        print(json.dumps(out), flush=True)
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
