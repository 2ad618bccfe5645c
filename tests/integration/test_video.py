"""Bounded video decoding (``core/video.py``) and the video tasks on videos made here from scikit-image photos.

The videos are hand-made (smoke tests): 2 s shots of scikit-image's astronaut, chelsea (a cat) and
coffee photos, slowly panning, cut hard between shots.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from modelbay.core.errors import BadInput, PayloadTooLarge
from modelbay.core.settings import Limits
from modelbay.core.video import sample_frames, video_info

av = pytest.importorskip("av")
skimage_data = pytest.importorskip("skimage.data")

pytestmark = pytest.mark.models("video-classification", "video-analysis")
CATS = {"Egyptian cat", "tabby", "tiger cat", "lynx", "Persian cat"}
COFFEE = {"espresso", "cup", "coffee mug", "eggnog"}


def make_video(seconds: float = 6.0, fps: int = 10, size: tuple[int, int] = (224, 160), fmt: str = "mp4",
               codec: str = "libx264", shot_s: float = 2.0, audio: bool = False, b_frames: bool = True) -> bytes:
    """Shots of astronaut, chelsea, coffee (``shot_s`` each, in turn), panning 20 px/s."""
    from PIL import Image

    photos = [np.asarray(Image.fromarray(f()).convert("RGB").resize(size))
              for f in (skimage_data.astronaut, skimage_data.chelsea, skimage_data.coffee)]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {} if b_frames else {"bf": "0"}
        sound = out.add_stream("aac", rate=16000) if audio else None
        for i in range(int(seconds * fps)):
            t = i / fps
            img = np.roll(photos[int(t // shot_s) % 3], int(t * 20) % 40, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                out.mux(packet)
        if sound is not None:
            tone = av.AudioFrame.from_ndarray(np.zeros((1, 16000 * int(seconds + 3)), np.float32), format="fltp",
                                              layout="mono")
            tone.sample_rate = 16000
            for packet in [*sound.encode(tone), *sound.encode()]:
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


@pytest.fixture(scope="module")
def clip() -> bytes:
    return make_video()


@pytest.fixture(scope="module")
def ip_clip() -> bytes:
    """Without B-frames: every frame is decoded when sampled, so sample times are exact."""
    return make_video(b_frames=False)


# -- core/video.py: sampling ----------------------------------------------------------------

def test_one_frame_per_second_at_the_right_times(ip_clip):
    frames = list(sample_frames(ip_clip, sample_fps=1.0))
    assert [f.time_s for f in frames] == pytest.approx([0, 1, 2, 3, 4, 5])
    assert [f.index for f in frames] == [0, 10, 20, 30, 40, 50]
    assert frames[0].image.size == (224, 160) and frames[0].image.mode == "RGB"


def test_fractional_and_high_rates_and_max_seconds(ip_clip):
    assert [f.time_s for f in sample_frames(ip_clip, sample_fps=0.4)] == pytest.approx([0, 2.5, 5.0])
    assert len(list(sample_frames(ip_clip, sample_fps=30))) == 60  # never more than the video has
    assert [f.time_s for f in sample_frames(ip_clip, sample_fps=1.0, max_seconds=2.5)] == pytest.approx([0, 1, 2])


def test_scene_sampling_finds_the_cuts_and_not_the_pans(clip):
    assert [f.time_s for f in sample_frames(clip, sampling="scenes", sample_fps=5)] == pytest.approx([0, 2, 4])


@pytest.mark.parametrize("group_packets", [300, 5])  # 5: long groups are decoded in pieces as they come
def test_skipping_unneeded_frames_gives_the_frames_a_full_decode_gives(clip, group_packets, monkeypatch):
    """Groups of pictures with no sample are not decoded, nor (4+ frames apart) unreferenced frames: same pixels."""
    import modelbay.core.video

    monkeypatch.setattr(modelbay.core.video, "MAX_GROUP_PACKETS", group_packets)
    with av.open(io.BytesIO(clip)) as container:
        full = {round(f.time, 3): f.to_ndarray(format="rgb24") for f in container.decode(video=0)}
    for fps in (0.25, 1.0, 2.5):
        frames = list(sample_frames(clip, sample_fps=fps))
        assert len(frames) == int(6 * fps - 1e-9) + 1
        for k, frame in enumerate(frames):
            assert k / fps <= frame.time_s <= k / fps + 0.2 + 1e-6  # at most 2 frames (10 fps) after its time
            assert np.array_equal(np.asarray(frame.image), full[round(frame.time_s, 3)])


def test_header_is_read_without_decoding():
    info = video_info(make_video(seconds=3, fps=25))
    assert (info.width, info.height, info.fps, info.duration_s, info.frames) == (224, 160, 25.0, 3.0, 75)


# -- core/video.py: limits and broken files -------------------------------------------------

def test_too_long_is_refused_from_the_header_unless_max_seconds_cuts_it(clip):
    limits = Limits(max_video_s=4.0)
    with pytest.raises(PayloadTooLarge, match=r"6 s long .*before decoding.*MAX_VIDEO_S") as info:
        next(sample_frames(clip, limits=limits))
    assert "max_seconds" in info.value.hint
    assert len(list(sample_frames(clip, max_seconds=3.5, limits=limits))) == 4


def test_decompression_bomb_frames_are_refused_before_decoding(clip):
    with pytest.raises(PayloadTooLarge, match=r"224x160 = 35840 pixels.*MAX_IMAGE_PIXELS"):
        next(sample_frames(clip, limits=Limits(max_image_pixels=30_000)))


def test_decoding_work_is_bounded_by_frames(clip):
    with pytest.raises(PayloadTooLarge, match="60 frames to decode.*MAX_VIDEO_FRAMES"):
        next(sample_frames(clip, limits=Limits(max_video_frames=30)))


def test_video_byte_limit_is_its_own():
    from modelbay.core.media import media_bytes

    limits = Limits(max_media_bytes=10, max_video_bytes=100)
    assert media_bytes(b"x" * 50, kind="video", field="video", allow_paths=False, limits=limits)
    with pytest.raises(PayloadTooLarge):
        media_bytes(b"x" * 101, kind="video", field="video", allow_paths=False, limits=limits)


def test_truncated_mp4_is_a_4xx_naming_the_missing_index(clip):
    with pytest.raises(BadInput, match="starts like an MP4.*truncated.*moov") as info:
        next(sample_frames(clip[: len(clip) // 2]))
    assert info.value.status_code == 422


def test_truncated_matroska_is_a_4xx_saying_where_frames_end():
    mkv = make_video(fmt="matroska")
    with pytest.raises(BadInput, match=r"truncated: its frames end at [12]\.\d s but its header says 6\.0 s"):
        list(sample_frames(mkv[: len(mkv) // 2]))
    assert len(list(sample_frames(mkv))) == 6


def test_not_a_video_and_audio_only_are_named():
    import soundfile as sf

    with pytest.raises(BadInput, match="cannot open video"):
        next(sample_frames(b"certainly not a video" * 20))
    wav = io.BytesIO()
    sf.write(wav, np.zeros(8000, np.float32), 8000, format="WAV")
    with pytest.raises(BadInput, match="no video stream .*audio"):
        next(sample_frames(wav.getvalue()))


def test_a_longer_audio_track_is_not_taken_for_truncation():
    frames = list(sample_frames(make_video(seconds=3, audio=True)))
    assert len(frames) == 3


# -- video-classification --------------------------------------------------------------------

@pytest.fixture(scope="module")
def vclf(loaded_task):
    return loaded_task("video-classification")


def test_segments_follow_the_shots(vclf, clip):
    out = vclf([vclf.coerce({"video": clip, "segment_s": 2.0, "top_k": 3})])[0]
    assert out.frames_analysed == 6 and out.duration_s == pytest.approx(6.0)
    assert [(s.start_s, s.end_s, s.frames) for s in out.segments] == [(0, 2, 2), (2, 4, 2), (4, 6, 2)]
    assert out.segments[1].labels[0].label in CATS
    assert out.segments[2].labels[0].label in COFFEE
    # overall: the mean over every frame, so a label of one shot scores about a third of its in-shot score
    overall = {t.label: t.score for t in out.labels}
    seg_cat = out.segments[1].labels[0]
    assert overall.get(seg_cat.label, 0) == pytest.approx(seg_cat.score / 3, abs=0.02)
    assert abs(sum(t.score for t in vclf([vclf.coerce({"video": clip, "top_k": 1000})])[0].labels) - 1) < 1e-3


def test_video_classification_renders_an_mp4_of_the_sampled_frames(vclf, clip):
    item = vclf.coerce({"video": clip, "sample_fps": 0.5})
    mp4 = vclf.render(item, vclf([item])[0])
    # the sampled frames at their own times, the last held until the end of the video
    assert [round(f.time, 1) for f in av.open(io.BytesIO(mp4)).decode(video=0)] == [0, 2, 4, 6]


def test_bad_video_is_a_4xx_and_the_server_keeps_serving(clip):
    import base64

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        bad = client.post("/v1/tasks/video-classification",
                          json={"inputs": {"video": base64.b64encode(clip[:5000]).decode()}})
        assert bad.status_code == 422 and "truncated" in bad.json()["error"]["message"]
        ok = client.post("/v1/tasks/video-classification",
                         json={"inputs": {"video": base64.b64encode(clip).decode(), "sample_fps": 0.5}, "render": True})
        assert ok.status_code == 200, ok.text
        assert ok.json()["outputs"][0]["frames_analysed"] == 3
        render = ok.json()["renders"][0]
        assert render["media_type"] == "video/mp4" and base64.b64decode(render["data"])[4:8] == b"ftyp"


def test_stream_sends_progress_events_then_the_output(clip):
    import base64
    import json

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        body = {"inputs": {"video": base64.b64encode(clip).decode(), "sample_fps": 1.0}, "stream": True}
        with client.stream("POST", "/v1/tasks/video-classification", json=body) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    with TestClient(create_app()) as client:  # a stream carries progress and the output, never a picture
        both = client.post("/v1/tasks/video-classification", json={**body, "render": True})
    assert both.status_code == 422 and "do not go together" in both.json()["error"]["message"]
    decoded = [json.loads(e) for e in events[:-1]]
    progress = [e["progress"] for e in decoded if "progress" in e]
    assert progress and progress[-1] == {"stage": "video", "done": 5, "total": 6}
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    assert "output" in decoded[-1] and decoded[-1]["output"]["frames_analysed"] == 6


# -- video-analysis ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def analyser(loaded_task):
    return loaded_task("video-analysis")


def test_classification_per_frame_gives_spans_at_the_cuts(analyser, clip):
    events = list(analyser.run_with_progress(
        analyser.coerce({"video": clip, "task": "image-classification", "params": {"top_k": 3}})))
    seen = [progress for progress, _ in events[:-1]]
    assert events[-1][0] is None and all(out is None for _, out in events[:-1])
    out = events[-1][1]
    assert out.task == "image-classification" and out.frames_analysed == 6
    assert len(out.frames) == 6 and all(len(f.output["labels"]) == 3 for f in out.frames)
    starts = [s.start_s for s in out.label_spans]
    assert 2.0 in starts and 4.0 in starts and out.label_spans[-1].end_s == pytest.approx(6.0)
    assert seen and seen[-1] == ("video", 5, 6)
    assert not out.objects and not out.counts_per_second


def test_bad_params_and_non_image_tasks_are_named(analyser, clip):
    with pytest.raises(BadInput, match=r"params\.top_k"):
        analyser([analyser.coerce({"video": clip, "task": "image-classification", "params": {"top_k": 0}})])
    with pytest.raises(BadInput, match="'sentiment' does not take an image"):
        analyser([analyser.coerce({"video": clip, "task": "sentiment"})])


def test_boxes_are_counted_per_second_by_shape_not_by_task_name():
    from modelbay.tasks.video.aggregate import seen_and_counts, top_labels

    box = {"x0": 0, "y0": 0, "x1": 1, "y1": 1}
    frames = [(0.0, {"detections": [{"label": "person", "score": 0.9, "box": box}]}),
              (0.5, {"detections": [{"label": "person", "score": 0.8, "box": box}] * 2, "faces": [{"box": box}]}),
              (1.0, {"detections": [], "faces": [{"box": box, "score": 0.7}]})]
    seen, counts = seen_and_counts(frames)
    assert [(s.label, s.first_seen_s, s.last_seen_s, s.frames, s.max_count) for s in seen] == [
        ("person", 0.0, 0.5, 2, 2), ("face", 0.5, 1.0, 2, 1)]
    assert [(c.second, c.counts) for c in counts] == [(0, {"face": 1, "person": 2}), (1, {"face": 1})]
    assert top_labels(frames, 5) == []  # boxed rows are not classification labels


def test_detection_per_frame_when_registered(analyser, clip):
    from modelbay.core.errors import UnknownTask
    from modelbay.core.registry import get_task

    try:
        get_task("object-detection")
    except UnknownTask:
        pytest.skip("object-detection is not registered")
    out = analyser([analyser.coerce({"video": clip, "task": "object-detection"})])[0]
    assert out.frames_analysed == 6 and all("detections" in f.output for f in out.frames)
    assert analyser.render(analyser.coerce({"video": clip, "task": "object-detection"}), out)[4:8] == b"ftyp"


def test_a_cancelled_request_stops_between_batches(analyser, clip):
    from modelbay.core.cancel import CancelFlag, cancel_scope
    from modelbay.tasks.video.frames import FRAME_BATCH

    flag = CancelFlag()
    flag.set()
    item = analyser.coerce({"video": clip, "task": "image-classification", "sample_fps": 10})
    with cancel_scope([flag]):
        out = analyser([item])[0]
    assert out.frames_analysed == FRAME_BATCH < 60


def test_a_model_given_to_the_item_picks_its_task(analyser, clip):
    out = analyser([analyser.coerce({"video": clip, "model": "efficientnet-lite0", "sample_fps": 0.5})])[0]
    assert (out.task, out.model, out.frames_analysed) == ("image-classification", "efficientnet-lite0", 3)


def test_large_frames_are_held_fewer_at_a_time():
    from modelbay.tasks.video.frames import frames_in_flight

    assert frames_in_flight(1280, 720) == (8, 16)
    assert frames_in_flight(3840, 2160) == (5, 5)  # 4K: 25 MB of RGB each, 256 MB in all
    assert frames_in_flight(7680, 4320) == (1, 1)


def test_faces_are_seen_only_in_the_astronaut_shot(analyser):
    from modelbay.core.errors import UnknownTask
    from modelbay.core.registry import get_task

    try:
        get_task("face-detection")
    except UnknownTask:
        pytest.skip("face-detection is not registered")
    video = make_video(size=(512, 512), seconds=6, fps=5)
    out = analyser([analyser.coerce({"video": video, "task": "face-detection", "sample_fps": 0.5})])[0]
    assert [(o.label, o.first_seen_s, o.last_seen_s, o.frames, o.max_count) for o in out.objects] == [
        ("face", 0.0, 0.0, 1, 1)]
    assert [(c.second, c.counts) for c in out.counts_per_second] == [(0, {"face": 1})]
