"""The plain PyTorch + transformers (+ PEFT) training loop that cce4j's `train` is tested against.

    python3 tools/reference/train_reference.py --config C.yaml [--out DIR] [--device cpu|cuda|cuda:N]
                                               [--dtype f32|bf16|f64] [--loss materialized|apple-cce]
                                               [--attn eager|sdpa] [--no-final]

Reads our YAML config (keys and defaults as in docs/training.md; relative paths are
relative to the config file's folder), trains, and writes
    DIR/metrics.jsonl   one JSON object per optimizer step: step (1-based), loss, grad_norm, lr, tokens
    DIR/final/          full fine-tuning: save_pretrained of the model in f32 safetensors with config.json;
                        LoRA: the PEFT adapter folder (adapter_config.json, adapter_model.safetensors)
and prints a short summary. From the command line each record also has elapsed_s; --loss apple-cce takes the
loss through Apple's CCE (docs/convergence.md's PyTorch curve) instead of materialized logits. DIR defaults to the config's `output`. It needs torch, transformers, peft
(LoRA only) and PyYAML; train_plan.py beside it holds the config, rows, shuffle and step cut.

The loop, exactly (what the Java trainer reproduces step for step):
- Model: AutoModelForCausalLM.from_pretrained(model, dtype=..., attn_implementation="eager") (eager for
  every family, so that Gemma 2's attention softcapping is applied, as tools/reference/model_fixtures.py
  does), put in train mode (no dropout in our families' configs). init: random = from_config after
  torch.manual_seed(train.seed) (not reproducible by another RNG).
- LoRA: peft's LoraConfig(r, lora_alpha, lora_dropout, target_modules, bias="none", task_type="CAUSAL_LM")
  + get_peft_model (A kaiming-uniform from torch's RNG seeded by train.seed, B zero), or, with lora.init,
  PeftModel.from_pretrained(base, init, config=its adapter_config with lora_dropout from the YAML when
  written there, is_trainable=True). With lora.init, r, alpha and target_modules come from the adapter;
  writing different ones in the YAML is an error. Only the LoRA matrices train.
- Rows, epoch orders, steps and micro-batches: train_plan.py (the splitmix64 shuffle, bit-exact).
- A micro-batch is padded on the right to its longest row (input_ids = pad_token_id, labels = -100,
  attention_mask 0), position_ids = 0..T-1 passed explicitly, use_cache=False.
- Its loss sum: logits (upcast to at least f32), shifted (position t predicts labels[t+1]),
  F.cross_entropy(reduction="sum", ignore_index=-100, label_smoothing=loss.label_smoothing), plus
  loss.z_loss * sum of logsumexp(logits)^2 over the targets (cce-core's CceOptions contract:
  lse - (1-a) z_t - a mean(z) + lambda lse^2). backward() of (that sum / N_s) per micro-batch, N_s the
  step's target count over all its micro-batches. Reported loss = (sum of the micro-batch sums, added in
  double) / N_s; tokens = N_s.
- grad_norm = the L2 norm over every trainable parameter's gradient before clipping
  (torch.nn.utils.clip_grad_norm_'s return value; torch.nn.utils.get_total_norm when max_grad_norm is 0,
  which does not clip).
- torch.optim.AdamW(lr, betas, eps, defaults otherwise: single-tensor path on CPU) with two parameter
  groups: ndim >= 2 with weight_decay, the 1-D ones with 0 (a tied embedding is one parameter).
- transformers.optimization.get_{constant,linear,cosine}_schedule_with_warmup(num_warmup_steps,
  num_training_steps = total_steps); step s uses the LambdaLR's value before its (s-1)-th step(), which is
  the `lr` reported. The scheduler steps after every optimizer step.
Where the semantics are silent we do what transformers' Trainer does, or say here what we do:
- dtype: on the CPU the computation is f32 (the config's dtype applies to CUDA only); --dtype on the
  command line is honoured on any device. bf16 = Trainer's bf16=True: f32 weights, AdamW state and
  gradients, the forward and the loss under torch.autocast(dtype=bfloat16). f64 is a diagnostic extra
  (the final weights are still written in f32).
- recompute, loss.impl and loss.filter_eps change no number of this loop and are ignored; save.* and
  eval.* are not done (no checkpoints, no validation pass): the reference writes the final state only.
- data.packing: true is refused. Bad rows: see train_plan.py.
- Determinism: torch.use_deterministic_algorithms(True, warn_only=True), one CPU thread,
  CUBLAS_WORKSPACE_CONFIG=:4096:8 on CUDA.
"""
import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
try:
    from transformers.optimization import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                                           get_linear_schedule_with_warmup)
except ImportError:  # the same functions, exported at the top
    from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                              get_linear_schedule_with_warmup)

import train_plan  # noqa: E402
from train_plan import IGNORE_INDEX, ConfigError  # noqa: E402

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f64": torch.float64}


# ---------------------------------------------------------------- model

def pick_device(config_device, cli_device):
    name = cli_device or config_device
    if name is None:
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name}: CUDA is not available here")
    return torch.device(name)


def pick_dtypes(config_dtype, cli_dtype, device):
    """(weight dtype, autocast dtype or None)."""
    name = cli_dtype or (config_dtype if device.type == "cuda" else "f32")
    if name not in DTYPES:
        raise ConfigError(f"--dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    if name == "bf16":
        return torch.float32, torch.bfloat16
    return DTYPES[name], None


def load_model(cfg, weight_dtype, device):
    if cfg["init"] == "random":
        hf_config = transformers.AutoConfig.from_pretrained(cfg["model"])
        torch.manual_seed(cfg["train"]["seed"])
        model = transformers.AutoModelForCausalLM.from_config(hf_config, attn_implementation=LOSS["attn"])
        model = model.to(weight_dtype)
    else:
        model = transformers.AutoModelForCausalLM.from_pretrained(
            cfg["model"], dtype=weight_dtype, attn_implementation=LOSS["attn"])
    model = model.to(device)
    if cfg["lora"] is not None:
        model = apply_lora(model, cfg)
    model.train()
    return model


def apply_lora(base, cfg):
    import peft
    lora = cfg["lora"]
    for p in base.parameters():
        p.requires_grad_(False)
    if lora["init"] is None:
        torch.manual_seed(cfg["train"]["seed"])
        lc = peft.LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                             target_modules=list(lora["target_modules"]), bias="none", task_type="CAUSAL_LM")
        model = peft.get_peft_model(base, lc)
    else:
        if not os.path.isfile(os.path.join(lora["init"], "adapter_config.json")):
            raise ConfigError(f"config: lora.init {lora['init']}: no adapter_config.json there")
        lc = peft.LoraConfig.from_pretrained(lora["init"])
        given = set(lora["_given"])
        mismatch = []
        if "r" in given and lc.r != lora["r"]:
            mismatch.append(f"r {lora['r']} vs {lc.r}")
        if "alpha" in given and float(lc.lora_alpha) != float(lora["alpha"]):
            mismatch.append(f"alpha {lora['alpha']} vs {lc.lora_alpha}")
        if "target_modules" in given and set(lc.target_modules) != set(lora["target_modules"]):
            mismatch.append(f"target_modules {sorted(lora['target_modules'])} vs {sorted(lc.target_modules)}")
        if mismatch:
            raise ConfigError(f"config: lora disagrees with the adapter in lora.init ({lora['init']}): " + "; ".join(mismatch))
        if "dropout" in given:
            lc.lora_dropout = lora["dropout"]
        model = peft.PeftModel.from_pretrained(base, lora["init"], config=lc, is_trainable=True)
        check_adapter_loaded(model, lora["init"])
    # the resolved values, for the summary and the manifest
    lc = model.peft_config["default"]
    lora["r"], lora["alpha"], lora["dropout"] = lc.r, lc.lora_alpha, lc.lora_dropout
    lora["target_modules"] = sorted(lc.target_modules)
    return model


def check_adapter_loaded(model, folder):
    """peft only warns about keys it could not place: insist that every matrix of the file is the
    trainable parameter it names, bit for bit, and that nothing else trains."""
    from safetensors.torch import load_file
    saved = load_file(os.path.join(folder, "adapter_model.safetensors"))
    live = {n.replace(".default.weight", ".weight"): p for n, p in model.named_parameters() if p.requires_grad}
    if set(saved) != set(live):
        raise ConfigError(f"config: lora.init {folder}: the adapter's tensors {sorted(set(saved) ^ set(live))[:4]}... "
                          "do not match the model's LoRA parameters")
    for key, t in saved.items():
        if not torch.equal(live[key].detach().cpu(), t.to(live[key].dtype)):
            raise RuntimeError(f"lora.init {folder}: {key} was not loaded as saved")


def trainable_parameters(model):
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def make_optimizer(named_params, train):
    decay = [p for _, p in named_params if p.ndim >= 2]
    no_decay = [p for _, p in named_params if p.ndim < 2]
    groups = []
    if decay:
        groups.append({"params": decay, "weight_decay": train["weight_decay"]})
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return torch.optim.AdamW(groups, lr=train["lr"], betas=tuple(train["adam_betas"]), eps=train["adam_eps"])


def make_schedule(optimizer, train, total, warmup):
    kind = train["schedule"]
    if kind == "constant":
        return get_constant_schedule_with_warmup(optimizer, num_warmup_steps=warmup)
    if kind == "linear":
        return get_linear_schedule_with_warmup(optimizer, num_warmup_steps=warmup, num_training_steps=total)
    return get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=warmup, num_training_steps=total)


def resolve_pad_id(data_cfg, hf_config):
    if data_cfg["pad_token_id"] is not None:
        return data_cfg["pad_token_id"]
    for key in ("pad_token_id", "eos_token_id"):
        v = getattr(hf_config, key, None)
        if isinstance(v, (list, tuple)):
            v = v[0] if v else None
        if v is not None:
            return int(v)
    return 0


# ---------------------------------------------------------------- one step

def collate(rows, pad_id, device):
    """Right padding to the longest row: (input_ids, labels, attention_mask, position_ids), int64 [B, T]."""
    T = max(len(r.input_ids) for r in rows)
    B = len(rows)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    labels = torch.full((B, T), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    for b, r in enumerate(rows):
        n = len(r.input_ids)
        ids[b, :n] = torch.tensor(r.input_ids, dtype=torch.long)
        labels[b, :n] = torch.tensor(r.labels, dtype=torch.long)
        mask[b, :n] = 1
    positions = torch.arange(T, dtype=torch.long).unsqueeze(0).expand(B, T).contiguous()
    return ids.to(device), labels.to(device), mask.to(device), positions.to(device)


LOSS = {"impl": "materialized", "attn": "eager", "save_final": True, "timing": False}  # --loss: materialized (F.cross_entropy over logits) or apple-cce


def apple_cce_loss_sum(model, batch):
    """The same sum through Apple's CCE (cut_cross_entropy on PYTHONPATH, e.g. .anchors): the final hidden
    states and the head's weight in the autocast dtype, shift 1 inside the kernel, no logits stored."""
    from cut_cross_entropy import linear_cross_entropy
    ids, labels, mask, positions = batch
    h = model.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).last_hidden_state
    w = model.lm_head.weight
    softcap = getattr(model.config, "final_logit_softcapping", None)
    impl = "cce_kahan_full_c" if LOSS["impl"] == "apple-cce-kahan-full-c" else "cce"
    return linear_cross_entropy(h, w.to(h.dtype), labels, shift=1, reduction="sum", softcap=softcap, impl=impl)


def loss_sum(model, batch, label_smoothing=0.0, z_loss=0.0):
    """The sum over the batch's targets of the next-token loss (a 0-d tensor)."""
    if LOSS["impl"].startswith("apple-cce"):
        if label_smoothing or z_loss:
            raise ConfigError("--loss apple-cce: label_smoothing and z_loss are not supported")
        return apple_cce_loss_sum(model, batch)
    ids, labels, mask, positions = batch
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).logits
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    V = logits.shape[-1]
    flat_logits = logits[:, :-1, :].reshape(-1, V)
    flat_labels = labels[:, 1:].reshape(-1)
    total = F.cross_entropy(flat_logits, flat_labels, reduction="sum", ignore_index=IGNORE_INDEX,
                            label_smoothing=label_smoothing)
    if z_loss:
        lse = torch.logsumexp(flat_logits[flat_labels != IGNORE_INDEX], dim=-1)
        total = total + z_loss * (lse * lse).sum()
    return total


def accumulate_step(model, rows, micro_batch_size, pad_id, device, autocast_dtype=None,
                    label_smoothing=0.0, z_loss=0.0, step=None):
    """Backward of every micro-batch's (loss sum / N_s) into .grad; returns (step loss as float, N_s)."""
    n_targets = sum(r.targets for r in rows)
    if n_targets == 0:
        raise ConfigError(f"step {step}: its rows have no targets (every label is -100), its loss would be 0/0")
    total = 0.0
    for chunk in train_plan.micro_batches(rows, micro_batch_size):
        batch = collate(chunk, pad_id, device)
        if autocast_dtype is not None:
            with torch.autocast(device_type=device.type, dtype=autocast_dtype):
                s = loss_sum(model, batch, label_smoothing, z_loss)
        else:
            s = loss_sum(model, batch, label_smoothing, z_loss)
        (s / n_targets).backward()
        total += float(s.detach())
    return total / n_targets, n_targets


def total_grad_norm(params):
    grads = [p.grad for p in params if p.grad is not None]
    if hasattr(torch.nn.utils, "get_total_norm"):
        return torch.nn.utils.get_total_norm(grads, norm_type=2.0)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g, 2.0) for g in grads]), 2.0)


def clip(params, max_grad_norm):
    """The norm before clipping; clips in place when max_grad_norm > 0 (torch's clip_grad_norm_)."""
    if max_grad_norm > 0:
        return float(torch.nn.utils.clip_grad_norm_(params, max_grad_norm, norm_type=2.0))
    return float(total_grad_norm(params))


# ---------------------------------------------------------------- the run

def prepare(config_path, device=None, dtype=None):
    """Everything before the first step: (cfg, rows, plan, model, facts)."""
    cfg = train_plan.load_config(config_path)
    dev = pick_device(cfg["device"], device)
    weight_dtype, autocast_dtype = pick_dtypes(cfg["dtype"], dtype, dev)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if dev.type == "cpu":
        torch.set_num_threads(1)
    torch.manual_seed(cfg["train"]["seed"])
    hf_config = transformers.AutoConfig.from_pretrained(cfg["model"])
    data = cfg["data"]
    rows, skipped = train_plan.read_rows(data["train"], data["seq_len"], data["overflow"], data["skip_bad_rows"],
                                         vocab_size=hf_config.vocab_size)
    plan = train_plan.step_plan(len(rows), cfg["train"], data["shuffle"])
    total = len(plan)
    facts = {
        "device": str(dev), "weights": str(weight_dtype).replace("torch.", ""),
        "autocast": None if autocast_dtype is None else str(autocast_dtype).replace("torch.", ""),
        "rows": len(rows), "skipped_rows": skipped,
        "steps_per_epoch": train_plan.steps_per_epoch(len(rows), cfg["train"]["micro_batch_size"], cfg["train"]["grad_accum"]),
        "total_steps": total, "warmup_steps": train_plan.warmup_steps(cfg["train"], total),
        "pad_token_id": resolve_pad_id(data, hf_config),
    }
    model = load_model(cfg, weight_dtype, dev)
    return cfg, rows, plan, model, facts, dev, autocast_dtype


def run(config_path, out_dir=None, device=None, dtype=None, quiet=False):
    """Trains as the module docstring says; returns {"config", "facts", "metrics"}."""
    started = time.time()
    cfg, rows, plan, model, facts, dev, autocast_dtype = prepare(config_path, device, dtype)
    out_dir = os.path.abspath(out_dir or cfg["output"])
    os.makedirs(out_dir, exist_ok=True)
    train = cfg["train"]
    named = trainable_parameters(model)
    params = [p for _, p in named]
    facts["trainable_parameters"] = len(params)
    facts["trainable_elements"] = sum(p.numel() for p in params)
    optimizer = make_optimizer(named, train)
    schedule = make_schedule(optimizer, train, facts["total_steps"], facts["warmup_steps"])
    metrics = []
    with open(os.path.join(out_dir, "metrics.jsonl"), "w") as log:
        for step, (epoch, indices) in enumerate(plan, start=1):
            lr = optimizer.param_groups[0]["lr"]
            optimizer.zero_grad(set_to_none=True)
            loss, n_targets = accumulate_step(model, [rows[i] for i in indices], train["micro_batch_size"],
                                              facts["pad_token_id"], dev, autocast_dtype,
                                              cfg["loss"]["label_smoothing"], cfg["loss"]["z_loss"], step)
            grad_norm = clip(params, train["max_grad_norm"])
            optimizer.step()
            schedule.step()
            m = {"step": step, "loss": loss, "grad_norm": grad_norm, "lr": float(lr), "tokens": n_targets}
            if LOSS["timing"]:
                m["elapsed_s"] = time.time() - started
            metrics.append(m)
            log.write(json.dumps(m) + "\n")
            if not math.isfinite(loss) or not math.isfinite(grad_norm):
                raise RuntimeError(f"step {step}: loss {loss}, grad_norm {grad_norm} (not finite)")
    if LOSS["save_final"]:
        save_final(model, cfg, os.path.join(out_dir, "final"))
    if not quiet:
        kind = "LoRA" if cfg["lora"] is not None else "full fine-tuning"
        print(f"{config_path}: {kind}, {facts['rows']} rows, {len(metrics)} steps on {facts['device']} "
              f"({facts['weights']}{', autocast ' + facts['autocast'] if facts['autocast'] else ''}), "
              f"loss {metrics[0]['loss']:.6f} -> {metrics[-1]['loss']:.6f}, "
              f"{time.time() - started:.1f} s; wrote {out_dir}/metrics.jsonl and {out_dir}/final/")
    return {"config": cfg, "facts": facts, "metrics": metrics}


def save_final(model, cfg, folder):
    model = model.to(torch.float32)  # a no-op except after --dtype f64
    if cfg["lora"] is not None:
        # the adapter names its base as the config wrote it, not this machine's absolute path
        model.peft_config["default"].base_model_name_or_path = cfg["_written_paths"]["model"]
    model.save_pretrained(folder, safe_serialization=True)


def main(argv=None):
    p = argparse.ArgumentParser(description="Plain PyTorch reference of cce4j train (see the module docstring).")
    p.add_argument("--config", required=True, help="our train YAML")
    p.add_argument("--out", help="run folder (default: the config's output)")
    p.add_argument("--device", help="cpu | cuda | cuda:N (default: the config's, else CUDA when usable)")
    p.add_argument("--loss", choices=["materialized", "apple-cce", "apple-cce-kahan-full-c"], default="materialized",
                   help="the loss: F.cross_entropy over materialized logits (default) or Apple's CCE (cut_cross_entropy: "
                        "impl cce, or cce_kahan_full_c)")
    p.add_argument("--attn", choices=["eager", "sdpa"], default="eager", help="transformers' attention (default eager)")
    p.add_argument("--no-final", action="store_true", help="do not save the final model")
    p.add_argument("--dtype", choices=sorted(DTYPES), help="f32 | bf16 | f64 (default: the config's on CUDA, f32 on CPU)")
    a = p.parse_args(argv)
    transformers.logging.set_verbosity_error()
    LOSS.update(impl=a.loss, attn=a.attn, save_final=not a.no_final, timing=True)
    try:
        run(a.config, a.out, a.device, a.dtype)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
