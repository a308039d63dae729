#!/usr/bin/env bash
# The training-step benchmark of docs/benchmarks.md ("Training step with AdamW"): cce4j's ModelBenchmark and
# PyTorch + Liger + Apple CCE + fused AdamW (tools/reference/hf_train_step_bench.py) in one device call, full
# fine-tuning and LoRA r 16, at the largest batch each fits and at an equal batch, with both profiles.
# Run from the checkout root with the bundle in .gpu/ and the anchors in .anchors/:
#   STEPS=tests,ours,torch MODELS="llama-3.2-1b" bash tools/reference/step_device_run.sh
#   tests  the transformer module's GPU tests (the model's forward and backward against the CPU and transformers)
#  gputrain  through train, every training fixture on the GPU against PyTorch (train_device_run.sh's gputrain)
#   ours   ModelBenchmark --optim adamw: full and --lora 16, --batch $EQUAL,auto, the profile at the equal batch
#   torch  hf_train_step_bench.py: liger+cce, precision amp and bf16, and LoRA (PEFT), --batch $EQUAL,auto, profiled
#   ab     ours again with the earlier attention kernels ($AB_ENV, default CCE4J_ATTN_BWD=split CCE4J_ATTN_FWD=64), full, equal batch, profiled
#   libs   ours again on the machine's own cuBLAS and cuDNN (the loader's default), full, equal batch, profiled; every other
#          step of ours runs on PyTorch's (its wheels' lib folders first on LD_LIBRARY_PATH), so that both sides use the same
#          libraries (OUR_LIBS=system: ours on the machine's everywhere); env.txt lists the versions of both
#   inbwd  ours with --optim adamw-in-backward (train.optimizer_in_backward: no clipping, gradients freed per layer), full
#   nostep the anchor's forward+backward only (--optim none on our side), for continuity with the earlier table
#   train  train itself (tools/reference/train_big_run.sh without its torch part): full and LoRA, Llama-3.2-1B, batch 16,
#          its metrics' tokens_per_s beside ModelBenchmark's, the outputs loaded back by transformers and peft
#   loss   the CCE loss on trained-like inputs (cce_loss_bench.py --inputs trained: Apple's CCE and torch on them, saved),
#          then cce4j's bench-loss on the same file: Gemma 2 2B's head (with and without softcap 30) and Llama 3 8B's;
#          LOSS_SHAPES="8192,2304,256000" picks heads (N,D,V; default both); LOSS_PATHS="tiles dense entries entries-cublas" also times cce with its backward forced to each path (entries-cublas: the lists from cuBLAS logits), LOSS_EPS="6.1e-5 1.5e-5"
#          the entry lists (forced, and AUTO) at lower filter thresholds, LOSS_EFACTORS="1 16" the lists' dE threshold
#          filterEps/F, LOSS_GRAD_ERROR=1 each measurement's gradient error against cce-exact (bench-loss --grad-error)
# Logs and JSON lines go to $OUT.
set +e
export CCE4J_KERNEL_CACHE=/tmp/cce4j-kernels PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$PWD/.anchors
OUT=${OUT:-/tmp/step-run}; mkdir -p "$OUT"
STEPS=${STEPS:-tests,ours,torch}
MODELS=${MODELS:-llama-3.2-1b gemma-2-2b}
WHAT=${WHAT:-full,lora}
AB_ENV=${AB_ENV:-CCE4J_ATTN_BWD=split CCE4J_ATTN_FWD=64}
# OUR_BATCHES, TORCH_BATCHES: the batches of ours and torch (default: the equal batch and the largest, "16,auto")
R=tools/reference
# the lib folders of PyTorch's nvidia wheels that hold cuDNN and cuBLAS (ours runs on them, but in the libs step)
WHEEL_LIBS=$(python3 -c 'import nvidia, os, glob; print(" ".join(sorted({os.path.dirname(f) for p in nvidia.__path__ for f in glob.glob(p + "/*/lib/lib*.so.*") if "/libcudnn.so" in f or "/libcublas.so" in f})))' 2>/dev/null)
has() { [[ ,$STEPS, == *,$1,* ]]; }
what() { [[ ,$WHAT, == *,$1,* ]]; }
equal() { case $1 in llama*) echo ${EQUAL_llama:-16};; *) echo ${EQUAL_gemma:-8};; esac; }
WHEEL_PATH=$(echo $WHEEL_LIBS | tr ' ' :)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [[ ${OUR_LIBS:-wheel} == wheel && -n $WHEEL_LIBS ]]; then OURS_ENV="LD_LIBRARY_PATH=$WHEEL_PATH"; else OURS_ENV=""; fi
# SMI=1: the SM clock and power every 100 ms for the whole run (smi.csv), with each step's start in marks.txt
if [[ -n ${SMI:-} ]]; then
  nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,clocks_event_reasons.sw_power_cap,clocks_event_reasons.hw_slowdown \
      --format=csv,noheader -lms 100 > $OUT/smi.csv 2>&1 & SMI_PID=$!
fi
mark() { echo "$(date '+%Y/%m/%d %H:%M:%S.%3N') $*" >> $OUT/marks.txt; echo "== $*"; }
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader; date -u;
  python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'
  echo "system libraries:"; ldconfig -p | grep -E 'libcudnn\.so\.9 |libcublas\.so\.1[23] |libcublasLt\.so\.1[23] ' | sed 's/.*=> //' | xargs -r readlink -f
  echo "ours: $OURS_ENV"; echo "PyTorch's wheels ($WHEEL_LIBS):"; python3 -c 'import importlib.metadata as m; print(*sorted(d.metadata["Name"] + " " + d.version for d in m.distributions() if d.metadata["Name"].startswith(("nvidia-cublas", "nvidia-cudnn"))))'; } 2>&1 | tee $OUT/env.txt
if has tests; then
  echo "== GPU tests (transformer)"
  timeout ${TEST_TIMEOUT:-200} bash .gpu/run tests --select-class org.cce4j.transformer.backend.CudaBackendTest \
      --select-class org.cce4j.transformer.CudaModelTest --select-class org.cce4j.transformer.CudaGenerationTest ${EXTRA_TESTS:-} > $OUT/tests.txt 2>&1
  echo "rc=$?"; grep -E "tests (successful|failed|aborted|skipped)" $OUT/tests.txt; grep -E "✘" $OUT/tests.txt | head -20
fi
if has gputrain; then
  STEPS=gputrain OUT=$OUT/gputrain timeout ${TRAIN_TIMEOUT:-150} bash $R/train_device_run.sh > $OUT/gputrain.txt 2>&1
  echo "gputrain rc=$?"; grep -iE "ok|fail|max|worst" $OUT/gputrain.txt | head -20
fi
if has train; then
  echo "== train itself, llama-3.2-1b, batch 16"
  MODEL=llama-3.2-1b BATCH=16 STEPS=${TRAIN_STEPS:-8} WHAT=full,lora OUT=$OUT/train timeout 300 bash $R/train_big_run.sh 2>&1 | tail -20
fi
if has loss; then
  for shape in ${LOSS_SHAPES:-8192,2304,256000 8192,4096,128256}; do
    set -- ${shape//,/ }; f=/tmp/trained-$3.safetensors
    echo "== loss on trained inputs, N $1 D $2 V $3: Apple's CCE, cce_exact, torch.compile and materialized (the anchor; softcap none and 30 at V 256000), then cce4j on the same file"
    timeout 200 python3 $R/cce_loss_bench.py $1 $2 $3 --inputs trained --save $f 2>&1 | tee $OUT/loss-torch-$3.txt | grep -E '^\{' | cut -c1-400
    timeout 150 bash .gpu/run jar bench-loss --inputs $f --impl cce,cce-exact,baseline --device cuda --iters 20 --json ${LOSS_GRAD_ERROR:+--grad-error} 2>&1 \
        | tee $OUT/loss-ours-$3.txt | grep -E '^\{' | cut -c1-400
    for path in ${LOSS_PATHS:-}; do  # cce's backward forced to one path (tiles, dense, entries), beside AUTO's choice
      env CCE4J_CCE_BACKWARD=${path%-cublas} CCE4J_ENTRIES_LOGITS=$([[ $path == *-cublas ]] && echo cublas) \
          timeout 100 bash .gpu/run jar bench-loss --inputs $f --impl cce --device cuda --iters 20 ${LOSS_GRAD_ERROR:+--grad-error} 2>&1 \
          | tee $OUT/loss-ours-$3-$path.txt | grep -E 'forward' | cut -c1-300
    done
    for fe in ${LOSS_EFACTORS:-}; do  # the entry lists' dE threshold filterEps/fe (default 4)
      CCE4J_ENTRIES_E_FACTOR=$fe timeout 100 bash .gpu/run jar bench-loss --inputs $f --impl cce --device cuda --iters 20 ${LOSS_GRAD_ERROR:+--grad-error} 2>&1 \
          | tee $OUT/loss-ours-$3-efactor$fe.txt | grep -E 'forward' | cut -c1-300
    done
    for eps in ${LOSS_EPS:-}; do     # lower thresholds keep more entries per row: the lists forced, and AUTO (which may hand rows to dense)
      for path in entries auto; do
        CCE4J_CCE_BACKWARD=$path timeout 100 bash .gpu/run jar bench-loss --inputs $f --impl cce --filter-eps $eps --device cuda --iters 10 --json 2>&1 \
            | tee $OUT/loss-ours-$3-eps$eps-$path.txt | grep -E '^\{' | grep -oE '"forward_ms[^}]*kernels":"[^"]*"'
      done
    done
    [[ $3 == 256000 ]] && timeout 150 bash .gpu/run jar bench-loss --inputs $f --softcap 30 --impl cce,cce-exact,baseline --device cuda --iters 20 --json 2>&1 \
        | tee $OUT/loss-ours-$3-softcap.txt | grep -E '^\{' | cut -c1-400
    rm -f $f
  done
fi
for model in $MODELS; do
  cfg=$R/model_configs/$model.json; eq=$(equal $model)
  if has ours; then
    for kind in full lora; do
      what $kind || continue
      lora=""; [[ $kind == lora ]] && lora="--lora 16"
      mark "cce4j $model $kind"
      env $OURS_ENV timeout 200 bash .gpu/run java org.cce4j.examples.ModelBenchmark --config $cfg --batch ${OUR_BATCHES:-$eq,auto} --steps 3 --warmup 1 \
          --optim adamw $lora --profile 2>&1 | tee $OUT/ours-$model-$kind.txt | grep -E '^\{' | cut -c1-600
    done
  fi
  if has ab; then
    mark "cce4j $model full with $AB_ENV (the variant beside the default)"
    env $OURS_ENV $AB_ENV timeout 200 bash .gpu/run java org.cce4j.examples.ModelBenchmark --config $cfg --batch $eq \
        --steps 3 --warmup 1 --optim adamw --profile 2>&1 | tee $OUT/ours-$model-full-ab.txt | grep -E '^\{' | cut -c1-600
  fi
  if has libs; then
    mark "cce4j $model full on the machine's cuBLAS and cuDNN"
    timeout 200 bash .gpu/run java org.cce4j.examples.ModelBenchmark \
        --config $cfg --batch $eq --steps 3 --warmup 1 --optim adamw --profile 2>&1 | tee $OUT/ours-$model-full-libs.txt | grep -E '^\{' | cut -c1-600
  fi
  if has inbwd; then
    mark "cce4j $model full, AdamW applied during the backward"
    env $OURS_ENV timeout 200 bash .gpu/run java org.cce4j.examples.ModelBenchmark --config $cfg --batch ${OUR_BATCHES:-$eq,auto} --steps 3 --warmup 1 \
        --optim adamw-in-backward 2>&1 | tee $OUT/ours-$model-full-inbwd.txt | grep -E '^\{' | cut -c1-600
  fi
  if has torch; then
    for v in ${TORCH_VARIANTS:-amp:0 bf16:0 amp:16}; do
      v=${v/:/ }
      set -- $v
      [[ $2 == 0 ]] && { what full || continue; } || { what lora || continue; }
      mark "torch liger+cce $model precision $1 lora $2"
      timeout 200 python3 $R/hf_train_step_bench.py --config $cfg --variant liger+cce --precision $1 --lora $2 --batch ${TORCH_BATCHES:-$eq,auto} \
          --steps 3 --profile 2>&1 | tee $OUT/torch-$model-$1-lora$2.txt | grep -E '^\{' | cut -c1-900
    done
  fi
  if has nostep; then
    echo "== forward+backward only: cce4j, then the anchor"
    timeout 150 bash .gpu/run java org.cce4j.examples.ModelBenchmark --config $cfg --batch auto --steps 3 --warmup 1 --optim none 2>&1 \
        | tee $OUT/ours-$model-nostep.txt | grep -E '^\{' | cut -c1-400
    timeout 150 python3 .anchors/hf_step_bench.py --config $cfg --variants liger+cce 2>&1 | tee $OUT/anchor-$model.txt | grep -E '^\{'
  fi
done
mark end
[[ -n ${SMI_PID:-} ]] && kill $SMI_PID
# a device call brings back a few files: one tarball of the logs
( cd $OUT && tar czf step-logs.tgz --exclude '*.tgz' $(ls | grep -v '\.tgz$') 2>/dev/null && ls | grep -v '\.tgz$' | xargs rm -rf )
