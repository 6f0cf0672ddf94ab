"""The repository's automation: GitHub workflows and the pre-commit configuration.

Both workflows are validated offline against the published GitHub Actions workflow schema
(``check-jsonschema --builtin-schema vendor.github-workflows``, which ships the schema) and
read for what they must do: CI runs the README's test command on push and pull request on a
fresh Ubuntu machine with Python 3.11 and uploads the screenshots and the nbval report; Pages
builds the site with the README's build command on main and deploys it with GitHub's Pages
actions. ``.pre-commit-config.yaml`` is checked by ``pre-commit validate-config`` and read for
its hooks (local ones only, so that they work offline).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
PAGES = WORKFLOWS / "pages.yml"
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"


def _tool(name: str) -> str:
    """A console script of this environment (the venv's bin/), else one on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    assert found, f"{name} is not installed: `make setup` installs requirements.txt"
    return found


def _load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _uses(steps: list[dict], action: str) -> list[dict]:
    return [s for s in steps if str(s.get("uses", "")).split("@")[0] == action]


def test_workflows_match_the_published_schema(site_stats):
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "floors.yml", "pages.yml"], files
    proc = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, f"check-jsonschema failed:\n{output}"
    assert "ok -- validation done" in output, output
    site_stats["workflows"] = f"{', '.join(f.name for f in files)}: {output}"


def test_ci_runs_the_readme_test_command_on_a_fresh_machine():
    workflow = _load(CI)
    assert {"push", "pull_request"} <= set(workflow["on"]), workflow["on"]
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    assert _uses(steps, "actions/checkout"), "CI must check out the repository"
    (python,) = _uses(steps, "actions/setup-python")
    assert str(python["with"]["python-version"]) == "3.11"
    assert python["with"].get("cache") == "pip", "pip downloads should be cached"
    assert "requirements.txt" in python["with"].get("cache-dependency-path", "")
    runs = [s["run"].strip() for s in steps if "run" in s]
    assert runs == ["make test"], f"CI must run the README's command, not {runs}"
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")
    uploaded = " ".join(
        s["with"]["path"] for s in _uses(steps, "actions/upload-artifact")
    )
    for path in ("_build/screenshots", "_build/reports"):
        assert path in uploaded, f"CI does not upload {path}"
    for upload in _uses(steps, "actions/upload-artifact"):
        assert upload.get("if") == "always()", "upload the reports of a failed run too"


def test_pages_builds_with_the_readme_command_and_deploys_from_main():
    workflow = _load(PAGES)
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["group"], (
        "a deployment in progress must not be cancelled"
    )
    assert workflow["concurrency"].get("cancel-in-progress") is False, (
        "a deployment in progress must not be cancelled"
    )
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    runs = [s["run"].strip() for s in build["steps"] if "run" in s]
    assert runs == ["make book"], runs
    (upload,) = _uses(build["steps"], "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build"
    assert _uses(deploy["steps"], "actions/deploy-pages")
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"]["pages"] == "write"
    assert deploy["permissions"]["id-token"] == "write"
    # Only the deploying job may write: the build job runs the book's code.
    assert workflow["permissions"] == {"contents": "read"}
    assert "permissions" not in build


def test_pre_commit_config_is_valid_and_works_offline(site_stats):
    proc = subprocess.run(
        [_tool("pre-commit"), "validate-config", str(PRE_COMMIT)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = yaml.safe_load(PRE_COMMIT.read_text(encoding="utf-8"))
    repos = config["repos"]
    assert [r["repo"] for r in repos] == ["local"], "only local hooks: no download"
    hooks = {h["id"]: h for r in repos for h in r["hooks"]}
    assert {"ruff-check", "ruff-format", "notebook-hygiene"} <= set(hooks)
    for hook in hooks.values():
        assert hook["language"] == "system", hook["id"]
        program = hook["entry"].split()[0]
        assert program.startswith(".venv/bin/"), f"{hook['id']}: {program}"
    for hook_id in ("ruff-check", "ruff-format"):
        assert "jupyter" in hooks[hook_id]["types_or"], f"{hook_id} skips notebooks"
        for folder in ("d2lutil", "tests", "chapters"):
            assert folder in hooks[hook_id]["files"], f"{hook_id} skips {folder}/"
    assert "tests/test_notebooks.py" in hooks["notebook-hygiene"]["entry"]
    site_stats["pre_commit"] = f"{len(hooks)} local hooks, validate-config ok"


@pytest.mark.parametrize("name", ["ci.yml", "floors.yml", "pages.yml"])
def test_workflow_actions_are_pinned_to_a_major_version(name):
    for step in _steps(_load(WORKFLOWS / name)):
        if "uses" in step:
            action, _, ref = step["uses"].partition("@")
            assert action.startswith("actions/"), f"{name}: third-party {action}"
            assert ref.startswith("v"), f"{name}: {step['uses']}"
            assert ref[1:].isdigit(), f"{name}: {step['uses']}"
