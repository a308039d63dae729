#!/usr/bin/env bash
# The attention kernels alone, on the GPU machine: the training step's attention time (ModelBenchmark
# --profile) with each CCE4J_ATTN_STAGES of $STAGES_LIST, and Nsight Compute's view of the forward and the
# fused backward (speed of light, warp stalls, occupancy) on a small batch of the same shapes, to see what
# bounds them. Run from the checkout root with the bundle in .gpu/:
#   STAGES_LIST="2 3 4" MODELS="llama-3.2-1b gemma-2-2b" bash tools/reference/attention_device_run.sh
# Logs go to $OUT (one tarball).
set +e
export CCE4J_KERNEL_CACHE=/tmp/cce4j-kernels
OUT=${OUT:-/tmp/attention-run}; mkdir -p "$OUT"
R=tools/reference
MODELS=${MODELS:-llama-3.2-1b}
STAGES_LIST=${STAGES_LIST:-2 3}
batch() { case $1 in llama*) echo ${EQUAL_llama:-16};; *) echo ${EQUAL_gemma:-8};; esac; }
for model in $MODELS; do
  cfg=$R/model_configs/$model.json
  for st in $STAGES_LIST; do
    echo "== $model CCE4J_ATTN_STAGES=$st"
    CCE4J_ATTN_STAGES=$st timeout 150 bash .gpu/run java org.cce4j.examples.ModelBenchmark --config $cfg --batch $(batch $model) \
        --steps 3 --warmup 1 --optim adamw --profile > $OUT/stages-$model-$st.txt 2>&1
    python3 - $OUT/stages-$model-$st.txt <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.startswith('{"impl"') and '"measured"' in l:
        d = json.loads(l); print("  tokens/s", d["tokens_per_s"], "step ms", d["step_ms"])
    if l.startswith('{"profile"'):
        o = json.loads(l)["ops_ms"]; print("  attention forward", o["attention"][0], "ms, backward", o["attentionBackward"][0], "ms")
PY
  done
  if [[ -n ${NCU:-1} ]] && command -v ncu > /dev/null; then
    echo "== ncu $model (batch 1, the first forward and fused backward)"
    timeout 240 ncu --clock-control none --target-processes all --kernel-name regex:'attn_(fwd|bwd_fused)' --launch-count 2 \
        --section SpeedOfLight --section WarpStateStats --section Occupancy --section LaunchStats --section MemoryWorkloadAnalysis \
        bash .gpu/run java org.cce4j.examples.ModelBenchmark --config $cfg --batch 1 --steps 1 --warmup 0 --optim none \
        > $OUT/ncu-$model.txt 2>&1
    echo "ncu rc=$?"; grep -E "attn_|Duration|Compute \(SM\) Throughput|Memory Throughput|Stall|Achieved Occupancy|Registers Per" $OUT/ncu-$model.txt | head -40
  fi
done
( cd $OUT && tar czf attention-logs.tgz --exclude '*.tgz' $(ls | grep -v '\.tgz$') 2>/dev/null && ls | grep -v '\.tgz$' | xargs rm -rf )
