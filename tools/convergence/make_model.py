"""The model folder of the pretraining experiment: a Llama-shaped config.json at Llama 3's vocabulary
(128,256 entries, untied head: most parameters sit in the embedding and the classifier, the regime CCE
is for) with the Llama 3 tokenizer files beside it; --weights SEED also saves transformers' own random
initialization (f32 safetensors), the common start of the PyTorch-against-cce4j curve.

    python3 tools/convergence/make_model.py TOKENIZER_DIR OUT_DIR [--weights SEED]
"""
import json
import os
import shutil
import sys

CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "vocab_size": 128256, "hidden_size": 512, "intermediate_size": 1536,
    "num_hidden_layers": 12, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 64,
    "max_position_embeddings": 2048, "rope_theta": 500000.0, "rms_norm_eps": 1e-5,
    "hidden_act": "silu", "initializer_range": 0.02, "tie_word_embeddings": False,
    "bos_token_id": 128000, "eos_token_id": 128001, "torch_dtype": "float32",
    "attention_bias": False, "mlp_bias": False,
}


def main():
    tok_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, name), os.path.join(out, name))
    if "--weights" in sys.argv:
        import torch
        import transformers
        seed = int(sys.argv[sys.argv.index("--weights") + 1])
        torch.manual_seed(seed)
        cfg = transformers.LlamaConfig(**{k: v for k, v in CONFIG.items() if k not in ("architectures", "model_type")})
        model = transformers.LlamaForCausalLM(cfg)
        model.save_pretrained(out, safe_serialization=True)
    n = (CONFIG["vocab_size"] * CONFIG["hidden_size"] * 2 + CONFIG["num_hidden_layers"]
         * (CONFIG["hidden_size"] * (CONFIG["hidden_size"] * 2 + 2 * CONFIG["num_key_value_heads"] * CONFIG["head_dim"])
            + 3 * CONFIG["hidden_size"] * CONFIG["intermediate_size"] + 2 * CONFIG["hidden_size"]) + CONFIG["hidden_size"])
    print(f"{out}: Llama, {n / 1e6:.1f} M parameters ({2 * CONFIG['vocab_size'] * CONFIG['hidden_size'] / n:.0%} in the embedding and head)")


if __name__ == "__main__":
    main()
