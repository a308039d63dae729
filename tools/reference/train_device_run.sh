#!/usr/bin/env bash
# The train issue's checks on the GPU machine, in one device call (STEPS, comma-separated), logs under $OUT.
# Run from the checkout root with the bundle in .gpu/:  STEPS=fixtures,gputests,gputrain bash tools/reference/train_device_run.sh
#   fixtures  train_selfcheck.py, then train_fixtures.py into trainer/src/test/resources/train-reference (CPU torch),
#             re-checked; the folder comes back as $OUT/train-reference.tgz
#   gputests  every GPU-tagged test of the bundle
#   gputrain  cce4j train on the GPU on each fixture: f32 against the CPU reference (1e-4), bf16 against it (2e-2 on the
#             loss curve); torch's own bf16 (autocast) run of the same case beside it
#   diag      $CASE (default gemma2_full) with each loss implementation on the GPU in f32, and on the CPU
# The logs come back as $OUT/logs.tgz (a device call returns at most 8 files).
set +e
export CCE4J_KERNEL_CACHE=/tmp/cce4j-kernels PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
OUT=${OUT:-/tmp/train-run}; mkdir -p "$OUT"
STEPS=${STEPS:-fixtures,gputests,gputrain}
R=tools/reference
FX=trainer/src/test/resources/train-reference
has() { [[ ,$STEPS, == *,$1,* ]]; }
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; date -u; python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'; } 2>&1 | tee $OUT/env.txt
if has fixtures; then
  echo "== fixtures"
  timeout 300 python3 $R/train_selfcheck.py > $OUT/selfcheck.txt 2>&1; echo "selfcheck rc=$?"; tail -3 $OUT/selfcheck.txt
  rm -rf $FX; timeout 300 python3 $R/train_fixtures.py $FX > $OUT/fixtures.txt 2>&1; echo "fixtures rc=$?"; tail -3 $OUT/fixtures.txt
  timeout 300 python3 $R/train_selfcheck.py $FX > $OUT/selfcheck-fixtures.txt 2>&1; echo "recheck rc=$?"; tail -3 $OUT/selfcheck-fixtures.txt
  tar czf $OUT/train-reference.tgz -C trainer/src/test/resources train-reference
fi
if has diag; then
  c=${CASE:-gemma2_full}
  for v in "cuda cce" "cuda cce-exact" "cuda baseline" "cpu cce"; do
    set -- $v
    echo "== diag $c: $1 $2"
    o=/tmp/diag/$c-$1-$2; rm -rf $o
    timeout 200 bash .gpu/run jar train --config $FX/$c/config.yaml --set output=$o --set device=$1 --set dtype=f32 --set loss.impl=$2 \
        > $OUT/diag-$c-$1-$2.txt 2>&1; echo "rc=$?"
    python3 $R/train_compare.py $FX/$c/expected $o --metrics-tol 1e-5 --weights-tol 1e-5 2>&1 | tee -a $OUT/compare.txt
    python3 - $FX/$c/expected/metrics.jsonl $o/metrics.jsonl <<'PY' | tee -a $OUT/compare.txt
import json, sys
e = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
a = [json.loads(l) for l in open(sys.argv[2]) if l.strip() and "grad_norm" in l]
for x, y in zip(e, a):
    print("  step %2d  loss %.9f vs %.9f  grad_norm %.9f vs %.9f" % (x["step"], x["loss"], y["loss"], x["grad_norm"], y["grad_norm"]))
PY
  done
fi
if has gputests; then
  echo "== GPU tests"
  timeout 400 bash .gpu/run tests > $OUT/gputests.txt 2>&1; echo "rc=$?"
  grep -E "tests (successful|failed|found)" $OUT/gputests.txt; grep -E "✘" $OUT/gputests.txt | head -30
fi
if has gputrain; then
  for case in $(ls $FX | grep -v manifest); do
    for dt in f32 bf16; do
      echo "== $case on cuda, $dt"
      o=/tmp/gputrain/$case-$dt; rm -rf $o
      timeout 200 bash .gpu/run jar train --config $FX/$case/config.yaml --set output=$o --set device=cuda --set dtype=$dt \
          > $OUT/train-$case-$dt.txt 2>&1; echo "rc=$?"; grep -E "memory|done|error" $OUT/train-$case-$dt.txt | cut -c1-200
      if [[ $dt == f32 ]]; then tol="--metrics-tol 1e-4 --weights-tol 1e-4"; else tol="--metrics-tol 2e-2 --keys loss"; fi
      python3 $R/train_compare.py $FX/$case/expected $o $tol 2>&1 | tee -a $OUT/compare.txt
    done
    echo "== $case: torch bf16 (autocast) against its f32"
    timeout 200 python3 $R/train_reference.py --config $FX/$case/config.yaml --out /tmp/gputrain/$case-torch-bf16 --device cuda --dtype bf16 > /dev/null 2>&1
    python3 $R/train_compare.py $FX/$case/expected /tmp/gputrain/$case-torch-bf16 --metrics-tol 2e-2 --keys loss 2>&1 | tee -a $OUT/compare.txt
  done
fi
( cd $OUT && tar czf logs.tgz --exclude logs.tgz --exclude train-reference.tgz *.txt 2>/dev/null && rm -f *.txt )
