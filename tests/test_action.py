"""action.yml: a composite action that installs its own checkout, uploads SARIF and
annotates (the annotation step's exit code decides the job)."""

from __future__ import annotations

import yaml
from conftest import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_inputs() -> None:
    assert {name: spec.get("default") for name, spec in ACTION["inputs"].items()} == {
        "path": ".",
        "fail-on": "",
        "args": "",
        "upload-sarif": "true",
        "sarif-file": "celery-audit.sarif",
        "python-version": "3.12",
    }


def test_steps() -> None:
    runs = ACTION["runs"]
    assert runs["using"] == "composite"
    steps = runs["steps"]
    assert [s.get("uses", s.get("name")) for s in steps] == [
        "actions/setup-python@v5",
        "Install celery-audit",
        "Scan (SARIF for code scanning)",
        "github/codeql-action/upload-sarif@v3",
        "Scan (annotations and job summary)",
    ]
    assert steps[1]["run"].endswith('pip install --disable-pip-version-check "${{ github.action_path }}"')  # fmt: skip
    assert steps[2]["run"] == (
        'celery-audit scan "$SCAN_PATH" --format sarif --output "$SARIF_FILE" --fail-on never $EXTRA_ARGS'
    )
    assert steps[3]["if"] == "${{ always() && inputs.upload-sarif == 'true' }}"
    assert steps[3]["with"] == {
        "sarif_file": "${{ inputs.sarif-file }}",
        "category": "celery-audit",
    }
    assert steps[4]["run"] == (
        'celery-audit scan "$SCAN_PATH" --format github ${FAIL_ON:+--fail-on "$FAIL_ON"} $EXTRA_ARGS'
    )
    # Inputs reach the shell through the environment, never spliced into the script.
    for step in steps[2:5:2]:
        assert "${{" not in step["run"]


def test_yaml_examples_in_the_docs_parse() -> None:
    for doc in ("docs/ci.md", "README.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
        assert blocks, doc
        for block in blocks:
            assert isinstance(yaml.safe_load(block), dict), block
