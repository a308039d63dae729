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
# the shaded trainer.jar repeats every module and dependency already in lib/: replace it by a manifest-only jar
# that names them (Class-Path) and the trainer module's own classes, so `bash .gpu/run jar ...` still works
jdk=$(ls -d /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* 2>/dev/null | head -1)
if [[ -d trainer/target/classes && -x $jdk/bin/jar ]]; then
  rm -f .gpu/lib/trainer.jar .gpu/lib/trainer-*.jar   # the shaded jar, also copied in as the examples' dependency
  "$jdk/bin/jar" --create --file .gpu/lib/trainer-classes.jar -C trainer/target/classes .
  cp=$(cd .gpu/lib && ls *.jar | grep -v -e '^junit-' -e '^opentest4j' -e '^apiguardian' | paste -sd' ')
  # manifest lines hold at most 72 bytes: continuation lines start with one space
  { echo "Main-Class: org.cce4j.trainer.cli.Main"; echo "Enable-Native-Access: ALL-UNNAMED";
    echo "Class-Path: $cp" | fold -w 70 | sed '2,$s/^/ /'; } > /tmp/trainer-manifest.txt
  "$jdk/bin/jar" --create --file .gpu/lib/trainer.jar --manifest /tmp/trainer-manifest.txt
fi
du -sh .gpu | awk '{print "gpu-bundle-slim: .gpu/ holds " $1}'
