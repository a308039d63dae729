#!/usr/bin/env bash
# Data parallel on the GPU machine through the real NCCL path: a training fixture (llama_full, f32) trained by
# `train` on one GPU and by `train --gpus N` (N = the GPUs present, 1 on a one-GPU machine: world size 1 through
# the launcher, the TCP rendezvous and NcclCommunicator), plain and with ZeRO-1; each run against PyTorch's
# reference metrics and weights (train_compare.py, 1e-4), and the runs' losses side by side.
set +e
export CCE4J_KERNEL_CACHE=/tmp/cce4j-kernels PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
OUT=${OUT:-/tmp/ddp-check}; mkdir -p "$OUT"
R=tools/reference; FX=trainer/src/test/resources/train-reference/${CASE:-llama_full}
N=${GPUS:-$(nvidia-smi -L | wc -l)}
for run in "one" "gpus --gpus $N" "zero --gpus $N --set train.zero=1"; do
  set -- $run; name=$1; shift
  o=/tmp/ddp/$name; rm -rf $o
  echo "== train $name: $*"
  timeout 120 bash .gpu/run jar train --config $FX/config.yaml --set output=$o --set device=cuda "$@" > $OUT/train-$name.txt 2>&1
  echo "rc=$?"; grep -E "rank|error|done" $OUT/train-$name.txt | cut -c1-200 | head -8
  python3 $R/train_compare.py $FX/expected $o --metrics-tol 1e-4 --weights-tol 1e-4 2>&1 | tail -3
done
python3 - <<'PY'
import json
runs = {n: [json.loads(l)["loss"] for l in open(f"/tmp/ddp/{n}/metrics.jsonl") if "grad_norm" in l] for n in ("one", "gpus", "zero")}
for i, row in enumerate(zip(*runs.values())):
    print("step", i + 1, " ".join(f"{x:.8f}" for x in row), "max |diff|", f"{max(row) - min(row):.2e}")
PY
