"""A corpus of hostile and malformed images, generated at test time (nothing is committed).

Every entry is (name, bytes). None of them may be decoded into a face, crash the server or change the
database: each must be refused with a 4xx (or, for a valid picture without a face, a 422 "no face").
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose IHDR claims width x height, with one tiny IDAT (a decompression-bomb header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _chunk(b"IEND", b"")
    )


def png_bomb(width: int, height: int) -> bytes:
    """A real, valid PNG of width x height zero pixels: a few KB that inflate to width*height*3 bytes."""
    raw = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (width * 3)
    body = b"".join(raw.compress(row) for _ in range(height)) + raw.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _jpeg_with_size(width: int, height: int) -> bytes:
    """A small JPEG whose SOF0 header is rewritten to claim width x height."""
    data = bytearray(_save(Image.new("RGB", (16, 16), (90, 90, 90)), "JPEG"))
    i = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, height, width)
    return bytes(data)


def _webp_with_size(width: int, height: int) -> bytes:
    """A small lossless WebP whose VP8L header is rewritten to claim width x height (at most 16384)."""
    data = bytearray(_save(Image.new("RGB", (4, 4)), "WEBP", lossless=True))
    i = data.index(b"VP8L") + 8  # chunk tag, size, then the 0x2f signature byte
    assert data[i] == 0x2F
    bits = int.from_bytes(data[i + 1 : i + 5], "little")
    bits = (bits & ~((1 << 28) - 1)) | (width - 1) | ((height - 1) << 14)
    data[i + 1 : i + 5] = bits.to_bytes(4, "little")
    return bytes(data)


def _bmp_with_size(width: int, height: int) -> bytes:
    data = bytearray(_save(Image.new("RGB", (4, 4)), "BMP"))
    struct.pack_into("<ii", data, 18, width, height)
    return bytes(data)


def _tiff_cases() -> list[tuple[str, bytes]]:
    small = Image.fromarray(np.random.default_rng(1).integers(0, 255, (32, 32, 3), np.uint8))
    plain = _save(small, "TIFF")
    tiled = _save(small, "TIFF", tiffinfo={322: 16, 323: 16})
    # Strip offsets and byte counts pointing past the end, a huge declared size, an IFD loop.
    broken = bytearray(plain)
    broken[-40:] = b"\xff" * 40
    huge = b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 3)
    huge += struct.pack("<HHII", 256, 4, 1, 2**31 - 1)  # ImageWidth
    huge += struct.pack("<HHII", 257, 4, 1, 2**31 - 1)  # ImageLength
    huge += struct.pack("<HHII", 258, 3, 1, 8) + b"\x00\x00\x00\x00"
    loop = (
        b"MM\x00*\x00\x00\x00\x08"
        + struct.pack(">H", 1)
        + struct.pack(">HHII", 256, 3, 1, 1 << 16)
        + struct.pack(">I", 8)
    )
    return [
        ("tiff-plain", plain),
        ("tiff-tiled", tiled),
        ("tiff-broken-strips", bytes(broken)),
        ("tiff-huge-declared", huge),
        ("tiff-ifd-loop", loop),
        ("tiff-bigendian-truncated", _save(small, "TIFF", compression="tiff_deflate")[:60]),
    ]


# Valid pictures (no face in them): they decode, and then find no face.
DECODABLE = {"cmyk-jpeg", "sixteen-bit-png", "polyglot-png-zip", "polyglot-jpeg-html", "noise-png"}


def corpus() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(7)
    noise = Image.fromarray(rng.integers(0, 255, (64, 64, 3), np.uint8))
    jpeg = _save(noise, "JPEG", quality=90)
    png = _save(noise, "PNG")
    frames = [Image.fromarray(rng.integers(0, 255, (32, 32, 3), np.uint8)) for _ in range(3)]
    out = [
        ("side-32767-png", _save(Image.new("RGB", (32767, 2)), "PNG")),
        ("side-32767-tall-png", _save(Image.new("L", (1, 32767)), "PNG")),
        ("side-20000-png", _save(Image.new("1", (20000, 1)), "PNG")),
        ("header-40000x40000-png", png_header_only(40000, 40000)),
        ("header-2^31-png", png_header_only(2**31 - 1, 2**31 - 1)),
        ("bomb-6000x6000-png", png_bomb(6000, 6000)),
        ("header-65500-jpeg", _jpeg_with_size(65500, 65500)),
        ("header-30000x30000-jpeg", _jpeg_with_size(30000, 30000)),
        ("header-huge-bmp", _bmp_with_size(60000, 60000)),
        ("header-negative-bmp", _bmp_with_size(-5, 40000)),
        ("header-16384-square-webp", _webp_with_size(16384, 16384)),
        ("truncated-jpeg", jpeg[: len(jpeg) // 2]),
        ("truncated-png", png[: len(png) // 2]),
        ("jpeg-header-only", jpeg[:200]),
        ("png-magic-only", b"\x89PNG\r\n\x1a\n"),
        ("polyglot-gif-js", b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00;*/=1;alert(1)//" + b"\x00" * 16),
        ("polyglot-png-zip", png + b"PK\x03\x04" + b"\x00" * 26 + b"evil.sh"),
        ("polyglot-jpeg-html", jpeg + b"<html><script>alert(1)</script></html>"),
        ("cmyk-jpeg", _save(noise.convert("CMYK"), "JPEG")),
        (
            "sixteen-bit-png",
            _save(Image.fromarray((rng.integers(0, 65535, (64, 64))).astype(np.uint16)), "PNG"),
        ),
        ("float-tiff", _save(Image.fromarray(rng.random((16, 16)).astype(np.float32)), "TIFF")),
        ("animated-gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:])),
        ("animated-png", _save(frames[0], "PNG", save_all=True, append_images=frames[1:])),
        ("animated-webp", _save(frames[0], "WEBP", save_all=True, append_images=frames[1:])),
        ("gif-single", _save(noise, "GIF")),
        ("ico", _save(noise, "ICO")),
        ("eps-header", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n"),
        ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>'),
        ("pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
        ("psd-magic", b"8BPS\x00\x01" + b"\x00" * 20),
        ("random-bytes", rng.integers(0, 255, 4096, np.uint8).tobytes()),
        ("text", b"name,surname\nAda,Lovelace\n"),
        ("noise-png", png),
    ]
    return out + _tiff_cases()
