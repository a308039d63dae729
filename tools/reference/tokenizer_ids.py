"""Cross-check with the Python tokenizers library (the version installed where this runs): the ids
(with and without special tokens) and the decoded text (with and without skipping special tokens)
of each text in texts.json, for each tokenizer in models/<name>/tokenizer.json. Output:
tokenizer_ids.json, compared with our tokenizer by PythonTokenizersFixtureTest.

    python tokenizer_ids.py --data DIR --out tokenizer_ids.json
"""
import argparse
import json
import os

import tokenizers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    texts = json.load(open(os.path.join(a.data, "texts.json")))
    out = {"tokenizers": tokenizers.__version__, "texts": texts, "models": {}}
    models = os.path.join(a.data, "models")
    for name in sorted(os.listdir(models)):
        path = os.path.join(models, name, "tokenizer.json")
        if not os.path.exists(path):
            continue
        tok = tokenizers.Tokenizer.from_file(path)
        rows = []
        for t in texts:
            plain = tok.encode(t, add_special_tokens=False).ids
            special = tok.encode(t, add_special_tokens=True).ids
            rows.append({"ids": plain, "ids_special": special,
                         "decoded": tok.decode(special, skip_special_tokens=False),
                         "decoded_skip": tok.decode(special, skip_special_tokens=True)})
        out["models"][name] = rows
    json.dump(out, open(a.out, "w"), ensure_ascii=False)
    print("encoded", len(texts), "texts with", len(out["models"]), "tokenizers, tokenizers", tokenizers.__version__)


if __name__ == "__main__":
    main()
