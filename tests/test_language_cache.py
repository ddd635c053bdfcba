"""The language model is read from an uncompressed copy in the user's cache
directory (py3langid's own file is LZMA, slow to unpack in every crawl
process): the copy gives the same answers as the package's loader, and a
damaged copy is replaced, never trusted."""

from __future__ import annotations

from pathlib import Path

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from crawler.normalize import language

TEXTS = [
    "We are looking for a platform engineer to join our infrastructure team in Berlin and help us scale.",
    "Wir suchen eine engagierte Fachkraft für unser Team in Hamburg, die Freude an der Arbeit mit Daten hat.",
    "Nous recherchons un ingénieur logiciel passionné pour rejoindre notre équipe à Paris dès que possible.",
]


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    language._identifier.cache_clear()
    yield tmp_path / "jobdelta"
    language._identifier.cache_clear()  # later tests load from the user's own cache again


def test_cached_model_answers_as_the_package_loader(cache_home: Path) -> None:
    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    cached = language._identifier()
    copies = list(cache_home.glob("py3langid-model-*.npz"))
    assert len(copies) == 1 and not list(cache_home.glob(".py3langid-*"))
    assert [cached.classify(t) for t in TEXTS] == [reference.classify(t) for t in TEXTS]
    assert [language.detect_language(t) for t in TEXTS] == ["en", "de", "fr"]

    # a damaged copy: the package's model is used, and the copy is dropped
    copies[0].write_bytes(b"not a model")
    language._identifier.cache_clear()
    assert [language.detect_language(t) for t in TEXTS] == ["en", "de", "fr"]
    assert not copies[0].exists()
