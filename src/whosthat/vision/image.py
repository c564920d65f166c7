"""Image decoding and validation: bytes or a path in, an RGB uint8 array out, or a clear reason.

One header check runs before any decoder does (`read_image_header`: Pillow's open() reads the header
only): the format is one we accept (JPEG, PNG, WebP, BMP; MPO is a JPEG with extra pictures, of which
the first is used), no side is longer than MAX_SIDE (OpenCV inside MediaPipe aborts the whole process
on a side of 32,767 px or more), the declared pixel count is within the limit (so a 40000x40000 PNG
header costs nothing), there is one frame (no animations, no multi-page files) and a pixel mode we can
convert. Then the decode runs under that budget: a JPEG is decoded at a reduced scale when it is far
larger than MAX_WORK_SIDE (libjpeg's draft mode, so a 25 MP photo never exists in memory at full size),
a truncated or malformed file fails (never a silently grey-padded image; whatever a decoder raises
becomes an ImageError), decodes of more than BIG_DECODE_PIXELS run one at a time, and an image larger
than MAX_WORK_SIDE a side is reduced to it before anything else sees it. EXIF orientation is applied, and every accepted mode (grayscale, RGBA, palette, 16-bit,
CMYK) becomes 8-bit RGB.
"""

from __future__ import annotations

import contextlib
import io
import threading
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from whosthat.errors import ImageError, ImageTooLargeError
from whosthat.i18n import M_

DEFAULT_MAX_PIXELS = 25_000_000
MAX_SIDE = 16_384  # px; no camera makes a longer side, and OpenCV refuses (aborts on) 32,767 and more
MAX_WORK_SIDE = 2048  # px; larger images are reduced to this longest side while decoding
# Decodes that hold more than this many full-size pixels (after JPEG's reduced-scale decoding) run one
# at a time in a process: a 25 MP PNG needs about 150 MB while it decodes, and the face-work pool may
# run one request per core. JPEGs of any size decode at <= 2 x MAX_WORK_SIDE a side and rarely wait.
BIG_DECODE_PIXELS = 8_000_000
_BIG_DECODES = threading.Lock()
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP"}
MULTI_PICTURE_FORMATS = {"MPO"}  # a phone's JPEG with a second (depth/preview) picture: the first is used
ACCEPTED_MODES = {
    "1",
    "L",
    "LA",
    "La",
    "P",
    "PA",
    "RGB",
    "RGBA",
    "RGBa",
    "RGBX",
    "CMYK",
    "YCbCr",
    "I",
    "I;16",
    "I;16B",
    "I;16L",
}
# Pillow's own bomb check is a global pixel limit applied at open(); we check the header's size against
# our (configurable) limit before any decoding instead, and say the size we found.
Image.MAX_IMAGE_PIXELS = None


def _max_pixels(max_pixels: int | None) -> int:
    if max_pixels is not None:
        return max_pixels
    from whosthat.config import get_settings

    return get_settings().max_image_pixels


def _check_header(im: Image.Image, limit: int) -> tuple[int, int, str]:
    width, height, fmt = im.width, im.height, im.format or "unknown"
    if fmt not in ACCEPTED_FORMATS:
        raise ImageError(M_("unsupported image format %(format)s; use JPEG, PNG or WebP", format=fmt))
    if width <= 0 or height <= 0:
        raise ImageError(M_("image has no pixels"))
    if max(width, height) > MAX_SIDE:
        raise ImageTooLargeError(
            M_(
                "image is %(width)sx%(height)s: a side is longer than the limit of %(limit)s px",
                width=width,
                height=height,
                limit=MAX_SIDE,
            )
        )
    if width * height > limit:
        raise ImageTooLargeError(
            M_(
                "image is %(width)sx%(height)s = %(mp)s MP, more than the limit of %(limit)s MP",
                width=width,
                height=height,
                mp=round(width * height / 1e6, 1),
                limit=round(limit / 1e6),
            )
        )
    frames = getattr(im, "n_frames", 1)
    if frames != 1 and fmt not in MULTI_PICTURE_FORMATS:
        raise ImageError(
            M_("the image has %(num)s frames (animated or multi-page); send a single picture", num=frames)
        )
    if im.mode not in ACCEPTED_MODES:
        raise ImageError(M_("unsupported pixel format %(mode)s; use 8-bit RGB or grayscale", mode=im.mode))
    return width, height, fmt


def _open(data: bytes) -> Image.Image:
    try:
        # Only these decoders may look at the bytes (MPO is opened by the JPEG plugin).
        return Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS - MULTI_PICTURE_FORMATS))
    except UnidentifiedImageError:
        raise ImageError(M_("not an image in a format we accept (JPEG, PNG, WebP or BMP)")) from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure on untrusted bytes is bad input
        raise ImageError(M_("unreadable image header: %(detail)s", detail=str(exc))) from None


def read_image_header(data: bytes, max_pixels: int | None = None) -> tuple[int, int, str]:
    """Return (width, height, format) from the header alone; raise ImageError/ImageTooLargeError."""
    limit = _max_pixels(max_pixels)
    if not data:
        raise ImageError(M_("the file is empty (0 bytes)"))
    try:
        with _open(data) as im:
            return _check_header(im, limit)
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. n_frames seeking through a corrupt file
        raise ImageError(M_("unreadable image header: %(detail)s", detail=str(exc))) from None


def decode_image(
    source: bytes | str | Path, max_pixels: int | None = None, max_side: int | None = MAX_WORK_SIDE
) -> np.ndarray:
    """Decode an image into an RGB uint8 array of shape (height, width, 3).

    `source` is the encoded bytes or a file path. Raises `ImageError` (empty, not an image,
    truncated, unsupported, animated) or `ImageTooLargeError` (more than `max_pixels`, default from
    settings, or a side over MAX_SIDE). An image with a side longer than `max_side` comes back reduced
    to that longest side (aspect kept); `max_side=None` keeps the full size.
    """
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read {source}: {exc.strerror or exc}") from None
    else:
        data = bytes(source)
    if not data:
        raise ImageError(M_("the file is empty (0 bytes)"))
    limit = _max_pixels(max_pixels)
    try:
        with _open(data) as im:
            _check_header(im, limit)
            if max_side is not None and im.format in ("JPEG", "MPO") and max(im.size) > 2 * max_side:
                # libjpeg decodes at 1/2, 1/4 or 1/8 scale: never larger than needed.
                im.draft("RGB", (max_side, max_side))
            big = im.width * im.height > BIG_DECODE_PIXELS
            with _BIG_DECODES if big else contextlib.nullcontext():
                return _finish(im, max_side)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(M_("not an image in a format we accept (JPEG, PNG, WebP or BMP)")) from None
    except MemoryError:
        raise ImageTooLargeError(M_("the image needs more memory to decode than the server allows")) from None
    except Exception as exc:  # noqa: BLE001 - whatever a decoder raises on untrusted bytes is bad input
        msg = str(exc)
        if "truncated" in msg.lower() or "premature" in msg.lower():
            raise ImageError(M_("the image is truncated (incomplete file)")) from None
        raise ImageError(M_("cannot decode image: %(detail)s", detail=msg or type(exc).__name__)) from None


def _finish(im: Image.Image, max_side: int | None) -> np.ndarray:
    """Decode the opened image, turn it upright, reduce it to max_side and make it RGB uint8."""
    im.load()  # full decode: truncated files fail here
    if im.getexif().get(0x0112, 1) not in (0, 1):  # EXIF orientation: turn upright (a copy)
        im = ImageOps.exif_transpose(im)
    if max_side is not None and max(im.size) > max_side and im.mode in ("RGB", "RGBA", "L", "LA"):
        # Reduce before any copy: the full-size picture exists once, never as a second array.
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    rgb = _to_rgb(im)
    if max_side is not None and max(rgb.shape[:2]) > max_side:
        small = Image.fromarray(rgb)
        small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
        rgb = np.ascontiguousarray(np.asarray(small, dtype=np.uint8))
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
