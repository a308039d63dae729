"""Reference token rows for the text data formats (trainer/src/main/java/org/cce4j/trainer/data/formats),
compared exactly (ids and masks) by trainer/src/test/java/org/cce4j/trainer/data/formats/DataReferenceTest.java.

For each real tokenizer folder given (tokenizer.json + tokenizer_config.json, or chat_template.jinja), with
transformers' AutoTokenizer as a user of TRL has it:

  chat               apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
                     with a copy of the folder's real template where each assistant turn's text after its header
                     (the reply, and the end-of-turn text that follows it: <|eot_id|>, <end_of_turn>\n, Qwen 3's
                     think block and <|im_end|>\n) is wrapped in {% generation %} ... {% endgeneration %}; the copy must
                     render exactly what the real template renders (checked here), so the Java side can be held to
                     the same mask both with the tagged copy and with the real template (its prefix method).
  prompt_completion  TRL's tokenization, written out by hand here because TRL is not installed where this runs. It
                     mirrors trl/trainer/sft_trainer.py (SFTTrainer._prepare_dataset: the add_eos map, then
                     tokenize_fn's prompt-completion branch, and build_labels) and trl/data_utils.py (_tokenize):
                     completion += eos_token unless it ends with it; prompt_ids = tokenizer(text=prompt)["input_ids"];
                     input_ids = tokenizer(text=prompt + completion)["input_ids"]; completion_mask =
                     [0] * len(prompt_ids) + [1] * (len(input_ids) - len(prompt_ids)), whether or not prompt_ids is a
                     prefix of input_ids (TRL only warns then).
  text               TRL's language-modelling case: text += eos_token unless it ends with it; tokenizer(text=text).
  alpaca             Stanford Alpaca's prompt (tatsu-lab/stanford_alpaca train.py, PROMPT_DICT: with an input when
                     input != "") as the prompt and output as the completion of the above; and, in the chat style,
                     [user: instruction (+ "\n\n" + input), assistant: output] through the tagged template.

Every id list is also checked against the tokenizers library's own encoding of the same text (the Java tokenizer
follows tokenizer.json, so the two must agree for the comparison to mean anything); a disagreement stops the script.

    python3 tools/reference/data_fixtures.py --out trainer/src/test/resources/data-reference \
        .data/tokenizer/models/llama3_1 .data/tokenizer/models/gemma3 .data/tokenizer/models/qwen3

Writes OUT/<folder name>.json per tokenizer (a few tens of kB each).
"""
import argparse
import json
import os
import sys

import tokenizers
import transformers
from transformers import AutoTokenizer

CONVERSATIONS = {
    "single": [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "The capital of France is Paris."},
    ],
    "system_multi_turn": [
        {"role": "system", "content": "You are a terse assistant. Answer in one line."},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And times three?"},
        {"role": "assistant", "content": "12, since (2+2)*3 = 12."},
    ],
    "empty_system": [
        {"role": "system", "content": ""},
        {"role": "user", "content": "Say hi."},
        {"role": "assistant", "content": "Hi!"},
    ],
    "unicode": [
        {"role": "user", "content": "Traduis « chat » en japonais, avec un emoji 🐱 et un accent combiné: e\u0301."},
        {"role": "assistant", "content": "猫 (ねこ) 🐈‍⬛ — café, naïve, Ελληνικά, עברית, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢."},
    ],
    "whitespace": [
        {"role": "user", "content": "  Write two lines.\n"},
        {"role": "assistant", "content": "\n  first line\nsecond line  \n\n"},
    ],
    "three_turns": [
        {"role": "user", "content": "Count to two."},
        {"role": "assistant", "content": "1, 2."},
        {"role": "user", "content": "Now to three."},
        {"role": "assistant", "content": "1, 2, 3."},
        {"role": "user", "content": "Thanks"},
        {"role": "assistant", "content": "You're welcome."},
    ],
}

PAIRS = [
    {"prompt": "Question: what is 2+2?\nAnswer:", "completion": " 4"},
    {"prompt": "Answer: ", "completion": "yes"},  # tokens merge across the boundary in byte-level BPE
    {"prompt": "Traduis: chat →", "completion": " 猫 🐱 e\u0301"},
    {"prompt": "", "completion": "Once upon a time"},
    {"prompt": "Say it twice:", "completion": " again and again"},
]

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Zeile eins\n\nZeile zwei, mit Umlauten: äöü ß — und 🐱.",
    "  leading and trailing spaces  ",
]

ALPACA = [
    {"instruction": "Give three tips for staying healthy.", "input": "", "output": "1. Eat well.\n2. Sleep.\n3. Move."},
    {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
]

# Stanford Alpaca's prompt text, as in tatsu-lab/stanford_alpaca train.py (PROMPT_DICT).
ALPACA_WITH_INPUT = ("Below is an instruction that describes a task, paired with an input that provides further context. "
                     "Write a response that appropriately completes the request.\n\n"
                     "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:")
ALPACA_WITHOUT_INPUT = ("Below is an instruction that describes a task. "
                        "Write a response that appropriately completes the request.\n\n"
                        "### Instruction:\n{instruction}\n\n### Response:")


def replace_once(text, old, new, what):
    if text.count(old) != 1:
        sys.exit(f"cannot tag the template ({what}): expected one occurrence of {old!r}, found {text.count(old)}")
    return text.replace(old, new)


def tag_template(template):
    """The template with each assistant turn's text after its header inside {% generation %} blocks."""
    if "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}" in template:
        # Llama 3 style: the turn is built in `content`, BOS prepended to the first
        old = ("{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
               "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}")
        new = ("{% set header = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' %}"
               "{% if loop.index0 == 0 %}{% set header = bos_token + header %}{% endif %}{{ header }}"
               "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] | trim + '<|eot_id|>' }}{% endgeneration %}"
               "{% else %}{{ message['content'] | trim + '<|eot_id|>' }}{% endif %}")
        return replace_once(template, old, new, "llama 3")
    if "<start_of_turn>" in template:
        # Gemma 3: the content and <end_of_turn>\n of a model turn, duplicated into a generation block
        start = "    {%- if message['content'] is string -%}"
        end = "    {{ '<end_of_turn>\n' }}\n"
        a = template.index(start)
        b = template.index(end, a) + len(end)
        body = template[a:b]
        new = ("{%- if role == 'model' -%}{%- generation -%}\n" + body + "{%- endgeneration -%}{%- else -%}\n" + body + "{%- endif -%}\n")
        return template[:a] + new + template[b:]
    if "<|im_start|>" in template and "ns.last_query_index" in template:
        # Qwen 3: the header moved out of the three ways of writing an assistant turn, the rest through <|im_end|>\n tagged
        start = "        {%- if loop.index0 > ns.last_query_index %}"
        end = "        {{- '<|im_end|>\\n' }}\n"
        a = template.index(start)
        b = template.index(end, a) + len(end)
        body = template[a:b]
        body = body.replace("'<|im_start|>' + message.role + '\\n<think>\\n'", "'<think>\\n'")
        body = body.replace("'<|im_start|>' + message.role + '\\n' + content", "content")
        if "<|im_start|>" in body:
            sys.exit("cannot tag the qwen 3 template: a header left in the assistant branch")
        new = "        {{- '<|im_start|>' + message.role + '\\n' }}\n        {%- generation %}\n" + body + "        {%- endgeneration %}\n"
        return template[:a] + new + template[b:]
    sys.exit("no tagging rule for this chat template")


def real_template(folder):
    jinja = os.path.join(folder, "chat_template.jinja")
    if os.path.exists(jinja):
        return open(jinja, encoding="utf-8").read()
    return json.load(open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8"))["chat_template"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("folders", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for folder in a.folders:
        name = os.path.basename(os.path.normpath(folder))
        tok = AutoTokenizer.from_pretrained(folder)
        raw = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))

        def ids_of(text, special):
            ids = tok(text=text, add_special_tokens=special)["input_ids"]
            own = raw.encode(text, add_special_tokens=special).ids
            if list(ids) != list(own):
                sys.exit(f"{name}: transformers and tokenizers disagree on {text!r} (special tokens {special}): {ids} vs {own}")
            return list(ids)

        eos = tok.eos_token
        real = real_template(folder)
        tagged = tag_template(real)

        chats = []
        for cname, messages in CONVERSATIONS.items():
            for gen in (False, True):
                for n in range(1, len(messages) + 1):  # every prefix, with and without the generation prompt
                    plain = tok.apply_chat_template(messages[:n], tokenize=False, add_generation_prompt=gen, chat_template=real)
                    again = tok.apply_chat_template(messages[:n], tokenize=False, add_generation_prompt=gen, chat_template=tagged)
                    if plain != again:
                        sys.exit(f"{name}/{cname}: the tagged template renders differently:\n{plain!r}\n{again!r}")
            out = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True,
                                          chat_template=tagged)
            text = tok.apply_chat_template(messages, tokenize=False, chat_template=real)
            ids = list(out["input_ids"])
            if ids != ids_of(text, False):
                sys.exit(f"{name}/{cname}: apply_chat_template's ids are not the rendered text's")
            plain_ids = list(tok.apply_chat_template(messages, tokenize=True, return_dict=True, chat_template=real)["input_ids"])
            if plain_ids != ids:
                sys.exit(f"{name}/{cname}: the real and the tagged template tokenize differently")
            chats.append({"name": cname, "messages": messages, "text": text, "input_ids": ids,
                          "assistant_masks": [int(m) for m in out["assistant_masks"]]})

        def prompt_completion(prompt, completion):
            if not completion.endswith(eos):
                completion = completion + eos
            prompt_ids = ids_of(prompt, True)
            input_ids = ids_of(prompt + completion, True)
            mask = [0] * len(prompt_ids) + [1] * (len(input_ids) - len(prompt_ids))
            return {"input_ids": input_ids, "completion_mask": mask[:len(input_ids)],
                    "boundary_merged": input_ids[:len(prompt_ids)] != prompt_ids}

        pairs = [dict(p, **prompt_completion(p["prompt"], p["completion"])) for p in PAIRS]
        texts = [{"text": t, "input_ids": ids_of(t if t.endswith(eos) else t + eos, True)} for t in TEXTS]
        alpaca = []
        for row in ALPACA:
            prompt = (ALPACA_WITH_INPUT if row.get("input", "") != "" else ALPACA_WITHOUT_INPUT).format_map(row)
            pc = prompt_completion(prompt, row["output"])
            alpaca.append({"row": row, "style": "prompt", "input_ids": pc["input_ids"], "mask": pc["completion_mask"]})
            user = row["instruction"] + ("\n\n" + row["input"] if row.get("input", "") != "" else "")
            messages = [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]
            out = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, chat_template=tagged)
            alpaca.append({"row": row, "style": "chat", "input_ids": list(out["input_ids"]),
                           "mask": [int(m) for m in out["assistant_masks"]]})

        fixture = {"tokenizer": name, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                   "eos_token": eos, "bos_token": tok.bos_token, "templates": {"real": real, "tagged": tagged},
                   "chat": chats, "prompt_completion": pairs, "text": texts, "alpaca": alpaca}
        path = os.path.join(a.out, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(fixture, f, ensure_ascii=False, indent=1)
        print(f"{name}: {len(chats)} chats, {len(pairs)} pairs, {len(texts)} texts, {len(alpaca)} alpaca rows -> {path}")
    print("transformers", transformers.__version__, "tokenizers", tokenizers.__version__)


if __name__ == "__main__":
    main()
