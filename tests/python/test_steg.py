# SPDX-License-Identifier: MIT
"""The Python module as a researcher uses it: numpy in, numpy out, libsteg's results.

Run by ctest (test `python`) with the build's module on PYTHONPATH, STEG_CLI naming the
`steg` command of the same build and STEG_MODEL the source tree's default model.
"""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import steg

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def ctx():
    return steg.Context()


@pytest.fixture(scope="module")
def pair():
    cover = skimage_data.astronaut()  # 512 x 512 RGB
    payload = skimage_data.camera()   # 512 x 512 gray
    return cover, payload


def test_hide_and_reveal_round_trip_on_photos(ctx, pair):
    cover, payload = pair
    hybrid = ctx.hide(cover, payload)
    assert hybrid.shape == cover.shape and hybrid.dtype == np.uint8
    assert not np.shares_memory(hybrid, cover)
    revealed = ctx.reveal(hybrid)
    assert revealed.shape == payload.shape and revealed.dtype == np.uint8
    # The default model's card quotes 40.7 / 38.1 dB on this pair (models/README.md).
    assert steg.psnr(hybrid, cover) > 39.0
    assert steg.psnr(revealed, payload) > 36.0
    assert steg.ssim(revealed, payload) > 0.9
    mean, p99 = steg.colour_difference(hybrid, cover)
    assert 0 < mean < 2 and p99 >= mean


def test_matches_the_steg_command_bit_for_bit(ctx, pair, tmp_path):
    """The binding adds nothing of its own: the CLI's hybrid and payload are the same."""
    cli = os.environ.get("STEG_CLI")
    if not cli:
        pytest.skip("STEG_CLI is not set")
    cover, payload = pair
    steg.save_image(str(tmp_path / "cover.png"), cover)
    steg.save_image(str(tmp_path / "payload.png"), payload)
    subprocess.run([cli, "hide", str(tmp_path / "cover.png"), str(tmp_path / "payload.png"),
                    "-o", str(tmp_path / "hybrid.png"), "--model", ctx.model_path, "--quiet"], check=True)
    subprocess.run([cli, "reveal", str(tmp_path / "hybrid.png"), "-o", str(tmp_path / "revealed.png"),
                    "--model", ctx.model_path, "--quiet"], check=True)
    hybrid = ctx.hide(cover, payload)
    np.testing.assert_array_equal(hybrid, steg.load_image(str(tmp_path / "hybrid.png")))
    np.testing.assert_array_equal(ctx.reveal(hybrid), steg.load_image(str(tmp_path / "revealed.png")))


def test_rgba_keeps_its_alpha(ctx, pair):
    cover, payload = pair
    alpha = np.tile(np.arange(512, dtype=np.uint8)[:, None] // 2, (1, 512))
    rgba = np.dstack([cover, alpha])
    hybrid = ctx.hide(rgba, payload)
    assert hybrid.shape == (512, 512, 4)
    np.testing.assert_array_equal(hybrid[..., 3], alpha)
    np.testing.assert_array_equal(hybrid[..., :3], ctx.hide(cover, payload))
    assert steg.psnr(ctx.reveal(hybrid), payload) > 36.0


def test_any_payload_is_fitted_as_prepare_payload_fits_it(ctx, pair):
    cover, _ = pair
    photo = skimage_data.coffee()  # 400 x 600 RGB: another size and colour
    for fit, channel in (("scale", "luma"), ("letterbox", "g")):
        prepared = steg.prepare_payload(photo, 512, 512, fit=fit, channel=channel)
        assert prepared.shape == (512, 512) and prepared.dtype == np.uint8
        np.testing.assert_array_equal(ctx.hide(cover, photo, fit=fit, channel=channel), ctx.hide(cover, prepared))
    # letterbox keeps the aspect: black bars above and below a 512 x 341 picture
    boxed = steg.prepare_payload(photo, 512, 512, fit="letterbox")
    assert boxed[:80].max() == 0 and boxed[-80:].max() == 0 and boxed[256].max() > 0


def test_views_and_non_contiguous_arrays_are_read_correctly(ctx, pair):
    cover, payload = pair
    big = np.zeros((600, 700, 3), np.uint8)
    big[50:562, 100:612] = cover
    view = big[50:562, 100:612]  # rows with a stride: copied, not misread
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(ctx.hide(view, payload), ctx.hide(cover, payload))
    flipped = cover[:, ::-1]
    np.testing.assert_array_equal(ctx.hide(flipped, payload[:, ::-1]),
                                  ctx.hide(np.ascontiguousarray(flipped), np.ascontiguousarray(payload[:, ::-1])))


def test_read_only_arrays_are_taken(ctx, pair):
    # numpy.asarray of a Pillow image is read-only, and so is what a memory map or
    # another library lends; hide, reveal and prepare_payload only read their inputs.
    cover, payload = pair
    expected = ctx.hide(cover, payload)
    locked_cover, locked_payload = cover.copy(), payload.copy()
    locked_cover.flags.writeable = locked_payload.flags.writeable = False
    hybrid = ctx.hide(locked_cover, locked_payload)
    np.testing.assert_array_equal(hybrid, expected)
    hybrid.flags.writeable = False
    np.testing.assert_array_equal(ctx.reveal(hybrid), ctx.reveal(expected))
    np.testing.assert_array_equal(steg.prepare_payload(locked_cover, 64, 48), steg.prepare_payload(cover, 64, 48))
    assert steg.psnr(hybrid, locked_cover) == steg.psnr(expected, cover)


def test_payload_score_tells_a_hybrid_from_a_clean_photo(ctx, pair):
    cover, payload = pair
    threshold = ctx.payload_score_threshold
    assert threshold is not None and 0 < threshold < 1
    _, hybrid_score = ctx.reveal_scored(ctx.hide(cover, payload))
    _, clean_score = ctx.reveal_scored(cover)
    assert hybrid_score >= threshold > clean_score


def test_model_by_name_and_its_metadata():
    robust = steg.Context("robust", device="cpu")
    assert robust.model_path.endswith("robust.safetensors")
    assert robust.model_path == steg.model_path("robust")
    meta = robust.metadata
    assert meta["architecture"] == "rehman2017" and "yuv420" in meta["transport"]
    assert steg.Context().metadata["architecture"] == "rehman2017-coset"
    assert robust.device == "cpu" and robust.precision == "fp32"
    assert steg.model_path("no-such-model") is None


@pytest.mark.parametrize("cover, message", [
    (np.zeros((8, 8, 3), np.float32), "uint8"),
    (np.zeros((8, 8), np.uint8), "(height, width, 3)"),
    (np.zeros((8, 8, 2), np.uint8), "(height, width, 3)"),
    (np.zeros((0, 8, 3), np.uint8), "1 to"),
])
def test_bad_covers_are_refused_in_words(ctx, cover, message):
    with pytest.raises(steg.InvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        ctx.hide(cover, np.zeros((8, 8), np.uint8))
    assert isinstance(e.value, ValueError) and isinstance(e.value, steg.Error)


def test_errors_carry_libstegs_message(ctx, tmp_path):
    with pytest.raises(steg.ModelError, match="no model named 'nonexistent'"):
        steg.Context("nonexistent")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\":1}")
    with pytest.raises(steg.ModelError, match="broken.safetensors"):
        steg.Context(str(broken))
    with pytest.raises(steg.InvalidArgumentError, match="unknown device 'gpu': use one of auto, cpu, cuda"):
        steg.Context(device="gpu")
    with pytest.raises(steg.FileError, match="missing.png") as e:
        steg.load_image(str(tmp_path / "missing.png"))
    assert isinstance(e.value, OSError)
    truncated = tmp_path / "truncated.png"
    steg.save_image(str(tmp_path / "whole.png"), np.full((64, 64, 3), 128, np.uint8))
    truncated.write_bytes((tmp_path / "whole.png").read_bytes()[:60])
    with pytest.raises(steg.FileError):
        steg.load_image(str(truncated))
    with pytest.raises(steg.Error, match="lossy|JPEG|allow"):
        steg.save_image(str(tmp_path / "x.jpg"), np.zeros((8, 8, 3), np.uint8))
    assert not (tmp_path / "x.jpg").exists()
    steg.save_image(str(tmp_path / "x.jpg"), np.zeros((8, 8, 3), np.uint8), allow_lossy=True)
    assert steg.load_image(str(tmp_path / "x.jpg")).shape == (8, 8, 3)
    with pytest.raises(steg.InvalidArgumentError):
        steg.psnr(np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8))
    with pytest.raises(steg.InvalidArgumentError, match="unknown fit"):
        steg.prepare_payload(np.zeros((8, 8), np.uint8), 4, 4, fit="stretch")


def test_progress_can_cancel_and_its_exceptions_propagate(pair):
    cover, payload = pair
    seen = []
    steg.Context(progress=seen.append, tile_size=128).hide(cover, payload)
    assert len(seen) >= 4 and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    with pytest.raises(steg.CancelledError):
        steg.Context(progress=lambda f: f < 0.5, tile_size=128).hide(cover, payload)

    def fails(fraction):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        steg.Context(progress=fails).reveal(cover)


def test_hide_releases_the_gil(pair):
    """Another Python thread runs while libsteg computes.

    With a switch interval far longer than the hide, a thread holding the GIL through the
    call would never let the counting thread run between two tiles; released, it does.
    """
    cover, payload = pair
    counter = [0]
    done = threading.Event()
    seen = []

    def count():
        while not done.is_set():
            counter[0] += 1
            time.sleep(0.0005)  # lets go of the GIL, so the hide may take it back

    ctx = steg.Context(tile_size=64, progress=lambda f: seen.append(counter[0]))
    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    counting = threading.Thread(target=count)
    try:
        counting.start()
        ctx.hide(cover, payload)
    finally:
        done.set()
        counting.join()
        sys.setswitchinterval(old)
    assert len(seen) == 64
    assert seen[-1] > seen[0], "no other thread ran while hide computed"


def test_threads_may_share_a_context(ctx, pair):
    cover, payload = pair
    expected = ctx.hide(cover, payload)
    results = [None] * 4

    def work(i):
        results[i] = ctx.hide(cover, payload)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, expected)
