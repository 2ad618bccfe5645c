"""Audio bombs (security issue #10): time and peak RSS of refusing / transcribing them.

    .venv/bin/python bench/audio_bombs.py            # decoding only (seconds)
    .venv/bin/python bench/audio_bombs.py --asr      # also Whisper on 55 min of silence (minutes)

Each measurement runs in its own process, so peak RSS is that case's alone. Baselines run in
the same script: decoding the whole file as one ``soundfile.read`` (what ``decode_audio`` did
before it read the header first), and Whisper with ``vad_filter=False`` (the old default).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine


def silent_flac(path: Path, seconds: int, rate_hz: int, channels: int) -> None:
    import numpy as np
    import soundfile as sf

    block = np.zeros((rate_hz * 10, channels), np.int16)
    with sf.SoundFile(path, "w", samplerate=rate_hz, channels=channels, format="FLAC", subtype="PCM_16") as out:
        for _ in range(seconds // 10):
            out.write(block)


def measure(case: str, path: Path) -> dict:
    """Run one case in this process (the child); return seconds, peak RSS and the outcome."""
    import resource

    data = path.read_bytes()
    start = time.perf_counter()
    try:
        if case == "whole-file read":
            import io

            import soundfile as sf

            outcome = f"{len(sf.read(io.BytesIO(data), dtype='float32')[0])} frames"
        elif case == "decode_audio":
            from modelbay.core.media import decode_audio

            outcome = f"{len(decode_audio(data)) / 16000:.0f} s decoded"
        else:
            from modelbay.core.loading import load_task

            asr = load_task("speech-recognition")
            start = time.perf_counter()  # the model load is not what is measured
            vad = {"asr vad off": {"vad_filter": False}, "asr default": {}}[case]
            out = asr([asr.coerce({"audio": data, **vad})])[0]
            outcome = f"{len(out.segments)} segments, text {out.text[:40]!r}"
    except Exception as exc:  # noqa: BLE001 - a refusal is an outcome to report
        outcome = f"{type(exc).__name__}: {str(exc)[:80]}"
    seconds = time.perf_counter() - start
    return {"case": case, "s": round(seconds, 2), "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "outcome": outcome}


def run_child(case: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", case, str(path)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(measure(sys.argv[2], Path(sys.argv[3]))))
        return
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        bomb, silence = Path(tmp) / "bomb.flac", Path(tmp) / "silence.flac"
        silent_flac(bomb, 2 * 3600, 48_000, 4)
        print(f"bomb: 2 h, 4 channels, 48 kHz silence = {bomb.stat().st_size / 1e6:.1f} MB FLAC")
        for case in ("whole-file read", "decode_audio"):
            print(run_child(case, bomb))
        if "--asr" in sys.argv:
            silent_flac(silence, 55 * 60, 16_000, 1)
            print(f"silence: 55 min, 16 kHz mono = {silence.stat().st_size / 1e3:.0f} KB FLAC")
            for case in ("asr vad off", "asr default"):
                print(run_child(case, silence))


if __name__ == "__main__":
    main()
