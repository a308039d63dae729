#!/usr/bin/env bash
# The convergence experiments of docs/convergence.md on the GPU machine, in one device call, results under $OUT.
# Run from the checkout root with the bundle in .gpu/, Apple's CCE in .anchors/ and prepare_data.py's folder
# and the Llama 3 tokenizer packed into .exp/carry/ (carry it):
#   tar cJf .exp/carry/data.tar.xz -C .exp data; tar cJf .exp/carry/llama3.tar.xz -C .data/tokenizer/models llama3
#   STEPS=prep,pretrain,torch,finetune SEEDS=0,1,2 bash tools/convergence/run_device.sh
# Steps (comma-separated in STEPS):
#   fixtures  tools/reference/generate_fixtures.py (transformers' greedy decoding), back as generate-reference.tgz
#   prep      the text unpacked, the model folders (make_model.py: config only; and transformers' init, seed 0),
#             the pretraining rows tokenized and packed by the tokenizers library (tokenize_rows.py)
#   pretrain  cce4j compare of $IMPLS over $SEEDS on pretrain.yaml (MAX_STEPS > 0 cuts the runs), --probe-memory
#   torch     from transformers' init: cce4j (cce) and PyTorch + transformers + Apple's CCE (train_reference.py
#             --loss apple-cce) for $TORCH_STEPS steps on the same rows in the same order, drawn in one report
# PRETRAIN_SETS adds --set options to every pretraining run (e.g. "--set train.epochs=2").
#   torch2    as torch, with cce4j's baseline and cce-full-c beside PyTorch's materialized loss and Apple's cce_kahan_full_c
#   probe     each variant's memory at the pretraining's shapes (the loss alone; the largest micro-batch), one step each
#   finetune  the pretraining's cce-seed0 final model (pretrained first when this call has none) fine-tuned on the FAQ chat rows (finetune.yaml), full and
#             LoRA, $FT_IMPLS over $SEEDS; a generated answer before and after
# Everything but model weights comes back as $OUT/convergence.tgz; the console log as $OUT/log.txt.
set +e
export CCE4J_KERNEL_CACHE=/tmp/cce4j-kernels PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$PWD/.anchors
OUT=${OUT:-/tmp/conv-out}; mkdir -p "$OUT"
STEPS=${STEPS:-prep,pretrain}; SEEDS=${SEEDS:-0}; IMPLS=${IMPLS:-baseline,cce,cce-exact,cce-full-c}
FT_IMPLS=${FT_IMPLS:-baseline,cce}; MAX_STEPS=${MAX_STEPS:-0}; TORCH_STEPS=${TORCH_STEPS:-100}; FT_MAX_STEPS=${FT_MAX_STEPS:-0}
C=tools/convergence; W=/tmp/conv; mkdir -p $W
has() { [[ ,$STEPS, == *,$1,* ]]; }
exec > >(tee -a $OUT/log.txt) 2>&1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; date -u;
  python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'; }
t() { echo "== $(date -u +%T) $*"; }
jar() { bash .gpu/run jar "$@"; }
pack() { tar czf $OUT/convergence.tgz --exclude=final --exclude=checkpoints --exclude='*.safetensors' -C $W $(cd $W && ls -d pretrain torch-init finetune-full finetune-lora probe 2>/dev/null); }
DATA="--set data.train=$W/rows/train.jsonl --set data.validation=$W/rows/validation.jsonl"
if has fixtures; then
  t fixtures
  timeout 300 python3 tools/reference/generate_fixtures.py > $OUT/generate-fixtures.txt 2>&1; echo "rc=$?"; tail -3 $OUT/generate-fixtures.txt
  tar czf $OUT/generate-reference.tgz -C transformer/src/test/resources generate-reference
fi
if has prep; then
  t prep
  rm -rf $W/data $W/llama3 && tar xJf .exp/carry/data.tar.xz -C $W && tar xJf .exp/carry/llama3.tar.xz -C $W
  tok=$W/llama3
  python3 $C/make_model.py $tok $W/model
  python3 $C/make_model.py $tok $W/model-hf --weights 0
  python3 $C/tokenize_rows.py $tok/tokenizer.json $W/data $W/rows 1024
fi
if has pretrain; then
  t pretrain
  extra=(); (( MAX_STEPS > 0 )) && extra=(--set train.max_steps=$MAX_STEPS --set eval.every_steps=$(( MAX_STEPS / 3 > 0 ? MAX_STEPS / 3 : 1 )))
  jar compare --config $C/pretrain.yaml --impls $IMPLS --seeds $SEEDS --output $W/pretrain --set model=$W/model $DATA "${extra[@]}" ${PRETRAIN_SETS:-} --probe-memory
  echo "rc=$?"; cat $W/pretrain/report.md; pack
fi
if has torch; then
  t torch
  jar compare --config $C/pretrain.yaml --impls cce --seeds 0 --output $W/torch-init --set model=$W/model-hf --set init=pretrained $DATA \
      ${PRETRAIN_SETS:-} --set train.max_steps=$TORCH_STEPS --set eval.every_steps=0
  echo "rc=$?"
  timeout 400 python3 tools/reference/train_reference.py --config $W/torch-init/cce-seed0/config.yaml --out $W/torch-init/torch-apple-cce \
      --device cuda --dtype bf16 --loss apple-cce --attn sdpa --no-final; echo "rc=$?"
  jar compare --config $C/pretrain.yaml --impls cce --seeds 0 --output $W/torch-init --report-only \
      --reference "pytorch-apple-cce=$W/torch-init/torch-apple-cce"; echo "rc=$?"; cat $W/torch-init/report.md; pack
fi
if has torch2; then   # the same start against PyTorch's materialized loss and Apple's paper variant; cce4j's baseline and cce-full-c
  t torch2
  jar compare --config $C/pretrain.yaml --impls cce,baseline,cce-full-c --seeds 0 --output $W/torch-init --set model=$W/model-hf --set init=pretrained $DATA \
      ${PRETRAIN_SETS:-} --set train.max_steps=$TORCH_STEPS --set eval.every_steps=0; echo "rc=$?"
  for l in materialized apple-cce-kahan-full-c; do
    timeout 300 python3 tools/reference/train_reference.py --config $W/torch-init/baseline-seed0/config.yaml --out $W/torch-init/torch-$l \
        --device cuda --dtype bf16 --loss $l --attn sdpa --no-final; echo "rc=$?"
  done
  pack
fi
if has finetune; then
  base=$W/pretrain/cce-seed0/final
  if [[ ! -d $base ]]; then   # a call of its own: pretrain the base (cce, seed 0) first
    t "finetune: pretraining the base"
    jar compare --config $C/pretrain.yaml --impls cce --seeds 0 --output $W/pretrain $DATA --set model=$W/model ${PRETRAIN_SETS:-}; echo "rc=$?"
  fi
  extra=(); (( FT_MAX_STEPS > 0 )) && extra=(--set train.max_steps=$FT_MAX_STEPS --set eval.every_steps=$(( FT_MAX_STEPS / 2 > 0 ? FT_MAX_STEPS / 2 : 1 )))
  FT="--set model=$base --set data.train=$W/data/faq_train.jsonl --set data.validation=$W/data/faq_validation.jsonl"
  t finetune full
  jar compare --config $C/finetune.yaml --impls $FT_IMPLS --seeds $SEEDS --output $W/finetune-full $FT "${extra[@]}"; echo "rc=$?"
  cat $W/finetune-full/report.md
  t finetune lora
  jar compare --config $C/finetune.yaml --impls $FT_IMPLS --seeds $SEEDS --output $W/finetune-lora $FT "${extra[@]}" \
      --set lora.r=16 --set lora.alpha=32 --set lora.dropout=0.05 --set train.lr=1.0e-3; echo "rc=$?"
  cat $W/finetune-lora/report.md
  q=$(python3 -c "import json; print(json.loads(open('$W/data/faq_validation.jsonl').readline())['messages'][0]['content'])")
  t "generate: $q"
  for m in "$base" "$W/finetune-full/cce-seed0/final"; do
    echo "-- $m"; jar generate --model $m --chat --prompt "$q" --max-new-tokens 60
  done
  echo "-- $base + finetune-lora/cce-seed0"; jar generate --model $base --adapter $W/finetune-lora/cce-seed0/final --chat --prompt "$q" --max-new-tokens 60
fi
if has probe; then
  t probe
  jar compare --config $C/pretrain.yaml --impls $IMPLS --seeds 0 --output $W/probe --set model=$W/model $DATA \
      --set train.max_steps=1 --set eval.every_steps=0 --probe-memory; echo "rc=$?"; cat $W/probe/memory-*.json | grep -v '"micro_batch"\|"fits"\|"peak_mb"\|[{}],*$'
  pack
fi
t pack
pack
ls -la $OUT
