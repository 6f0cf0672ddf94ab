"""The repository's automation: GitHub workflows and the pre-commit configuration.

What matters, not the YAML restated: every workflow is valid against the published GitHub
Actions schema (``check-jsonschema --builtin-schema vendor.github-workflows``, offline); what
it runs is a real Makefile target (so renaming a target cannot silently break CI); each of the
six jobs runs on the events it exists for (CI on every push and pull request with the
README's test command, Pages from main only, floors on pull requests that touch the package,
newest, the link check and the float paths on a schedule); no workflow grants write access beyond the Pages
deployment; actions are pinned to a major version or, safer, to a commit SHA (third-party
actions only to a SHA); and the README and CONTRIBUTING.md describe every workflow there is.
``.pre-commit-config.yaml`` is checked by ``pre-commit validate-config`` and read for its hooks
(local ones only, so that they work offline).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"
FILES = sorted(WORKFLOWS.glob("*.yml"))
# The job each workflow exists for: the Makefile target it runs.
PURPOSE = {
    "ci.yml": "test",
    "pages.yml": "book",
    "floors.yml": "floors",
    "newest.yml": "newest",
    "linkcheck.yml": "linkcheck",
    "float-paths.yml": "float-paths",
}
SHA = re.compile(r"[0-9a-f]{40}")


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


def _make_targets(workflow: dict) -> list[str]:
    """The Makefile targets the workflow's `run:` steps invoke (`make X [VAR=...]`)."""
    runs = " ; ".join(str(s["run"]) for s in _steps(workflow) if "run" in s)
    return re.findall(r"(?:^|[;&|\n]\s*)make\s+(?:-\S+\s+)*([a-z][\w-]*)", runs)


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*)\s*:(?!=)", text, flags=re.M))


def pin_problem(uses: str) -> str | None:
    """Why ``uses`` is not pinned safely, or None: first-party actions (``actions/*``) to a
    major version tag (``v5``) or a full commit SHA, any other action to a full commit SHA."""
    action, _, ref = uses.partition("@")
    if not ref:
        return f"{uses}: not pinned"
    if SHA.fullmatch(ref):
        return None
    if not action.startswith("actions/"):
        return f"{uses}: a third-party action must be pinned to a full commit SHA"
    if not re.fullmatch(r"v\d+", ref):
        return f"{uses}: pin to a major version (v5) or a full commit SHA"
    return None


def test_pin_rule_allows_shas_and_major_versions_only():
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert pin_problem("actions/checkout@v5") is None
    assert pin_problem(f"actions/checkout@{sha}") is None
    assert pin_problem(f"lycheeverse/lychee-action@{sha}") is None
    assert "third-party" in pin_problem("lycheeverse/lychee-action@v2")
    assert "major version" in pin_problem("actions/checkout@main")
    assert "major version" in pin_problem("actions/checkout@v5.0.1")
    assert "major version" in pin_problem(f"actions/checkout@{sha[:12]}")
    assert "not pinned" in pin_problem("actions/checkout")


def test_workflows_match_the_published_schema(site_stats):
    assert {f.name for f in FILES} == set(PURPOSE), (
        f"workflows {[f.name for f in FILES]}: give each a purpose in PURPOSE"
    )
    proc = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
        + [str(f) for f in FILES],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, f"check-jsonschema failed:\n{output}"
    assert "ok -- validation done" in output, output
    site_stats["workflows"] = f"{', '.join(f.name for f in FILES)}: {output}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_workflow_runs_real_make_targets_and_its_own_job(path):
    workflow = _load(path)
    targets = _make_targets(workflow)
    missing = sorted(set(targets) - makefile_targets())
    assert not missing, f"{path.name} runs make targets the Makefile lacks: {missing}"
    assert PURPOSE[path.name] in targets, (
        f"{path.name} never runs make {PURPOSE[path.name]}"
    )
    for job in workflow["jobs"].values():
        if "steps" in job:
            assert job.get("timeout-minutes"), f"{path.name}: a job without a timeout"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_workflow_actions_are_pinned(path):
    problems = [
        pin_problem(step["uses"]) for step in _steps(_load(path)) if "uses" in step
    ]
    assert not [p for p in problems if p], problems


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_only_the_pages_deployment_may_write(path):
    workflow = _load(path)
    assert workflow.get("permissions") == {"contents": "read"}, (
        f"{path.name}: state least-privilege permissions at the top"
    )
    for name, job in workflow["jobs"].items():
        writes = {k for k, v in job.get("permissions", {}).items() if v == "write"}
        if path.name == "pages.yml" and name == "deploy":
            assert writes == {"pages", "id-token"}, writes
            runs = [s for s in job["steps"] if "run" in s]
            assert not runs, "the job that may write must run no code of ours"
        else:
            assert not writes, f"{path.name}: job {name} may write {writes}"


def test_ci_runs_the_readme_test_command_on_every_push_and_pull_request():
    workflow = _load(WORKFLOWS / "ci.yml")
    assert {"push", "pull_request"} <= set(workflow["on"]), workflow["on"]
    assert not workflow["on"]["push"], "CI must run on every push, not filtered ones"
    assert _make_targets(workflow) == ["test"], "CI runs `make test` and nothing weaker"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^make test\b", readme, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # The oldest Python the package allows is the one CI tests on.
    requires = re.search(
        r'requires-python = ">=([\d.]+)"', (ROOT / "pyproject.toml").read_text()
    )
    (python,) = _uses(_steps(workflow), "actions/setup-python")
    assert str(python["with"]["python-version"]) == requires.group(1)
    uploads = _uses(_steps(workflow), "actions/upload-artifact")
    assert "_build/reports" in " ".join(u["with"]["path"] for u in uploads)
    for upload in uploads:
        assert upload.get("if") == "always()", "upload the reports of a failed run too"


def test_pages_deploys_the_readme_build_from_main_only():
    workflow = _load(WORKFLOWS / "pages.yml")
    assert workflow["on"]["push"] == {"branches": ["main"]}
    assert workflow["concurrency"].get("cancel-in-progress") is False, (
        "a deployment in progress must not be cancelled"
    )
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert _make_targets({"jobs": {"build": build}}) == ["book"]
    assert "PIP_EXTRA_INDEX_URL" not in str(build), "the site build installs no torch"
    (upload,) = _uses(build["steps"], "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build"
    assert _uses(deploy["steps"], "actions/deploy-pages")


def test_floors_run_on_pull_requests_that_touch_the_package():
    workflow = _load(WORKFLOWS / "floors.yml")
    paths = workflow["on"]["pull_request"]["paths"]
    for needed in ("d2lutil/**", "pyproject.toml"):
        assert needed in paths, f"floors.yml must run when {needed} changes"
    assert "push" not in workflow["on"] or workflow["on"]["push"].get("paths")
    flags = " ".join(str(s.get("run", "")) for s in _steps(workflow))
    assert "no:randomly" not in flags, "no option for a plugin that is not installed"


@pytest.mark.parametrize("name", ["newest.yml", "linkcheck.yml", "float-paths.yml"])
def test_scheduled_checks_run_weekly(name):
    workflow = _load(WORKFLOWS / name)
    (schedule,) = workflow["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    # Once a week: a fixed minute, hour and weekday, every day of month and month.
    assert [minute.isdigit(), hour.isdigit(), weekday.isdigit()] == [True] * 3, schedule
    assert (day, month) == ("*", "*"), schedule
    assert "workflow_dispatch" in workflow["on"], f"{name}: allow a manual run too"


def test_newest_uses_the_newest_python():
    steps = _steps(_load(WORKFLOWS / "newest.yml"))
    (python,) = _uses(steps, "actions/setup-python")
    assert str(python["with"]["python-version"]) == "3.x"


def test_the_docs_describe_every_workflow():
    docs = (ROOT / "README.md").read_text(encoding="utf-8")
    docs += (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for path in FILES:
        assert f".github/workflows/{path.name}" in docs, f"{path.name} is undocumented"
    assert "both workflows" not in docs


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
