"""Image decoding: every bad input gets a clear ImageError, every odd-but-valid one decodes to RGB."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from whosthat.errors import ImageError, ImageTooLargeError
from whosthat.vision.image import decode_image, encode_jpeg


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with one tiny (invalid) IDAT: a decompression-bomb header."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def test_empty_file_is_rejected():
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"")


def test_text_file_is_rejected():
    with pytest.raises(ImageError, match="not an image"):
        decode_image(b"name,surname\nAda,Lovelace\n")


def test_truncated_jpeg_is_rejected(astronaut):
    data = encode_jpeg(astronaut)
    with pytest.raises(ImageError, match="truncated|decode"):
        decode_image(data[: len(data) // 2])


def test_png_header_claiming_40000x40000_is_rejected_before_decoding():
    with pytest.raises(ImageTooLargeError, match="40000x40000"):
        decode_image(_png_header_only(40000, 40000))


def test_rgba_png_becomes_rgb_on_white(astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:10, :10, 3] = 0  # a transparent corner
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    out = decode_image(buf.getvalue())
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    assert (out[:10, :10] == 255).all()
    assert np.array_equal(out[100:200, 100:200], astronaut[100:200, 100:200])


def test_grayscale_becomes_three_equal_channels(astronaut):
    buf = io.BytesIO()
    Image.fromarray(astronaut).convert("L").save(buf, format="PNG")
    out = decode_image(buf.getvalue())
    assert out.shape == (512, 512, 3)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_exif_orientation_is_applied(astronaut):
    # Store the photo rotated on its side with EXIF orientation 6 ("rotate 90 CW to display"),
    # as phones do; decoding must return it upright.
    sideways = np.ascontiguousarray(np.rot90(astronaut, k=1))
    im = Image.fromarray(sideways)
    exif = im.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    out = decode_image(buf.getvalue())
    assert out.shape == astronaut.shape
    diff = np.abs(out.astype(int) - astronaut.astype(int)).mean()
    assert diff < 6, f"decoded image is not upright (mean abs difference {diff:.1f})"


def test_sixteen_bit_grayscale_decodes(astronaut):
    gray16 = np.asarray(Image.fromarray(astronaut).convert("L"), np.uint16) * 257
    buf = io.BytesIO()
    Image.fromarray(gray16).save(buf, format="PNG")
    out = decode_image(buf.getvalue())
    assert out.dtype == np.uint8 and out.shape == (512, 512, 3) and out.max() > 200


def test_pixel_limit_is_configurable(astronaut):
    with pytest.raises(ImageTooLargeError):
        decode_image(encode_jpeg(astronaut), max_pixels=100_000)


def test_a_side_of_32767_px_is_refused_from_the_header():
    # 279 bytes that used to make OpenCV inside MediaPipe abort the whole server.
    buf = io.BytesIO()
    Image.new("RGB", (32767, 2)).save(buf, format="PNG")
    with pytest.raises(ImageTooLargeError, match="32767x2"):
        decode_image(buf.getvalue())


def test_only_jpeg_png_webp_and_bmp_reach_a_decoder(astronaut):
    for fmt in ("TIFF", "GIF", "ICO", "PPM"):
        buf = io.BytesIO()
        Image.fromarray(astronaut).save(buf, format=fmt)
        with pytest.raises(ImageError, match="format we accept"):
            decode_image(buf.getvalue())
    for fmt in ("PNG", "WEBP", "BMP"):
        buf = io.BytesIO()
        Image.fromarray(astronaut).save(buf, format=fmt)
        assert decode_image(buf.getvalue()).shape == astronaut.shape


def test_animations_are_refused(astronaut):
    frames = [Image.fromarray(astronaut), Image.fromarray(astronaut[::-1].copy())]
    for fmt in ("PNG", "WEBP"):
        buf = io.BytesIO()
        frames[0].save(buf, format=fmt, save_all=True, append_images=frames[1:])
        with pytest.raises(ImageError, match="2 frames"):
            decode_image(buf.getvalue())


def test_large_images_are_reduced_while_decoding(astronaut):
    big = np.asarray(Image.fromarray(astronaut).resize((4400, 2200)))
    for fmt in ("JPEG", "PNG"):
        buf = io.BytesIO()
        Image.fromarray(big).save(buf, format=fmt, **({"compress_level": 1} if fmt == "PNG" else {}))
        out = decode_image(buf.getvalue())
        assert out.shape == (1024, 2048, 3) and out.dtype == np.uint8
        assert decode_image(buf.getvalue(), max_side=None).shape == (2200, 4400, 3)
