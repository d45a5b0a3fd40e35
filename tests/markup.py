"""A small HTML tree for tests (standard library only): find elements, read text and form values.

The pages are our own, well-formed templates, so a forgiving tree builder is enough: void
elements never take children and an unmatched end tag closes up to its nearest open match.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

VOID_ELEMENTS = frozenset(
    "area base br col embed hr img input link meta source track wbr".split()
)


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element | str] = []

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    @property
    def raw_text(self) -> str:
        return "".join(c if isinstance(c, str) else c.raw_text for c in self.children)

    @property
    def text(self) -> str:
        """The text inside, with runs of whitespace collapsed to one space."""
        return " ".join(self.raw_text.split())

    def iter(self) -> Iterator[Element]:
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Descendants with this tag whose attributes equal `attrs` (`class_` for class)."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag)
            and all(e.attrs.get(k) == v for k, v in wanted.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Element | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        """The single matching descendant; fails the test when there are none or several."""
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag}> {attrs}, found {len(found)}"
        return found[0]

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def has_class(self, name: str) -> bool:
        return name in (self.attrs.get("class") or "").split()

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class Document(Element):
    """The parsed page; `doctype` is the declaration it started with."""

    doctype: str | None = None


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Document("#document", {}, None)
        self._open: Element = self.root

    def handle_decl(self, decl: str) -> None:
        self.root.doctype = self.root.doctype or decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs}, self._open)
        self._open.children.append(element)
        if tag not in VOID_ELEMENTS:
            self._open = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs}, self._open)
        self._open.children.append(element)

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self._open
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self._open = node.parent

    def handle_data(self, data: str) -> None:
        self._open.children.append(data)


def parse(html: str) -> Document:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def form_values(form: Element) -> dict[str, str]:
    """What the browser would send for text-like fields: name -> value shown in the form."""
    values: dict[str, str] = {}
    for element in form.iter():
        name = element.get("name")
        if not name:
            continue
        if element.tag == "input" and element.get("type") not in {"submit", "button", "checkbox",
                                                                  "radio"}:
            values[name] = element.get("value", "") or ""
        elif element.tag == "textarea":
            # The HTML spec drops one newline right after <textarea>.
            values[name] = element.raw_text.removeprefix("\n").strip()
        elif element.tag == "select":
            options = element.find_all("option")
            chosen = [o for o in options if "selected" in o.attrs]
            values[name] = (chosen[0].get("value") or "") if chosen else ""
    return values


def ticked(form: Element, name: str) -> list[str]:
    """The values of the ticked boxes named `name` (a group of checkboxes), as a browser sends
    them; `form_values` leaves checkboxes out."""
    return [
        box.get("value") or "on"
        for box in form.find_all("input", name=name)
        if "checked" in box.attrs
    ]


def browser_submission(form: Element) -> list[tuple[str, str]]:
    """What a browser sends for `form` as the page shows it, no button pressed: every named
    control that is not disabled — ticked boxes and radios, the chosen options of a select
    (its first option when none is marked), text and textareas as shown. Files are left out."""
    sent: list[tuple[str, str]] = []
    for element in form.iter():
        name = element.get("name")
        if not name or "disabled" in element.attrs:
            continue
        if element.tag == "input":
            kind = (element.get("type") or "text").lower()
            if kind in {"submit", "button", "reset", "image", "file"}:
                continue
            if kind in {"checkbox", "radio"}:
                if "checked" in element.attrs:
                    sent.append((name, element.get("value") or "on"))
                continue
            sent.append((name, element.get("value") or ""))
        elif element.tag == "textarea":
            # The HTML spec drops one newline right after <textarea>.
            sent.append((name, element.raw_text.removeprefix("\n")))
        elif element.tag == "select":
            options = element.find_all("option")
            chosen = [o for o in options if "selected" in o.attrs]
            if not chosen and options and "multiple" not in element.attrs:
                chosen = options[:1]
            sent.extend((name, o.get("value") if o.get("value") is not None else o.text)
                        for o in chosen)
    return sent
