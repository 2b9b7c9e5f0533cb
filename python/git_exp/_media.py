"""Images logged with `run.log({"samples": Image(...)})`: turned into PNG or
JPEG bytes when made, saved under the run's artifacts/media/<key>/ when logged.

Accepts a file path, PNG/JPEG/GIF bytes, a PIL image, a matplotlib figure or
an HxW / HxWx1/3/4 (or CxHxW) array or tensor, duck-typed; arrays are encoded
by the small PNG writer below, so no imaging library is needed.
"""

import io
import os
import struct
import zlib

from ._errors import Error

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)


class Image:
    """An image to log; `caption` is kept on the object, `mode` picks L, RGB or RGBA for arrays.

    Other W&B arguments (boxes, masks, classes, ...) are accepted and ignored.
    """

    def __init__(self, data_or_path, caption=None, mode=None, **ignored):
        self.caption = caption
        self.mode = mode
        self._bytes, self.format = _encode(data_or_path, mode)

    def to_bytes(self):
        """The encoded image."""
        return self._bytes

    def save(self, path):
        """Writes the encoded image to path."""
        with open(path, "wb") as f:
            f.write(self._bytes)

    def __repr__(self):
        return "Image(%s, %d bytes)" % (self.format, len(self._bytes))


def _encode(data, mode):
    if isinstance(data, Image):
        return data._bytes, data.format
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            raise Error("cannot read image %s: %s" % (path, e.strerror)) from None
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        return raw, (_sniff(raw) or ext or "png")
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        kind = _sniff(raw)
        if kind is None:
            raise Error("image bytes are not PNG, JPEG, GIF or BMP")
        return raw, kind
    if hasattr(data, "savefig"):  # a matplotlib figure
        out = io.BytesIO()
        data.savefig(out, format="png")
        return out.getvalue(), "png"
    if hasattr(data, "save") and hasattr(data, "mode") and hasattr(data, "size"):  # PIL
        out = io.BytesIO()
        data.save(out, format="PNG")
        return out.getvalue(), "png"
    if hasattr(data, "shape") or isinstance(data, list):
        return _array_png(data, mode), "png"
    raise Error("cannot make an image from %s; pass a path, image bytes, a PIL image, a matplotlib "
                "figure or an array" % type(data).__name__)


def _sniff(raw):
    for magic, kind in _MAGIC:
        if raw.startswith(magic):
            return kind
    return None


def _array_png(data, mode):
    for step in ("detach", "cpu"):
        method = getattr(data, step, None)
        if callable(method):
            data = method()
    rows = data.tolist() if hasattr(data, "tolist") else data
    if not rows or not isinstance(rows, list) or not isinstance(rows[0], list):
        raise Error("an image array must have 2 or 3 dimensions (HxW, HxWxC or CxHxW)")
    if isinstance(rows[0][0], list):
        height, width, channels = len(rows), len(rows[0]), len(rows[0][0])
        if channels not in (1, 3, 4) and height in (1, 3, 4):
            rows = _chw_to_hwc(rows)
            height, width, channels = len(rows), len(rows[0]), len(rows[0][0])
        if channels not in (1, 3, 4):
            raise Error("an image array needs 1, 3 or 4 channels, got %d" % channels)
        flat = [v for row in rows for pixel in row for v in pixel]
    else:
        height, width, channels = len(rows), len(rows[0]), 1
        flat = [v for row in rows for v in row]
    if len(flat) != height * width * channels:
        raise Error("an image array must be rectangular")
    pixels = _to_uint8(flat)
    if mode == "L" and channels in (3, 4):
        pixels = _to_gray(pixels, channels)
        channels = 1
    return encode_png(pixels, width, height, channels)


def _chw_to_hwc(planes):
    return [[[plane[y][x] for plane in planes] for x in range(len(planes[0][0]))]
            for y in range(len(planes[0]))]


def _to_uint8(values):
    """Floats are taken as 0..1 (or rescaled from their range if it has negatives); ints as 0..255."""
    if any(isinstance(v, float) for v in values):
        low, high = min(values), max(values)
        if low < 0:
            span = (high - low) or 1.0
            values = [(v - low) / span for v in values]
            high = 1.0
        if high <= 1.0:
            values = [v * 255.0 for v in values]
        return bytes(0 if not v >= 0 else 255 if v >= 255 else int(v + 0.5) for v in values)
    return bytes(0 if v < 0 else 255 if v > 255 else int(v) for v in values)


def _to_gray(pixels, channels):
    return bytes((pixels[i] * 299 + pixels[i + 1] * 587 + pixels[i + 2] * 114) // 1000
                 for i in range(0, len(pixels), channels))


def encode_png(pixels, width, height, channels):
    """Encodes 8-bit pixels (row-major, `channels` bytes each) as a PNG file."""
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    stride = width * channels
    raw = b"".join(b"\x00" + pixels[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6))
            + _chunk(b"IEND", b""))


def _chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def is_media(value):
    """True for an Image or a non-empty list/tuple of Images."""
    if isinstance(value, Image):
        return True
    return (isinstance(value, (list, tuple)) and bool(value)
            and all(isinstance(v, Image) for v in value))
