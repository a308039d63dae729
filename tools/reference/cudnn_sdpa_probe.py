# cuDNN's fused attention as PyTorch calls it, at the training step's shapes: which cuDNN the GPU machine has,
# the backend graph PyTorch's bundled cudnn-frontend builds (with CUDNN_FRONTEND_LOG_INFO / CUDNN_LOGLEVEL_DBG set
# by the caller, the logs show every descriptor), and forward / forward+backward times, for comparing our
# attention kernels (and a cuDNN path of our own) with it.
#   CUDNN_FRONTEND_LOG_INFO=1 CUDNN_FRONTEND_LOG_FILE=fe.log python3 tools/reference/cudnn_sdpa_probe.py --log-only
#   python3 tools/reference/cudnn_sdpa_probe.py --batch 16 --seq 2048 --heads 32 --kv-heads 8 --head-dim 64
import argparse, glob, json, os, time
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=16)
p.add_argument("--seq", type=int, default=2048)
p.add_argument("--heads", type=int, default=32)
p.add_argument("--kv-heads", type=int, default=8)
p.add_argument("--head-dim", type=int, default=64)
p.add_argument("--layers", type=int, default=16, help="calls per measured step (the model's layers)")
p.add_argument("--log-only", action="store_true", help="one small call forward and backward, for the logs")
a = p.parse_args()

info = {"torch": torch.__version__, "cudnn": torch.backends.cudnn.version()}
try:
    import nvidia.cudnn, os.path
    d = os.path.dirname(nvidia.cudnn.__file__)
    info["cudnn_libs"] = sorted(os.path.basename(x) for x in glob.glob(d + "/lib/*.so*"))
    info["cudnn_dir"] = d
except Exception as e:  # noqa
    info["cudnn_libs"] = str(e)
print(json.dumps(info))

def run(b, t, h, kv, d, gqa):
    # token-major layout as our model keeps it: [B, T, H, D] viewed as [B, H, T, D]
    q = torch.randn(b, t, h, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2).requires_grad_()
    k = torch.randn(b, t, kv, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2).requires_grad_()
    v = torch.randn(b, t, kv, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2).requires_grad_()
    def fwd():
        if gqa:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        rep = h // kv
        return F.scaled_dot_product_attention(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), is_causal=True)
    with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
        o = fwd(); o.backward(torch.randn_like(o)); torch.cuda.synchronize()
        if a.log_only:
            return {}
        def timed(f, n=10):
            f(); torch.cuda.synchronize(); t0 = time.perf_counter()
            for _ in range(n): f()
            torch.cuda.synchronize(); return (time.perf_counter() - t0) / n * 1e3
        go = torch.randn_like(o)
        f_ms = timed(lambda: fwd())
        fb_ms = timed(lambda: fwd().backward(go))
        return {"forward_ms": f_ms, "forward_backward_ms": fb_ms}

for gqa in (True, False):
    try:
        shape = (1, 256, 4, 2, 64) if a.log_only else (a.batch, a.seq, a.heads, a.kv_heads, a.head_dim)
        r = run(*shape, gqa)
        r.update({"shape_bthkd": shape, "enable_gqa": gqa, "layers": a.layers})
        if "forward_ms" in r:
            r["step_forward_ms"] = r["forward_ms"] * a.layers
            r["step_forward_backward_ms"] = r["forward_backward_ms"] * a.layers
        print(json.dumps(r))
    except Exception as e:  # noqa
        print(json.dumps({"enable_gqa": gqa, "error": str(e)[:500]}))
