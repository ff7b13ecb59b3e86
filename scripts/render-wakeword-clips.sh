#!/usr/bin/env bash
# Renders lowbit's wake-word test clips (issue 13 item 3): packages/cli/data/wakeword/*.wav (16 kHz
# mono 16-bit PCM, exactly 2.0 s each) and packages/cli/data/wakeword/manifest.json.
#
#   positives: "hey jarvis", "alexa", "hey mycroft" in 4 voices, speeds 130-190 wpm
#   negatives: near misses ("hey travis", "a lexicon", "hey my crowd") and everyday phrases, 2 voices
#   each clip clean, and with pink noise at 20 dB and 10 dB SNR (speech RMS over noise RMS)
#
# Deterministic: the phrases, voices, speeds and noise offsets come from fixed lists here; the noise
# is one pink-noise track from `sox -R` (repeatable mode: seeded generator), cut at a different offset
# per clip; dither is off (-D). Same espeak-ng + sox give the same bytes.
#
# Usage: scripts/render-wakeword-clips.sh [OUT_DIR]      (default packages/cli/data/wakeword)
# Needs espeak-ng and sox (apt-get install espeak-ng sox).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/packages/cli/data/wakeword}
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "render-wakeword-clips: $tool not found (apt-get install espeak-ng sox)" >&2; exit 1; }
done

RATE=16000
CLIP_SECONDS=2.0
LEAD_SECONDS=0.3              # silence before the speech
SNRS=(clean 20 10)
SPEEDS=(130 160 190)
POS_VOICES=(en-us en-gb en+f3 en+m3)
NEG_VOICES=(en-us en+f3)
# "phrase|what espeak-ng is given|wake word it should trigger" (espeak-ng reads "mycroft" as "mick-roft")
POSITIVES=("hey jarvis|hey jarvis|hey_jarvis" "alexa|alexa|alexa" "hey mycroft|hey my croft|hey_mycroft")
NEGATIVES=("hey travis" "hello there" "a lexicon" "hey my crowd" "what time is it" "turn on the kitchen light" "good morning everyone" "open the window please")

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/*.wav "$OUT"/manifest.json

# One 200 s pink-noise track; clip n takes 2 s of it starting at n * 2.3 s.
sox -R -D -n -r $RATE -c 1 -b 16 "$TMP/noise.wav" synth 200 pinknoise
NOISE_RMS=$(sox "$TMP/noise.wav" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}')

rms() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}'; }

# render INDEX NAME PHRASE SPOKEN WAKE VOICE SPEED
MANIFEST=()
render() {
  local n=$1 name=$2 phrase=$3 spoken=$4 wake=$5 voice=$6 speed=$7
  espeak-ng -v "$voice" -s "$speed" -w "$TMP/raw.wav" "$spoken"
  # 16 kHz mono, trimmed of espeak's own silences, peak at -6 dBFS
  sox -D "$TMP/raw.wav" -r $RATE -c 1 -b 16 "$TMP/speech.wav" silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse norm -6
  local speech_rms
  speech_rms=$(rms "$TMP/speech.wav")
  sox -D "$TMP/speech.wav" "$TMP/padded.wav" pad $LEAD_SECONDS $CLIP_SECONDS trim 0 $CLIP_SECONDS
  local snr
  for snr in "${SNRS[@]}"; do
    local file="$name-$snr.wav"
    if [ "$snr" = clean ]; then
      cp "$TMP/padded.wav" "$OUT/$file"
    else
      local offset gain
      offset=$(awk -v n="$n" -v s="$snr" 'BEGIN { printf "%.2f", (n * 3 + (s == 20 ? 1 : 2)) * 0.77 }')
      gain=$(awk -v s="$speech_rms" -v r="$NOISE_RMS" -v snr="$snr" 'BEGIN { printf "%.6f", s / (r * 10 ^ (snr / 20)) }')
      sox -D "$TMP/noise.wav" "$TMP/cut.wav" trim "$offset" $CLIP_SECONDS
      sox -D -m -v 1 "$TMP/padded.wav" -v "$gain" "$TMP/cut.wav" -b 16 "$OUT/$file"
    fi
    local snr_json
    if [ "$snr" = clean ]; then snr_json=null; else snr_json=$snr; fi
    local wake_json
    if [ "$wake" = none ]; then wake_json=null; else wake_json="\"$wake\""; fi
    MANIFEST+=("  {\"file\": \"$file\", \"phrase\": \"$phrase\", \"spoken\": \"$spoken\", \"wakeWord\": $wake_json, \"voice\": \"$voice\", \"speed\": $speed, \"snr\": $snr_json}")
  done
}

n=0
for p in "${!POSITIVES[@]}"; do
  IFS='|' read -r phrase spoken wake <<< "${POSITIVES[$p]}"
  for v in "${!POS_VOICES[@]}"; do
    voice=${POS_VOICES[$v]}
    speed=${SPEEDS[$(((p + v) % 3))]}
    render $n "pos-$wake-${voice/+/_}-$speed" "$phrase" "$spoken" "$wake" "$voice" "$speed"
    n=$((n + 1))
  done
done
for p in "${!NEGATIVES[@]}"; do
  phrase=${NEGATIVES[$p]}
  for v in "${!NEG_VOICES[@]}"; do
    voice=${NEG_VOICES[$v]}
    speed=${SPEEDS[$(((p + v) % 3))]}
    render $n "neg-${phrase// /_}-${voice/+/_}-$speed" "$phrase" "$phrase" none "$voice" "$speed"
    n=$((n + 1))
  done
done

{
  echo "["
  for i in "${!MANIFEST[@]}"; do
    if [ "$i" -lt $((${#MANIFEST[@]} - 1)) ]; then echo "${MANIFEST[$i]},"; else echo "${MANIFEST[$i]}"; fi
  done
  echo "]"
} > "$OUT/manifest.json"
echo "render-wakeword-clips: ${#MANIFEST[@]} clips in $OUT ($(du -sh "$OUT" | cut -f1))"
