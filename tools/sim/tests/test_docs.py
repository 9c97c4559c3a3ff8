"""docs/events/ is generated from the models and must stay in step with them."""

from __future__ import annotations

import json
from pathlib import Path

from sim.contracts import EVENT_MODELS
from sim.eventdocs import check_docs, write_docs

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events"


def test_committed_docs_match_a_fresh_generation(tmp_path: Path) -> None:
    write_docs(tmp_path)
    fresh = sorted(p.name for p in tmp_path.iterdir())
    assert fresh == sorted(p.name for p in DOCS.iterdir())
    for name in fresh:
        assert (DOCS / name).read_text(encoding="utf-8") == \
            (tmp_path / name).read_text(encoding="utf-8"), \
            f"docs/events/{name} is stale: run `python -m sim schema --out docs/events/`"


def test_one_schema_file_per_event_type() -> None:
    for event_type, model in EVENT_MODELS.items():
        schema = json.loads((DOCS / f"{event_type}.schema.json").read_text(encoding="utf-8"))
        assert schema["x-event-type"] == event_type
        assert schema["additionalProperties"] is False
        assert set(schema["required"]) == set(model.model_fields) == set(schema["properties"])
    readme = (DOCS / "README.md").read_text(encoding="utf-8")
    for event_type in EVENT_MODELS:
        assert f"`{event_type}`" in readme


def test_check_mode_reports_stale_files(tmp_path: Path) -> None:
    assert set(check_docs(tmp_path)) == {p.name for p in DOCS.iterdir()}
    from sim.__main__ import main

    assert main(["schema", "--out", str(tmp_path)]) == 0
    assert main(["schema", "--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "README.md").write_text("edited by hand\n", encoding="utf-8")
    assert main(["schema", "--out", str(tmp_path), "--check"]) == 1
