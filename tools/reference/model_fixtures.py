"""Golden references for the transformer module: tiny random checkpoints of every family we
support, saved by transformers, with the logits, the loss and every parameter gradient that
transformers computes for a fixed batch (in float64 from the saved weights, so the reference is
exact to well below our 1e-4 tolerance).

Run where PyTorch and transformers are installed (the GPU machine):
    python3 tools/reference/model_fixtures.py OUT_DIR [--init wide|default]
--init wide (the default, hf-reference/): weights redrawn with std 0.2 (norm weights 1 ± 0.3), larger
than transformers' init so that every path of the model matters in f32. --init default
(hf-reference-default-init/): the weights transformers' own initialization gives (std 0.02, norms
at their neutral value), the scale a real checkpoint's bf16 rounding sees; the bf16 tests use both.
Writes OUT_DIR/<name>/ (a Hugging Face folder: config.json, *.safetensors) and
OUT_DIR/<name>/reference.safetensors with:
    input_ids [B,T] int64, attention_mask [B,T] int64, labels [B,T] int64,
    logits [B,T,V] f32, loss [] f32, grad.<parameter name> f32 for every parameter.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

torch.manual_seed(0)
OUT = sys.argv[1]
INIT = sys.argv[sys.argv.index("--init") + 1] if "--init" in sys.argv else "wide"
assert INIT in ("wide", "default"), INIT

SMALL = dict(vocab_size=97, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
             rms_norm_eps=1e-6, tie_word_embeddings=False)

CASES = [
    # name, config class, config overrides, save dtype, max shard size, padded batch
    ("llama", "LlamaConfig", dict(rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), torch.float32, None, False),
    ("llama3_tied_bf16_sharded", "LlamaConfig",
     dict(tie_word_embeddings=True, head_dim=16, attention_bias=True,
          rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                           "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
     torch.bfloat16, "20KB", False),
    ("llama_padded", "LlamaConfig", dict(), torch.float32, None, True),
    ("mistral", "MistralConfig", dict(sliding_window=4), torch.float32, None, False),
    ("qwen2", "Qwen2Config", dict(), torch.float32, None, False),
    ("qwen3", "Qwen3Config", dict(head_dim=16), torch.float32, None, False),
    ("gemma", "GemmaConfig", dict(head_dim=16, hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True),
     torch.float32, None, False),
    ("gemma2", "Gemma2Config", dict(head_dim=16, sliding_window=4, query_pre_attn_scalar=24,
                                     attn_logit_softcapping=5.0, final_logit_softcapping=3.0,
                                     hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True),
     torch.float32, None, False),
    ("gemma3", "Gemma3TextConfig", dict(head_dim=16, sliding_window=4, query_pre_attn_scalar=16,
                                         layer_types=["sliding_attention", "full_attention"],
                                         rope_parameters={"full_attention": {"rope_type": "linear", "rope_theta": 1000000.0, "factor": 8.0},
                                                          "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                                         hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True),
     torch.float32, None, False),
]

B, T = 2, 9


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


manifest = {}
for name, cls_name, overrides, dtype, shard, padded in CASES:
    config = build(cls_name, overrides)
    config._attn_implementation = "eager"
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    if INIT == "wide":
        with torch.no_grad():  # larger random weights than the init, so that every path matters
            for p in model.parameters():
                p.normal_(0.0, 0.2 if p.dim() > 1 else 0.3)
                if p.dim() == 1 and name.startswith("gemma") is False:
                    p.add_(1.0)
    model = model.to(dtype)
    folder = os.path.join(OUT, name)
    kwargs = {"safe_serialization": True}
    if shard:
        kwargs["max_shard_size"] = shard
    model.save_pretrained(folder, **kwargs)

    # reference in float64 from the saved (possibly bf16) weights
    ref = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager")
    ref.train(False)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, config.vocab_size, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    labels = ids.clone()
    if padded:
        mask[1, 6:] = 0
        labels[1, 6:] = -100
    out = ref(input_ids=ids, attention_mask=mask, labels=labels)
    out.loss.backward()
    tensors = {
        "input_ids": ids.to(torch.int64).contiguous(),
        "attention_mask": mask.contiguous(),
        "labels": labels.contiguous(),
        "logits": out.logits.detach().to(torch.float32).contiguous(),
        "loss": out.loss.detach().to(torch.float32).reshape(()),
    }
    for pname, p in ref.named_parameters():
        tensors["grad." + pname] = p.grad.detach().to(torch.float32).contiguous()
    save_file(tensors, os.path.join(folder, "reference.safetensors"))
    manifest[name] = {"init": INIT, "loss": float(out.loss), "params": [n for n, _ in ref.named_parameters()],
                      "transformers": transformers.__version__, "torch": torch.__version__}
    print(name, "loss", float(out.loss), "files", sorted(os.listdir(folder)))

with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
