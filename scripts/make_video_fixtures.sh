#!/usr/bin/env bash
# Makes the video and camera-audio fixtures the tests read (tests/video.rs), with ffmpeg from lavfi
# test sources, and ffmpeg's own decode of each one's audio as the reference. Nothing here is
# committed: the files go to target/fixtures/video/ (override with FIXTURES=DIR) and are remade when
# this script or the ffmpeg version changes. scripts/setup_test.sh runs it (and installs ffmpeg).
#
# Every audio source is the same two-channel signal: channel c (0-based) is a sine at
# 440 * (c + 1) Hz, amplitude 0.5 (lavfi `sine` writes 1/8 full scale; `volume=4` makes it 0.5) —
# 1.0 s, plus 37 samples so that no length is a whole number of codec frames.
#
# For each fixture NAME.EXT: NAME.EXT.ref.f32 (ffmpeg's decode of the first audio stream, f32le
# interleaved) and one line in manifest.tsv:
#   file  channels  sample_rate  source_frames  audio_start_s  kind(pcm|lossless|lossy|ffmpeg)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${FIXTURES:-target/fixtures/video}
command -v ffmpeg >/dev/null || { echo "make_video_fixtures.sh: ffmpeg missing (apt-get install -y ffmpeg)" >&2; exit 1; }

stamp="$(sha256sum "$0" | cut -c1-16) $(ffmpeg -version | head -1)"
if [ -f "$OUT/manifest.tsv" ] && [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$stamp" ]; then
    exit 0
fi
rm -rf "$OUT"
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ff() { ffmpeg -nostdin -v error -y "$@"; }

# source audio at RATE: two channels, 1 s + 37 samples
audio_src() {
    local rate=$1
    local n=$((rate + 37))
    echo "sine=frequency=440:sample_rate=$rate,volume=4,atrim=end_sample=$n[l];sine=frequency=880:sample_rate=$rate,volume=4,atrim=end_sample=$n[r];[l][r]join=inputs=2:channel_layout=stereo"
}
# a tiny picture: 32x32 test pattern, 25 fps, 1.1 s
video_src() { echo "testsrc=size=32x32:rate=25:duration=1.1"; }

# make NAME KIND RATE START CHANNELS -- command...
make() {
    local name=$1 kind=$2 rate=$3 start=$4 channels=$5
    shift 6
    "$@"
    ff -i "$OUT/$name" -map 0:a:0 -f f32le -c:a pcm_f32le "$OUT/$name.ref.f32"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$channels" "$rate" $((rate + 37)) "$start" "$kind" >>"$OUT/manifest.tsv"
}

# 5.1 at RATE: channel c is a sine at 220 * (c + 1) Hz, 1 s + 37 samples
audio_51() {
    local rate=$1
    local n=$((rate + 37)) graph="" labels=""
    for c in 0 1 2 3 4 5; do
        graph+="sine=frequency=$((220 * (c + 1))):sample_rate=$rate,volume=4,atrim=end_sample=$n[c$c];"
        labels+="[c$c]"
    done
    echo "${graph}${labels}join=inputs=6:channel_layout=5.1"
}

printf '1\n00:00:00,100 --> 00:00:00,900\nroom tone\n' >"$TMP/subs.srt"
# QuickTime PCM in every flavour a MOV carries (twos/sowt, in24, in32, fl32, fl64 in both byte
# orders), with a picture and a timecode track before the audio, as cameras and editors write them.
for codec in pcm_s16be pcm_s16le pcm_s24be pcm_s24le pcm_s32be pcm_s32le pcm_f32be pcm_f32le pcm_f64be pcm_f64le; do
    make "camera_$codec.mov" pcm 48000 0 2 -- \
        ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 48000)" -map 0:v -map 1:a \
        -c:v mjpeg -q:v 10 -c:a "$codec" -timecode 01:00:00:00 -shortest "$OUT/camera_$codec.mov"
done

# Above 65,535 Hz the sound description cannot hold the rate and ffmpeg writes the version 2 `lpcm`
# entry (its flags give depth, float and byte order): 96 kHz in 24-bit either byte order and
# big-endian float.
for codec in pcm_s24be pcm_s24le pcm_f32be; do
    make "camera_96k_$codec.mov" pcm 96000 0 2 -- \
        ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 96000)" -map 0:v -map 1:a \
        -c:v mjpeg -q:v 10 -c:a "$codec" -timecode 01:00:00:00 -shortest "$OUT/camera_96k_$codec.mov"
done

# AAC without an edit list but with iTunes gapless info, as iTunes-family encoders write it: the
# priming (1,024), padding and source length in an iTunSMPB tag (scripts/add_itunsmpb.py).
gapless() {
    local n=$((48000 + 37))
    ff -f lavfi -i "$(audio_src 48000)" -c:a aac -b:a 192k -use_editlist 0 "$TMP/gapless.m4a"
    local total=$(( (n + 1024 + 1023) / 1024 * 1024 ))
    python3 scripts/add_itunsmpb.py "$TMP/gapless.m4a" "$OUT/aac_gapless.m4a" 1024 $((total - 1024 - n)) "$n"
}
make aac_gapless.m4a lossy 48000 0 2 -- gapless

# AAC: an MP4 with picture (ffmpeg writes the encoder's priming as an edit list), an M4A at 44.1 kHz,
# and an MP4 whose audio starts 0.5 s after the picture (an empty edit before the audio).
make h264_aac.mp4 lossy 48000 0 2 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 48000)" -map 0:v -map 1:a \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 192k "$OUT/h264_aac.mp4"
make aac_44k.m4a lossy 44100 0 2 -- \
    ff -f lavfi -i "$(audio_src 44100)" -c:a aac -b:a 192k "$OUT/aac_44k.m4a"
make late_audio.mp4 lossy 48000 0.5 2 -- \
    ff -f lavfi -i "$(video_src)" -itsoffset 0.5 -f lavfi -i "$(audio_src 48000)" -map 0:v -map 1:a \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 192k "$OUT/late_audio.mp4"

# Video out inputs: an MP4 with two audio tracks (stereo, then a mono 330 Hz commentary) and a
# subtitle track; an MKV with 5.1 FLAC, a subtitle and a chapter; a WebM with VP9 and Vorbis.
make two_audio_subs.mp4 lossy 48000 0 2 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 48000)" \
    -f lavfi -i "sine=frequency=330:sample_rate=48000,volume=4,atrim=end_sample=48037" -i "$TMP/subs.srt" \
    -map 0:v -map 1:a -map 2:a -map 3:s -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
    -c:a aac -b:a 192k -c:s mov_text "$OUT/two_audio_subs.mp4"
printf ';FFMETADATA1\ntitle=fixture\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle=one\n' >"$TMP/chapters.txt"
make h264_flac51.mkv lossless 48000 0 6 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_51 48000)" -i "$TMP/subs.srt" -i "$TMP/chapters.txt" \
    -map 0:v -map 1:a -map 2:s -map_chapters 3 -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
    -c:a flac -c:s srt "$OUT/h264_flac51.mkv"
make vp9_vorbis.webm lossy 48000 0 2 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 48000)" -map 0:v -map 1:a \
    -c:v libvpx-vp9 -deadline realtime -b:v 100k -c:a libvorbis -q:a 6 "$OUT/vp9_vorbis.webm"

# What symphonia does not read, decoded through ffmpeg (kind "ffmpeg": our decode must equal
# ffmpeg's): AC-3 5.1 in MKV, MP2 and AAC in MPEG-TS, PCM in MXF, RF64, Wave64, PCM in AVI, WMA,
# Opus in WebM.
make h264_ac3_51.mkv ffmpeg 48000 0 6 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_51 48000)" -map 0:v -map 1:a \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a ac3 -b:a 384k "$OUT/h264_ac3_51.mkv"
# The same 5.1 under a VP9 picture, which a WebM output can copy (AC-3 decodes as 5.1(side)).
make vp9_ac3_51.mkv ffmpeg 48000 0 6 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_51 48000)" -map 0:v -map 1:a \
    -c:v libvpx-vp9 -deadline realtime -b:v 100k -c:a ac3 -b:a 384k "$OUT/vp9_ac3_51.mkv"
make mp2.ts ffmpeg 48000 0 2 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 48000)" -map 0:v -map 1:a \
    -c:v mpeg2video -c:a mp2 -b:a 256k "$OUT/mp2.ts"
make aac.ts ffmpeg 48000 0 2 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 48000)" -map 0:v -map 1:a \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac "$OUT/aac.ts"
make pcm.mxf ffmpeg 48000 0 2 -- \
    ff -f lavfi -i "testsrc=size=720x576:rate=25:duration=1.1" -f lavfi -i "$(audio_src 48000)" \
    -map 0:v -map 1:a -c:v mpeg2video -pix_fmt yuv422p -b:v 5M -c:a pcm_s24le "$OUT/pcm.mxf"
make long_take.rf64 ffmpeg 48000 0 2 -- \
    ff -f lavfi -i "$(audio_src 48000)" -c:a pcm_s24le -rf64 always -f wav "$OUT/long_take.rf64"
make pcm.w64 ffmpeg 48000 0 2 -- \
    ff -f lavfi -i "$(audio_src 48000)" -c:a pcm_s24le "$OUT/pcm.w64"
make pcm.avi ffmpeg 48000 0 2 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 48000)" -map 0:v -map 1:a \
    -c:v mjpeg -c:a pcm_s16le "$OUT/pcm.avi"
make speech.wma ffmpeg 44100 0 2 -- \
    ff -f lavfi -i "$(audio_src 44100)" -c:a wmav2 -b:a 192k "$OUT/speech.wma"
make vp9_opus.webm ffmpeg 48000 0 2 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 48000)" -map 0:v -map 1:a \
    -c:v libvpx-vp9 -deadline realtime -b:v 100k -c:a libopus "$OUT/vp9_opus.webm"
make fragmented.mp4 lossy 48000 0 2 -- \
    ff -f lavfi -i "$(video_src)" -f lavfi -i "$(audio_src 48000)" -map 0:v -map 1:a \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -movflags frag_keyframe+empty_moov \
    "$OUT/fragmented.mp4"

# A MOV whose mdhd duration is longer than its sample table (ffmpeg writes one when a looped Ogg
# input is cut with -t): the samples present are the stream, not "truncated".
ff -f lavfi -i "$(audio_src 44100)" -c:a libvorbis -q:a 4 "$TMP/loop.ogg"
ff -f lavfi -i "$(video_src)" -stream_loop -1 -i "$TMP/loop.ogg" -t 3 -map 0:v -map 1:a \
    -c:v mjpeg -c:a pcm_s24le "$OUT/looped_input.mov"
ff -i "$OUT/looped_input.mov" -map 0:a:0 -f f32le -c:a pcm_f32le "$OUT/looped_input.mov.ref.f32"
frames=$(ffprobe -v error -select_streams a:0 -show_entries stream=duration_ts -of csv=p=0 "$OUT/looped_input.mov")
printf 'looped_input.mov\t2\t44100\t%s\t0\tlossless\n' "$frames" >>"$OUT/manifest.tsv"

echo "$stamp" >"$OUT/stamp"
echo "make_video_fixtures.sh: $(wc -l <"$OUT/manifest.tsv") fixtures in $OUT" >&2
