"""Transcribe one audio file with faster-whisper, as Video2Doc's speed bench compares.

usage: faster_whisper_run.py MODEL_DIR AUDIO THREADS
Prints one JSON line: load_s, transcribe_s, text.
"""
import json
import sys
import time

t0 = time.perf_counter()
from faster_whisper import WhisperModel  # noqa: E402

model_dir, audio, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = WhisperModel(model_dir, device="cpu", compute_type="float32", cpu_threads=threads)
t1 = time.perf_counter()
segments, _info = model.transcribe(audio, beam_size=1, language="en", vad_filter=False)
text = " ".join(s.text.strip() for s in segments)
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "transcribe_s": t2 - t1, "text": text}))
