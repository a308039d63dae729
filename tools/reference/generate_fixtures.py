"""Golden references for generation: tiny random checkpoints (Llama, Gemma 2 and Gemma 3 with a
sliding window of 4, far shorter than the 30 tokens generated, Qwen3) and what transformers'
greedy decoding gives for a fixed prompt, model.generate(do_sample=False, max_new_tokens=24), run in
float64 from the saved weights so that the reference is exact to well below f32's error; plus the
raw logits of the last position at the first steps (output_logits, stored as f32).

Stopping is exercised too. A first, unstopped run finds each continuation; then
  llama   generation_config.json stops at a token first produced at step >= 3 (a list of two ids,
          the other never produced), while config.json names another id: generation_config wins,
          and the stop token ends the output
  gemma2, gemma3  both files name an id the continuation never produces: max_new_tokens ends it
  qwen3   no generation_config.json at all: config.json's id (never produced) is the one used
and the reference is the run of the folder as saved (a fresh from_pretrained), which reads them.

Run where PyTorch and transformers are installed (the GPU machine, CPU is enough):
    python3 tools/reference/generate_fixtures.py [OUT_DIR]
OUT_DIR defaults to transformer/src/test/resources/generate-reference. Writes OUT_DIR/<name>/ (a
Hugging Face folder) with reference.safetensors:
    prompt_ids [P] int64, generated_ids [N] int64 (the continuation, the stop token included),
    step_logits [S, V] f32 (step s: after the prompt and s generated tokens), max_new_tokens [] int64
and OUT_DIR/manifest.json (versions; the smallest gap between the two largest logits of any step,
which says how safe greedy equality is in f32).
"""
import copy
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

torch.manual_seed(0)
OUT = sys.argv[1] if len(sys.argv) > 1 else "transformer/src/test/resources/generate-reference"

SMALL = dict(vocab_size=97, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
             rms_norm_eps=1e-6, tie_word_embeddings=False)

CASES = [
    # name, config class, config overrides, how it stops
    ("llama", "LlamaConfig", dict(rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), "generation_config"),
    ("gemma2", "Gemma2Config", dict(head_dim=16, sliding_window=4, query_pre_attn_scalar=24,
                                     attn_logit_softcapping=5.0, final_logit_softcapping=3.0,
                                     hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True), "max_new_tokens"),
    ("gemma3", "Gemma3TextConfig", dict(head_dim=16, sliding_window=4, query_pre_attn_scalar=16,
                                         layer_types=["sliding_attention", "full_attention"],
                                         rope_parameters={"full_attention": {"rope_type": "linear", "rope_theta": 1000000.0, "factor": 8.0},
                                                          "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                                         hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True), "max_new_tokens"),
    ("qwen3", "Qwen3Config", dict(head_dim=16), "config_only"),
]

PROMPT = [5, 17, 42, 8, 61, 3]
MAX_NEW = 24
STEPS = 8


def build(cls_name, overrides):
    cls = getattr(transformers, cls_name)
    kw = dict(SMALL)
    kw.update(overrides)
    try:
        return cls(**kw)
    except TypeError:
        # older spellings of rope parameters
        if "rope_parameters" in kw:
            rp = kw.pop("rope_parameters")
            kw["rope_theta"] = rp.get("rope_theta", 10000.0)
            if rp.get("rope_type", "default") != "default":
                kw["rope_scaling"] = {k: v for k, v in rp.items() if k != "rope_theta"}
        return cls(**kw)


def load(folder):
    return transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager").eval()


def edit_json(path, **fields):
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data.update(fields)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)


def unused_id(tokens, vocab):
    return next(i for i in range(vocab - 1, -1, -1) if i not in tokens)


ids = torch.tensor([PROMPT], dtype=torch.long)
mask = torch.ones_like(ids)
manifest = {}
for name, cls_name, overrides, stopping in CASES:
    config = build(cls_name, overrides)
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    with torch.no_grad():  # larger random weights than the init, so that the logits are far from ties
        for p in model.parameters():
            p.normal_(0.0, 0.2 if p.dim() > 1 else 0.3)
            if p.dim() == 1 and not name.startswith("gemma"):
                p.add_(1.0)
    folder = os.path.join(OUT, name)
    model.to(torch.float32).save_pretrained(folder, safe_serialization=True)

    # the continuation when nothing stops it
    ref = load(folder)
    # (2026-12-01 on the GPU machine: a generation_config passed with keyword arguments still stopped at
    # config.json's eos 2 under transformers 5.17, so the model's own settings are cleared instead)
    ref.generation_config.eos_token_id = None
    ref.config.eos_token_id = None
    with torch.no_grad():
        cont = ref.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=MAX_NEW, min_new_tokens=0,
                            pad_token_id=0)[0, len(PROMPT):].tolist()
    assert len(cont) == MAX_NEW, (name, cont)

    never = unused_id(cont, config.vocab_size)
    gen_path = os.path.join(folder, "generation_config.json")
    if stopping == "generation_config":
        firsts = [k for k in range(MAX_NEW) if cont[k] not in cont[:k]]   # steps that produce a token for the first time
        k = next((k for k in firsts if k >= 3), firsts[-1])
        expected = cont[:k + 1]
        other = unused_id(cont + [never], config.vocab_size)
        edit_json(os.path.join(folder, "config.json"), eos_token_id=never)
        edit_json(gen_path, eos_token_id=[cont[k], other])
    elif stopping == "max_new_tokens":
        expected = cont
        edit_json(os.path.join(folder, "config.json"), eos_token_id=never)
        edit_json(gen_path, eos_token_id=never)
    else:
        expected = cont
        edit_json(os.path.join(folder, "config.json"), eos_token_id=never)
        os.remove(gen_path)

    # the reference: the folder as saved, stop tokens read from its files
    ref = load(folder)
    with torch.no_grad():
        out = ref.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=MAX_NEW, pad_token_id=0,
                           return_dict_in_generate=True, output_logits=True)
    generated = out.sequences[0, len(PROMPT):].tolist()
    assert generated == expected, (name, generated, expected)
    logits = torch.stack([step[0] for step in out.logits])            # [N, V], float64
    top2 = logits.topk(2, dim=-1).values
    gap = float((top2[:, 0] - top2[:, 1]).min())
    if gap < 1e-4:
        print(f"warning: {name}: two logits within {gap:.2e} at some step; greedy equality in f32 is fragile")
    save_file({
        "prompt_ids": torch.tensor(PROMPT, dtype=torch.int64),
        "generated_ids": torch.tensor(generated, dtype=torch.int64),
        "step_logits": logits[:STEPS].to(torch.float32).contiguous(),
        "max_new_tokens": torch.tensor(MAX_NEW, dtype=torch.int64),
    }, os.path.join(folder, "reference.safetensors"))
    manifest[name] = {"prompt": PROMPT, "generated": generated, "stopping": stopping, "min_top2_gap": gap,
                      "transformers": transformers.__version__, "torch": torch.__version__}
    print(name, "generated", generated, "stopping", stopping, "min top-2 gap", f"{gap:.3e}", "files", sorted(os.listdir(folder)))

with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
