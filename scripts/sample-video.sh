#!/usr/bin/env bash
# Generates a short narrated lecture (three slides, one built up bullet by bullet)
# with ffmpeg and espeak-ng: scripts/sample-video.sh OUT.mp4
set -euo pipefail
OUT="$1"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
espeak-ng -v en-us -s 150 -w "$TMP/narration.wav" \
  "Welcome to this short lecture about photosynthesis. Plants capture sunlight with chlorophyll. \
The light reactions split water and release oxygen. The energy is stored as sugar. \
In summary, photosynthesis turns light into chemical energy. Thank you for watching."
t() { echo "drawtext=text='$1':fontsize=34:fontcolor=black:x=50:y=$2:enable='$3'"; }
FILTER="color=c=white:s=1280x720:d=24:r=10,$(t 'Photosynthesis' 60 'lt(t,8)'),$(t 'A short lecture' 140 'lt(t,8)'),\
$(t 'Light reactions' 60 'between(t,8,16)'),$(t '- water is split' 160 'between(t,10,16)'),$(t '- oxygen is released' 240 'between(t,12,16)'),\
$(t 'Summary' 60 'gte(t,16)'),$(t 'light becomes chemical energy' 160 'gte(t,16)')"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "$FILTER" -i "$TMP/narration.wav" \
  -af apad -t 24 -c:v libx264 -pix_fmt yuv420p -c:a aac "$OUT"
echo "sample video: $OUT"
