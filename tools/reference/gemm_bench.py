# The matrix products of a linear layer's training step on PyTorch, the same list as cce4j's
# examples/GemmBenchmark (forward x·Wᵀ, input gradient dy·W, weight gradient dyᵀ·x as bf16 and, where this
# torch has mm's out_dtype, f32), one JSON line per product with the median of CUDA-event timings. For
# telling the kernels cuBLAS picks for our calls from PyTorch's in the same device call:
#   python3 tools/reference/gemm_bench.py --tokens 32768 --shapes 2048x2048,512x2048,8192x2048,2048x8192
import argparse, json
import torch

p = argparse.ArgumentParser()
p.add_argument("--tokens", type=int, default=32768)
p.add_argument("--shapes", default="2048x2048,512x2048,8192x2048,2048x8192")
p.add_argument("--iters", type=int, default=20)
a = p.parse_args()


def median_ms(fn, iters):
    for _ in range(3):
        fn()
    times = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); fn(); e.record(); e.synchronize()
        times.append(s.elapsed_time(e))
    times.sort()
    return times[len(times) // 2]


def rand(*shape):
    return torch.rand(*shape, device="cuda", dtype=torch.float32).mul_(2).sub_(1).to(torch.bfloat16)


T = a.tokens
for shape in a.shapes.split(","):
    out, inp = (int(v) for v in shape.split("x"))
    x, w, dy = rand(T, inp), rand(out, inp), rand(T, out)
    dx, acc = torch.empty(T, inp, device="cuda", dtype=torch.bfloat16), rand(T, inp)
    y = torch.empty(T, out, device="cuda", dtype=torch.bfloat16)
    dw16 = torch.empty(out, inp, device="cuda", dtype=torch.bfloat16)
    products = [
        ("forward", T, out, inp, "bf16", 0, lambda: torch.mm(x, w.t(), out=y)),
        ("dx", T, inp, out, "bf16", 0, lambda: torch.mm(dy, w, out=dx)),
        ("dx", T, inp, out, "bf16", 1, lambda: acc.addmm_(dy, w)),
        ("dw", out, inp, T, "bf16", 0, lambda: torch.mm(dy.t(), x, out=dw16)),
    ]
    try:
        torch.mm(dy.t()[:8, :8], x[:8, :8], out_dtype=torch.float32)
        products.append(("dw", out, inp, T, "f32", 0, lambda: torch.mm(dy.t(), x, out_dtype=torch.float32)))
    except (TypeError, RuntimeError):
        pass
    for op, m, n, k, dtype, beta, fn in products:
        ms = median_ms(fn, a.iters)
        print(json.dumps({"impl": "torch", "weight": shape, "op": op, "m": m, "n": n, "k": k, "out": dtype, "beta": beta,
                          "ms": round(ms, 4), "tflops": round(2.0 * m * n * k / (ms * 1e-3) / 1e12, 1)}), flush=True)
