"""The torch-free half of the `train` reference: the YAML config (keys, defaults, resolution), the rows
file, the seeded epoch shuffle and the cut into optimizer steps and micro-batches, as
/work/notes/train-semantics.md states them. It is pure Python so that it can be tested on a machine
without PyTorch (train_selfcheck.py --pure) and so that train_reference.py and train_fixtures.py share
one statement of it.

Choices where the semantics are silent (the Java side should make the same ones):
- Unknown keys are errors; numbers written as strings that PyYAML 1.1 does not read as floats
  ("1e-3", no dot) are converted. Relative paths (model, output, data.train, data.validation,
  lora.init) are relative to the config file's folder.
- train.seed is taken modulo 2^64 (a negative seed as its two's complement).
- warmup: train.warmup_steps when > 0, else ceil(warmup_ratio * total_steps) with the product in
  IEEE double, as transformers' TrainingArguments.get_warmup_steps computes it.
- A bad row is a line that is not a JSON object with a non-empty list of integer input_ids, whose
  labels (when present and not null) are a list of integers or -100 of the same length, whose ids lie
  in [0, vocab_size), and (with overflow: error) that is not longer than seq_len. A blank line is a
  bad row too. skip_bad_rows: false = the first bad row is an error naming the file and line; true =
  bad rows are dropped and the kept rows are numbered 0..n-1 in file order (the shuffle sees n).
  A row with no targets is not bad (it still pads its micro-batch); a step whose rows have no target
  at all is an error, since its loss would be 0/0.
"""
import json
import math
import os

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
IGNORE_INDEX = -100

DEFAULTS = {
    "model": None,
    "init": "pretrained",
    "device": None,
    "dtype": "bf16",
    "output": None,
    "data": {"train": None, "validation": None, "shuffle": True, "packing": False, "seq_len": 2048,
             "overflow": "truncate", "skip_bad_rows": False, "pad_token_id": None,
             # keys of cce4j's text formats and token cache: accepted so that a run folder's resolved
             # config.yaml reads here; the reference trains the tokens format only (checked below)
             "format": "auto", "train_on": "assistant", "text_split": "file", "alpaca_style": "prompt",
             "add_eos": True, "chat_template": None, "cache": True, "cache_dir": None, "tokenize_threads": None,
             "validation_fraction": 0.0},
    "train": {"epochs": 1, "max_steps": 0, "micro_batch_size": 4, "grad_accum": 1, "lr": 2.0e-5,
              "schedule": "cosine", "warmup_steps": 0, "warmup_ratio": 0.0, "weight_decay": 0.0,
              "adam_betas": [0.9, 0.999], "adam_eps": 1.0e-8, "max_grad_norm": 1.0, "seed": 0,
              "recompute": False, "log_every": 10},
    "loss": {"impl": "cce", "z_loss": 0.0, "label_smoothing": 0.0, "filter_eps": None,
             "filter_e_grad": True, "filter_c_grad": True},
    "lora": None,
    "save": {"every_steps": 500, "keep": 3},
    "eval": {"every_steps": 200},
}
LORA_DEFAULTS = {"r": 16, "alpha": 32, "dropout": 0.05,
                 "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                 "init": None}
INT_KEYS = {"data.seq_len", "data.pad_token_id", "train.epochs", "train.max_steps", "train.micro_batch_size",
            "train.grad_accum", "train.warmup_steps", "train.seed", "train.log_every", "lora.r",
            "save.every_steps", "save.keep", "eval.every_steps"}
FLOAT_KEYS = {"train.lr", "train.warmup_ratio", "train.weight_decay", "train.adam_eps", "train.max_grad_norm",
              "loss.z_loss", "loss.label_smoothing", "loss.filter_eps", "lora.alpha", "lora.dropout"}
BOOL_KEYS = {"data.shuffle", "data.packing", "data.skip_bad_rows", "train.recompute"}
CHOICES = {"init": ("pretrained", "random"), "dtype": ("bf16", "f32"), "data.overflow": ("truncate", "error"),
           "train.schedule": ("constant", "linear", "cosine"), "loss.impl": ("cce", "cce-exact", "baseline")}
PATH_KEYS = ("model", "output", "data.train", "data.validation", "lora.init")


class ConfigError(Exception):
    """A user error: one line naming the key or file."""


# ---------------------------------------------------------------- the shuffle (splitmix64)

def mix64(z):
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


class EpochRng:
    """state = mix(seed) ^ mix(epoch + 1); next() = mix(state += gamma)."""

    def __init__(self, seed, epoch):
        self.state = mix64(seed & MASK64) ^ mix64((epoch + 1) & MASK64)

    def next(self):
        self.state = (self.state + GOLDEN_GAMMA) & MASK64
        return mix64(self.state)


def epoch_order(n, seed, epoch, shuffle=True):
    order = list(range(n))
    if not shuffle:
        return order
    rng = EpochRng(seed, epoch)
    for i in range(n - 1, 0, -1):
        j = rng.next() % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


# ---------------------------------------------------------------- steps

def steps_per_epoch(n_rows, micro_batch_size, grad_accum):
    per_step = micro_batch_size * grad_accum
    return -(-n_rows // per_step)


def total_steps(n_rows, train):
    total = steps_per_epoch(n_rows, train["micro_batch_size"], train["grad_accum"]) * train["epochs"]
    if train["max_steps"] > 0:
        total = min(total, train["max_steps"])
    return total


def warmup_steps(train, total):
    if train["warmup_steps"] > 0:
        return train["warmup_steps"]
    return int(math.ceil(float(train["warmup_ratio"]) * float(total)))


def step_plan(n_rows, train, shuffle):
    """[(epoch, [row indices of the step])] for every optimizer step, 1-based step = list index + 1."""
    per_step = train["micro_batch_size"] * train["grad_accum"]
    limit = total_steps(n_rows, train)
    plan = []
    for epoch in range(train["epochs"]):
        order = epoch_order(n_rows, train["seed"], epoch, shuffle)
        for start in range(0, n_rows, per_step):
            if len(plan) == limit:
                return plan
            plan.append((epoch, order[start:start + per_step]))
    return plan


def micro_batches(step_rows, micro_batch_size):
    return [step_rows[k:k + micro_batch_size] for k in range(0, len(step_rows), micro_batch_size)]


# ---------------------------------------------------------------- rows

class Row:
    __slots__ = ("input_ids", "labels", "targets")

    def __init__(self, input_ids, labels):
        self.input_ids = input_ids
        self.labels = labels
        self.targets = sum(1 for t in range(1, len(labels)) if labels[t] != IGNORE_INDEX)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _row_problem(obj, seq_len, overflow, vocab_size):
    if not isinstance(obj, dict):
        return "not a JSON object"
    ids = obj.get("input_ids")
    if not isinstance(ids, list) or not ids or not all(_is_int(t) for t in ids):
        return "input_ids must be a non-empty list of integers"
    if vocab_size is not None and not all(0 <= t < vocab_size for t in ids):
        return f"input_ids must lie in [0, {vocab_size})"
    labels = obj.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or len(labels) != len(ids) or not all(_is_int(t) for t in labels):
            return "labels must be a list of integers as long as input_ids"
        if vocab_size is not None and not all(t == IGNORE_INDEX or 0 <= t < vocab_size for t in labels):
            return f"labels must be -100 or lie in [0, {vocab_size})"
    if overflow == "error" and len(ids) > seq_len:
        return f"{len(ids)} tokens, longer than data.seq_len {seq_len} (data.overflow: error)"
    return None


def read_rows(path, seq_len, overflow="truncate", skip_bad_rows=False, vocab_size=None):
    """Returns (rows, skipped line numbers). Rows are truncated to seq_len."""
    rows, skipped = [], []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    for number, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line) if line.strip() else None
            problem = "blank line" if obj is None else _row_problem(obj, seq_len, overflow, vocab_size)
        except json.JSONDecodeError as e:
            problem = f"not JSON ({e.msg})"
        if problem:
            if not skip_bad_rows:
                raise ConfigError(f"{path}:{number}: bad row: {problem} (data.skip_bad_rows: true drops such rows)")
            skipped.append(number)
            continue
        ids = obj["input_ids"][:seq_len]
        labels = obj.get("labels")
        labels = list(ids) if labels is None else labels[:seq_len]
        rows.append(Row(list(ids), list(labels)))
    if not rows:
        raise ConfigError(f"{path}: no rows")
    return rows, skipped


# ---------------------------------------------------------------- the config

def _merge(defaults, given, where):
    if not isinstance(given, dict):
        raise ConfigError(f"config: {where or 'the file'} must be a mapping")
    out = {}
    for key in given:
        if key not in defaults:
            raise ConfigError(f"config: unknown key {where + '.' if where else ''}{key}")
    for key, dflt in defaults.items():
        path = f"{where}.{key}" if where else key
        if key == "lora" and not where:
            value = given.get("lora")
            out[key] = None if value is None else _merge(LORA_DEFAULTS, value, "lora")
        elif isinstance(dflt, dict):
            out[key] = _merge(dflt, given.get(key) or {}, path)
        else:
            out[key] = given.get(key, dflt)
    return out


def _coerce(cfg, path, kind):
    section, _, key = path.rpartition(".")
    holder = cfg[section] if section else cfg
    if holder is None:
        return
    v = holder[key]
    if v is None:
        return
    if kind == "float":
        if isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                raise ConfigError(f"config: {path} must be a number, got {v!r}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"config: {path} must be a finite number, got {v!r}")
        holder[key] = float(v)
    elif kind == "int":
        if not _is_int(v):
            raise ConfigError(f"config: {path} must be an integer, got {v!r}")
    elif kind == "bool":
        if not isinstance(v, bool):
            raise ConfigError(f"config: {path} must be true or false, got {v!r}")


def _get(cfg, path):
    node = cfg
    for part in path.split("."):
        if node is None:
            return None
        node = node[part]
    return node


def resolve_config(cfg_in, base_dir):
    """Defaults filled in, types checked, paths made absolute against base_dir. Returns a new dict."""
    cfg = _merge(DEFAULTS, cfg_in if cfg_in is not None else {}, "")
    for p in FLOAT_KEYS:
        _coerce(cfg, p, "float")
    for p in INT_KEYS:
        _coerce(cfg, p, "int")
    for p in BOOL_KEYS:
        _coerce(cfg, p, "bool")
    for p, allowed in CHOICES.items():
        v = _get(cfg, p)
        if v not in allowed:
            raise ConfigError(f"config: {p} must be one of {', '.join(allowed)}, got {v!r}")
    if cfg["device"] is not None and not (cfg["device"] in ("cpu", "cuda") or
                                          (isinstance(cfg["device"], str) and cfg["device"].startswith("cuda:"))):
        raise ConfigError(f"config: device must be cpu, cuda or cuda:N, got {cfg['device']!r}")
    for required in ("model", "output", "data.train"):
        if not isinstance(_get(cfg, required), str) or not _get(cfg, required):
            raise ConfigError(f"config: {required} is required (a path)")
    written = {}
    for p in PATH_KEYS:
        section, _, key = p.rpartition(".")
        holder = cfg[section] if section else cfg
        if holder is not None and holder[key] is not None:
            if not isinstance(holder[key], str):
                raise ConfigError(f"config: {p} must be a path")
            written[p] = holder[key]
            holder[key] = os.path.normpath(os.path.join(base_dir, holder[key]))
    cfg["_written_paths"] = written
    t = cfg["train"]
    for key, low in (("epochs", 1), ("micro_batch_size", 1), ("grad_accum", 1), ("max_steps", 0),
                     ("warmup_steps", 0), ("log_every", 1)):
        if t[key] < low:
            raise ConfigError(f"config: train.{key} must be >= {low}, got {t[key]}")
    for key in ("lr", "weight_decay", "max_grad_norm", "warmup_ratio"):
        if t[key] < 0:
            raise ConfigError(f"config: train.{key} must be >= 0, got {t[key]}")
    if not 0.0 <= t["warmup_ratio"] <= 1.0:
        raise ConfigError(f"config: train.warmup_ratio must be in [0, 1], got {t['warmup_ratio']}")
    if t["adam_eps"] <= 0:
        raise ConfigError(f"config: train.adam_eps must be > 0, got {t['adam_eps']}")
    betas = t["adam_betas"]
    if not isinstance(betas, list) or len(betas) != 2:
        raise ConfigError(f"config: train.adam_betas must be a list of two numbers, got {betas!r}")
    try:
        t["adam_betas"] = [float(b) for b in betas]
    except (TypeError, ValueError):
        raise ConfigError(f"config: train.adam_betas must be a list of two numbers, got {betas!r}")
    if not all(0.0 <= b < 1.0 for b in t["adam_betas"]):
        raise ConfigError(f"config: train.adam_betas must lie in [0, 1), got {betas!r}")
    if cfg["data"]["seq_len"] < 2:
        raise ConfigError(f"config: data.seq_len must be >= 2, got {cfg['data']['seq_len']}")
    if cfg["data"]["packing"]:
        raise ConfigError("config: data.packing: true is not implemented by the reference")
    if cfg["data"]["format"] not in ("auto", "tokens"):
        raise ConfigError(f"config: data.format {cfg['data']['format']!r} is not implemented by the reference (tokens only)")
    if cfg["data"]["validation_fraction"]:
        raise ConfigError("config: data.validation_fraction is not implemented by the reference")
    loss = cfg["loss"]
    if not 0.0 <= loss["label_smoothing"] <= 1.0:
        raise ConfigError(f"config: loss.label_smoothing must be in [0, 1], got {loss['label_smoothing']}")
    if loss["z_loss"] < 0:
        raise ConfigError(f"config: loss.z_loss must be >= 0, got {loss['z_loss']}")
    lora = cfg["lora"]
    if lora is not None:
        if lora["r"] < 1:
            raise ConfigError(f"config: lora.r must be >= 1, got {lora['r']}")
        if not 0.0 <= lora["dropout"] < 1.0:
            raise ConfigError(f"config: lora.dropout must be in [0, 1), got {lora['dropout']}")
        tm = lora["target_modules"]
        if not isinstance(tm, list) or not tm or not all(isinstance(m, str) and m for m in tm):
            raise ConfigError(f"config: lora.target_modules must be a non-empty list of module names, got {tm!r}")
        # which lora keys the file wrote: with lora.init the adapter's own values fill the others
        lora["_given"] = sorted(k for k in (cfg_in.get("lora") or {}) if k != "init")
    return cfg


def load_config(path):
    import yaml  # PyYAML: on the GPU machine and here
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})")
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})")
    return resolve_config(raw, os.path.dirname(os.path.abspath(path)))


# ---------------------------------------------------------------- writing a config (fixtures)

def yaml_scalar(v):
    """A YAML scalar that YAML 1.1 readers (PyYAML, SnakeYAML) and 1.2 readers read alike."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        s = repr(v)
        if "e" in s or "E" in s:
            mant, _, exp = s.lower().partition("e")
            if "." not in mant:
                mant += ".0"
            if exp[0] not in "+-":
                exp = "+" + exp
            s = mant + "e" + exp
        elif "." not in s:
            s += ".0"
        return s
    if isinstance(v, str):
        return json.dumps(v) if (not v or any(c in v for c in ":#{}[],&*!|>'\"%@`") or v != v.strip()) else v
    if isinstance(v, list):
        return "[" + ", ".join(yaml_scalar(x) for x in v) + "]"
    raise TypeError(v)


def dump_yaml(cfg, indent=0):
    """Block mappings of scalars and flow lists: the subset our configs use."""
    out = []
    for key, v in cfg.items():
        pad = "  " * indent
        if isinstance(v, dict):
            out.append(f"{pad}{key}:")
            out.append(dump_yaml(v, indent + 1))
        else:
            out.append(f"{pad}{key}: {yaml_scalar(v)}")
    return "\n".join(out)


def public_view(cfg):
    """The resolved config as the file would say it: every key with its value, paths as written, no
    bookkeeping keys (those start with '_')."""
    def strip(node):
        return {k: (strip(v) if isinstance(v, dict) else v) for k, v in node.items() if not k.startswith("_")}
    out = strip(cfg)
    for p, v in cfg.get("_written_paths", {}).items():
        section, _, key = p.rpartition(".")
        (out[section] if section else out)[key] = v
    return out
