"""Image decoding and validation: bytes or a path in, an RGB uint8 array out, or a clear reason.

Guards, in order: empty input, a header we can read, the declared pixel count (before decoding, so a
40000x40000 PNG header costs nothing), decompression bombs (Pillow's own check, tied to our limit),
truncated data (a full decode, never a silently grey-padded image). EXIF orientation is applied, and
every mode (grayscale, RGBA, palette, 16-bit, CMYK) becomes 8-bit RGB.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from whosthat.errors import ImageError, ImageTooLargeError

DEFAULT_MAX_PIXELS = 25_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "MPO"}
# Pillow's own bomb check is a global pixel limit applied at open(); we check the header's size against
# our (configurable) limit before any decoding instead, and say the size we found.
Image.MAX_IMAGE_PIXELS = None


def _max_pixels(max_pixels: int | None) -> int:
    if max_pixels is not None:
        return max_pixels
    from whosthat.config import get_settings

    return get_settings().max_image_pixels


def read_image_header(data: bytes, max_pixels: int | None = None) -> tuple[int, int, str]:
    """Return (width, height, format) from the header alone; raise ImageError/ImageTooLargeError."""
    limit = _max_pixels(max_pixels)
    if not data:
        raise ImageError("the file is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height, fmt = im.width, im.height, im.format or "unknown"
    except UnidentifiedImageError:
        raise ImageError("not an image (the format is not recognised)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"unreadable image header: {exc}") from None
    if fmt not in ACCEPTED_FORMATS:
        raise ImageError(f"unsupported image format {fmt}; use JPEG, PNG or WebP")
    if width <= 0 or height <= 0:
        raise ImageError("image has no pixels")
    if width * height > limit:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height / 1e6:.1f} MP, more than the limit of {limit / 1e6:.0f} MP"
        )
    return width, height, fmt


def decode_image(source: bytes | str | Path, max_pixels: int | None = None) -> np.ndarray:
    """Decode an image into an RGB uint8 array of shape (height, width, 3).

    `source` is the encoded bytes or a file path. Raises `ImageError` (empty, not an image,
    truncated, unsupported) or `ImageTooLargeError` (more than `max_pixels`, default from settings).
    """
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read {source}: {exc.strerror or exc}") from None
    else:
        data = bytes(source)
    limit = _max_pixels(max_pixels)
    read_image_header(data, limit)
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # full decode: truncated files fail here
            im = ImageOps.exif_transpose(im)
            rgb = _to_rgb(im)
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc)
        if "truncated" in msg.lower() or "premature" in msg.lower():
            raise ImageError("the image is truncated (incomplete file)") from None
        raise ImageError(f"cannot decode image: {msg}") from None
    return rgb


def _to_rgb(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = arr.max() or 1.0
        gray = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        # Composite transparent areas onto white: black would hide dark hair and faces' outlines.
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, im)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))


def encode_jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    """Encode an RGB uint8 array as JPEG bytes."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
