#!/usr/bin/env python3
"""Interop between cce4j's checkpoints-io and the Python libraries users trust.

  --write DIR   (a) writes reference files with safetensors / transformers / peft and DIR/manifest.json
                describing them (dtypes, shapes, SHA-256 of every tensor's bytes, leading values as
                float64, each model's config as transformers resolves it). Committed under
                checkpoints-io/src/test/resources/interop/python/ and read by the Java tests.
  --check DIR   (b) reads what cce4j wrote (DIR/java_manifest.json, made by JavaInteropFilesTest
                with -Dcce4j.interop.out=DIR) with safetensors, transformers and peft, and checks
                every tensor, the metadata, byte-identity with save_file, from_pretrained of a
                sharded folder and PeftModel.from_pretrained of an adapter.

Prints one line per check and a closing 'N passed, N failed' line; exits 1 if any check failed.
Runs on the CPU; needs torch, safetensors, transformers (4.x or 5.x) and, for the adapter parts, peft.
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

import torch
import safetensors
from safetensors.torch import save_file, load_file, safe_open

RESULTS = {"passed": 0, "failed": 0, "checks": []}


def check(name, ok, detail=""):
    RESULTS["checks"].append({"name": name, "ok": bool(ok), "detail": str(detail)[:500]})
    RESULTS["passed" if ok else "failed"] += 1
    print(("PASS " if ok else "FAIL ") + name + (": " + str(detail)[:300] if detail and not ok else ""), flush=True)


def guarded(name, fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # one failing part must not hide the others
        check(name, False, f"{type(e).__name__}: {e}\n{traceback.format_exc()[-800:]}")
        return None


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().cpu().contiguous().reshape(-1)
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b""


def raw_tensors(path):
    """name -> (DTYPE, shape, bytes) through the Rust core's own validation (safetensors.deserialize)."""
    out = {}
    for name, t in safetensors.deserialize(Path(path).read_bytes()):
        out[name] = (str(t["dtype"]).upper(), list(t["shape"]), bytes(t["data"]))
    return out


def describe_file(path):
    out = {}
    for name, (dtype, shape, data) in raw_tensors(path).items():
        out[name] = {"dtype": dtype, "shape": shape, "sha256": sha(data)}
    return out


def jsonable(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, torch.dtype):
        return str(v).replace("torch.", "")
    return str(v)


# ----------------------------------------------------------------------------------------------- (a)

def write_dtypes(path):
    g = torch.Generator().manual_seed(0)
    base = torch.randn(3, 4, generator=g, dtype=torch.float64) * 10
    t = {
        "f64": base,
        "f32": base.float(),
        "f16": base.half(),
        "bf16": base.bfloat16(),
        "i64": torch.randint(-(2 ** 40), 2 ** 40, (3, 4), generator=g, dtype=torch.int64),
        "i32": torch.randint(-(2 ** 31), 2 ** 31 - 1, (3, 4), generator=g, dtype=torch.int64).to(torch.int32),
        "i16": torch.randint(-(2 ** 15), 2 ** 15 - 1, (3, 4), generator=g).to(torch.int16),
        "i8": torch.randint(-128, 127, (3, 4), generator=g).to(torch.int8),
        "u8": torch.randint(0, 255, (3, 4), generator=g).to(torch.uint8),
        "bool": torch.randint(0, 2, (3, 4), generator=g).bool(),
        "scalar_f32": torch.tensor(3.25),
        "scalar_i64": torch.tensor(-7),
        "empty_bf16": torch.zeros(0, 5, dtype=torch.bfloat16),
        "empty_i32": torch.zeros(2, 0, 3, dtype=torch.int32),
    }
    optional = {
        "f8_e4m3": lambda: base.to(torch.float8_e4m3fn),
        "f8_e5m2": lambda: base.to(torch.float8_e5m2),
        "u16": lambda: torch.randint(0, 2 ** 16 - 1, (3, 4), generator=g).to(torch.uint16),
        "u32": lambda: torch.randint(0, 2 ** 32 - 1, (3, 4), generator=g, dtype=torch.int64).to(torch.uint32),
        "u64": lambda: torch.randint(0, 2 ** 52, (3, 4), generator=g, dtype=torch.int64).to(torch.uint64),
        "f8_e8m0": lambda: torch.randint(100, 150, (3, 4), generator=g).to(torch.uint8).view(torch.float8_e8m0fnu),
        "c64": lambda: torch.complex(base.float(), -base.float()),
        "f4": lambda: torch.randint(0, 255, (3, 2), generator=g).to(torch.uint8).view(torch.float4_e2m1fn_x2),
        "f8_e4m3fnuz": lambda: base.to(torch.float8_e4m3fnuz),
        "f8_e5m2fnuz": lambda: base.to(torch.float8_e5m2fnuz),
    }
    skipped = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in optional.items():
            try:
                x = make()
                save_file({name: x}, os.path.join(tmp, "probe.safetensors"))
                t[name] = x
            except Exception as e:
                skipped[name] = f"{type(e).__name__}: {e}"
    save_file(t, str(path), metadata={"format": "pt", "source": "safetensors_interop.py", "note": "ünïcode ✓"})
    described = describe_file(path)
    for name, x in t.items():
        if name in ("c64", "f4", "f8_e8m0", "f8_e4m3fnuz", "f8_e5m2fnuz"):
            continue
        try:
            described[name]["values"] = [float(v) for v in x.reshape(-1)[:12].double().tolist()]
        except Exception:
            try:
                described[name]["values"] = [float(v) for v in x.reshape(-1)[:12].to(torch.int64).tolist()]
            except Exception as e:
                print(f"note: no values for {name}: {e}")
    return {"file": path.name, "tensors": described, "skipped": skipped,
            "metadata": {"format": "pt", "source": "safetensors_interop.py", "note": "ünïcode ✓"}}


def tiny_models():
    import transformers as tf
    common = dict(vocab_size=128, hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=256)
    return {
        "llama": ("LlamaConfig", "LlamaForCausalLM", dict(common, num_hidden_layers=2, rms_norm_eps=1e-5, tie_word_embeddings=False,
                  rope_theta=500000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
                  bos_token_id=1, eos_token_id=[2, 3]), "20KB"),
        "gemma2": ("Gemma2Config", "Gemma2ForCausalLM", dict(common, num_hidden_layers=4, head_dim=8, sliding_window=16,
                   query_pre_attn_scalar=8), "20KB"),
        "mistral": ("MistralConfig", "MistralForCausalLM", dict(common, num_hidden_layers=2, sliding_window=16), None),
        "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(common, num_hidden_layers=2, use_sliding_window=True, sliding_window=16,
                  max_window_layers=1, tie_word_embeddings=True, rope_theta=1000000.0), None),
        "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict(common, num_hidden_layers=2, head_dim=16), None),
        "gemma": ("GemmaConfig", "GemmaForCausalLM", dict(common, num_hidden_layers=2, num_key_value_heads=1, head_dim=16), None),
        "gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM", dict(common, num_hidden_layers=6, head_dim=8, sliding_window=16,
                   query_pre_attn_scalar=8, rope_scaling={"rope_type": "linear", "factor": 8.0}), None),
    }


CONFIG_KEYS = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "num_key_value_heads", "head_dim", "rms_norm_eps", "tie_word_embeddings", "hidden_act", "hidden_activation",
               "max_position_embeddings", "attention_bias", "mlp_bias", "sliding_window", "use_sliding_window",
               "max_window_layers", "query_pre_attn_scalar", "attn_logit_softcapping", "final_logit_softcapping",
               "bos_token_id", "eos_token_id", "pad_token_id", "layer_types", "rope_theta", "rope_scaling",
               "rope_parameters", "rope_local_base_freq", "model_type"]


def load_model(folder, dtype, **kw):
    """from_pretrained with the dtype argument of transformers 5 (dtype) or 4.x (torch_dtype)."""
    import transformers as tf
    try:
        return tf.AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype, **kw)
    except TypeError:
        return tf.AutoModelForCausalLM.from_pretrained(str(folder), torch_dtype=dtype, **kw)


def write_model(out, name, spec):
    import transformers as tf
    cfg_cls, model_cls, kwargs, shard = spec
    config = getattr(tf, cfg_cls)(**kwargs)
    torch.manual_seed(0)
    model = getattr(tf, model_cls)(config).to(torch.bfloat16)
    folder = out / name
    if shard:
        try:
            model.save_pretrained(str(folder), max_shard_size=shard)
        except TypeError as e:
            check(f"{name}: save_pretrained(max_shard_size=...)", False, e)
            model.save_pretrained(str(folder))
    else:
        model.save_pretrained(str(folder))
    layer0 = model.model.layers[0]
    info = {
        "architecture": model_cls,
        "config": {k: jsonable(getattr(config, k)) for k in CONFIG_KEYS if hasattr(config, k)},
        "attention_scaling": jsonable(getattr(layer0.self_attn, "scaling", None)),
        "head_dim": int(getattr(layer0.self_attn, "head_dim", config.hidden_size // config.num_attention_heads)),
        "layer_sliding_window": [jsonable(getattr(l.self_attn, "sliding_window", None)) for l in model.model.layers],
        "layer_attention_type": [jsonable(getattr(l, "attention_type", None)) for l in model.model.layers],
        "files": sorted(p.name for p in folder.iterdir()),
        "tensors": {},
    }
    for f in sorted(folder.glob("*.safetensors")):
        for k, v in describe_file(f).items():
            v["file"] = f.name
            info["tensors"][k] = v
    index = folder / "model.safetensors.index.json"
    if index.exists():
        info["index_text_sha256"] = sha(index.read_bytes())
    return info


def write_peft(out):
    import transformers as tf
    import peft
    base = load_model(out / "llama", torch.float32)
    torch.manual_seed(1)
    cfg = peft.LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], lora_dropout=0.0,
                          init_lora_weights=False, task_type="CAUSAL_LM")
    pm = peft.get_peft_model(base, cfg)
    folder = out / "peft_llama"
    pm.save_pretrained(str(folder))
    return {"folder": folder.name, "files": sorted(p.name for p in folder.iterdir()),
            "tensors": describe_file(folder / "adapter_model.safetensors"),
            "scaling": float(pm.base_model.model.model.layers[0].self_attn.q_proj.scaling["default"]),
            "peft_version": peft.__version__}


def write_all(out: Path):
    import transformers as tf
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"versions": {"torch": torch.__version__, "safetensors": safetensors.__version__, "transformers": tf.__version__}}
    manifest["dtypes"] = guarded("write dtypes", write_dtypes, out / "py_all_dtypes.safetensors")
    manifest["models"] = {}
    for name, spec in tiny_models().items():
        info = guarded("write model " + name, write_model, out, name, spec)
        if info is not None:
            manifest["models"][name] = info
            check("wrote model " + name, True)
    try:
        import peft  # noqa: F401
        manifest["peft"] = guarded("write peft adapter", write_peft, out)
    except ImportError:
        manifest["peft"] = None
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    check("wrote manifest", True)


# ----------------------------------------------------------------------------------------------- (b)

def check_all_dtypes(d: Path, jm):
    m = jm["all_dtypes.safetensors"]
    path = d / "all_dtypes.safetensors"
    raw = raw_tensors(path)
    check("all_dtypes: deserialize lists every tensor", set(raw) == set(m["tensors"]), sorted(set(raw) ^ set(m["tensors"])))
    for name, want in m["tensors"].items():
        if name not in raw:
            continue
        dtype, shape, data = raw[name]
        check(f"all_dtypes: {name} dtype/shape/bytes", dtype == want["dtype"] and shape == want["shape"] and sha(data) == want["sha256"],
              f"{dtype}{shape} vs {want['dtype']}{want['shape']}")
    with safe_open(str(path), framework="pt") as f:
        check("all_dtypes: metadata", f.metadata() == m["metadata"], f.metadata())
        for name in f.keys():
            try:
                data = tensor_bytes(f.get_tensor(name))
            except Exception as e:  # dtypes torch cannot hold (F6, ...) stay raw
                print(f"note: torch cannot load {name}: {e}")
                continue
            check(f"all_dtypes: torch {name} bytes", sha(data) == m["tensors"][name]["sha256"])


def same_as_python_dict():
    return {
        "a": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "b": torch.tensor([0, 0.5, 1, 1.5], dtype=torch.float32).bfloat16(),
        "c": torch.arange(3, dtype=torch.int64),
        "d": torch.tensor(1.5, dtype=torch.float16),
        "e": torch.zeros(0, 2, dtype=torch.uint8),
        "f": torch.tensor([True, False, True]),
        "g": torch.arange(5, dtype=torch.int32),
    }


def check_same_as_python(d: Path, jm):
    ours = (d / "same_as_python.safetensors").read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "py.safetensors")
        save_file(same_as_python_dict(), p, metadata={"format": "pt"})
        theirs = Path(p).read_bytes()
    first = next((i for i in range(min(len(ours), len(theirs))) if ours[i] != theirs[i]), None)
    check("same_as_python: byte-identical to save_file", ours == theirs,
          f"sizes {len(ours)} vs {len(theirs)}, first difference at {first}: ours {ours[:200]!r} theirs {theirs[:200]!r}")


def check_java_llama(d: Path, jm):
    import transformers as tf
    m = jm["java_llama"]
    model, info = load_model(d / "java_llama", torch.bfloat16, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    check("java_llama: from_pretrained loads every tensor (no missing/unexpected/mismatched keys)", not problems, problems)
    sd = model.state_dict()
    bad = [k for k, v in m["tensors"].items() if k not in sd or sha(tensor_bytes(sd[k])) != v["sha256"]]
    check("java_llama: every tensor bit-exact after from_pretrained", not bad, bad[:5])
    rope = getattr(model.config, "rope_parameters", None) or getattr(model.config, "rope_scaling", None)
    check("java_llama: transformers reads the llama3 rope", jsonable(rope).get("rope_type") == "llama3", rope)
    with torch.no_grad():
        logits = model(torch.arange(8).reshape(1, 8)).logits
    check("java_llama: forward gives finite logits", bool(torch.isfinite(logits).all()), logits.shape)
    gen = model.generation_config
    check("java_llama: generation_config.json read", abs(gen.temperature - 0.6) < 1e-9 and gen.eos_token_id == [2, 3], gen)


def check_java_lora(d: Path, jm):
    import transformers as tf
    import peft
    from peft.utils import get_peft_model_state_dict
    m = jm["java_lora"]
    base = load_model(d / "java_llama", torch.float32)
    with torch.no_grad():
        before = base(torch.arange(8).reshape(1, 8)).logits.clone()
    pm = peft.PeftModel.from_pretrained(base, str(d / "java_lora"))
    sd = get_peft_model_state_dict(pm)
    check("java_lora: PEFT finds exactly our adapter tensors", set(sd) == set(m["tensors"]), sorted(set(sd) ^ set(m["tensors"]))[:6])
    bad = [k for k, v in m["tensors"].items() if k not in sd or sha(tensor_bytes(sd[k])) != v["sha256"]]
    check("java_lora: adapter tensors bit-exact in PEFT", not bad, bad[:5])
    scaling = pm.base_model.model.model.layers[0].self_attn.q_proj.scaling["default"]
    check("java_lora: scaling lora_alpha/r", abs(scaling - m["scaling"]) < 1e-12, scaling)
    q = pm.base_model.model.model.layers[0].self_attn.q_proj
    x = torch.randn(3, q.in_features)
    with torch.no_grad():
        want = q.base_layer(x) + scaling * (x @ q.lora_A["default"].weight.T @ q.lora_B["default"].weight.T)
        got = q(x)
    check("java_lora: q_proj computes W x + s B A x", torch.allclose(got, want, atol=1e-6), (got - want).abs().max())
    with torch.no_grad():
        after = pm(torch.arange(8).reshape(1, 8)).logits
    check("java_lora: adapter changes the logits", not torch.allclose(before, after), "")


def check_training_state(d: Path, jm):
    m = jm["training_state.safetensors"]
    path = d / "training_state.safetensors"
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        state = json.loads(meta["cce4j.training_state"])
        check("training_state: metadata", meta["format"] == "cce4j-training-state" and state["step"] == m["step"]
              and state["data"] == {"epoch": m["epoch"], "index": m["index"]}, meta)
        bad = [k for k, v in m["tensors"].items() if sha(tensor_bytes(f.get_tensor(k))) != v["sha256"]]
        check("training_state: tensors", not bad, bad)


def check_java(d: Path):
    jm = json.loads((d / "java_manifest.json").read_text(encoding="utf-8"))
    guarded("all_dtypes", check_all_dtypes, d, jm)
    guarded("same_as_python", check_same_as_python, d, jm)
    guarded("java_llama", check_java_llama, d, jm)
    try:
        import peft  # noqa: F401
        guarded("java_lora", check_java_lora, d, jm)
    except ImportError:
        print("note: peft is not installed; adapter checks skipped")
    guarded("training_state", check_training_state, d, jm)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", type=Path, help="write the Python reference files into this folder")
    ap.add_argument("--check", type=Path, help="check the files cce4j wrote into this folder")
    ap.add_argument("--report", type=Path, help="write the results as JSON here")
    a = ap.parse_args()
    if not a.write and not a.check:
        ap.error("give --write DIR and/or --check DIR")
    if a.write:
        write_all(a.write)
    if a.check:
        check_java(a.check)
    if a.report:
        a.report.write_text(json.dumps(RESULTS, indent=2) + "\n")
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
