"""PyTorch's side of the training-step comparison: a full optimizer step (forward, backward, AdamW) of a
transformers model on the GPU, in the configurations a PyTorch user picks, beside cce4j's ModelBenchmark and
`train` on the same shape and batch, in the same device call.

    python3 tools/reference/hf_train_step_bench.py (--model DIR | --config CONFIG.json) [--batch auto|B[,B...]]
            [--seq 2048] [--steps 4] [--variant liger+cce] [--precision amp|bf16] [--lora R] [--profile]

--model is a folder saved by transformers (the one cce4j trains); --config builds the model with transformers'
random init instead (from_config), as the anchor ../shared/anchors/hf_step_bench.py does. Variants as the anchor
(which measures forward+backward only): `sdpa` (transformers' materialized loss), `liger+cce` (Liger's
RoPE/RMSNorm/SwiGLU-GeGLU kernels, Apple's CCE head). This copy adds the optimizer step as a training loop takes
it: clip_grad_norm_(1.0), torch.optim.AdamW(fused=True), zero_grad(set_to_none=True).
  --precision amp   f32 parameters, gradients and AdamW state, forward under autocast(bf16): what transformers'
                    Trainer does with bf16=True on a model loaded in f32 (16 bytes per parameter + activations),
                    the closest to cce4j's bf16 weights + f32 master, gradients and moments (18 bytes).
  --precision bf16  bf16 parameters, gradients and AdamW state (torchtune's default full fine-tune; 8 bytes).
  --lora R          PEFT LoRA r=R, alpha=2R, dropout 0.05 on every projection, base in bf16, adapters in f32.
  --batch auto      one sequence measured, the largest batch predicted from its memory, stepped down by 7/8 on
                    out-of-memory (as the anchor does).
  --profile         after the first batch size, one step under torch.profiler: device time by category
                    (attention, GEMM, CCE, norms/RoPE/activations, optimizer, other) and the top kernels.
Prints one JSON line per batch: tokens/s (median step), peak memory (torch.cuda.max_memory_allocated, MiB) and its
parts, the loss. Needs cut_cross_entropy and liger_kernel importable (PYTHONPATH=.anchors).
"""
import argparse, gc, json, os, statistics, sys, time
import torch, transformers

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def build(a):
    cfg = transformers.AutoConfig.from_pretrained(a.model) if a.model else None
    if cfg is None:
        d = json.load(open(a.config))
        cfg = transformers.CONFIG_MAPPING[d["model_type"]](**d)
    mt = cfg.model_type
    if a.variant == "liger+cce":
        import liger_kernel.transformers as L
        fn = {"llama": L.apply_liger_kernel_to_llama, "gemma2": L.apply_liger_kernel_to_gemma2}[mt]
        kw = dict(rope=True, rms_norm=True, fused_linear_cross_entropy=False, cross_entropy=False)
        kw["swiglu" if mt == "llama" else "geglu"] = True
        fn(**kw)
    weights = torch.float32 if a.precision == "amp" and not a.lora else torch.bfloat16
    if a.model:
        model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=weights, attn_implementation="sdpa").cuda()
    else:
        with torch.device("cuda"):
            model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=weights, attn_implementation="sdpa")
    model.train()
    if a.lora:
        import peft
        model = peft.get_peft_model(model, peft.LoraConfig(r=a.lora, lora_alpha=2 * a.lora, lora_dropout=0.05, task_type="CAUSAL_LM",
                                                           target_modules=PROJECTIONS))
        for n, q in model.named_parameters():
            if q.requires_grad:
                q.data = q.data.float()
    return model, cfg


def make_step(a, model, cfg, params, opt):
    base = model.get_base_model() if a.lora else model
    softcap = getattr(cfg, "final_logit_softcapping", None)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.precision == "amp" or bool(a.lora))

    def step(ids):
        with autocast:
            if a.variant == "liger+cce":
                from cut_cross_entropy import linear_cross_entropy
                h = base.model(input_ids=ids).last_hidden_state
                loss = linear_cross_entropy(h, base.lm_head.weight, ids, shift=1, softcap=softcap, impl="cce")
            else:
                loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        step.grad_bytes = sum(q.grad.numel() * q.grad.element_size() for q in params if q.grad is not None)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss
    step.grad_bytes = 0
    return step


def measure(a, step, model, opt, params, vocab, batch, steps, warmup):
    gen = torch.Generator("cuda").manual_seed(7)
    ids = torch.randint(0, vocab, (batch, a.seq), device="cuda", generator=gen)
    for _ in range(warmup):
        step(ids)
    torch.cuda.synchronize()
    fixed = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    ts = []
    loss = None
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step(ids)
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    ms = statistics.median(ts) * 1e3
    peak = torch.cuda.max_memory_allocated()
    mib = lambda b: round(b / 2**20)
    weights = sum(q.numel() * q.element_size() for q in model.parameters())
    state = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values() if torch.is_tensor(t) and t.dim() > 0)
    trainable = sum(q.numel() for q in params)
    act = peak - fixed - step.grad_bytes
    return dict(batch=batch, seq=a.seq, step_ms=round(ms, 1), tokens_per_s=round(batch * a.seq / (ms / 1e3)),
                peak_mib=mib(peak), fixed_mib=mib(fixed), weights_mib=mib(weights), grads_mib=mib(step.grad_bytes),
                optimizer_mib=mib(state), activations_mib=mib(act), activations_mib_per_seq=round(act / 2**20 / batch),
                trainable=trainable, bytes_per_trainable_param=None if a.lora else round((weights + step.grad_bytes + state) / trainable, 2),
                loss=round(float(loss), 4))


CATEGORIES = [  # first match wins; kernel names of PyTorch 2.11 / cuBLAS / Triton (Liger, Apple CCE) on Hopper
    ("cce", ("_cce_", "cce_", "indexed_neg_dot", "_indexed_dot")),
    ("attention", ("flash", "fmha", "attention", "sdpa", "_attn", "attn_")),
    ("optimizer", ("adam", "multi_tensor", "foreach", "_amp_", "clip")),
    ("norms_rope_activations", ("rms_norm", "_rms", "rope", "swiglu", "geglu", "silu", "gelu")),
    ("gemm", ("gemm", "nvjet", "xmma", "cutlass", "sm90_", "cublas", "matmul")),
]


def categorize(name):
    n = name.lower()
    for cat, keys in CATEGORIES:
        if any(k in n for k in keys):
            return cat
    return "other"


def profile(a, step, vocab, batch):
    from torch.profiler import profile as torch_profile, ProfilerActivity
    gen = torch.Generator("cuda").manual_seed(7)
    ids = torch.randint(0, vocab, (batch, a.seq), device="cuda", generator=gen)
    step(ids)
    torch.cuda.synchronize()
    with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        step(ids)
        torch.cuda.synchronize()
        wall = (time.perf_counter() - t0) * 1e3
    cats, kernels = {}, []
    for e in prof.key_averages():
        dev_us = getattr(e, "self_device_time_total", None)
        if dev_us is None:
            dev_us = e.self_cuda_time_total
        if dev_us <= 0 or getattr(e, "device_type", None) is not None and str(e.device_type).endswith("CPU"):
            continue
        c = categorize(e.key)
        cats[c] = cats.get(c, 0.0) + dev_us / 1e3
        kernels.append((dev_us / 1e3, e.count, c, e.key[:120]))
    kernels.sort(reverse=True)
    busy = sum(cats.values())
    print(json.dumps(dict(profile=a.variant, precision=a.precision, lora=a.lora, batch=batch, step_ms_profiled=round(wall, 1),
                          device_busy_ms=round(busy, 1), idle_ms=round(wall - busy, 1),
                          categories_ms={k: round(v, 1) for k, v in sorted(cats.items(), key=lambda kv: -kv[1])},
                          top_kernels=[dict(ms=round(ms, 2), calls=n, category=c, name=k) for ms, n, c, k in kernels[:25]])), flush=True)


def main():
    p = argparse.ArgumentParser()
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model")
    src.add_argument("--config")
    p.add_argument("--batch", default="auto")
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--variant", default="liger+cce", choices=["sdpa", "liger+cce"])
    p.add_argument("--precision", default="amp", choices=["amp", "bf16"])
    p.add_argument("--lora", type=int, default=0)
    p.add_argument("--profile", action="store_true")
    a = p.parse_args()
    model, cfg = build(a)
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-5, weight_decay=0.0, fused=True)
    step = make_step(a, model, cfg, params, opt)
    name = os.path.basename((a.model or a.config).rstrip("/")).removesuffix(".json")
    head = dict(impl="torch", variant=a.variant, precision=a.precision, lora=a.lora, optim="adamw-fused", model=name,
                device=torch.cuda.get_device_name())
    first = True
    for arg in a.batch.split(","):
        if arg == "auto":
            one = measure(a, step, model, opt, params, cfg.vocab_size, 1, 1, 1)
            print(json.dumps(dict(head, kind="probe", **one)), flush=True)
            budget = torch.cuda.get_device_properties(0).total_memory - (3 << 30)
            per = max(1, one["activations_mib"]) << 20
            b = max(1, (budget - ((one["fixed_mib"] + one["grads_mib"]) << 20)) // per)
        else:
            b = int(arg)
        while True:
            try:
                r = measure(a, step, model, opt, params, cfg.vocab_size, b, a.steps, a.warmup)
                print(json.dumps(dict(head, kind="measured", **r)), flush=True)
                break
            except torch.OutOfMemoryError:
                pass
            opt.zero_grad(set_to_none=True); gc.collect(); torch.cuda.empty_cache()
            if b == 1:
                print(json.dumps(dict(head, error="oom at batch 1")), flush=True)
                return
            print(json.dumps(dict(head, batch=b, error="out of memory, trying smaller")), flush=True)
            b = max(1, b * 7 // 8)
        if a.profile and first:
            profile(a, step, cfg.vocab_size, b)
        first = False


main()
