#!/usr/bin/env bash
# Renders a second labelled set of OCR lines in fonts and conditions the calibration set never has
# (packages/cli/data/ocr-unseen/): bench/accuracy.mjs --unseen scores each scheme on it, calibrated
# as always on the built-in lines' calibration part (4 regular fonts, 26..32 pt, clean black on white).
# Here: 8 other fonts (monospace, bold, italic, condensed, narrow), and per line one condition:
#   clean   26..32 pt, as the calibration lines
#   small   20..22 pt          large  34..36 pt
#   blur    Gaussian blur sigma 0.9
#   noise   Gaussian pixel noise (ImageMagick's own seeded generator)
#   faint   low contrast: ink at grey 90, paper at grey 200
# The font column of labels.tsv is "font/condition". Texts come from the same generator as
# render-ocr-lines.sh (scripts/ocr-text.sh) with another seed, and no text of the built-in set repeats.
# Deterministic like render-ocr-lines.sh (same ImageMagick 6 + font files give the same bytes).
#
# Usage: scripts/render-ocr-unseen.sh [OUT_DIR] [COUNT]      (defaults: packages/cli/data/ocr-unseen, 144)
# Needs ImageMagick 6 (apt-get install imagemagick) and fonts-dejavu-core fonts-dejavu-extra fonts-liberation.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/packages/cli/data/ocr-unseen}
COUNT=${2:-144}
CONVERT=${CONVERT:-/usr/bin/convert}
"$CONVERT" -version 2>/dev/null | grep -q ImageMagick || { echo "render-ocr-unseen: ImageMagick convert not found (apt-get install imagemagick)" >&2; exit 1; }

D=/usr/share/fonts/truetype/dejavu L=/usr/share/fonts/truetype/liberation
FONT_NAMES=(DejaVuSansMono DejaVuSans-Bold DejaVuSerif-Italic DejaVuSansCondensed LiberationMono LiberationSansNarrow LiberationSerif-BoldItalic LiberationSans-Italic)
FONT_FILES=("$D/DejaVuSansMono.ttf" "$D/DejaVuSans-Bold.ttf" "$D/DejaVuSerif-Italic.ttf" "$D/DejaVuSansCondensed.ttf"
  "$L/LiberationMono-Regular.ttf" "$L/LiberationSansNarrow-Regular.ttf" "$L/LiberationSerif-BoldItalic.ttf" "$L/LiberationSans-Italic.ttf")
for f in "${FONT_FILES[@]}"; do
  [ -f "$f" ] || { echo "render-ocr-unseen: missing font $f (apt-get install fonts-dejavu-core fonts-dejavu-extra fonts-liberation)" >&2; exit 1; }
done
CONDITIONS=(clean small large blur noise faint)
HEIGHT=48

SEED=20261206
# shellcheck source=ocr-text.sh
source "$HERE/ocr-text.sh"
# shellcheck source=ocr-render.sh
source "$HERE/ocr-render.sh"

mkdir -p "$OUT"
rm -f "$OUT"/[0-9][0-9][0-9][0-9].png "$OUT/labels.tsv"
declare -A SEEN
while IFS=$'\t' read -r _ t _; do SEEN[$t]=1; done < "$ROOT/packages/cli/data/ocr-lines/labels.tsv"

printf '' > "$OUT/labels.tsv"
i=0 tries=0
while [ $i -lt "$COUNT" ]; do
  tries=$((tries + 1))
  [ $tries -le $((COUNT * 20)) ] || { echo "render-ocr-unseen: could not make $COUNT distinct texts" >&2; exit 1; }
  make_text
  len=${#T}
  if [ "$len" -lt 3 ] || [ "$len" -gt 30 ] || [ -n "${SEEN[$T]:-}" ]; then continue; fi
  SEEN[$T]=1
  # every font meets every condition: font i mod 8, condition (i div 8) mod 6
  fi_=$(( i % ${#FONT_NAMES[@]} ))
  cond=${CONDITIONS[$(( (i / ${#FONT_NAMES[@]}) % ${#CONDITIONS[@]} ))]}
  font=${FONT_FILES[$fi_]}
  case $cond in
    small) S2=(20 21 22) ;;
    large) S2=(34 35 36) ;;
    *) S2=(26 28 30 32) ;;
  esac
  pick S2; size=$P
  rand 3; margin=$(( 4 + R ))
  rand 5; shift_y=$(( R - 2 ))
  case $cond in
    blur) EFFECT=(-blur 0x0.9) ;;
    noise) EFFECT=(-seed $((i + 1)) -attenuate 0.5 +noise Gaussian) ;;
    faint) EFFECT=(+level 35%,78%) ;;
    *) EFFECT=() ;;
  esac
  file=$(printf '%04d.png' $((i + 1)))
  render_line "$font" "$size" "$T" "$margin" "$shift_y" "$OUT/$file" "${EFFECT[@]}"
  printf '%s\t%s\t%s\n' "$file" "$T" "${FONT_NAMES[$fi_]}/$cond" >> "$OUT/labels.tsv"
  i=$((i + 1))
done
for f in "$OUT"/[0-9][0-9][0-9][0-9].png; do
  g=$("$CONVERT" "$f" -format '%h' info:)
  [ "$g" = "$HEIGHT" ] || { echo "render-ocr-unseen: $f is $g px high" >&2; exit 1; }
done
echo "render-ocr-unseen: $COUNT lines in $OUT ($(du -sh "$OUT" | cut -f1))"
