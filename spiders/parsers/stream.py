"""A one-response board read as a stream: its entries one at a time.

A board that answers with its whole listing in one document (Greenhouse,
Ashby, Workable...) can be tens of megabytes. Reading it with
``json.loads`` builds every entry at once, several times the size of the
body. :class:`JsonDocument` reads the entries of one list in the body with
:mod:`ijson` instead, one entry built at a time, and any other value of the
document (a reported total, the account's name) in a pass of its own that
builds nothing else. The body is read as it is, never decoded to text.

:class:`Listing` is what a board's parser gives its spider: the raw entries,
how each one becomes a posting (a pure function), its id before it is
parsed (to skip an entry whose raw content has not changed), and what the
board reports about itself, known once the entries are read.

Malformed JSON raises :class:`BoardError` with the message ``json`` gives
for the same body (small bodies; a large one gets the parser's own), so a
board's error reads the same whichever way it was parsed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ijson
from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting

# Above this size a malformed body is not parsed again with ``json`` just
# to word the error as ``json`` would: that would build the whole document.
_RECHECK_MAX = 4 * 1024 * 1024  # bytes

# What an ijson event at a value's start says about its type, named as
# Python names the type ``json.loads`` would have built.
_KINDS = {"start_map": "dict", "start_array": "list", "string": "str", "boolean": "bool",
          "null": "NoneType"}


@dataclass
class Listing:
    """A board's entries, read lazily, and what turns each into a posting.

    ``entries`` yields the raw entries (a JSON object, an XML element) in
    the board's order; ``posting(entry)`` parses one (None for an entry
    that is not a published posting; raises :class:`BoardError` for one
    that cannot be read); ``external_id(entry)`` is its id without parsing
    it (None when it has none: ``posting`` then says what is wrong);
    ``raw(entry)`` is what its raw hash is taken of; ``context`` are the
    values outside the entry that change what it means (the account's
    name); ``total()``, called once the entries are read, is the count the
    board reports (None when it reports none)."""

    entries: Iterable[Any]
    posting: Callable[[Any], Posting | None]
    external_id: Callable[[Any], str | None]
    total: Callable[[], int | None] = lambda: None
    raw: Callable[[Any], Any] = lambda entry: entry
    context: tuple[str, ...] = field(default_factory=tuple)

    def postings(self) -> Iterator[Posting]:
        for entry in self.entries:
            if (posting := self.posting(entry)) is not None:
                yield posting


class JsonDocument:
    """One JSON response body, read without building it whole.

    ``what`` names the answer in errors ("malformed JSON from {what}")."""

    def __init__(self, response: Response, what: str):
        self.body = response.body
        self.url = response.url
        self.what = what

    def items(self, path: str, missing: str) -> Iterator[Any]:
        """The entries of the list at ``path`` (``""`` for a body that is
        the list itself, ``"jobs"`` for ``{"jobs": [...]}``), one at a time.
        Raises :class:`BoardError` when the body is malformed, or when there
        is no list there: ``missing`` is then the message, formatted with
        ``kind``, the type found instead."""
        kind = self._kind(path)
        if kind != "list":
            raise BoardError(missing.format(kind=kind), self.url)
        prefix = f"{path}.item" if path else "item"
        with self._errors():
            for entry in ijson.items(self._stream(), prefix):
                yield _floats(entry)

    def value(self, path: str) -> Any:
        """The first value at ``path`` (``"meta.total"``), None when there
        is none. Builds that value only."""
        with self._errors():
            return _floats(next(iter(ijson.items(self._stream(), path)), None))

    def _kind(self, path: str) -> str | None:
        # The type of the value at ``path`` (a top-level member or the
        # document itself), None when there is none; reads up to it.
        with self._errors():
            events = ijson.parse(self._stream())
            for prefix, event, value in events:
                if prefix == path and event not in ("map_key", "end_map", "end_array"):
                    return _KINDS.get(event) or type(value).__name__
                if not path or (prefix == "" and event != "map_key" and event != "start_map"):
                    return None  # the document is not an object, or it ended
            return None

    def _stream(self) -> io.BytesIO:
        # ``json.loads`` reads UTF-8, -16 and -32, with or without a BOM;
        # ijson reads UTF-8. A BytesIO shares the body, it does not copy it.
        encoding = json.detect_encoding(self.body)
        if encoding == "utf-8":
            return io.BytesIO(self.body)
        if encoding == "utf-8-sig":
            stream = io.BytesIO(self.body)
            stream.seek(3)
            return stream
        try:  # rare enough to afford the copy
            return io.BytesIO(self.body.decode(encoding).encode("utf-8"))
        except UnicodeDecodeError as exc:
            raise self._malformed(exc) from exc

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except BoardError:
            raise
        except (ijson.JSONError, ValueError) as exc:  # ValueError: UnicodeDecodeError among them
            raise self._malformed(exc) from exc

    def _malformed(self, exc: Exception) -> BoardError:
        detail = _first_line(exc)
        if len(self.body) <= _RECHECK_MAX:
            try:
                json.loads(self.body)
            except ValueError as json_exc:  # JSONDecodeError and UnicodeDecodeError
                detail = str(json_exc)
        return BoardError(f"malformed JSON from {self.what}: {detail}", self.url)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _floats(value: Any) -> Any:
    """``value`` with every ``Decimal`` ijson made turned into the float
    ``json.loads`` gives. (ijson's ``use_float`` cannot be used: its C
    backend refuses an integer beyond 64 bits as "integer overflow", a
    valid document ``json.loads`` reads.)"""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _floats(v) if isinstance(v, (dict, list, Decimal)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) if isinstance(v, (dict, list, Decimal)) else v for v in value]
    return value
