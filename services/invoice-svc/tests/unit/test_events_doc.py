"""docs/published-events/invoice-svc/ says what the event models say (`make events-doc`)."""

from pathlib import Path

from invoice_svc.events_doc import render

DOCS = Path(__file__).resolve().parents[4] / "docs" / "published-events" / "invoice-svc"


def test_published_event_docs_match_the_models() -> None:
    expected = render()
    assert {p.name for p in DOCS.iterdir()} == set(expected)
    for name, content in expected.items():
        assert (DOCS / name).read_text(encoding="utf-8") == content, f"{name} is stale"
