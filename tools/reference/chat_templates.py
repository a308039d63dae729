"""Renders chat templates with transformers' apply_chat_template, as the reference fixture for
tokenizer/src/test/java/org/cce4j/tokenizer/chat/ChatTemplateTest.java.

Inputs (all in one folder, default: this script's folder): chat_templates/ (cases.json,
conversations.json, extra .jinja templates) and models/<name>/tokenizer_config.json for the
templates taken from real tokenizers (llama3, llama3_1, gemma3), plus a small tokenizer.json
(any byte-level one) to build a tokenizer object. Output: chat_templates.json, the rendered text
(or the error) of every template x conversation x extra x add_generation_prompt.

    python chat_templates.py --data DIR --tokenizer-json DIR/gpt2.json --out chat_templates.json
"""
import argparse
import json
import os

import transformers
from transformers import PreTrainedTokenizerFast


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=here)
    ap.add_argument("--tokenizer-json", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    ct = os.path.join(a.data, "chat_templates")
    cases = json.load(open(os.path.join(ct, "cases.json")))
    conversations = json.load(open(os.path.join(ct, "conversations.json")))
    tok = PreTrainedTokenizerFast(tokenizer_file=a.tokenizer_json)

    templates, specials = {}, {}
    for name in cases["templates"]:
        cfg_path = os.path.join(a.data, "models", name, "tokenizer_config.json")
        if os.path.exists(cfg_path):
            cfg = json.load(open(cfg_path))
            templates[name] = cfg["chat_template"]
            sp = {}
            for k in ("bos_token", "eos_token", "unk_token", "pad_token"):
                v = cfg.get(k)
                if isinstance(v, dict):
                    v = v.get("content")
                if v is not None:
                    sp[k] = v
            specials[name] = sp
        else:
            templates[name] = open(os.path.join(ct, name + ".jinja")).read()
            specials[name] = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}

    results = []
    for name in cases["templates"]:
        for conv in cases["conversations_for"][name]:
            for extra in cases.get("extras", {}).get(name, [{}]):
                for gen in (False, True):
                    kwargs = dict(specials[name])
                    kwargs.update(extra)
                    tools = kwargs.pop("tools", None)
                    item = {"template": name, "conversation": conv, "extra": extra, "add_generation_prompt": gen}
                    try:
                        item["output"] = tok.apply_chat_template(conversations[conv], tools=tools, chat_template=templates[name],
                                                                 add_generation_prompt=gen, tokenize=False, **kwargs)
                    except Exception as e:  # raise_exception in the template, or another template error
                        item["error"] = type(e).__name__ + ": " + str(e)
                    results.append(item)
    json.dump({"transformers": transformers.__version__, "templates": templates, "special_tokens": specials,
               "conversations": conversations, "cases": results}, open(a.out, "w"), ensure_ascii=False, indent=1)
    print("rendered", len(results), "cases with transformers", transformers.__version__)


if __name__ == "__main__":
    main()
