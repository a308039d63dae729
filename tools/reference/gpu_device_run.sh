#!/usr/bin/env bash
# One device call: environment, smoke, GPU tests, our benchmark, PyTorch's benchmark, SASS check.
set +e
C=$(cd "$(dirname "$0")" && pwd)
export CCE4J_KERNEL_CACHE=/tmp/cce4j-kernels
STEPS=${STEPS:-env,smoke,tests,bench,torch,sass}
has() { [[ ,$STEPS, == *,$1,* ]]; }
if has env; then
  { nvidia-smi -L; nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu --format=csv;
    ldconfig -p | grep -E "libcuda|nvrtc|cublas"; ls /usr/local/cuda/lib64 2>/dev/null | grep -E "nvrtc|cublas";
    python3 -c "import torch;print(torch.__version__, torch.cuda.get_device_name())"; } > $OUT/env.txt 2>&1
  cat $OUT/env.txt | head -20
fi
if has smoke; then
  echo "== smoke"
  timeout 90 bash $C/run java org.cce4j.examples.GpuLossBenchmark --n 1000 --d 256 --v 5000 --iters 2 --warmup 1 --impl cce,cce-exact,baseline > $OUT/smoke.txt 2>&1
  rc=$?; cat $OUT/smoke.txt | tail -8
  if [[ $rc -ne 0 ]] || grep -q error $OUT/smoke.txt; then
    echo "smoke failed ($rc): retry with SIMT forced"
    CCE4J_FORCE_SIMT=1 timeout 60 bash $C/run java org.cce4j.examples.GpuLossBenchmark --n 1000 --d 256 --v 5000 --iters 2 --warmup 1 --impl cce > $OUT/smoke_simt.txt 2>&1
    tail -4 $OUT/smoke_simt.txt
    [[ $rc -eq 124 ]] && export CCE4J_FORCE_SIMT=1
  fi
fi
if has tests; then
  echo "== tests"
  timeout ${TEST_TIMEOUT:-240} bash $C/run tests $TEST_ARGS > $OUT/tests.txt 2>&1
  echo "rc=$?"; grep -E "tests (successful|failed|aborted|skipped)|✘" $OUT/tests.txt | head -40
fi
if has bench; then
  echo "== bench"
  for args in "--softcap 0" "--softcap 30" "--d 4096 --v 128256"; do
    timeout ${BENCH_TIMEOUT:-120} bash $C/run java org.cce4j.examples.GpuLossBenchmark $args --impl ${BENCH_IMPLS:-cce,baseline} 2>&1 | tee -a $OUT/bench.txt | grep -v WARNING
  done
fi
if has variants; then
  echo "== variants (Gemma forward)"
  B="bash $C/run java org.cce4j.examples.GpuLossBenchmark --impl cce"
  for v in "X=1" "CCE4J_WGMMA_CLUSTER=1" "CCE4J_SPLITS=33" "CCE4J_WGMMA_CLUSTER=1 CCE4J_SPLITS=33" "X=2"; do
    echo "$v: $(env $v timeout 60 $B 2>&1 | grep '^{' | tee -a $OUT/variants.txt)"
  done
  for args in "--softcap 30" "--d 4096 --v 128256"; do
    for v in "X=1" "CCE4J_WGMMA_CLUSTER=1"; do
      echo "$v $args: $(env $v timeout 60 $B $args 2>&1 | grep '^{' | tee -a $OUT/variants.txt)"
    done
  done
fi
if has exact; then
  echo "== exact (Gemma, 3 iterations)"
  timeout 150 bash $C/run java org.cce4j.examples.GpuLossBenchmark --impl cce-exact --iters 3 --warmup 1 2>&1 | grep '^{' | tee -a $OUT/exact.txt
fi
if has ncu; then
  echo "== ncu (one Gemma forward)"
  timeout 200 ncu --clock-control none --kernel-name cce_forward_wgmma --launch-skip 1 --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section LaunchStats --section Occupancy \
    bash $C/run java org.cce4j.examples.GpuLossBenchmark --impl cce --iters 1 --warmup 1 > $OUT/ncu.txt 2>&1
  echo "rc=$?"; grep -E "Duration|Throughput|Pipe|Stall|Issued|Eligible|SM Busy|Registers|Warp Cycles" $OUT/ncu.txt | head -40
fi
if has losscheck; then
  echo "== loss --device cuda against float64 PyTorch"
  PYTHONUNBUFFERED=1 timeout 300 python3 $C/gpu_loss_check.py --cli "bash $C/run jar" --work /tmp/losscheck 2>&1 | tee $OUT/losscheck.txt | grep -vE "WARNING"
fi
if has sass && (( SECONDS < ${DEADLINE:-560} )); then
  echo "== sass"
  for f in /tmp/cce4j-kernels/*.cubin; do
    echo "$(basename $f): HGMMA $(cuobjdump -sass $f | grep -c HGMMA) HMMA $(cuobjdump -sass $f | grep -c 'HMMA') LDL/STL $(cuobjdump -sass $f | grep -cE 'LDL|STL')"
  done | tee $OUT/sass.txt
fi
if has torch; then
  echo "== torch"
  for args in "--softcap 0" "--softcap 30" "--d 4096 --v 128256"; do
    (( SECONDS > ${DEADLINE:-560} - 150 )) && { echo "skip torch $args: ${SECONDS}s used"; continue; }
    PYTHONUNBUFFERED=1 timeout 150 python3 $C/gpu_cce_bench.py $args 2>&1 | tee -a $OUT/torch.txt | grep "^{"
  done
fi
