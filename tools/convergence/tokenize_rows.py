"""Tokenizes the pretraining text of prepare_data.py into packed rows for `train` (format tokens),
where the tokenizers library is installed (the GPU machine): each document is BOS + its ids + EOS
(the Llama 3 tokenizer's post-processor adds BOS), the documents follow one another in file order and
the stream is cut into rows of exactly SEQ tokens (the last partial row dropped) — the usual packing of
pretraining, attention running across document boundaries, which plain PyTorch reproduces exactly
(train_reference.py reads the same rows). Writes OUT/train.jsonl and OUT/validation.jsonl
({"input_ids": [...]}) and prints the counts.

    python3 tools/convergence/tokenize_rows.py TOKENIZER.json DATA_DIR OUT_DIR [SEQ]
"""
import json
import os
import sys

from tokenizers import Tokenizer


def rows(tok, path, seq, eos):
    stream, docs = [], 0
    texts = [json.loads(l)["text"] for l in open(path, encoding="utf-8") if l.strip()]
    for enc in tok.encode_batch(texts, add_special_tokens=True):
        stream.extend(enc.ids)
        stream.append(eos)
        docs += 1
    n = len(stream) // seq
    return [stream[i * seq:(i + 1) * seq] for i in range(n)], docs, len(stream)


def main():
    tok_path, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
    seq = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
    tok = Tokenizer.from_file(tok_path)
    eos = tok.token_to_id("<|end_of_text|>")
    os.makedirs(out, exist_ok=True)
    for split in ("train", "validation"):
        r, docs, tokens = rows(tok, os.path.join(data, f"pretrain_{split}.jsonl"), seq, eos)
        with open(os.path.join(out, f"{split}.jsonl"), "w") as f:
            for ids in r:
                f.write(json.dumps({"input_ids": ids}) + "\n")
        print(f"{split}: {docs} documents, {tokens} tokens, {len(r)} rows of {seq}")


if __name__ == "__main__":
    main()
