"""Fixtures for cce4j's `train` acceptance test: tiny checkpoints, rows, configs and what the plain PyTorch
loop (train_reference.py) makes of them on the CPU in f32.

    python3 tools/reference/train_fixtures.py OUT_DIR      # the committed set: trainer/src/test/resources/train-reference

Needs torch, transformers, peft and PyYAML (the GPU machine has them; the CPU does all the work, in
seconds). Writes, for each case, OUT_DIR/<case>/
    model/        a tiny random checkpoint saved by transformers in f32 (weights redrawn wider than
                  transformers' init: matrices N(0, 0.2), norm weights 1 + N(0, 0.3) (Gemma: N(0, 0.3),
                  its norms scale by 1 + w), so that training moves them far beyond f32 noise)
    rows.jsonl    variable-length rows of random token ids: a third without a labels field, a third with
                  labels = input_ids, a third with -100 on a prompt prefix (some also on a middle span)
    adapter/      (LoRA cases) the starting PEFT adapter, A and B drawn N(0, 0.1), saved by peft
    config.yaml   our train config with relative paths (model: model, data.train: rows.jsonl, output: run)
    expected/     train_reference.py's output for config.yaml with --device cpu --dtype f32:
                  metrics.jsonl and final/ (the f32 checkpoint, or the adapter)
and OUT_DIR/manifest.json: the versions of torch/transformers/peft, and for each case the config as
resolved (every key, paths as written), the derived numbers (rows, steps, warmup, pad id), each
epoch's row order, each step's rows, which steps clipped, and how far the weights moved.
Checks made while generating (the script stops on a failure): every case is deterministic (a second run
gives bit-identical metrics), llama_full's max_grad_norm clips some steps and not others (it is chosen
from a probe run without clipping), and every trained tensor moved by more than 1e-4 of its norm.
"""
import json
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

import train_plan  # noqa: E402
import train_reference  # noqa: E402

SMALL = dict(vocab_size=97, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, tie_word_embeddings=False)
FAMILIES = {
    "llama": ("LlamaConfig", dict(rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
    "gemma2": ("Gemma2Config", dict(head_dim=16, sliding_window=4, query_pre_attn_scalar=24,
                                    attn_logit_softcapping=3.0, final_logit_softcapping=3.0,
                                    hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True)),
}
ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
AUTO = "auto"  # max_grad_norm chosen from a probe run

CASES = [
    dict(name="llama_full", family="llama", seed=101, rows=dict(n=15, min_len=3, max_len=16),
         config=dict(dtype="f32", data=dict(shuffle=True, seq_len=12),
                     train=dict(epochs=2, max_steps=0, micro_batch_size=2, grad_accum=2, lr=5.0e-3,
                                schedule="cosine", warmup_steps=2, warmup_ratio=0.0, weight_decay=0.1,
                                adam_betas=[0.9, 0.999], adam_eps=1.0e-8, max_grad_norm=AUTO, seed=3))),
    # rows of 10..13 tokens: a micro-batch's padding (< 4) stays inside the sliding window of 4, since
    # transformers' eager attention gives NaN for a padded query that sees no real key (cce4j gives zeros)
    dict(name="gemma2_full", family="gemma2", seed=202, rows=dict(n=13, min_len=10, max_len=13),
         config=dict(dtype="f32", data=dict(shuffle=False),
                     train=dict(epochs=3, max_steps=0, micro_batch_size=2, grad_accum=3, lr=3.0e-3,
                                schedule="linear", warmup_steps=0, warmup_ratio=0.2, weight_decay=0.01,
                                adam_betas=[0.9, 0.95], adam_eps=1.0e-8, max_grad_norm=1.0, seed=0))),
    dict(name="llama_lora", family="llama", seed=303, rows=dict(n=20, min_len=3, max_len=14), adapter=True,
         config=dict(dtype="f32", data=dict(shuffle=True),
                     train=dict(epochs=1, max_steps=4, micro_batch_size=2, grad_accum=2, lr=1.0e-2,
                                schedule="constant", warmup_steps=1, warmup_ratio=0.0, weight_decay=0.05,
                                adam_betas=[0.9, 0.999], adam_eps=1.0e-8, max_grad_norm=1.0, seed=7),
                     lora=dict(r=4, alpha=8, dropout=0.0, target_modules=ALL_PROJECTIONS, init="adapter"))),
    dict(name="llama_max_steps_zero_clip", family="llama", seed=404, rows=dict(n=15, min_len=3, max_len=16),
         config=dict(dtype="f32", data=dict(shuffle=True, seq_len=12),
                     train=dict(epochs=1, max_steps=10, micro_batch_size=2, grad_accum=2, lr=5.0e-3,
                                schedule="linear", warmup_steps=1, warmup_ratio=0.0, weight_decay=0.1,
                                adam_betas=[0.9, 0.999], adam_eps=1.0e-8, max_grad_norm=0.0, seed=11))),
]


def hf_config(family):
    cls_name, overrides = FAMILIES[family]
    cls = getattr(transformers, cls_name)
    kw = dict(SMALL)
    kw.update(overrides)
    return cls(**kw)


def make_model(family, folder, seed):
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(hf_config(family), attn_implementation="eager")
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.2 if p.dim() > 1 else 0.3)
            if p.dim() == 1 and family == "llama":
                p.add_(1.0)
    model.to(torch.float32).save_pretrained(folder, safe_serialization=True)


def make_rows(path, seed, n, min_len, max_len, seq_len, vocab):
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            length = rng.randint(min_len, max_len)
            ids = [rng.randrange(vocab) for _ in range(length)]
            row = {"input_ids": ids}
            kind = i % 3
            if kind == 1:
                row["labels"] = list(ids)
            elif kind == 2:
                kept = min(length, seq_len)  # at least one target survives truncation
                prompt = rng.randint(1, max(1, kept - 2))
                labels = [train_plan.IGNORE_INDEX] * prompt + ids[prompt:]
                if i % 6 == 5 and kept - prompt >= 4:  # a masked middle span too (a second prompt)
                    a = prompt + 1
                    labels[a:a + 2] = [train_plan.IGNORE_INDEX] * 2
                row["labels"] = labels
            f.write(json.dumps(row) + "\n")


def make_adapter(model_folder, adapter_folder, lora, seed):
    import peft
    base = transformers.AutoModelForCausalLM.from_pretrained(model_folder, dtype=torch.float32,
                                                             attn_implementation="eager")
    lc = peft.LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                         target_modules=list(lora["target_modules"]), bias="none", task_type="CAUSAL_LM")
    model = peft.get_peft_model(base, lc)
    torch.manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if ".lora_A." in n or ".lora_B." in n:
                p.normal_(0.0, 0.1)
    model.peft_config["default"].base_model_name_or_path = "model"
    model.save_pretrained(adapter_folder, safe_serialization=True)


def write_config(folder, config):
    text = ("# cce4j train fixture (tools/reference/train_fixtures.py); expected/ = train_reference.py --device cpu --dtype f32\n"
            + train_plan.dump_yaml(config) + "\n")
    path = os.path.join(folder, "config.yaml")
    with open(path, "w") as f:
        f.write(text)
    import yaml
    with open(path) as f:
        if yaml.safe_load(f) != config:  # what we wrote must read back as what we meant
            raise SystemExit(f"{path} does not read back as {config}")
    return path


def run_quiet(config_path, out_dir):
    return train_reference.run(config_path, out_dir, device="cpu", dtype="f32", quiet=True)


def choose_clip(folder, config, scratch):
    """A max_grad_norm that clips some steps and not others, none of them within 0.2% of the threshold (two f32
    implementations differ by ~1e-7 relative in the norm, so no decision can flip)."""
    probe_cfg = json.loads(json.dumps(config))
    probe_cfg["train"]["max_grad_norm"] = 0.0
    probe = run_quiet(write_config(folder, probe_cfg), os.path.join(scratch, "probe"))
    norms = sorted(m["grad_norm"] for m in probe["metrics"])
    tried = []
    for q in (0.5, 0.4, 0.6, 0.3, 0.7, 0.45, 0.55):
        c = float(f"{norms[int(q * (len(norms) - 1))]:.2g}")
        config["train"]["max_grad_norm"] = c
        result = run_quiet(write_config(folder, config), os.path.join(scratch, f"clip-{c}"))
        got = [m["grad_norm"] for m in result["metrics"]]
        clipped = sum(g > c for g in got)
        margin = min(abs(g - c) / c for g in got)
        tried.append((c, clipped, round(margin, 4)))
        if 0 < clipped < len(got) and margin >= 0.002:
            return c, tried
    raise SystemExit(f"{folder}: no max_grad_norm clipped some steps and not others: tried {tried}")


def weight_change(before, after):
    """||after - before|| / ||before|| for every tensor; before/after map names to tensors."""
    if set(before) != set(after):
        raise SystemExit(f"final tensors {sorted(set(after))} differ from initial {sorted(set(before))}")
    return {k: float((after[k].double() - before[k].double()).norm() / before[k].double().norm()) for k in before}


def case_config(case):
    """The config.yaml of a case, as a dict (max_grad_norm may still be AUTO)."""
    config = {"model": "model", "init": "pretrained"}
    config.update(json.loads(json.dumps(case["config"])))
    config["data"] = dict({"train": "rows.jsonl"}, **config["data"])
    config["output"] = "run"
    return config


def make_case(out, case):
    name = case["name"]
    folder = os.path.join(out, name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    model_folder = os.path.join(folder, "model")
    make_model(case["family"], model_folder, case["seed"])

    config = case_config(case)
    seq_len = config["data"].get("seq_len", train_plan.DEFAULTS["data"]["seq_len"])
    make_rows(os.path.join(folder, "rows.jsonl"), case["seed"] + 1, vocab=SMALL["vocab_size"], seq_len=seq_len,
              **case["rows"])
    if case.get("adapter"):
        make_adapter(model_folder, os.path.join(folder, "adapter"), config["lora"], case["seed"] + 2)

    scratch = tempfile.mkdtemp(prefix=f"train-fixture-{name}-")
    clip_tries = None
    if config["train"]["max_grad_norm"] == AUTO:
        _, clip_tries = choose_clip(folder, config, scratch)
    config_path = write_config(folder, config)

    expected = os.path.join(folder, "expected")
    result = train_reference.run(config_path, expected, device="cpu", dtype="f32")
    again = run_quiet(config_path, os.path.join(scratch, "again"))
    if again["metrics"] != result["metrics"]:
        raise SystemExit(f"{name}: two runs of the reference differ: {result['metrics']} vs {again['metrics']}")
    shutil.rmtree(scratch)

    if case.get("adapter"):
        before = load_file(os.path.join(folder, "adapter", "adapter_model.safetensors"))
        after = load_file(os.path.join(expected, "final", "adapter_model.safetensors"))
    else:
        before = load_file(os.path.join(model_folder, "model.safetensors"))
        after = load_file(os.path.join(expected, "final", "model.safetensors"))
    change = weight_change(before, after)
    if min(change.values()) < 1e-4:
        raise SystemExit(f"{name}: some tensors barely moved: {sorted(change.items(), key=lambda kv: kv[1])[:3]}")

    cfg = result["config"]
    facts = result["facts"]
    mgn = cfg["train"]["max_grad_norm"]
    orders = [train_plan.epoch_order(facts["rows"], cfg["train"]["seed"], e, cfg["data"]["shuffle"])
              for e in range(cfg["train"]["epochs"])]
    plan = train_plan.step_plan(facts["rows"], cfg["train"], cfg["data"]["shuffle"])
    entry = {
        "family": case["family"],
        "config": train_plan.public_view(cfg),
        "facts": facts,
        "epoch_orders": orders,
        "steps": [{"step": s, "epoch": e, "rows": rows} for s, (e, rows) in enumerate(plan, start=1)],
        "clipped_steps": [m["step"] for m in result["metrics"] if mgn > 0 and m["grad_norm"] > mgn],
        "weight_change": {"min": min(change.values()), "max": max(change.values())},
        "final_loss": result["metrics"][-1]["loss"],
    }
    if clip_tries is not None:
        entry["max_grad_norm_tries"] = [{"max_grad_norm": c, "clipped_steps": k, "margin": g} for c, k, g in clip_tries]
    return entry


def folder_bytes(folder):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files)


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: python3 tools/reference/train_fixtures.py OUT_DIR")
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    transformers.logging.set_verbosity_error()
    import peft
    manifest = {"generator": "tools/reference/train_fixtures.py",
                "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                             "peft": peft.__version__, "python": sys.version.split()[0]},
                "cases": {}}
    for case in CASES:
        manifest["cases"][case["name"]] = make_case(out, case)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    size = folder_bytes(out)
    print(f"{len(CASES)} cases in {out}, {size / 1e6:.2f} MB")
    if size > 3e6:
        raise SystemExit(f"the fixtures take {size} bytes, more than 3 MB")


if __name__ == "__main__":
    main()
