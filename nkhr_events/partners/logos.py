"""Logo uploads: decode with Pillow under strict limits, re-encode to PNG without metadata.

Nothing the applicant sent is stored or served as is: a file is accepted only if Pillow can
decode it as PNG, JPEG or WebP within the size and pixel limits, and what we keep is our own
re-encoding of the decoded pixels.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from nkhr_events.errors import DomainError

MAX_UPLOAD_BYTES = 1024 * 1024
#: Far above any logo; a file declaring more is treated as a decompression bomb.
MAX_PIXELS = 20_000_000
#: Stored logos fit in this box (aspect ratio kept).
MAX_SIDE = 800
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})

# Lowered for the whole process (nothing else here decodes untrusted images): Pillow warns
# above this and refuses at twice this; both count as a refusal below.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class LogoRefused(DomainError):
    """The uploaded file is not a logo we accept; the message says why."""


@dataclass(frozen=True)
class CleanLogo:
    data: bytes
    content_type: str
    width: int
    height: int


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
    if image.width * image.height > MAX_PIXELS:
        raise Image.DecompressionBombError("declared size over the limit")
    return image


def clean_logo(data: bytes) -> CleanLogo:
    """The logo in `data`, decoded, downscaled and re-encoded as PNG.

    Raises LogoRefused for an empty, oversized, unreadable or non-image file, or one that
    declares more pixels than MAX_PIXELS.
    """
    if not data:
        raise LogoRefused(_l("The file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise LogoRefused(_l("The logo is larger than 1 MB. Please send a smaller file."))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with _open(data) as probe:
                probe.verify()
            with _open(data) as image:
                image.load()
                rgba = image.convert("RGBA")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise LogoRefused(
                _l("The image declares too many pixels. Please send a smaller logo.")
            ) from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise LogoRefused(
                _l("This file is not a PNG, JPEG or WebP image we can read.")
            ) from error
    rgba.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    # A fresh image carries no EXIF, ICC or text chunks from the upload.
    clean = Image.new("RGBA", rgba.size)
    clean.paste(rgba)
    clean.save(out, format="PNG", optimize=True)
    return CleanLogo(out.getvalue(), "image/png", clean.width, clean.height)
