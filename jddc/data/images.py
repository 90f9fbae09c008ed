"""Release images: names resolved inside the image folder, files decoded fully, pixels cropped.

The reader decodes every image a release references (`check_image_file`), so a file that
would fail in the input pipeline fails at read time, naming the TSV line that refers to it.
`decode_image` is the one decoder: the check and the pipelines see the same pixels.
"""

from __future__ import annotations

import os
import warnings
from typing import Optional

import numpy as np
from PIL import Image

from jddc.data.errors import DataError

# Pillow's own decompression-bomb warning level (89,478,485 pixels, e.g. 9459 x 9459).
MAX_PIXELS = Image.MAX_IMAGE_PIXELS
# "MPO": a phone's multi-picture JPEG (its first picture is read).
_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG"}
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, MemoryError)


def resolve_image(image_dir: str, name: str, path: str, line: Optional[int]) -> str:
  """The file path of image `name`, refusing names and links that would leave `image_dir`."""
  if (os.path.isabs(name) or "/" in name or "\\" in name or name in (".", "..")
      or name.startswith("..")):
    raise DataError(path, line, f"image name {name!r} escapes the release's image folder", "image_escape")
  file_path = os.path.join(image_dir, name)
  if os.path.islink(file_path):
    real_dir, target = os.path.realpath(image_dir), os.path.realpath(file_path)
    if os.path.commonpath([real_dir, target]) != real_dir:
      raise DataError(path, line, f"image {name!r} is a link to {target}, outside the release's image folder "
                      f"{real_dir}", "image_escape")
  return file_path


def _to_rgb(image: Image.Image) -> Image.Image:
  """RGB of any decoded mode; 16-bit greyscale is scaled to 8 bits, not clipped."""
  if image.mode in _SIXTEEN_BIT_MODES:
    grey = np.clip(np.asarray(image, dtype=np.float64) / 257.0, 0, 255).round().astype(np.uint8)
    return Image.fromarray(np.repeat(grey[..., None], 3, axis=-1), "RGB")
  return image if image.mode == "RGB" else image.convert("RGB")


def decode_image(file_path: str, name: str, path: str, line: Optional[int]) -> Image.Image:
  """Decodes a whole JPEG or PNG to RGB; every failure is a DataError at `path:line`.

  Args:
    file_path: the image file.
    name: the image's name as the release writes it (in messages).
    path, line: where the image is referenced (the TSV file and line), for the error.

  Returns:
    The decoded RGB image (loaded: no file handle stays open).
  """
  if not os.path.exists(file_path):
    raise DataError(path, line, f"image {name!r} not found at {file_path}", "image_missing")
  if not os.path.isfile(file_path):
    raise DataError(path, line, f"image {name!r} unreadable: {file_path} is not a file", "image_unreadable")
  try:
    with open(file_path, "rb") as f, warnings.catch_warnings():
      # Sizes between Pillow's warning and error levels are refused below, by MAX_PIXELS.
      warnings.simplefilter("ignore", Image.DecompressionBombWarning)
      try:
        image = Image.open(f)
      except Image.DecompressionBombError as e:
        raise DataError(path, line, f"image {name!r} is too large to decode, more than {MAX_PIXELS:,} pixels "
                        f"({e})", "image_too_large") from e
      except _DECODE_ERRORS as e:
        raise DataError(path, line, f"image {name!r} is corrupt (not a JPEG or PNG Pillow can identify: {e})",
                        "image_corrupt") from e
      with image:
        if image.format not in _FORMATS:
          raise DataError(path, line, f"image {name!r} is a {image.format} file; a release's images are JPEG or "
                          "PNG", "image_corrupt")
        width, height = image.size
        if width * height > MAX_PIXELS:
          raise DataError(path, line, f"image {name!r} is {width} x {height} pixels, more than the {MAX_PIXELS:,} "
                          "an image may have", "image_too_large")
        try:
          image.load()
        except _DECODE_ERRORS as e:
          raise DataError(path, line, f"image {name!r} is corrupt ({_FORMATS[image.format]} data that cannot be "
                          f"decoded: {e})", "image_corrupt") from e
        return _to_rgb(image)
  except OSError as e:  # open() itself: permissions, I/O errors
    raise DataError(path, line, f"image {name!r} unreadable: {e}", "image_unreadable") from e


def check_image_file(file_path: str, name: str, path: str, line: Optional[int]) -> None:
  """Raises DataError if the image is missing, unreadable, too large or does not decode completely."""
  decode_image(file_path, name, path, line)


def load_image(file_path: str, where: str = "") -> Image.Image:
  """Decodes an image file to RGB; a bad file raises DataError naming `where` (default: the file)."""
  return decode_image(file_path, os.path.basename(file_path), where or file_path, None)


def resize_center_crop(image: Image.Image, size: int) -> np.ndarray:
  """ParlAI-style: resize the short side to size*256/224, centre-crop size x size. uint8[S, S, 3].

  Only the crop's source box is resampled, so memory stays O(size^2) whatever the aspect
  ratio (resizing a 1 x 20000 image whole to a 256-pixel short side would take GiBs); the
  pixels are those of resizing the whole image and cropping it.
  """
  scale = size * 256 / 224 / min(image.size)
  w, h = max(size, round(image.width * scale)), max(size, round(image.height * scale))
  left, top = (w - size) // 2, (h - size) // 2
  sx, sy = image.width / w, image.height / h
  box = (left * sx, top * sy, (left + size) * sx, (top + size) * sy)
  return np.asarray(image.resize((size, size), Image.BILINEAR, box=box), dtype=np.uint8)
