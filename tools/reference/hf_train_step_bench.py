"""PyTorch's side of the training-step comparison: a full optimizer step (forward, backward, AdamW) of a
transformers model on the GPU, in the configurations a PyTorch user picks, beside cce4j's `train` on the
same shape, rows and batch (tools/reference/train_big_run.sh runs both in one device call).

    python3 tools/reference/hf_train_step_bench.py --model DIR --batch B [--seq 2048] [--steps 4]
                                                  [--variant liger+cce] [--precision amp|bf16] [--lora R]

The model folder is the one cce4j trains (random bf16 weights, saved by transformers). Variants as the anchor
script ../shared/anchors/hf_step_bench.py (which measures forward+backward only): `sdpa` (transformers'
materialized loss), `liger+cce` (Liger's RoPE/RMSNorm/SwiGLU-GeGLU kernels, Apple's CCE head); this copy adds
the optimizer: torch.optim.AdamW(fused=True), clip_grad_norm_(1.0), zero_grad(set_to_none=True).
  --precision amp   f32 parameters, gradients and AdamW state, forward under autocast(bf16): what transformers'
                    Trainer does with bf16=True on a model loaded in f32 (16 bytes per parameter + activations),
                    the closest to cce4j's bf16 weights + f32 master, gradients and moments (18 bytes).
  --precision bf16  bf16 parameters, gradients and AdamW state (torchtune's default full fine-tune; 8 bytes).
  --lora R          PEFT LoRA r=R, alpha=2R, dropout 0.05 on every projection, base in bf16, adapters in f32.
Prints one JSON line: tokens/s (median step), peak memory (torch.cuda.max_memory_allocated, MiB), the loss.
Needs cut_cross_entropy and liger_kernel importable (PYTHONPATH=.anchors).
"""
import argparse, json, os, statistics, sys, time
import torch, transformers


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--variant", default="liger+cce", choices=["sdpa", "liger+cce"])
    p.add_argument("--precision", default="amp", choices=["amp", "bf16"])
    p.add_argument("--lora", type=int, default=0)
    a = p.parse_args()
    cfg = transformers.AutoConfig.from_pretrained(a.model)
    mt = cfg.model_type
    if a.variant == "liger+cce":
        import liger_kernel.transformers as L
        fn = {"llama": L.apply_liger_kernel_to_llama, "gemma2": L.apply_liger_kernel_to_gemma2}[mt]
        kw = dict(rope=True, rms_norm=True, fused_linear_cross_entropy=False, cross_entropy=False)
        kw["swiglu" if mt == "llama" else "geglu"] = True
        fn(**kw)
    weights = torch.float32 if a.precision == "amp" and not a.lora else torch.bfloat16
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=weights, attn_implementation="sdpa").cuda()
    model.train()
    if a.lora:
        import peft
        model = peft.get_peft_model(model, peft.LoraConfig(r=a.lora, lora_alpha=2 * a.lora, lora_dropout=0.05, task_type="CAUSAL_LM",
                target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
        for n, q in model.named_parameters():
            if q.requires_grad:
                q.data = q.data.float()
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-5, weight_decay=0.0, fused=True)
    base = model.get_base_model() if a.lora else model
    softcap = getattr(cfg, "final_logit_softcapping", None)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.precision == "amp" or bool(a.lora))
    gen = torch.Generator("cuda").manual_seed(7)
    ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), device="cuda", generator=gen)

    def step():
        with autocast:
            if a.variant == "liger+cce":
                from cut_cross_entropy import linear_cross_entropy
                h = base.model(input_ids=ids).last_hidden_state
                loss = linear_cross_entropy(h, base.lm_head.weight, ids, shift=1, softcap=softcap, impl="cce")
            else:
                loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    ts = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    ms = statistics.median(ts) * 1e3
    trainable = sum(q.numel() for q in params)
    print(json.dumps(dict(impl="torch", variant=a.variant, precision=a.precision, lora=a.lora, model=os.path.basename(a.model.rstrip("/")),
                          batch=a.batch, seq=a.seq, step_ms=round(ms, 1), tokens_per_s=round(a.batch * a.seq / (ms / 1e3)),
                          peak_mib=round(torch.cuda.max_memory_allocated() / 2**20), trainable=trainable, loss=round(float(loss), 4),
                          device=torch.cuda.get_device_name())), flush=True)


main()
