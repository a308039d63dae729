"""How far transformers itself lands from the float64 references when it runs in bf16: for each tiny
fixture under transformer/src/test/resources/hf-reference, load the checkpoint in bfloat16 (eager
attention, on the GPU when there is one), run the reference batch with its labels, backpropagate, and
print ||bf16 - ref|| / ||ref|| for the logits, the loss and the worst parameter gradient. The yardstick
for cce4j's bf16 mode (docs/transformer.md).

    python3 tools/reference/hf_bf16_error.py [FIXTURES_DIR]
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import load_file


def rel(x, r):
    x, r = x.double().reshape(-1), r.double().reshape(-1)
    return ((x - r).norm() / r.norm().clamp_min(1e-30)).item()


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "transformer/src/test/resources/hf-reference"
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        if not os.path.isfile(os.path.join(folder, "reference.safetensors")):
            continue
        ref = load_file(os.path.join(folder, "reference.safetensors"))
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16, attn_implementation="eager").to(dev)
        model.train(False)
        out = model(input_ids=ref["input_ids"].to(dev), attention_mask=ref["attention_mask"].to(dev), labels=ref["labels"].to(dev))
        out.loss.backward()
        grads = {"grad." + n: p.grad for n, p in model.named_parameters()}
        worst = max((rel(g.cpu(), ref[n]), n) for n, g in grads.items())
        print(json.dumps(dict(fixture=name, dtype="bf16", logits=round(rel(out.logits.float().cpu(), ref["logits"]), 5),
                              loss=round(rel(out.loss.float().cpu().reshape(()), ref["loss"]), 5), worst_grad=round(worst[0], 5),
                              worst_grad_name=worst[1], transformers=transformers.__version__)), flush=True)


if __name__ == "__main__":
    main()
