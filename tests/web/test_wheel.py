"""The page's files ship inside a non-editable wheel: built from this checkout, installed into a
folder of its own, and served from there with the checkout's ``src`` and ``web`` out of reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter whose briefqa is the installed copy: serves `/` and a static file.
SERVE_FROM_INSTALL = """
import json, sys, types
from pathlib import Path
# The checkout off the path: an editable install of it (the venv's own) puts its src/ there.
checkout = Path(sys.argv[2])
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() not in (checkout, checkout / "src")]
from fastapi.testclient import TestClient
import briefqa
from briefqa.answers.live import LiveIndex
from briefqa.api.app import create_app
from briefqa.api.templating import web_folder
from briefqa.settings import Settings

work = Path(sys.argv[1])
settings = Settings(corpus=work / "corpus", index=work / "index")
# No model: the chat page without a question and the static files need none.
live = LiveIndex(settings.corpus, settings.index, types.SimpleNamespace(name="none", dimension=1))
with TestClient(create_app(settings, live)) as client:
    page = client.get("/")
    style = client.get("/static/style.css")
print(json.dumps({
    "package": briefqa.__file__,
    "web": str(web_folder()),
    "path": sys.path,
    "page": [page.status_code, page.headers["content-type"], page.text],
    "style": [style.status_code, style.headers["content-type"], style.text],
}))
"""


def test_a_wheel_installed_elsewhere_serves_the_page_and_its_static_files(tmp_path: Path) -> None:
    dist, site = tmp_path / "dist", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    # No build isolation: hatchling comes from the test extras, so the build asks no index.
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("briefqa-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"briefqa/web/templates/chat.html", "briefqa/web/static/style.css"} <= names
    assert not any(name.startswith(("web/", "src/")) for name in names), "the page's files go inside the package"
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (tmp_path / "corpus").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFQA_")}
    env["PYTHONPATH"] = str(site)  # the installed copy first, ahead of any editable install's path entry
    done = subprocess.run(
        [sys.executable, "-c", SERVE_FROM_INSTALL, str(tmp_path), str(REPO)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    served = json.loads(done.stdout.splitlines()[-1])
    assert Path(served["package"]).is_relative_to(site), served["package"]
    assert Path(served["web"]) == site / "briefqa" / "web"
    assert str(REPO / "src") not in served["path"] and str(REPO) not in served["path"]
    status, kind, text = served["page"]
    assert status == 200 and kind.startswith("text/html") and "<form" in text
    status, kind, text = served["style"]
    assert status == 200 and kind.startswith("text/css")
    assert text == (REPO / "web" / "static" / "style.css").read_text(encoding="utf-8")


def test_a_checkout_finds_the_page_files_at_the_top_of_the_repository() -> None:
    import briefqa
    from briefqa.api.templating import web_folder

    if not Path(briefqa.__file__).is_relative_to(REPO / "src"):
        pytest.skip("briefqa is not imported from this checkout")
    assert web_folder() == REPO / "web"
