"""Logo uploads: decode with Pillow under strict limits, re-encode to PNG without metadata.

Nothing the applicant sent is stored or served as is: a file is accepted only if Pillow can
decode it as PNG, JPEG or WebP within the size and pixel limits, and what we keep is our own
re-encoding of the decoded pixels.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Collection
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from nkhr_events.errors import DomainError

MAX_UPLOAD_BYTES = 1024 * 1024
#: Far above any logo (2000 × 2000). Decoding costs some 4 bytes a pixel, whatever the file's
#: size: a 58 KB PNG of 20 megapixels took a worker from 131 MB to 363 MB. The size the header
#: declares is checked before a single pixel is decoded.
MAX_PIXELS = 4_000_000
#: Neither side may be longer than this, nor the longer side more than MAX_ASPECT times the
#: shorter (a 1 × 4,000,000 banner is not a logo either).
MAX_DIMENSION = 8_000
MAX_ASPECT = 50
#: Stored logos fit in this box (aspect ratio kept).
MAX_SIDE = 800
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})

# Lowered for the whole process (nothing else here decodes untrusted images), as a second line
# behind the header check: Pillow warns above this and refuses at twice this; both count as a
# refusal below.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class LogoRefused(DomainError):
    """The uploaded file is not a logo we accept; the message says why."""


@dataclass(frozen=True)
class CleanLogo:
    data: bytes
    content_type: str
    width: int
    height: int


class ImageTooLarge(Exception):
    """The image declares more pixels, or a longer side or stranger shape, than allowed."""


class ImageUnreadable(Exception):
    """Pillow cannot decode the file as one of the accepted formats."""


def _open(data: bytes, formats: Collection[str]) -> Image.Image:
    """The image with its header read and nothing decoded yet (Image.open is lazy); refused
    here if the size it declares is over the limits."""
    image = Image.open(io.BytesIO(data), formats=sorted(formats))
    width, height = image.size
    if (
        width * height > MAX_PIXELS
        or max(width, height) > MAX_DIMENSION
        or max(width, height) > MAX_ASPECT * max(min(width, height), 1)
    ):
        image.close()
        raise Image.DecompressionBombError("declared size over the limit")
    return image


def decode_rgba(data: bytes, formats: Collection[str]) -> Image.Image:
    """Untrusted bytes decoded as one of `formats` into RGBA pixels, or ImageTooLarge (the
    header declares too much: refused before a pixel is decoded) or ImageUnreadable. Shared by
    every upload of an image (partner logos, the signature of documents)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with _open(data, formats) as probe:
                probe.verify()
            with _open(data, formats) as image:
                image.load()
                return image.convert("RGBA")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageTooLarge() from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise ImageUnreadable() from error


def fresh_png(rgba: Image.Image) -> Image.Image:
    """A new image holding only the pixels: no EXIF, ICC or text chunks from the upload."""
    clean = Image.new("RGBA", rgba.size)
    clean.paste(rgba)
    return clean


def clean_logo(data: bytes) -> CleanLogo:
    """The logo in `data`, decoded, downscaled and re-encoded as PNG.

    Raises LogoRefused for an empty, oversized, unreadable or non-image file, or one whose
    header declares more than MAX_PIXELS pixels, a side over MAX_DIMENSION or a strip-like
    shape; those are refused before any pixel is decoded.
    """
    if not data:
        raise LogoRefused(_("The file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise LogoRefused(_("The logo is larger than 1 MB. Please send a smaller file."))
    try:
        rgba = decode_rgba(data, ACCEPTED_FORMATS)
    except ImageTooLarge as error:
        raise LogoRefused(
            _(
                "The image is too large: at most %(pixels)s megapixels (for example "
                "2000 × 2000 pixels). Please send a smaller logo.",
                pixels=MAX_PIXELS // 1_000_000,
            )
        ) from error
    except ImageUnreadable as error:
        raise LogoRefused(_("This file is not a PNG, JPEG or WebP image we can read.")) from error
    rgba.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    clean = fresh_png(rgba)
    clean.save(out, format="PNG", optimize=True)
    return CleanLogo(out.getvalue(), "image/png", clean.width, clean.height)
