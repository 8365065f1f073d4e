"""The CLI is one click group whose docstrings are its --help, and the README documents every command."""

import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from serumscope.cli import cli
from serumscope.paths import REPO_ROOT

EXPECTED_COMMANDS = {
    "shops",
    "crawl",
    "detect",
    "inspect",
    "worker",
    "ingest",
    "score",
    "evaluate",
    "serve",
    "demo",
    "run",
    "schedule",
}


def test_every_planned_command_is_registered():
    assert set(cli.commands) == EXPECTED_COMMANDS


@pytest.mark.parametrize("name", sorted(EXPECTED_COMMANDS))
def test_command_help_is_its_docstring(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    first_line = cli.commands[name].help.strip().splitlines()[0]
    assert " ".join(first_line.split()) in " ".join(result.output.split())


@pytest.mark.parametrize("name", sorted(EXPECTED_COMMANDS))
def test_readme_documents_command(name):
    readme = (REPO_ROOT / "README.md").read_text()
    assert re.search(rf"^#+ .*`serumscope {name}\b", readme, re.MULTILINE), (
        f"README.md has no heading for `serumscope {name}`"
    )


def test_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "serumscope.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "vitamin C" in result.stdout
