"""The language of a posting, as a BCP 47 tag ("en", "de", "pt-BR").

A board's own value comes first ("en", "en_US", "EN-us" are tidied to
``en``/``en-US``). Without one, the language is detected with py3langid on
the posting's description only: the page around a posting (an aggregator's
Korean menus around an English posting) says nothing about the posting.
Short or uncertain text gives None rather than a guess.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Below this many letters detection is a coin toss; below this confidence
# (py3langid's normalized probability) the text is mixed or unclear.
_MIN_LETTERS = 40
_MIN_CONFIDENCE = 0.9
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|\d{3}))?$")


def language_tag(value: Any) -> str | None:
    """A language value as a BCP 47 tag in its canonical case ("EN" ->
    "en", "en_us" -> "en-US", "zh-hant-tw" -> "zh-Hant-TW"); a language's
    English name gives its code ("English" -> "en"). None for anything else
    (including non-strings)."""
    if not isinstance(value, str):
        return None
    found = _TAG.match(value.strip())
    if not found:
        return _language_named(value.strip())
    language, script, region = found.groups()
    tag = language.lower()
    if len(tag) == 3:
        # "deu" is "de": BCP 47 uses the two-letter code where there is one
        tag = _language_named(tag) or tag
    if script:
        tag += "-" + script.title()
    if region:
        tag += "-" + region.upper()
    return tag


@lru_cache(maxsize=256)
def _language_named(name: str) -> str | None:
    import pycountry

    try:
        language = pycountry.languages.lookup(name)
    except LookupError:
        return None
    return getattr(language, "alpha_2", None)


@lru_cache(maxsize=1)
def _identifier() -> Any:
    # Loading the model takes a few seconds: once per process, when needed.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: Any) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or None
    when the text is too short (fewer than 40 letters), the detector is
    unsure, or the input is not a string."""
    if not isinstance(text, str) or sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return None
    language, confidence = _identifier().classify(text)
    return language if confidence >= _MIN_CONFIDENCE and len(language) == 2 else None
