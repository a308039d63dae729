"""Self-checks of the `train` reference (train_plan.py, train_reference.py, train_fixtures.py): each line
names an invariant and says ok or FAIL; the exit status is 1 on any failure.

    python3 tools/reference/train_selfcheck.py            # everything (needs torch, transformers, peft)
    python3 tools/reference/train_selfcheck.py --pure     # only what needs no torch (the shuffle, the step
                                                          # cut, rows, the config), runs anywhere
    python3 tools/reference/train_selfcheck.py FIXTURES   # also re-runs every case of a fixtures folder
                                                          # (train_fixtures.py's OUT_DIR) against expected/

What is checked, against what:
- the splitmix64 stream against the published first outputs of Vigna's splitmix64 from state 0, and the
  epoch orders against values computed by a second, independent implementation (hard-coded below);
- steps, micro-batches, max_steps, warmup_ratio against counts worked out by hand; rows (labels default,
  truncation, targets, bad rows); config defaults, coercions, relative paths; the YAML writer;
- the three schedules, as the reference builds them from transformers, against their closed forms;
- the loss sum / N against transformers' own labels= loss (Llama and Gemma 2); accumulation over
  micro-batches against the same rows as one batch (float64, 1e-10); clipping's reported norm against
  a float64 norm; AdamW with its two groups against a float64 closed form; a PEFT LoRA projection
  against W x + (alpha / r) B A x;
- a small end-to-end run: deterministic, step 1's loss against transformers' loss on the step's rows,
  lr against the closed form, tokens against the plan, a final folder transformers and peft load.
"""
import json
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_plan  # noqa: E402

FAILURES = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'  (' + detail + ')' if detail and not ok else ''}")
    if not ok:
        FAILURES.append(name)


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


# ---------------------------------------------------------------- pure checks

# computed with an independent implementation (modular arithmetic, a generator), not train_plan
ORDERS = {
    (15, 3, 0): [3, 5, 2, 7, 11, 0, 9, 14, 10, 12, 8, 6, 1, 13, 4],
    (15, 3, 1): [1, 5, 14, 7, 10, 4, 6, 11, 9, 8, 13, 0, 12, 3, 2],
    (14, 7, 0): [5, 11, 7, 1, 6, 2, 8, 12, 4, 0, 13, 3, 9, 10],
    (10, 0, 0): [2, 1, 8, 4, 9, 6, 5, 7, 3, 0],
    (10, 0, 1): [6, 2, 1, 7, 5, 0, 3, 8, 9, 4],
    (2, 0, 0): [1, 0],
    (5, 2 ** 64 - 1, 4): [2, 0, 1, 3, 4],
    (13, 12345, 2): [12, 0, 5, 2, 9, 10, 6, 7, 8, 4, 1, 3, 11],
}


def pure_checks():
    rng = train_plan.EpochRng(0, 0)
    rng.state = 0
    vigna = [rng.next() for _ in range(3)]
    check("splitmix64 from state 0 gives Vigna's first outputs",
          vigna == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F], str([hex(v) for v in vigna]))
    check("mix64(0) = 0, mix64(1) = 0x5692161d100b05e5", train_plan.mix64(0) == 0 and train_plan.mix64(1) == 0x5692161D100B05E5)
    rng = train_plan.EpochRng(0, 0)
    first = [rng.next() for _ in range(3)]
    check("seed 0 epoch 0 stream", first == [0xBFEF8030DDC2D772, 0x5F552CE482F2AA47, 0x70335FC3DAF3D8A7],
          str([hex(v) for v in first]))
    for (n, s, e), want in ORDERS.items():
        got = train_plan.epoch_order(n, s, e)
        check(f"epoch order n={n} seed={s} epoch={e}", got == want, f"{got} != {want}")
    check("epoch order of one row", train_plan.epoch_order(1, 5, 0) == [0])
    check("shuffle false = file order", train_plan.epoch_order(6, 3, 1, shuffle=False) == list(range(6)))
    check("seed -1 is seed 2^64-1", train_plan.epoch_order(5, -1, 4) == ORDERS[(5, 2 ** 64 - 1, 4)])

    t = dict(epochs=2, max_steps=0, micro_batch_size=2, grad_accum=2, seed=3, warmup_steps=0, warmup_ratio=0.2)
    plan = train_plan.step_plan(15, t, True)
    check("15 rows, 2x2, 2 epochs: 8 steps of 4,4,4,3 rows", [len(r) for _, r in plan] == [4, 4, 4, 3] * 2)
    check("step rows follow the epoch orders",
          [i for _, r in plan[:4] for i in r] == ORDERS[(15, 3, 0)] and [i for _, r in plan[4:] for i in r] == ORDERS[(15, 3, 1)])
    check("epochs of the steps", [e for e, _ in plan] == [0] * 4 + [1] * 4)
    check("a 3-row step in micro-batches of 2 is 2 + 1",
          [len(m) for m in train_plan.micro_batches(plan[3][1], 2)] == [2, 1])
    check("warmup_ratio 0.2 of 8 steps = ceil(1.6) = 2", train_plan.warmup_steps(t, 8) == 2)
    check("warmup_ratio 0.2 of 15 steps = 3 (0.2*15 is 3.0 in double)", train_plan.warmup_steps(t, 15) == 3)
    check("warmup_steps wins over warmup_ratio", train_plan.warmup_steps(dict(t, warmup_steps=5), 8) == 5)
    check("max_steps 3 caps", len(train_plan.step_plan(15, dict(t, max_steps=3), True)) == 3)
    check("max_steps 10 > 8 steps does not", len(train_plan.step_plan(15, dict(t, max_steps=10), True)) == 8)
    check("13 rows, 2x3, 3 epochs: 9 steps of 6,6,1",
          [len(r) for _, r in train_plan.step_plan(13, dict(t, epochs=3, grad_accum=3), False)] == [6, 6, 1] * 3)
    check("total_steps", train_plan.total_steps(20, dict(t, epochs=1, max_steps=4)) == 4
          and train_plan.steps_per_epoch(20, 2, 2) == 5 and train_plan.steps_per_epoch(4, 2, 2) == 1)

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "rows.jsonl")
        with open(path, "w") as f:
            f.write('{"input_ids": [5, 6, 7, 8]}\n')
            f.write('{"input_ids": [1, 2, 3], "labels": [-100, -100, 3]}\n')
            f.write('{"input_ids": [9, 9, 9, 9, 9, 9], "labels": [-100, 9, -100, 9, 9, 9]}\n')
            f.write('{"input_ids": [4], "labels": null}\n')
        rows, skipped = train_plan.read_rows(path, seq_len=5)
        check("labels default to input_ids", rows[0].labels == [5, 6, 7, 8] and rows[3].labels == [4])
        check("targets = labels[t] != -100 for t >= 1", [r.targets for r in rows] == [3, 1, 3, 0])
        check("rows longer than seq_len are truncated", rows[2].input_ids == [9] * 5 and rows[2].labels == [-100, 9, -100, 9, 9])
        try:
            train_plan.read_rows(path, seq_len=5, overflow="error")
            check("overflow: error refuses a long row", False)
        except train_plan.ConfigError as e:
            check("overflow: error refuses a long row, naming file:line", f"{path}:3" in str(e), str(e))
        rows, skipped = train_plan.read_rows(path, seq_len=5, overflow="error", skip_bad_rows=True)
        check("skip_bad_rows drops it", len(rows) == 3 and skipped == [3])
        with open(path, "a") as f:
            f.write("\n{\"input_ids\": [1, 2]}\n")
        try:
            train_plan.read_rows(path, seq_len=8)
            check("a blank line is a bad row", False)
        except train_plan.ConfigError as e:
            check("a blank line is a bad row", f"{path}:5" in str(e), str(e))
        rows, skipped = train_plan.read_rows(path, seq_len=8, skip_bad_rows=True, vocab_size=9)
        check("ids outside the vocabulary and blank lines are dropped by skip_bad_rows", skipped == [3, 5] and len(rows) == 4,
              str(skipped))
        with open(path, "a") as f:
            f.write('{"input_ids": [1, 2], "labels": [1, 200]}\n{"input_ids": [1, 2], "labels": [1]}\n')
        rows, skipped = train_plan.read_rows(path, seq_len=8, skip_bad_rows=True, vocab_size=9)
        check("labels outside the vocabulary or of another length are bad rows", skipped == [3, 5, 7, 8], str(skipped))
        cfg = train_plan.resolve_config({"model": "m", "output": "out", "data": {"train": "r.jsonl"},
                                         "train": {"lr": "1e-3", "adam_eps": 1e-6}}, d)
        check("defaults", cfg["train"]["micro_batch_size"] == 4 and cfg["train"]["schedule"] == "cosine"
              and cfg["data"]["seq_len"] == 2048 and cfg["lora"] is None and cfg["train"]["adam_betas"] == [0.9, 0.999])
        check("'1e-3' (a string to YAML 1.1) is read as 0.001", cfg["train"]["lr"] == 1e-3)
        check("paths relative to the config's folder", cfg["model"] == os.path.join(d, "m")
              and cfg["data"]["train"] == os.path.join(d, "r.jsonl"))
        check("public_view keeps the paths as written", train_plan.public_view(cfg)["data"]["train"] == "r.jsonl"
              and "_written_paths" not in train_plan.public_view(cfg))
        cfg = train_plan.resolve_config({"model": "m", "output": "o", "data": {"train": "r"},
                                         "lora": {"r": 4, "init": "a"}}, d)
        check("lora defaults and given keys", cfg["lora"]["alpha"] == 32 and cfg["lora"]["_given"] == ["r"]
              and cfg["lora"]["init"] == os.path.join(d, "a"))
        for bad, word in (({"model": "m", "output": "o", "data": {"train": "r"}, "train": {"lrr": 1}}, "train.lrr"),
                          ({"model": "m", "output": "o", "data": {"train": "r"}, "train": {"epochs": 1.5}}, "train.epochs"),
                          ({"output": "o", "data": {"train": "r"}}, "model"),
                          ({"model": "m", "output": "o", "data": {"train": "r"}, "train": {"schedule": "step"}}, "train.schedule")):
            try:
                train_plan.resolve_config(bad, d)
                check(f"config error names {word}", False)
            except train_plan.ConfigError as e:
                check(f"config error names {word}", word in str(e), str(e))

    import yaml
    sample = {"model": "model", "dtype": "f32", "data": {"train": "rows.jsonl", "shuffle": False},
              "train": {"lr": 5e-3, "adam_eps": 1e-8, "big": 1e20, "max_grad_norm": 0.0, "betas": [0.9, 0.999], "n": 3},
              "lora": {"target_modules": ["q_proj", "k_proj"], "init": "adapter"}}
    text = train_plan.dump_yaml(sample)
    check("the YAML writer reads back (PyYAML, YAML 1.1 floats)", yaml.safe_load(text) == sample, text)
    check("floats carry a dot before the exponent", "1.0e-08" in text and "1.0e+20" in text, text)


# ---------------------------------------------------------------- torch checks

def torch_checks(fixtures):
    import copy

    import torch
    import transformers
    import train_fixtures
    import train_reference as ref

    transformers.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True, warn_only=True)

    # schedules against their closed forms
    def closed(kind, s, w, n):
        if s < w:
            return s / max(1, w)
        if kind == "constant":
            return 1.0
        if kind == "linear":
            return max(0.0, (n - s) / max(1, n - w))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * (s - w) / max(1, n - w))))

    for kind in ("constant", "linear", "cosine"):
        for w, n in ((0, 5), (2, 8), (3, 3), (1, 4), (2, 9)):
            p = torch.nn.Parameter(torch.zeros(2, 2))
            opt = ref.make_optimizer([("p", p)], {"lr": 0.01, "weight_decay": 0.0, "adam_betas": [0.9, 0.999], "adam_eps": 1e-8})
            sched = ref.make_schedule(opt, {"schedule": kind}, n, w)
            got = []
            for _ in range(n):
                got.append(opt.param_groups[0]["lr"])
                p.grad = torch.ones_like(p)
                opt.step()
                sched.step()
            want = [0.01 * closed(kind, s, w, n) for s in range(n)]
            check(f"{kind} schedule warmup {w} of {n}: {['%.4g' % x for x in got]}",
                  all(abs(a - b) <= 1e-15 for a, b in zip(got, want)), f"{got} vs {want}")

    with tempfile.TemporaryDirectory() as d:
        rows_path = os.path.join(d, "rows.jsonl")
        for family in ("llama", "gemma2"):
            # Gemma 2's sliding window is 4 here: a padded query with no real key in its window makes
            # transformers' eager attention NaN (cce4j gives it zeros), so its rows differ by < 4 tokens
            lo, hi = (3, 11) if family == "llama" else (8, 11)
            train_fixtures.make_rows(rows_path, 5, n=6, min_len=lo, max_len=hi, seq_len=64, vocab=97)
            rows, _ = train_plan.read_rows(rows_path, 64)
            folder = os.path.join(d, family)
            train_fixtures.make_model(family, folder, 1)
            model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager")
            model.train()
            cpu = torch.device("cpu")
            # the loss sum / N against transformers' own mean loss on the same padded batch
            batch = ref.collate(rows, 0, cpu)
            ids, labels, mask, _ = batch
            with torch.no_grad():
                ours = float(ref.loss_sum(model, batch)) / sum(r.targets for r in rows)
                theirs = float(model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss)
            check(f"{family}: CE sum / N = transformers' labels= loss (f32 logits there)", rel(ours, theirs) < 1e-6,
                  f"{ours} vs {theirs}")
            # accumulation over micro-batches = the step as one batch
            a, b = copy.deepcopy(model), copy.deepcopy(model)
            la, na = ref.accumulate_step(a, rows, 2, 0, cpu)
            lb, nb = ref.accumulate_step(b, rows, len(rows), 0, cpu)
            worst = max(float((pa.grad - pb.grad).norm() / pb.grad.norm()) for pa, pb in zip(a.parameters(), b.parameters()))
            check(f"{family}: grads of 3 micro-batches of 2 = one batch of 6 (f64)", na == nb and rel(la, lb) < 1e-12 and worst < 1e-10,
                  f"loss {la} vs {lb}, worst grad {worst:.2e}")
            check(f"{family}: step loss = transformers' loss on the step", rel(la, theirs) < 1e-6, f"{la} vs {theirs}")
            # clipping
            params = [p for p in a.parameters()]
            norm64 = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params))
            reported = ref.clip(params, 0.0)
            check(f"{family}: grad_norm = the f64 L2 norm of every gradient", rel(reported, norm64) < 1e-12, f"{reported} vs {norm64}")
            unclipped = [p.grad.clone() for p in params]
            reported = ref.clip(params, norm64 / 2)
            after = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
            check(f"{family}: clipping to half scales by max/(norm+1e-6)", rel(reported, norm64) < 1e-12 and
                  rel(after, norm64 * (norm64 / 2) / (norm64 + 1e-6)) < 1e-12, f"{after}")
            for p, g in zip(params, unclipped):
                p.grad = g
            ref.clip(params, 10 * norm64)
            check(f"{family}: no change when the norm is below max", all(torch.equal(p.grad, g) for p, g in zip(params, unclipped)))
            if family == "gemma2":
                names = [n for n, _ in model.named_parameters()]
                check("gemma2: the tied embedding is one parameter", "lm_head.weight" not in names and
                      model.lm_head.weight is model.model.embed_tokens.weight, str(names[:3]))

        # AdamW with two groups against float64 closed form
        torch.manual_seed(0)
        w = torch.nn.Parameter(torch.randn(3, 4, dtype=torch.float64))
        bias = torch.nn.Parameter(torch.randn(4, dtype=torch.float64))
        t = {"lr": 0.01, "weight_decay": 0.1, "adam_betas": [0.9, 0.95], "adam_eps": 1e-8}
        opt = ref.make_optimizer([("w", w), ("b", bias)], t)
        check("AdamW groups: ndim >= 2 decayed, 1-D not", [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
              and opt.param_groups[0]["params"][0] is w and opt.param_groups[1]["params"][0] is bias)
        state = {id(p): (p.detach().clone(), torch.zeros_like(p), torch.zeros_like(p)) for p in (w, bias)}
        for step in range(1, 4):
            grads = {id(w): torch.randn(3, 4, dtype=torch.float64), id(bias): torch.randn(4, dtype=torch.float64)}
            lr = 0.01 * step
            for g in opt.param_groups:
                g["lr"] = lr
            for p, wd in ((w, 0.1), (bias, 0.0)):
                p.grad = grads[id(p)].clone()
                x, m, v = state[id(p)]
                g = grads[id(p)]
                m = 0.9 * m + 0.1 * g
                v = 0.95 * v + 0.05 * g * g
                x = x * (1 - lr * wd)
                x = x - lr * (m / (1 - 0.9 ** step)) / ((v / (1 - 0.95 ** step)).sqrt() + 1e-8)
                state[id(p)] = (x, m, v)
            opt.step()
        err = max(float((p.detach() - state[id(p)][0]).abs().max() / state[id(p)][0].abs().max()) for p in (w, bias))
        check("AdamW = decoupled-decay closed form over 3 steps (f64)", err < 1e-13, f"{err:.2e}")

        # LoRA: the PEFT projection is W x + (alpha / r) B A x, only A and B train
        import peft
        folder = os.path.join(d, "llama")
        base = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager")
        pm = peft.get_peft_model(base, peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                                                       target_modules=["q_proj", "down_proj"]))
        with torch.no_grad():
            for n, p in pm.named_parameters():
                if "lora_" in n:
                    p.normal_(0, 0.1)
        trainable = [n for n, p in pm.named_parameters() if p.requires_grad]
        check("LoRA: only lora_A/lora_B of the targets train", len(trainable) == 2 * 2 * 2 and all("lora_" in n for n in trainable),
              str(trainable))
        layer = pm.base_model.model.model.layers[1].mlp.down_proj
        x = torch.randn(5, 48, dtype=torch.float64)
        W = layer.base_layer.weight
        A, B = layer.lora_A["default"].weight, layer.lora_B["default"].weight
        with torch.no_grad():
            err = float((layer(x) - (x @ W.T + 2.0 * (x @ A.T) @ B.T)).abs().max())
        check("LoRA: down_proj(x) = W x + (alpha/r) B A x", err < 1e-12, f"{err:.2e}")

        # end to end, full and LoRA
        for lora in (False, True):
            case = os.path.join(d, "e2e-lora" if lora else "e2e-full")
            os.makedirs(case)
            train_fixtures.make_model("llama", os.path.join(case, "model"), 9)
            train_fixtures.make_rows(os.path.join(case, "rows.jsonl"), 10, n=9, min_len=3, max_len=10, seq_len=8, vocab=97)
            config = {"model": "model", "dtype": "f32", "data": {"train": "rows.jsonl", "seq_len": 8},
                      "train": {"epochs": 2, "micro_batch_size": 2, "grad_accum": 2, "lr": 5.0e-3, "schedule": "cosine",
                                "warmup_steps": 1, "weight_decay": 0.1, "max_grad_norm": 1.0, "seed": 4},
                      "output": "run"}
            if lora:
                lc = {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"], "init": "adapter"}
                config["lora"] = lc
                train_fixtures.make_adapter(os.path.join(case, "model"), os.path.join(case, "adapter"), lc, 12)
            path = train_fixtures.write_config(case, config)
            r1 = ref.run(path, os.path.join(case, "one"), device="cpu", dtype="f32", quiet=True)
            r2 = ref.run(path, os.path.join(case, "two"), device="cpu", dtype="f32", quiet=True)
            tag = "e2e LoRA" if lora else "e2e full"
            ms = r1["metrics"]
            check(f"{tag}: two runs give identical metrics", ms == r2["metrics"])
            check(f"{tag}: 6 steps (9 rows, 4 a step: 3 steps an epoch, 2 epochs)", [m["step"] for m in ms] == list(range(1, 7)))
            check(f"{tag}: metrics keys", all(sorted(m) == ["grad_norm", "loss", "lr", "step", "tokens"] for m in ms))
            check(f"{tag}: lr = cosine closed form", all(abs(m["lr"] - 5e-3 * closed("cosine", m["step"] - 1, 1, 6)) < 1e-15 for m in ms))
            rows, _ = train_plan.read_rows(os.path.join(case, "rows.jsonl"), 8)
            plan = train_plan.step_plan(len(rows), r1["config"]["train"], True)
            check(f"{tag}: tokens = the plan's targets", [m["tokens"] for m in ms] == [sum(rows[i].targets for i in s) for _, s in plan])
            with open(os.path.join(case, "one", "metrics.jsonl")) as f:
                check(f"{tag}: metrics.jsonl = the returned metrics", [json.loads(line) for line in f] == ms)
            # step 1's loss, independently: transformers' loss on the step's rows as one batch, before any update
            base = transformers.AutoModelForCausalLM.from_pretrained(os.path.join(case, "model"), dtype=torch.float64,
                                                                     attn_implementation="eager")
            if lora:
                base = peft.PeftModel.from_pretrained(base, os.path.join(case, "adapter"))
            ids, labels, mask, _ = ref.collate([rows[i] for i in plan[0][1]], 2, torch.device("cpu"))
            with torch.no_grad():
                want = float(base(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss)
            check(f"{tag}: step 1 loss = transformers' loss on the step's rows", rel(ms[0]["loss"], want) < 1e-5, f"{ms[0]['loss']} vs {want}")
            final = os.path.join(case, "one", "final")
            if lora:
                cfgj = json.load(open(os.path.join(final, "adapter_config.json")))
                check(f"{tag}: final adapter names its base as written, r and alpha kept",
                      cfgj["base_model_name_or_path"] == "model" and cfgj["r"] == 2 and cfgj["lora_alpha"] == 4, str(cfgj))
                reloaded = peft.PeftModel.from_pretrained(
                    transformers.AutoModelForCausalLM.from_pretrained(os.path.join(case, "model"), dtype=torch.float32),
                    final, is_trainable=True)
                try:
                    ref.check_adapter_loaded(reloaded, final)
                    loaded = True
                except (train_plan.ConfigError, RuntimeError) as e:
                    loaded = str(e)
                check(f"{tag}: peft loads the final adapter as saved", loaded is True, str(loaded))
                first, last = "adapter/adapter_model.safetensors", "one/final/adapter_model.safetensors"
            else:
                m = transformers.AutoModelForCausalLM.from_pretrained(final)
                check(f"{tag}: the final checkpoint loads, in f32", next(m.parameters()).dtype == torch.float32)
                first, last = "model/model.safetensors", "one/final/model.safetensors"
            from safetensors.torch import load_file
            a, b = load_file(os.path.join(case, first)), load_file(os.path.join(case, last))
            moved = min(float((a[k] - b[k]).norm() / a[k].norm()) for k in a) if set(a) == set(b) else -1.0
            check(f"{tag}: every trained tensor moved (min relative change {moved:.1e})", moved > 1e-4)

    if fixtures:
        from safetensors.torch import load_file
        manifest = json.load(open(os.path.join(fixtures, "manifest.json")))
        for name in manifest["cases"]:
            folder = os.path.join(fixtures, name)
            with tempfile.TemporaryDirectory() as d:
                r = ref.run(os.path.join(folder, "config.yaml"), d, device="cpu", dtype="f32", quiet=True)
                with open(os.path.join(folder, "expected", "metrics.jsonl")) as f:
                    want = [json.loads(line) for line in f]
                worst = max(max(rel(m[k], w[k]) if w[k] else abs(m[k]) for k in ("loss", "grad_norm", "lr")) for m, w in zip(r["metrics"], want))
                check(f"fixture {name}: metrics reproduce (worst {worst:.1e})", len(want) == len(r["metrics"]) and worst < 1e-6
                      and [m["tokens"] for m in r["metrics"]] == [w["tokens"] for w in want])
                file = "adapter_model.safetensors" if os.path.isdir(os.path.join(folder, "adapter")) else "model.safetensors"
                a, b = load_file(os.path.join(d, "final", file)), load_file(os.path.join(folder, "expected", "final", file))
                err = max(float((a[k].double() - b[k].double()).norm() / b[k].double().norm()) for k in b)
                check(f"fixture {name}: final weights reproduce (worst {err:.1e})", set(a) == set(b) and err < 1e-6)


def main():
    args = [a for a in sys.argv[1:] if a != "--pure"]
    pure_checks()
    if "--pure" not in sys.argv:
        torch_checks(args[0] if args else None)
    print(f"{len(FAILURES)} failed" + (": " + "; ".join(FAILURES) if FAILURES else ""))
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
