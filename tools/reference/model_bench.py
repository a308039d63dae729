"""PyTorch + transformers side of the model benchmark (docs/benchmarks.md, "Model forward and backward").

One training step = model(input_ids, labels=input_ids) with transformers' default loss (logits
materialized, upcast to f32) + loss.backward(), on random weights in bf16 (HF's own initialization)
and random token ids, timed with torch.cuda.synchronize around each step (median), peak memory from
torch.cuda.max_memory_allocated over the measured steps. The configs are the same JSON files the Java
benchmark (org.cce4j.examples.ModelBenchmark) reads, with the real models' shapes.

    python3 tools/reference/model_bench.py --config tools/reference/model_configs/gemma-2-2b.json \
        --attn eager,sdpa [--seq 2048] [--batch auto|N] [--steps 5] [--warmup 2]

--batch auto: one sequence first, then the batch predicted to fill the card, stepping down on
out-of-memory. One JSON line per measurement.
"""
import argparse
import gc
import json
import os
import statistics
import time

import torch
import transformers
from transformers import AutoModelForCausalLM


def build(config_path, attn):
    with open(config_path) as f:
        d = json.load(f)
    cfg = transformers.CONFIG_MAPPING[d["model_type"]](**d)
    with torch.device("cuda"):
        try:
            model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16, attn_implementation=attn)
        except TypeError:
            model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16, attn_implementation=attn)
    model.train()
    return model, cfg


def measure(model, vocab, batch, seq, steps, warmup):
    ids = torch.randint(0, vocab, (batch, seq), device="cuda", generator=torch.Generator("cuda").manual_seed(7))

    def step():
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        return out.loss.item()

    loss = None
    for _ in range(warmup):
        loss = step()
    torch.cuda.synchronize()
    fixed = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000)
    peak = torch.cuda.max_memory_allocated()
    ms = statistics.median(times)
    return dict(batch=batch, seq=seq, step_ms=round(ms, 1), tokens_per_s=round(batch * seq / (ms / 1000)),
                peak_mib=round(peak / 2**20), weights_grads_mib=round(fixed / 2**20), loss=round(loss, 4))


def free():
    gc.collect()
    torch.cuda.empty_cache()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--attn", default="eager,sdpa")
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--batch", default="auto")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    a = p.parse_args()
    name = os.path.basename(a.config).removesuffix(".json")
    for attn in a.attn.split(","):
        try:
            run(a, name, attn)
        except Exception as e:  # one attention implementation failing must not hide the others
            print(json.dumps(dict(impl="torch", attn=attn, model=name, error=repr(e)[:300])), flush=True)
        free()


def run(a, name, attn):
    """Probe, predict and measure one attention implementation (eager, sdpa)."""
    model, cfg = build(a.config, attn)
    head = dict(impl="torch", attn=attn, model=name, torch=torch.__version__, transformers=transformers.__version__,
                device=torch.cuda.get_device_name())
    batches = [] if a.batch == "auto" else [int(b) for b in a.batch.split(",")]
    if a.batch == "auto":
        r = measure(model, cfg.vocab_size, 1, a.seq, 1, 1)
        print(json.dumps(dict(head, kind="probe", **r)), flush=True)
        budget = torch.cuda.get_device_properties(0).total_memory - (3 << 30)
        per_seq = max(1, (r["peak_mib"] - r["weights_grads_mib"]) << 20)
        batches = [max(1, (budget - (r["weights_grads_mib"] << 20)) // per_seq)]
    while batches:
        b = batches.pop(0)
        oom = False
        try:
            r = measure(model, cfg.vocab_size, b, a.seq, a.steps, a.warmup)
            print(json.dumps(dict(head, kind="measured", **r)), flush=True)
        except torch.OutOfMemoryError:
            oom = True  # freed below, once the exception (and the activations its traceback holds) is gone
        if oom:
            print(json.dumps(dict(head, batch=b, error="out of memory")), flush=True)
            model.zero_grad(set_to_none=True)
            free()
            if a.batch == "auto" and b > 1:
                batches.insert(0, b - 1)
    del model


if __name__ == "__main__":
    main()
