"""The language of a posting, as a BCP 47 tag ("en", "de", "pt-BR").

A board's own value comes first ("en", "en_US", "EN-us" are tidied to
``en``/``en-US``). Without one, the language is detected with py3langid on
the posting's description only: the page around a posting (an aggregator's
Korean menus around an English posting) says nothing about the posting.
Short or uncertain text gives None rather than a guess.
"""

from __future__ import annotations

import logging
import os
import re
from array import array
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Below this many letters detection is a coin toss; below this confidence
# (py3langid's normalized probability) the text is mixed or unclear.
_MIN_LETTERS = 40
_MIN_CONFIDENCE = 0.9
# Detection reads this many characters of the description at most: the
# language is settled long before, and the detector's cost grows with length.
_PREFIX = 2000  # characters
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
    # Loaded once per process, and only when a posting needs detection: a
    # crawl whose postings all state a language, or are all unchanged,
    # never loads it.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    try:
        arrays = _unpacked_model()
        if arrays is not None:
            ptc, pc, classes, nextmove, row, output = arrays
            return LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)
    except Exception:  # no writable cache, a damaged copy, another py3langid: the package's own loader
        log.debug("language model cache unusable; reading the compressed model", exc_info=True)
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jobdelta"


def _unpacked_model() -> tuple[Any, ...] | None:
    """py3langid's model arrays, read from an uncompressed copy kept in the
    user's cache directory (written on first use): unpacking the package's
    LZMA file costs 1-2 CPU-seconds every time, reading the copy a fifth of
    that. None for a model layout this reader does not know."""
    import numpy as np
    from py3langid import langid

    packed = langid.MODEL_DIR / langid.MODEL_FILE
    st = packed.stat()
    copy = _cache_dir() / f"py3langid-model-{st.st_size}-{st.st_mtime_ns}.npz"
    if not copy.exists():
        import lzma
        import shutil
        import tempfile

        copy.parent.mkdir(parents=True, exist_ok=True)
        # written beside its final name, then renamed: two processes filling
        # the cache at once each leave a whole file
        with tempfile.NamedTemporaryFile(dir=copy.parent, prefix=".py3langid-", delete=False) as tmp:
            try:
                with lzma.open(packed) as src:
                    shutil.copyfileobj(src, tmp, length=1 << 20)
                tmp.close()
                os.replace(tmp.name, copy)
            except BaseException:
                os.unlink(tmp.name)
                raise
    try:
        with np.load(copy, allow_pickle=False) as data:
            if set(data.files) != {"ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat"}:
                return None
            return (data["ptc"], data["pc"], data["classes"].tolist(), _uint_array(data["nextmove"]),
                    _uint_array(data["nextmove_row"]), data["out_feat"].tolist())
    except Exception:
        copy.unlink(missing_ok=True)  # damaged: the next process writes it again
        raise


def _uint_array(values: Any) -> array:
    # the stdlib array py3langid's tokenizer walks (as its own loader makes it)
    import numpy as np

    out = array({2: "H", 4: "I", 8: "L"}[values.dtype.itemsize])
    out.frombytes(memoryview(np.ascontiguousarray(values)).cast("B"))
    return out


def detect_language(text: Any) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in (read on
    its first 2,000 characters), or None when the text is too short (fewer
    than 40 letters), the detector is unsure, or the input is not a string."""
    if not isinstance(text, str):
        return None
    text = text[:_PREFIX]
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return None
    language, confidence = _identifier().classify(text)
    return language if confidence >= _MIN_CONFIDENCE and len(language) == 2 else None
