"""The PDF engine: one small builder for every document the organisers issue.

Built on fpdf2 (pure Python, installed by pip alone) with two subsets of Noto Sans CJK
(SIL Open Font License) shipped in nkhr_events/data/fonts/: one with Latin and every Hangul
syllable, one with Latin, Kana and the JIS X 0208 Kanji. The document's language chooses the
first font (Japanese documents draw Han characters in their Japanese forms); every character
the first one lacks is drawn from the other, so any mix of scripts in any call renders (a
Korean attendee's Latin passport name in a Japanese letter). Only the glyphs a document uses
are embedded (fpdf2 subsets again), so a one-page document stays small.

The text is real text (copyable, searchable, read aloud), the document's language and title
are set in its metadata, and each block is tagged (H1, P, Figure with alternative text) in the
structure tree, as far as fpdf2 allows.

Labels the builder writes itself ("Verify at", "Reference") are in the document's language,
whatever the language of the request that builds it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import segno
from flask_babel import force_locale
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, WrapMode, XPos, YPos
from fpdf.fonts import TTFFont
from fpdf.prefs import ViewerPreferences

from nkhr_events.dbtypes import utcnow
from nkhr_events.documents.settings import current_settings, organisation_name

FONT_DIR = Path(__file__).resolve().parent.parent / "data" / "fonts"
#: Family name -> file. KR holds Latin and Hangul, JP holds Latin, Kana and Kanji.
FONTS = {
    "notokr": FONT_DIR / "NotoSansCJKkr-subset.ttf",
    "notojp": FONT_DIR / "NotoSansCJKjp-subset.ttf",
}
LANGUAGES = ("en", "ko", "ja")
#: The PDF's /Lang for each document language (BCP 47).
PDF_LANG = {"en": "en", "ko": "ko-KR", "ja": "ja-JP"}

MARGIN_MM = 20
BODY_PT = 11
SMALL_PT = 9
HEADING_PT = 17
ORG_PT = 14
LINE_FACTOR = 1.55  # line height as a multiple of the font size
GREY = (90, 90, 90)
BLACK = (0, 0, 0)
SIGNATURE_HEIGHT_MM = 18
QR_SIZE_MM = 28
LABEL_WIDTH_MM = 55
#: fpdf2 expresses sizes in the document's unit (mm); a point is 25.4 / 72 mm.
PT_MM = 25.4 / 72


class _TaggedPDF(FPDF):
    """FPDF with block-level tags: fpdf2 tags only figures and outline entries by itself, so
    headings and paragraphs are marked the same way it marks a figure, with their own type."""

    @contextmanager
    def tagged(self, struct_type: str, alt_text: str | None = None) -> Iterator[None]:
        """Mark what is drawn inside as one structure element (`/H1`, `/P`, `/Figure`).
        The block must not cross a page (the builder breaks pages before a block)."""
        mcid = self.struct_builder.next_mcid_for_page(self.page)
        self._add_marked_content(struct_type=struct_type, mcid=mcid, alt_text=alt_text)
        tag = struct_type.lstrip("/")
        self._out(f"/{tag} <</MCID {mcid}>> BDC")
        yield
        self._out("EMC")


class DocumentBuilder:
    """Builds one document, top to bottom: letterhead, heading, paragraphs, label/value facts,
    signature, verification block; `output()` gives the PDF's bytes.

    `language` ("en", "ko" or "ja") sets the document's language (its metadata, the fonts'
    order, the builder's own labels); `title` is the PDF's title, shown by viewers in place of
    the file name.
    """

    def __init__(self, language: str, title: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported document language: {language!r}")
        self.language = language
        self.title = title
        self._settings = current_settings()
        pdf = _TaggedPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        pdf.set_auto_page_break(True, margin=MARGIN_MM)
        first, second = ("notojp", "notokr") if language == "ja" else ("notokr", "notojp")
        pdf.add_font(first, fname=str(FONTS[first]))
        pdf.set_font(first, size=BODY_PT)
        # The second font is read only when a text needs it (reading a font file costs
        # about as much as the rest of a certificate).
        font = pdf.fonts[first]
        self._first_chars = frozenset(font.cmap if isinstance(font, TTFFont) else ())
        self._second = second
        self._second_added = False
        pdf.set_lang(PDF_LANG[language])
        pdf.set_title(title)
        pdf.set_subject(title)
        author = organisation_name(self._settings)
        pdf.set_author(author)
        pdf.set_creator(author)
        pdf.set_creation_date(utcnow())
        pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
        pdf.add_page()
        self._pdf = pdf
        self._font = first
        # Japanese has no spaces between words: wrap it between any two characters.
        self._wrap = WrapMode.CHAR if language == "ja" else WrapMode.WORD

    # -- blocks ---------------------------------------------------------------------------

    def letterhead(self) -> None:
        """The organisation's name and postal address (document settings), with a rule."""
        pdf = self._pdf
        name = organisation_name(self._settings)
        address = self._settings.organisation_address.strip()
        self._text_block("/P", name, ORG_PT, color=BLACK)
        if address:
            self._text_block("/P", address, SMALL_PT, color=GREY)
        pdf.ln(2)
        pdf.set_draw_color(*GREY)
        pdf.set_line_width(0.3)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(8)

    def heading(self, text: str) -> None:
        self._text_block("/H1", text, HEADING_PT, color=BLACK)
        self._pdf.ln(3)

    def paragraph(self, text: str) -> None:
        self._text_block("/P", text, BODY_PT, color=BLACK)
        self._pdf.ln(2.5)

    def facts(self, rows: list[tuple[str, str]]) -> None:
        """Label/value lines: the label in grey on the left, the value beside it (wrapped)."""
        pdf = self._pdf
        line_h = BODY_PT * PT_MM * LINE_FACTOR
        value_w = pdf.epw - LABEL_WIDTH_MM
        for label, value in rows:
            pdf.set_font(self._font, size=BODY_PT)
            label_lines = len(self._lines(label, LABEL_WIDTH_MM - 3))
            value_lines = len(self._lines(value, value_w))
            height = max(label_lines, value_lines, 1) * line_h
            self._room_for(height)
            top = pdf.get_y()
            with pdf.tagged("/P"):
                pdf.set_text_color(*GREY)
                pdf.set_xy(pdf.l_margin, top)
                pdf.multi_cell(
                    LABEL_WIDTH_MM - 3,
                    line_h,
                    label,
                    wrapmode=self._wrap,
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
                pdf.set_text_color(*BLACK)
                pdf.set_xy(pdf.l_margin + LABEL_WIDTH_MM, top)
                pdf.multi_cell(
                    value_w,
                    line_h,
                    value or "\u2014",
                    wrapmode=self._wrap,
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
            pdf.set_xy(pdf.l_margin, top + height + 1)
        pdf.ln(3)

    def signature(self) -> None:
        """The signature image (if an admin set one), then the signatory's name and title."""
        pdf = self._pdf
        settings = self._settings
        name = settings.signatory_name.strip()
        title = settings.signatory_title.strip()
        image = settings.signature_png
        self._room_for(
            (SIGNATURE_HEIGHT_MM if image else 0) + 2 * BODY_PT * PT_MM * LINE_FACTOR + 10
        )
        pdf.ln(6)
        if image:
            with force_locale(self.language):
                alt = _("Signature of %(name)s", name=name) if name else _("Signature")
            pdf.image(
                io.BytesIO(image),
                x=pdf.l_margin,
                h=SIGNATURE_HEIGHT_MM,
                keep_aspect_ratio=False,
                alt_text=alt,
            )
            pdf.ln(1)
        else:
            pdf.ln(SIGNATURE_HEIGHT_MM / 2)
        if name:
            self._text_block("/P", name, BODY_PT, color=BLACK)
        if title:
            self._text_block("/P", title, BODY_PT, color=GREY)
        pdf.ln(4)

    def verification(self, url: str, reference: str) -> None:
        """How a reader checks the document: the reference, the code (when `url` ends in
        "/<reference>/<code>", as `services.verification_url` makes it), the address, and a
        QR code of the address beside them."""
        pdf = self._pdf
        line_h = SMALL_PT * PT_MM * LINE_FACTOR
        self._room_for(QR_SIZE_MM + 6)
        pdf.ln(2)
        top = pdf.get_y()
        pdf.set_draw_color(*GREY)
        pdf.set_line_width(0.2)
        pdf.line(pdf.l_margin, top, pdf.w - pdf.r_margin, top)
        top += 4
        qr = io.BytesIO()
        segno.make(url, error="m").save(qr, kind="png", scale=6, border=0)
        qr.seek(0)
        # The address ends in "/<reference>/<code>" (documents/services.py): the code is
        # printed on a line of its own too, for whoever types it into the verification form.
        head, _sep, code = url.rstrip("/").rpartition("/")
        if not head.endswith("/" + reference):
            code = ""
        with force_locale(self.language):
            verify_line = _("Verify this document at %(url)s", url=url)
            reference_line = _("Reference: %(reference)s", reference=reference)
            code_line = _("Verification code: %(code)s", code=code) if code else ""
            qr_alt = _("QR code of the verification address %(url)s", url=url)
        pdf.image(
            qr,
            x=pdf.w - pdf.r_margin - QR_SIZE_MM,
            y=top,
            w=QR_SIZE_MM,
            h=QR_SIZE_MM,
            alt_text=qr_alt,
        )
        text_w = pdf.epw - QR_SIZE_MM - 6
        self._fonts_for(reference_line, code_line, verify_line)
        pdf.set_xy(pdf.l_margin, top)
        pdf.set_font(self._font, size=SMALL_PT)
        pdf.set_text_color(*BLACK)
        with pdf.tagged("/P"):
            pdf.multi_cell(
                text_w,
                line_h,
                reference_line,
                wrapmode=self._wrap,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        if code_line:
            with pdf.tagged("/P"):
                pdf.multi_cell(
                    text_w,
                    line_h,
                    code_line,
                    wrapmode=self._wrap,
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
        with pdf.tagged("/P"):
            pdf.multi_cell(
                text_w,
                line_h,
                verify_line,
                wrapmode=WrapMode.CHAR,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        pdf.set_y(max(pdf.get_y(), top + QR_SIZE_MM) + 2)
        pdf.set_font(self._font, size=BODY_PT)

    def output(self) -> bytes:
        return bytes(self._pdf.output())

    # -- helpers --------------------------------------------------------------------------

    def _fonts_for(self, *texts: str) -> None:
        """Add the second font as the fallback once a text has a character the first lacks."""
        if self._second_added:
            return
        if any(ord(ch) not in self._first_chars for text in texts for ch in text if ch > " "):
            self._pdf.add_font(self._second, fname=str(FONTS[self._second]))
            self._pdf.set_fallback_fonts([self._second], exact_match=False)
            self._second_added = True

    def _lines(self, text: str, width: float) -> list[str]:
        self._fonts_for(text)
        lines = self._pdf.multi_cell(
            width,
            5,
            text or "\u2014",
            wrapmode=self._wrap,
            dry_run=True,
            output=MethodReturnValue.LINES,
        )
        assert isinstance(lines, list)
        return lines

    def _room_for(self, height: float) -> None:
        """Start a new page if `height` mm does not fit on this one (tagged blocks never
        cross a page)."""
        pdf = self._pdf
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()

    def _text_block(
        self, struct_type: str, text: str, size: float, *, color: tuple[int, int, int]
    ) -> None:
        """A block of text, moved whole to the next page if it does not fit on this one but
        fits on a page; a longer one is split at the page break, each part tagged alone."""
        pdf = self._pdf
        pdf.set_font(self._font, size=size)
        line_h = size * PT_MM * LINE_FACTOR
        lines = self._lines(text, pdf.epw)
        page_lines = max(int((pdf.page_break_trigger - pdf.t_margin) // line_h), 1)
        pdf.set_text_color(*color)
        start = 0
        while start < len(lines):
            room = int((pdf.page_break_trigger - pdf.get_y()) // line_h)
            left = len(lines) - start
            at_top = pdf.get_y() <= pdf.t_margin
            if not at_top and (room < 1 or (room < left and left <= page_lines)):
                pdf.add_page()
                continue
            room = max(room, 1)
            chunk = lines[start : start + room]
            with pdf.tagged(struct_type):
                pdf.multi_cell(
                    0,
                    line_h,
                    "\n".join(chunk),
                    wrapmode=self._wrap,
                    align=Align.L,
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
            start += len(chunk)
        pdf.set_text_color(*BLACK)
        pdf.set_font(self._font, size=BODY_PT)
