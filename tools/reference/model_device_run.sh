#!/usr/bin/env bash
# One device call for the CUDA transformer backend: its GPU tests, `forward --device cuda` against the
# transformers references, then the model benchmark (ours, then PyTorch + transformers) on the same
# machine. Run from the checkout root with the bundle and these tools in $C (default: this script's
# folder), e.g.  bash .carry-model/model_device_run.sh
# STEPS selects parts (default tests,forward,hfbf16,ours,torch); logs and JSON lines go to $OUT.
# Our benchmark runs the largest batch (auto) and the batch sizes PyTorch reached (EQUAL_<model>), so
# memory can be compared at equal batch.
set +e
C=${C:-$(cd "$(dirname "$0")" && pwd)}
OUT=${OUT:-/tmp/model-run}
mkdir -p "$OUT"
export CCE4J_KERNEL_CACHE=/tmp/cce4j-kernels PYTHONUNBUFFERED=1
STEPS=${STEPS:-tests,forward,hfbf16,ours,torch}
EQUAL_llama=${EQUAL_llama:-10,3}
EQUAL_gemma=${EQUAL_gemma:-4,2}
MODELS=${MODELS:-llama-3.2-1b gemma-2-2b}
has() { [[ ,$STEPS, == *,$1,* ]]; }
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv; date -u; } | tee $OUT/env.txt
if has tests; then
  echo "== tests"
  timeout ${TEST_TIMEOUT:-240} bash $C/run tests --select-class org.cce4j.transformer.backend.CudaBackendTest \
      --select-class org.cce4j.transformer.CudaModelTest > $OUT/tests.txt 2>&1
  echo "rc=$?"; grep -E "tests (successful|failed|aborted|skipped)" $OUT/tests.txt; grep -E "✘" $OUT/tests.txt | head -30
fi
if has forward; then
  echo "== forward --device cuda"
  R=transformer/src/test/resources/hf-reference
  for f in gemma2 llama3_tied_bf16_sharded; do
    for m in f32:1e-4 bf16:5e-2; do
      timeout 60 bash $C/run jar forward --model $R/$f --input $R/$f/reference.safetensors --output /tmp/fwd-$f-${m%%:*}.safetensors \
          --grads --device cuda --dtype ${m%%:*} >> $OUT/forward.txt 2>&1 || echo "forward $f ${m%%:*} failed" | tee -a $OUT/forward.txt
      python3 $C/forward_check.py /tmp/fwd-$f-${m%%:*}.safetensors $R/$f/reference.safetensors --tol ${m##*:} 2>&1 | tee -a $OUT/forward.txt
    done
  done
fi
if has hfbf16; then
  echo "== transformers in bf16 against the float64 references"
  timeout 120 python3 $C/hf_bf16_error.py transformer/src/test/resources/hf-reference 2> $OUT/hfbf16.err | tee $OUT/hfbf16.jsonl
fi
if has ours; then
  echo "== ours"
  for m in $MODELS; do
    eq=EQUAL_${m%%-*}
    timeout ${OURS_TIMEOUT:-150} bash $C/run java org.cce4j.examples.ModelBenchmark --optim none --config $C/model_configs/$m.json --batch ${OURS_BATCH:-auto,${!eq}} \
        --steps ${BENCH_STEPS:-3} --warmup 1 $OURS_FLAGS > $OUT/ours-$m.txt 2>&1
    rc=$?; grep -E '^\{' $OUT/ours-$m.txt | tee -a $OUT/ours.jsonl | cut -c1-400
    if [[ $rc -eq 3 ]]; then
      b=$(grep -o '"batch":[0-9]*,"error"' $OUT/ours-$m.txt | grep -o '[0-9]*' | head -1)
      timeout 120 bash $C/run java org.cce4j.examples.ModelBenchmark --optim none --config $C/model_configs/$m.json --batch $((b * 7 / 8)),${!eq} \
          --steps ${BENCH_STEPS:-3} --warmup 1 $OURS_FLAGS >> $OUT/ours-$m.txt 2>&1
      grep -E '^\{' $OUT/ours-$m.txt | tail -n +2 | tee -a $OUT/ours.jsonl | cut -c1-400
    elif [[ $rc -ne 0 ]]; then tail -15 $OUT/ours-$m.txt; fi
  done
fi
if has torch; then
  echo "== torch"
  for m in $MODELS; do
    timeout ${TORCH_TIMEOUT:-150} python3 $C/model_bench.py --config $C/model_configs/$m.json --attn ${ATTN:-eager,sdpa} \
        --batch ${TORCH_BATCH:-auto} --steps ${BENCH_STEPS:-3} --warmup 1 2> $OUT/torch-$m.err | tee -a $OUT/torch.jsonl
    tail -3 $OUT/torch-$m.err
  done
fi
