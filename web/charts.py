"""Charts for the pages, drawn on the server as inline SVG (no JavaScript).

Pure functions from plain numbers to ``markupsafe.Markup``: open roles over
time (:func:`line_chart`) and roles added and removed per week
(:func:`bar_chart`). Labels are board text, so untrusted: every label is
XML-escaped, with characters XML cannot carry removed.

No colour is written here: a stylesheet gives them through these classes, so
one set of rules serves light and dark themes.

- ``chart`` the ``<svg>`` (with ``chart-line``, ``chart-bar`` or ``chart-empty``)
- ``axis``, ``grid`` axis and grid lines
- ``line`` the polyline of a line chart (needs ``fill: none`` and a stroke)
- ``point`` one circle per value of a line chart
- ``bar`` and ``bar-<series>`` (``bar-added``, ``bar-removed``) one bar per
  value; ``swatch`` and ``bar-<series>`` the legend's squares
- ``label`` every text (tick values, x labels, legend, "no data yet")

Every point and bar carries ``data-label`` and ``data-value`` and a
``<title>`` (a tooltip, and what a screen reader reads). The SVG has a
``viewBox`` and ``width="100%"``, so it scales down to a phone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from markupsafe import Markup, escape

EMPTY_TEXT = "no data yet"
_CHAR_WIDTH = 6.5  # px: rough width of one label character at the stylesheet's 11px
_LABEL_GAP = 8  # px: least space between two x labels
_LABEL_CHARS = 16  # x labels longer than this are shortened (the tooltip has all)
_MAX_X_LABELS = 7
_TICK_STEPS = (1, 2, 5)  # times a power of ten
_MAX_TICKS = 5

# Characters XML 1.0 cannot carry, even escaped (most C0 controls, lone
# surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_CLASS = re.compile(r"[^a-z0-9-]+")


def _clean(text: object) -> str:
    return " ".join(_NOT_XML.sub("", str(text)).split())


def _esc(text: object) -> Markup:
    return escape(_clean(text))


def _num(value: float) -> str:
    """A value as shown: whole numbers without a decimal point."""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def _coord(value: float) -> str:
    return f"{value:.1f}"


def _value(value: object) -> float:
    """A count to draw: non-numbers, NaN and infinities count as 0."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _ticks(top: float) -> list[int]:
    """3 to 5 integer ticks from 0 reaching at least ``top``: steps of 1, 2
    or 5 times a power of ten."""
    magnitude = 1
    while True:
        for step in _TICK_STEPS:
            size = step * magnitude
            count = max(2, math.ceil(max(top, 0) / size))
            if count + 1 <= _MAX_TICKS:
                return [size * k for k in range(count + 1)]
        magnitude *= 10


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _x_labels(xs: Sequence[float], labels: Sequence[str], left: float,
              right: float) -> list[tuple[int, str, str]]:
    """Which x labels to draw: the first, the last and a few evenly spaced
    between, none overlapping another. Returns (index, text, anchor)."""
    n = len(xs)
    shown = [_short(_clean(label)) for label in labels]

    def span(i: int, anchor: str) -> tuple[float, float]:
        width = len(shown[i]) * _CHAR_WIDTH
        if anchor == "start":
            return xs[i], xs[i] + width
        if anchor == "end":
            return xs[i] - width, xs[i]
        return xs[i] - width / 2, xs[i] + width / 2

    def anchor(i: int) -> str:
        # the ends are anchored inward so they never run off the chart
        start, end = span(i, "middle")
        if start < left:
            return "start"
        if end > right:
            return "end"
        return "middle"

    wanted = min(n, _MAX_X_LABELS)
    order = [0] if n == 1 else sorted({round(k * (n - 1) / (wanted - 1)) for k in range(wanted)})
    picked: list[tuple[int, str]] = []

    def clashes(i: int, mode: str) -> bool:
        return bool(picked) and span(i, mode)[0] < span(*picked[-1])[1] + _LABEL_GAP

    for i in order:
        mode = anchor(i)
        if clashes(i, mode) and i == n - 1:
            # the last label wins over the middle ones it would overlap
            while len(picked) > 1 and clashes(i, mode):
                picked.pop()
        if not clashes(i, mode):
            picked.append((i, mode))
    return [(i, shown[i], mode) for i, mode in picked]


class _Frame:
    """The plot area inside the SVG and the y scale of its ticks."""

    def __init__(self, width: int, height: int, values: Sequence[float], top_margin: int):
        self.width, self.height = max(int(width), 120), max(int(height), 80)
        self.ticks = _ticks(max(values, default=0))
        tick_chars = max(len(str(t)) for t in self.ticks)
        self.left = 8 + tick_chars * _CHAR_WIDTH + 6
        self.right = self.width - 12
        self.top = top_margin
        self.bottom = self.height - 24
        self.y_max = self.ticks[-1]

    def y(self, value: float) -> float:
        share = min(max(value, 0.0), self.y_max) / self.y_max  # y_max >= 2: no zero division
        return self.bottom - share * (self.bottom - self.top)

    def axes(self) -> list[str]:
        parts = ['<g class="grid">']
        for tick in self.ticks[1:]:
            y = _coord(self.y(tick))
            parts.append(f'<line class="grid" x1="{_coord(self.left)}" y1="{y}" '
                         f'x2="{_coord(self.right)}" y2="{y}"/>')
        parts.append("</g>")
        parts.append('<g class="axis">')
        parts.append(f'<line class="axis" x1="{_coord(self.left)}" y1="{_coord(self.top)}" '
                     f'x2="{_coord(self.left)}" y2="{_coord(self.bottom)}"/>')
        parts.append(f'<line class="axis" x1="{_coord(self.left)}" y1="{_coord(self.bottom)}" '
                     f'x2="{_coord(self.right)}" y2="{_coord(self.bottom)}"/>')
        for tick in self.ticks:
            parts.append(f'<text class="label" x="{_coord(self.left - 6)}" '
                         f'y="{_coord(self.y(tick) + 4)}" text-anchor="end">{tick}</text>')
        parts.append("</g>")
        return parts

    def x_labels(self, xs: Sequence[float], labels: Sequence[str]) -> list[str]:
        parts = ['<g class="x-labels">']
        for i, text, anchor in _x_labels(xs, labels, self.left, self.right):
            parts.append(f'<text class="label" x="{_coord(xs[i])}" y="{_coord(self.bottom + 16)}" '
                         f'text-anchor="{anchor}">{escape(text)}</text>')
        parts.append("</g>")
        return parts


def _svg(kind: str, title: str, width: int, height: int, body: list[str]) -> Markup:
    name = _esc(title)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
            f'viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{name}">'
            f"<title>{name}</title>")
    return Markup(head + "".join(body) + "</svg>")


def _empty(title: str, width: int, height: int) -> Markup:
    width, height = max(int(width), 120), max(int(height), 80)
    text = (f'<text class="label" x="{_coord(width / 2)}" y="{_coord(height / 2)}" '
            f'text-anchor="middle">{EMPTY_TEXT}</text>')
    return _svg("empty", title, width, height, [text])


def line_chart(points: list[tuple[str, float]], *, title: str, width: int = 640,
               height: int = 220) -> Markup:
    """A line through ``(label, value)`` points in the order given, evenly
    spaced (one per day of a timeline), y from 0; "no data yet" when there
    are none."""
    if not points:
        return _empty(title, width, height)
    labels = [str(label) for label, _ in points]
    values = [_value(value) for _, value in points]
    frame = _Frame(width, height, values, top_margin=12)
    n = len(values)
    plot = frame.right - frame.left
    xs = [frame.left + plot / 2] if n == 1 else [frame.left + plot * i / (n - 1) for i in range(n)]
    ys = [frame.y(v) for v in values]
    body = frame.axes() + frame.x_labels(xs, labels)
    path = " ".join(f"{_coord(x)},{_coord(y)}" for x, y in zip(xs, ys, strict=True))
    body.append(f'<polyline class="line" fill="none" points="{path}"/>')
    body.append('<g class="points">')
    for label, value, x, y in zip(labels, values, xs, ys, strict=True):
        name, shown = _esc(label), _num(value)
        body.append(f'<circle class="point" cx="{_coord(x)}" cy="{_coord(y)}" r="3" '
                    f'data-label="{name}" data-value="{shown}">'
                    f"<title>{name}: {shown}</title></circle>")
    body.append("</g>")
    return _svg("line", title, frame.width, frame.height, body)


def bar_chart(groups: list[tuple[str, dict[str, int]]], *, title: str,
              series: tuple[str, ...] = ("added", "removed"), width: int = 640,
              height: int = 220) -> Markup:
    """Grouped bars: per ``(label, {series: count})`` group (one per week),
    one bar per series in ``series`` order (a missing count is 0), y from 0,
    a legend above; "no data yet" when there are no groups."""
    if not groups or not series:
        return _empty(title, width, height)
    labels = [str(label) for label, _ in groups]
    counts = [[_value((values or {}).get(name, 0)) for name in series] for _, values in groups]
    frame = _Frame(width, height, [v for row in counts for v in row], top_margin=28)
    n = len(groups)
    slot = (frame.right - frame.left) / n
    bar = slot * 0.8 / len(series)
    centres = [frame.left + slot * (i + 0.5) for i in range(n)]
    body = frame.axes() + frame.x_labels(centres, labels)
    classes = [_NOT_CLASS.sub("-", _clean(name).lower()).strip("-") or "series" for name in series]
    body.append('<g class="bars">')
    for label, row, centre in zip(labels, counts, centres, strict=True):
        x = centre - bar * len(series) / 2
        name = _esc(label)
        for k, (kind, css, value) in enumerate(zip(series, classes, row, strict=True)):
            y, shown = frame.y(value), _num(value)
            body.append(f'<rect class="bar bar-{css}" x="{_coord(x + k * bar)}" y="{_coord(y)}" '
                        f'width="{_coord(bar)}" height="{_coord(frame.bottom - y)}" '
                        f'data-label="{name}" data-series="{_esc(kind)}" data-value="{shown}">'
                        f"<title>{name} {_esc(kind)}: {shown}</title></rect>")
    body.append("</g>")
    body.extend(_legend(series, classes, frame.right))
    return _svg("bar", title, frame.width, frame.height, body)


def _legend(series: Sequence[str], classes: Sequence[str], right: float) -> list[str]:
    """Swatch and name per series, right-aligned above the plot."""
    parts = ['<g class="legend">']
    x = right
    for name, css in reversed(list(zip(series, classes, strict=True))):
        text = _short(_clean(name))
        x -= len(text) * _CHAR_WIDTH
        parts.append(f'<text class="label" x="{_coord(x)}" y="14">{escape(text)}</text>')
        x -= 14
        parts.append(f'<rect class="swatch bar-{css}" x="{_coord(x)}" y="5" width="10" height="10"/>')
        x -= 12
    parts.append("</g>")
    return parts
