# One text line rendered the way both OCR sets are (sourced by render-ocr-lines.sh and
# render-ocr-unseen.sh after ocr-text.sh; needs CONVERT and HEIGHT).

declare -A REF_Y REF_H   # per font+size: vertical extent of the tallest ink
ref_box() { # ref_box FONTFILE SIZE -> RY RH
  local key="$1:$2"
  if [ -z "${REF_Y[$key]:-}" ]; then
    local box
    box=$("$CONVERT" -font "$1" -pointsize "$2" 'label:Hgjy()|$Q' -format '%@' info:)
    # box = WxH+X+Y
    local wh=${box%%+*} xy=${box#*+}
    REF_H[$key]=${wh#*x}
    REF_Y[$key]=${xy#*+}
  fi
  RY=${REF_Y[$key]}; RH=${REF_H[$key]}
}

# render_line FONTFILE SIZE TEXT MARGIN SHIFT_Y FILE [EFFECT...]: black on white, HEIGHT px high,
# the ink's columns +- MARGIN, rows = the font's reference ink box centred (+ SHIFT_Y px), 8-bit grey.
render_line() {
  local font=$1 size=$2 text=$3 margin=$4 shift_y=$5 file=$6
  shift 6
  ref_box "$font" "$size"
  im_escape "$text"
  # Horizontal ink extent of this text (its label: canvas has the font's fixed line height).
  local box wh xy w x top cw
  box=$("$CONVERT" -font "$font" -pointsize "$size" "label:$E" -format '%@' info:)
  wh=${box%%+*}; xy=${box#*+}
  w=${wh%%x*}; x=${xy%%+*}
  top=$(( RY - (HEIGHT - RH) / 2 + shift_y ))
  cw=$(( w + 2 * margin ))
  "$CONVERT" -font "$font" -pointsize "$size" -background white -fill black "label:$E" \
    -bordercolor white -border 64 \
    -crop "${cw}x${HEIGHT}+$(( x - margin + 64 ))+$(( top + 64 ))" +repage \
    -colorspace Gray "$@" -depth 8 -strip -define png:color-type=0 -define png:bit-depth=8 \
    "$file"
}
