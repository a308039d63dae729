#!/usr/bin/env bash
# Real-size training runs on the GPU machine, cce4j and PyTorch in one device call, logs under $OUT (one tarball):
#   MODEL=llama-3.2-1b BATCH=16 bash tools/reference/train_big_run.sh
# 1. a model folder of that shape with transformers' random init, saved in bf16, and rows of random ids (seq 2048)
# 2. cce4j train: full fine-tuning and LoRA (r 16, every projection), bf16, $STEPS steps at micro-batch $BATCH
# 3. the outputs loaded back: final/ by transformers (no missing or unexpected keys), the adapter by peft
# 4. PyTorch at the same batch: Liger + Apple CCE + fused AdamW (amp and pure bf16; LoRA through PEFT)
set +e
export CCE4J_KERNEL_CACHE=/tmp/cce4j-kernels PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$PWD/.anchors
OUT=${OUT:-/tmp/big-run}; mkdir -p "$OUT"
MODEL=${MODEL:-llama-3.2-1b}; BATCH=${BATCH:-16}; STEPS=${STEPS:-10}; WHAT=${WHAT:-full,lora,torch}
R=tools/reference; W=/tmp/big/$MODEL; mkdir -p $W
has() { [[ ,$WHAT, == *,$1,* ]]; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee $OUT/env.txt
python3 - $R/model_configs/$MODEL.json $W $BATCH $STEPS <<'PY' 2>&1 | grep -v "Writing\|Loading" | tee -a $OUT/env.txt
import json, random, sys, torch, transformers
cfg_path, out, batch, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
d = json.load(open(cfg_path))
cfg = transformers.CONFIG_MAPPING[d["model_type"]](**d)
torch.manual_seed(0)
with torch.device("cuda"):
    m = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
m.save_pretrained(out + "/model", safe_serialization=True)
rng = random.Random(1)
with open(out + "/rows.jsonl", "w") as f:
    for _ in range(batch * (steps + 2)):
        f.write(json.dumps({"input_ids": [rng.randrange(cfg.vocab_size) for _ in range(2048)]}) + "\n")
print("model", sum(p.numel() for p in m.parameters()), "parameters; rows", batch * (steps + 2))
PY
for kind in full lora; do
  has $kind || continue
  lora=""; [[ $kind == lora ]] && lora=$'lora:\n  r: 16\n  alpha: 32\n  dropout: 0.05'
  cat > $W/$kind.yaml <<YAML
model: model
device: cuda
dtype: bf16
output: run-$kind
data: {train: rows.jsonl, shuffle: false, seq_len: 2048}
train: {micro_batch_size: $BATCH, grad_accum: 1, max_steps: $STEPS, lr: 1.0e-5, schedule: constant, max_grad_norm: 1.0, log_every: 1}
save: {every_steps: 0}
$lora
YAML
  echo "== cce4j $MODEL $kind, batch $BATCH"
  rm -rf $W/run-$kind
  bash .gpu/run jar train --config $W/$kind.yaml > $OUT/ours-$kind.txt 2>&1; echo "rc=$?"
  grep -E "^train:|memory|step +[0-9]+/|done" $OUT/ours-$kind.txt | cut -c1-220
  python3 - $W/run-$kind/metrics.jsonl <<'PY' | tee -a $OUT/summary.txt
import json, statistics, sys
r = [json.loads(l) for l in open(sys.argv[1]) if "grad_norm" in l]
late = r[2:] if len(r) > 3 else r
print(json.dumps(dict(impl="cce4j", steps=len(r), targets_per_s=round(statistics.median(x["tokens_per_s"] for x in late)),
                      peak_mb=round(max(x["mem_mb"] for x in late)), first_loss=r[0]["loss"], last_loss=r[-1]["loss"])))
PY
done
echo "== loading the outputs back"
python3 - $W <<'PY' 2>&1 | grep -v "Loading\|Writing\|warn" | tee -a $OUT/summary.txt
import os, sys, torch, transformers
w = sys.argv[1]
if os.path.isdir(w + "/run-full/final"):
    m, info = transformers.AutoModelForCausalLM.from_pretrained(w + "/run-full/final", dtype=torch.bfloat16, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    print("transformers loads final/:", "ok" if not bad else bad, "dtype", next(m.parameters()).dtype)
    base = transformers.AutoModelForCausalLM.from_pretrained(w + "/model", dtype=torch.bfloat16)
    diff = max(float((a.float() - b.float()).abs().max()) for a, b in zip(m.parameters(), base.parameters()))
    print("  largest weight change against the base:", diff)
if os.path.isdir(w + "/run-lora/final"):
    import peft
    base = transformers.AutoModelForCausalLM.from_pretrained(w + "/model", dtype=torch.bfloat16)
    pm = peft.PeftModel.from_pretrained(base, w + "/run-lora/final")
    b = [p for n, p in pm.named_parameters() if "lora_B" in n]
    print("peft loads the adapter:", len(b), "lora_B matrices, nonzero:", sum(int(bool(p.abs().sum() > 0)) for p in b))
PY
if has torch; then
  for args in "--precision amp" "--precision bf16" "--lora 16"; do
    echo "== torch $MODEL $args, batch $BATCH"
    timeout 300 python3 $R/hf_train_step_bench.py --model $W/model --batch $BATCH $args 2>&1 | grep '^{' | tee -a $OUT/summary.txt
  done
fi
( cd $OUT && tar czf logs.tgz --exclude logs.tgz *.txt && rm -f ours-*.txt )
