#!/usr/bin/env bash
# Packs the build for the GPU machine with ../shared/tools/gpu-bundle, then drops what GPU runs never
# load and what pushes the bundle over the 64 MiB a device call can carry: the reference tokenizer
# library of the tokenizer tests (DJL with its Rust natives, and JNA) and those tests' classes.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
bundle_tool=${GPU_BUNDLE:-$root/../shared/tools/gpu-bundle}
"$bundle_tool" "$@"
cd "$root"
rm -f .gpu/lib/tokenizers-*.jar .gpu/lib/api-*.jar .gpu/lib/jna-*.jar
rm -rf .gpu/test-classes/tokenizer
du -sh .gpu | awk '{print "gpu-bundle-slim: .gpu/ holds " $1}'
