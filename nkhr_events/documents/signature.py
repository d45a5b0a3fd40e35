"""The signatory's signature image: decoded with Pillow under strict limits, re-encoded to PNG.

As with partner logos (partners/logos.py), nothing uploaded is stored or printed as it is: a
file is accepted only if Pillow decodes it as PNG or JPEG within the size and pixel limits
(checked from the header before any pixel is decoded), and what we keep is our own PNG of
the decoded pixels, without metadata, scaled to fit the documents.
"""

from __future__ import annotations

import io

from flask_babel import gettext as _

from nkhr_events.errors import DomainError
from nkhr_events.partners.logos import (
    MAX_PIXELS,
    ImageTooLarge,
    ImageUnreadable,
    decode_rgba,
    fresh_png,
)

MAX_UPLOAD_BYTES = 1024 * 1024
ACCEPTED_FORMATS = ("JPEG", "PNG")
#: Stored signatures fit in this box (aspect ratio kept): 3× the printed size at 18 mm high.
MAX_WIDTH = 1200
MAX_HEIGHT = 400


class SignatureRefused(DomainError):
    """The uploaded file is not a signature image we accept; the message says why."""


def clean_signature(data: bytes) -> bytes:
    """The signature in `data`, decoded, downscaled and re-encoded as PNG (transparency kept).

    Raises SignatureRefused for an empty, oversized, unreadable or non-PNG/JPEG file, or one
    whose header declares too many pixels or a strip-like shape."""
    if not data:
        raise SignatureRefused(_("The file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise SignatureRefused(_("The image is larger than 1 MB. Please send a smaller file."))
    try:
        rgba = decode_rgba(data, ACCEPTED_FORMATS)
    except ImageTooLarge as error:
        raise SignatureRefused(
            _(
                "The image is too large: at most %(pixels)s megapixels. Please send a "
                "smaller image.",
                pixels=MAX_PIXELS // 1_000_000,
            )
        ) from error
    except ImageUnreadable as error:
        raise SignatureRefused(_("This file is not a PNG or JPEG image we can read.")) from error
    rgba.thumbnail((MAX_WIDTH, MAX_HEIGHT))
    clean = fresh_png(rgba)
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue()
