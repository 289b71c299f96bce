"""Round 7 of the notebook's trust: files judged by their path, and every file read redacted.

Issue 66's "Files judged by their own name": ``secrets/prod.yaml``, ``.git/config`` (a token
in the remote URL), ``.docker/config.json`` and another notebook holding ``db_password =
"…"`` were read and sent. Each is read again here through ``notebook_read_file`` and
``notebook_files`` over a working directory holding them, a link to them included."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import said_on_page

from agentnb._app.context.context_tools import Kernel, context_tools

NONCE = "0123456789abcdef"
TOKEN = "ghp_" + "a1B2c3D4" * 5
SECRET = "prod-db-password-77"

PRIVATE = {
    "secrets/prod.yaml": f"db:\n  host: db.internal\n  password: {SECRET}\n",
    ".git/config": f'[remote "origin"]\n  url = https://bob:{TOKEN}@github.com/acme/a.git\n',
    ".docker/config.json": json.dumps({"auths": {"ghcr.io": {"auth": "Ym9iOnB3"}}}),
    ".aws/credentials": f"[default]\naws_secret_access_key = {SECRET}\n",
    ".ssh/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n",
    ".ssh/config": "Host prod\n  User deploy\n",
    ".kube/config": f"users:\n- user:\n    token: {SECRET}\n",
    ".netrc": f"machine api.example.com login bob password {SECRET}\n",
    ".pypirc": f"[pypi]\npassword = {SECRET}\n",
    "deploy.pem": "-----BEGIN RSA PRIVATE KEY-----\n",
    "tls/server.key": "-----BEGIN PRIVATE KEY-----\n",
    ".env.production": f"DATABASE_URL=postgres://app:{SECRET}@db/sales\n",
    "service-account-prod.json": json.dumps({"private_key": SECRET}),
    "infra/terraform.tfstate": json.dumps({"password": SECRET}),
}


def reads(cwd: Path) -> Callable[..., str]:
    tools = {t.name: t.function for t in context_tools(Kernel({}, cwd=cwd), NONCE)}

    def read(tool: str, **arguments: Any) -> str:
        function = tools[tool]
        assert function is not None
        return str(function(**arguments))

    return read


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for path, text in PRIVATE.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / "report.md").write_text("# Sales\nup 3%\n")
    return tmp_path


@pytest.mark.parametrize("path", sorted(PRIVATE))
def test_a_file_that_holds_secrets_is_never_read(project: Path, path: str) -> None:
    said_on_page(
        "context.md",
        "Nothing outside the working directory is read, and a file is judged by its path, both "
        "the path asked for and where it leads (a link to `.ssh/id_rsa` is `.ssh/id_rsa`)",
    )
    read = reads(project)
    with pytest.raises(ValueError, match="is never read"):
        read("notebook_read_file", path=path)
    link = project / f"innocent-{abs(hash(path))}.txt"
    link.symlink_to(project / path)  # a link is judged by where it leads
    with pytest.raises(ValueError, match="is never read"):
        read("notebook_read_file", path=link.name)


def test_folders_that_hold_secrets_are_listed_and_never_listed_inside(project: Path) -> None:
    read = reads(project)
    listing = read("notebook_files")
    for folder in (".git", ".docker", ".aws", ".ssh", ".kube", "secrets"):
        assert f"  {folder}/ (listed, never read: it holds secrets)" in listing
    assert "  .netrc (listed, never read: it may hold secrets)" in listing
    assert "  report.md (14 bytes)" in listing
    for folder in (".git", "secrets", "./.ssh", "tls/../.aws"):
        with pytest.raises(ValueError, match=r"never listed: it is inside .*a folder that holds"):
            read("notebook_files", path=folder)
    assert "report.md (first 2 lines):\n# Sales\nup 3%" in read(
        "notebook_read_file", path="report.md"
    )


def test_every_file_read_is_redacted_another_notebook_too(tmp_path: Path) -> None:
    said_on_page(
        "context.md",
        "what is read is redacted as every text is (below): another notebook holding "
        '`db_password = "…"` is sent with `db_password = \\"***\\"`.',
    )
    cell = {
        "cell_type": "code",
        "source": [
            "import pandas as pd\n",
            f'db_password = "{SECRET}"\n',
            f"client = connect(api_key='{TOKEN}')\n",
            'dsn = "postgres://app:' + SECRET + '@db/sales"',
        ],
        "outputs": [],
    }
    (tmp_path / "other.ipynb").write_text(json.dumps({"cells": [cell]}, indent=1))
    (tmp_path / "settings.yaml").write_text(f"db:\n  user: app\n  password: {SECRET}\n")
    read = reads(tmp_path)
    for path in ("other.ipynb", "settings.yaml"):
        sent = read("notebook_read_file", path=path, lines=100)
        assert SECRET not in sent and TOKEN[:12] not in sent, sent
        assert "***" in sent
    assert 'db_password = \\"***\\"' in read("notebook_read_file", path="other.ipynb", lines=100)
