"""Whole public pages kept in each process's memory, for the pages a registration rush hits.

When registration opens, hundreds of people load the same category choice and the same form
within minutes. Rendering those pages (some 25 form fields, 250 countries, every label through
gettext) cost more than the registration itself, yet they are the same for every visitor of
one language. `page()` renders such a page once and answers from memory after that:

- **Only for anonymous visitors with nothing pending:** a signed-in staff member, a visitor
  with a flashed message waiting, or any method but GET gets the page rendered as usual.
- **The key is what the page shows:** the view passes the values its page is made of (the
  event's row, the category settings), together with the language and the path with its query
  string. An edit changes those values and so the key; nothing has to be invalidated, and a
  stale page is never shown.
- **What differs per visitor is put in on every answer:** the CSRF token (the visitor's own,
  from the signed session, made as for any page) and the `values` the view names (the address
  on the result page), escaped as the template would have escaped them.

The cache is a bounded LRU per application (NKHR_PAGE_CACHE_SIZE pages; 0 turns it off), so
arbitrary query strings cannot grow it without limit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from nkhr_events.web import current_language

#: Stands for the CSRF token in a kept page. NUL never occurs in a page: it is refused in every
#: path, query and form field before a view runs (web.py, validators.py).
_TOKEN = "\x00csrf-token\x00"


def _slot(name: str) -> str:
    """What stands for the per-visitor value `name` while the page is rendered and kept."""
    return f"\x00value-{name}\x00"


class PageCache:
    """A bounded least-recently-used map from a page's key to its HTML, safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            html = self._pages.get(key)
            if html is not None:
                self._pages.move_to_end(key)
                self.hits += 1
            return html

    def put(self, key: Hashable, html: str) -> None:
        with self._lock:
            self.misses += 1
            self._pages[key] = html
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()

    def __len__(self) -> int:
        return len(self._pages)


def init_app(app: Any) -> None:
    app.extensions["nkhr_page_cache"] = PageCache(int(app.config.get("NKHR_PAGE_CACHE_SIZE", 0)))


def current_cache() -> PageCache:
    cache: PageCache = current_app.extensions["nkhr_page_cache"]
    return cache


def _may_keep() -> bool:
    return (
        request.method == "GET"
        and not current_user.is_authenticated
        and "_flashes" not in session
    )


def page(
    key: Hashable,
    render: Callable[..., str],
    values: dict[str, str | None] | None = None,
) -> str:
    """The page `render(**values)` makes, kept under `key` (plus language and path).

    `render` must make the same page for the same key: it may read the request only through
    the language and the path. Each name in `values` is passed to it as a placeholder on a
    miss and replaced by the visitor's value, escaped, on every answer; a None value is passed
    as None and is part of the key (the page usually reads differently without it).
    """
    values = values or {}
    cache = current_cache()
    if not cache.size or not _may_keep():
        return render(**values)
    token = generate_csrf()  # the visitor's own, stored in the session as on any page
    present = tuple(sorted(name for name, value in values.items() if value is not None))
    full_key = (key, current_language(), request.full_path, present)
    kept = cache.get(full_key)
    if kept is None:
        html = render(**{n: (_slot(n) if v is not None else None) for n, v in values.items()})
        cache.put(full_key, html.replace(token, _TOKEN))
    else:
        html = kept.replace(_TOKEN, token)
    for name in present:
        html = html.replace(_slot(name), str(escape(values[name])))
    return html
