"""Header values that cannot carry a second header.

Flask-Mail refuses a subject or address with a bare line break (BadHeaderError) and the email
package refuses others, but a refused message is a lost message. Text that people typed (a
name, a subject) is therefore made harmless before it is stored: every line break or other
control character becomes a space, so "Hello\\r\\nBcc: x@example.org" stays one line of text.
"""

from __future__ import annotations

import re
import unicodedata
from email.utils import make_msgid, parseaddr

#: RFC 5322 allows 998 characters on a line; subjects stay well inside that.
MAX_SUBJECT_LENGTH = 250

_ADDRESS = re.compile(r"^[^@\s\"<>(),;:\\\[\]]{1,64}@[^@\s\"<>(),;:\\\[\]]{1,189}$")
_NAME_SPECIALS = re.compile(r'[<>@,;:"\\()\[\]]')
_TOKEN = re.compile(r"^[A-Za-z0-9!#$&^_.+-]{1,100}/[A-Za-z0-9!#$&^_.+-]{1,100}$")
_PARAMETER = re.compile(r'^[A-Za-z0-9_-]{1,40}=(?:[A-Za-z0-9!#$&^_.+-]{1,100}|"[^"\\]{0,100}")$')


def single_line(text: str, max_length: int | None = None) -> str:
    """`text` as one line: line breaks, tabs and other control characters become spaces."""
    cleaned = "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in text)
    line = " ".join(cleaned.split())
    if max_length is not None and len(line) > max_length:
        line = line[: max_length - 1].rstrip() + "…"
    return line


def check_address(address: str) -> str:
    """A bare address (local@domain) with nothing that could end a header; ValueError if not."""
    address = address.strip()
    if not _ADDRESS.match(address) or any(ord(ch) < 32 or ord(ch) == 127 for ch in address):
        raise ValueError(f"not a single email address: {address!r}")
    return address


def display_name(name: str) -> str:
    """A display name without the characters that give an address header its structure.

    Quoting is not enough: when the email package refolds a long address header it decodes the
    encoded name and writes it back unquoted, so `"Eve, x@evil.example" <a@b>` would reach the
    server as two addresses (seen with Python 3.11). Without <>@,;:"\\()[] nothing in a name
    can become an address.
    """
    return " ".join(_NAME_SPECIALS.sub(" ", single_line(name, 120)).split())


def format_address(name: str, address: str) -> str:
    """`"Name" <address>` with a safe one-line display name (Flask-Mail encodes it later)."""
    address = check_address(address)
    name = display_name(name)
    return f'"{name}" <{address}>' if name else address


def mailbox(value: str | tuple[str, str]) -> str:
    """A mailbox from an address, `Name <address>` text or a (name, address) pair, made safe."""
    if isinstance(value, tuple):
        # The name may be typed by anyone: made one line. The address must be clean already.
        return format_address(*value)
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError(f"an address with control characters: {value!r}")
    if "<" in value:
        if not value.rstrip().endswith(">"):
            raise ValueError(f"not a single mailbox: {value!r}")
        name, address = parseaddr(value)
        return format_address(name, address)
    return check_address(value)


def content_type(value: str) -> str:
    """A MIME type with optional parameters (`text/calendar; method=REQUEST`); ValueError if odd."""
    main, *params = [part.strip() for part in value.split(";")]
    if not _TOKEN.match(main) or not all(_PARAMETER.match(p) for p in params):
        raise ValueError(f"not a content type: {value!r}")
    return "; ".join([main.lower(), *params])


def filename(value: str) -> str:
    """A file name without folders or control characters."""
    name = single_line(value, 120).replace("/", "_").replace("\\", "_").strip(". ")
    if not name:
        raise ValueError("an attachment needs a file name")
    return name


def new_message_id(sender: str) -> str:
    """A fresh Message-ID in the sender's domain."""
    _name, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or "localhost"
    return make_msgid("outbox", domain=domain)
