"""The CLI is one click group whose docstrings are its --help, and the README documents every command."""

import importlib
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from serumscope.cli import COMMAND_MODULES, cli
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


def command(name: str) -> click.Command:
    return cli.get_command(click.Context(cli), name)


def test_every_planned_command_is_registered():
    assert set(cli.list_commands(click.Context(cli))) == EXPECTED_COMMANDS
    assert all(command(name).name == name for name in EXPECTED_COMMANDS)


def test_each_command_is_named_with_its_module():
    """The group imports a command's module on use: every command of the modules is in its map."""
    for module in set(COMMAND_MODULES.values()):
        for each in importlib.import_module(module).commands:
            assert COMMAND_MODULES.get(each.name) == module


def test_score_loads_only_the_scoring_commands():
    code = (
        "import sys; from serumscope.cli import COMMAND_MODULES, cli; cli.get_command(None, 'score');"
        "print(sorted(set(COMMAND_MODULES.values()) & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "['serumscope.commands.scoring']", result.stderr


@pytest.mark.parametrize("name", sorted(EXPECTED_COMMANDS))
def test_command_help_is_its_docstring(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    first_line = command(name).help.strip().splitlines()[0]
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
