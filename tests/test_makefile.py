"""The Makefile's two commands, dry-run (`make -n`): where torch comes from, and where `make serve` listens."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*args: str, **env: str) -> list[str]:
    # -W pyproject.toml: as if it had changed, so the install steps are printed too. Run from
    # `make test` the child would inherit the parent's flags and print "Entering directory" lines.
    inherited = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**inherited, **env},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def torch_line(lines: list[str]) -> str:
    return next(line for line in lines if "torch==" in line)


def test_serve_listens_where_it_is_told() -> None:
    assert dry_run("serve")[-1].endswith("briefqa serve --host 127.0.0.1 --port 8000")
    assert dry_run("serve", "PORT=8123", "HOST=0.0.0.0")[-1].endswith("briefqa serve --host 0.0.0.0 --port 8123")


def test_an_ordinary_machine_installs_the_cpu_build_of_torch() -> None:
    # No pip configuration at all, as on a machine without a local copy of the wheel.
    line = torch_line(dry_run("setup", PIP_CONFIG_FILE=os.devnull, PIP_FIND_LINKS="", PIP_INDEX_URL=""))
    assert "--index-url https://download.pytorch.org/whl/cpu torch==2.13.0" in line


def stand_in_wheel(folder: Path) -> None:
    """A wheel named torch 2.13.0 with nothing in it but its metadata: enough for pip to resolve."""
    info = "torch-2.13.0.dist-info"
    files = {
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: torch\nVersion: 2.13.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    with zipfile.ZipFile(folder / "torch-2.13.0-py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
        wheel.writestr(f"{info}/RECORD", "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"]))


def test_a_machine_whose_pip_already_finds_torch_asks_no_other_index(tmp_path: Path) -> None:
    # As on a machine that keeps the CPU wheel in a find-links folder of pip's configuration.
    stand_in_wheel(tmp_path)
    line = torch_line(dry_run("setup", PIP_CONFIG_FILE=os.devnull, PIP_FIND_LINKS=str(tmp_path)))
    assert "--index-url" not in line and line.endswith("install --quiet torch==2.13.0")


def test_the_cpu_index_can_be_overridden() -> None:
    assert "--index-url" not in torch_line(dry_run("setup", "TORCH_INDEX="))


def test_make_test_installs_axe_core_from_its_lock_file() -> None:
    lines = dry_run("test", "-W", "tests/web/package-lock.json")
    assert any(line.startswith("npm ci --prefix tests/web") for line in lines), lines
    lock = REPO / "tests" / "web" / "package-lock.json"
    assert '"node_modules/axe-core"' in lock.read_text(encoding="utf-8")


def test_make_test_installs_poppler_for_the_pdf_fidelity_check() -> None:
    lines = dry_run("test")
    check = next(i for i, line in enumerate(lines) if line.startswith("test -x /usr/bin/pdftotext"))
    assert "apt-get install -y -qq poppler-utils" in lines[check + 1], lines[check : check + 3]
    assert "sudo apt-get install poppler-utils" in lines[check + 2]  # what a user without root is told
    # before the suite runs
    assert check < next(i for i, line in enumerate(lines) if line.endswith("pytest -q"))


def test_the_readme_is_a_short_start_whose_links_lead_somewhere() -> None:
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme) < 15_000
    first = readme.splitlines()[:40]
    assert any(line.startswith("make serve") for line in first) and any(line.startswith("make test") for line in first)
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_clean_empties_the_index_folder_but_keeps_its_readme(tmp_path: Path) -> None:
    # A real `make clean`, in a copy holding the Makefile and a built index (nothing else to lose).
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    index = tmp_path / "index"
    shutil.copytree(REPO / "index", index)
    (index / "versions" / "v1").mkdir(parents=True)
    (index / "versions" / "v1" / "manifest.json").write_text("{}")
    (index / "CURRENT").write_text("v1")
    (index / ".lock").write_text("")
    inherited = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True, env=inherited, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in index.iterdir()) == ["README.md"]
    assert (index / "README.md").read_text() == (REPO / "index" / "README.md").read_text()
    shutil.rmtree(index)
    again = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True, env=inherited, timeout=60)
    assert again.returncode == 0, again.stderr


def test_a_fresh_clone_has_the_default_index_folder_with_only_its_readme_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "index"], cwd=REPO, capture_output=True, text=True, timeout=60
    ).stdout.split()
    if not tracked and not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    assert tracked == ["index/README.md"]
    readme = (REPO / "index" / "README.md").read_text()
    assert "briefqa index" in readme and "make serve" in readme and "not committed" in readme
    ignored = subprocess.run(
        ["git", "check-ignore", "index/CURRENT", "index/versions/v1/manifest.json", "index/README.md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert ignored == ["index/CURRENT", "index/versions/v1/manifest.json"]
