"""Generated docs stay in step with the code they describe."""

from __future__ import annotations

from pathlib import Path

from staso_otel import settings

ROOT = Path(__file__).resolve().parent.parent


def test_settings_doc_is_generated_from_the_table() -> None:
    assert (ROOT / "docs" / "settings.md").read_text() == settings.markdown_table(), (
        "regenerate: python -m staso_otel.settings > docs/settings.md"
    )


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    for param in settings.PARAMS:
        assert f"`{param.name}`" in text
        for var in param.staso_env:
            assert var in text


def test_every_local_link_and_picture_in_the_docs_exists() -> None:
    import re

    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    missing = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not missing, missing
