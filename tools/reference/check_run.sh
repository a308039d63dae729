#!/usr/bin/env bash
# One device call of checks and measurements, step by step (STEPS, comma-separated), logs under $OUT.
# Run from the checkout root with the bundle in .gpu/:  STEPS=losstests,bench bash tools/reference/check_run.sh
#   fixtures   default-init fixtures (model_fixtures.py --init default) and transformers' own bf16 error on them
#   losstests  CudaLossAgainstReferenceTest (every CUDA loss, both backward paths)
#   modeltests CudaBackendTest + CudaModelTest (also on $FIXTURES when set, e.g. /tmp/hfd)
#   bench      bench-loss: Gemma 2 2B head (softcap 0 and 30), Llama 3 8B head, with CCE4J_TRACE stage times
#   exact      cce-exact on the Gemma head (3 iterations)
#   losscheck  `loss --device cuda` on fresh inputs against float64 PyTorch (gpu_loss_check.py)
#   model      ModelBenchmark, ours only, Llama-3.2-1B shape at $BATCH (default 25) with --profile
set +e
export CCE4J_KERNEL_CACHE=/tmp/cce4j-kernels PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/check-run}; mkdir -p "$OUT"
STEPS=${STEPS:-fixtures,losstests,modeltests,bench,exact,model}
R=tools/reference
has() { [[ ,$STEPS, == *,$1,* ]]; }
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv; date -u; } | tee $OUT/env.txt
if has fixtures; then
  echo "== fixtures (default init)"
  rm -rf /tmp/hfd && timeout 150 python3 $R/model_fixtures.py /tmp/hfd --init default > /tmp/fixtures.txt 2>&1
  echo "rc=$?"; tail -1 /tmp/fixtures.txt
  timeout 120 python3 $R/hf_bf16_error.py /tmp/hfd 2> /tmp/hfbf16-default.err | tee /tmp/hfd/transformers-bf16.jsonl
  tar czf $OUT/hfd.tgz -C /tmp hfd
fi
if has losstests; then
  echo "== loss tests"
  timeout 240 bash .gpu/run tests --select-class org.cce4j.core.loss.CudaLossAgainstReferenceTest > $OUT/losstests.txt 2>&1
  echo "rc=$?"; grep -E "tests (successful|failed)" $OUT/losstests.txt; grep -E "✘" $OUT/losstests.txt | head -20
fi
if has modeltests; then
  for root in "" ${FIXTURES:-}; do
    echo "== model tests ${root:-(committed fixtures)}"
    CCE4J_HF_REFERENCE_ROOT=$root timeout 240 bash .gpu/run tests --select-class org.cce4j.transformer.CudaModelTest \
        $([[ -z $root ]] && echo --select-class org.cce4j.transformer.backend.CudaBackendTest) > $OUT/modeltests${root//\//-}.txt 2>&1
    echo "rc=$?"; grep -E "tests (successful|failed)" $OUT/modeltests${root//\//-}.txt; grep -E "✘" $OUT/modeltests${root//\//-}.txt | head -20
    grep -E "^bf16 " $OUT/modeltests${root//\//-}.txt | grep -v recompute | cut -c1-200
  done
fi
if has bench; then
  echo "== bench-loss"
  for args in "--softcap 0" "--softcap 30" "--d 4096 --v 128256"; do
    timeout 120 bash .gpu/run java org.cce4j.examples.GpuLossBenchmark $args --impl ${BENCH_IMPLS:-cce} 2>&1 | grep '^{' | tee -a $OUT/bench.txt
  done
  echo "== stage trace (Gemma head, 3 iterations)"
  CCE4J_TRACE=1 timeout 120 bash .gpu/run java org.cce4j.examples.GpuLossBenchmark --iters 3 --warmup 1 --impl cce 2>&1 | grep trace | tail -2 | tee -a $OUT/bench.txt | cut -c1-400
fi
if has exact; then
  echo "== cce-exact (Gemma head, 3 iterations)"
  CCE4J_TRACE=1 timeout 150 bash .gpu/run java org.cce4j.examples.GpuLossBenchmark --impl cce-exact --iters 3 --warmup 1 2>&1 | grep -E '^\{|trace' | tail -3 | tee -a $OUT/bench.txt | cut -c1-400
fi
if has losscheck; then
  echo "== loss --device cuda against float64 PyTorch"
  timeout 300 python3 $R/gpu_loss_check.py --cli "bash .gpu/run jar" --work /tmp/losscheck > $OUT/losscheck.txt 2>&1
  echo "rc=$?"; grep -vE "WARNING" $OUT/losscheck.txt | tail -25
fi
if has model; then
  for variant in ${MODEL_VARIANTS:-auto}; do
    echo "== model benchmark (ours, CCE backward $variant)"
    CCE4J_CCE_BACKWARD=$variant CCE4J_TRACE=1 timeout 200 bash .gpu/run java org.cce4j.examples.ModelBenchmark --optim none \
        --config $R/model_configs/llama-3.2-1b.json --batch ${BATCH:-25} --steps 3 --warmup 1 --profile > /tmp/model.txt 2>&1
    echo "rc=$?"; grep -E '^\{' /tmp/model.txt | cut -c1-700 | tee -a $OUT/model.txt
    grep 'trace' /tmp/model.txt | tail -2 | tee -a $OUT/model.txt | cut -c1-300
  done
fi
