#!/usr/bin/env bash
# Makes real Mandarin speech for the tests: recorded syllables (Debian's gcin-voice, a
# human voice; espeak-ng's Mandarin is not intelligible to Whisper) joined by ffmpeg
# into a 16 kHz mono WAV. Deterministic: the same syllables give the same bytes.
# usage: mandarin-speech.sh OUT.wav "SYL SYL ... | SYL ..."
#   SYL: a gcin-voice folder name, zhuyin plus tone digit (none: 1st tone, 2: ˊ, 3: ˇ,
#   4: ˋ, 1: neutral); '|' is a pause between sentences.
set -euo pipefail
OGG=/usr/share/gcin-voice/ogg
[ -d "$OGG" ] || { echo "mandarin-speech: gcin-voice is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
out=$1
syllables=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ffmpeg -loglevel error -f lavfi -i anullsrc=r=16000:cl=mono -t 0.03 -c:a pcm_s16le "$tmp/gap.wav"
ffmpeg -loglevel error -f lavfi -i anullsrc=r=16000:cl=mono -t 0.5 -c:a pcm_s16le "$tmp/pause.wav"
echo "file '$tmp/pause.wav'" >"$tmp/list.txt"
i=0
for s in $syllables; do
  if [ "$s" = "|" ]; then
    echo "file '$tmp/pause.wav'" >>"$tmp/list.txt"
    continue
  fi
  f="$OGG/$s/3.ogg"
  [ -f "$f" ] || { echo "mandarin-speech: no recording of the syllable $s" >&2; exit 1; }
  i=$((i + 1))
  ffmpeg -loglevel error -i "$f" -ac 1 -ar 16000 \
    -af "silenceremove=start_periods=1:start_threshold=-30dB,areverse,silenceremove=start_periods=1:start_threshold=-30dB,areverse" \
    -c:a pcm_s16le "$tmp/s$i.wav"
  printf "file '%s'\nfile '%s'\n" "$tmp/s$i.wav" "$tmp/gap.wav" >>"$tmp/list.txt"
done
echo "file '$tmp/pause.wav'" >>"$tmp/list.txt"
ffmpeg -loglevel error -y -f concat -safe 0 -i "$tmp/list.txt" -c:a pcm_s16le -ar 16000 -ac 1 "$out"
