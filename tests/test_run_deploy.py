"""The shipped systemd units and the documented cron line call `serumscope run` with options it has."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess

from serumscope.commands.scheduling import run_command
from serumscope.paths import REPO_ROOT

SYSTEMD = REPO_ROOT / "deploy" / "systemd"
DOCS = REPO_ROOT / "docs" / "scheduling.md"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(SYSTEMD / name)
    return parser


def run_arguments(command_line: str) -> list[str]:
    words = shlex.split(command_line)
    assert words[0].endswith("serumscope") and words[1] == "run", command_line
    return words[2:]


def accepts(arguments: list[str]) -> None:
    """Parse ``arguments`` exactly as the CLI would, without running anything."""
    context = run_command.make_context("run", list(arguments))
    assert context.params["sites_path"] is not None


def test_service_is_a_hardened_oneshot_running_serumscope_run():
    service = unit("serumscope.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["WorkingDirectory"].startswith("/")
    arguments = run_arguments(service["ExecStart"])
    assert "--quiet" in arguments
    for setting in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert service[setting] in ("yes", "strict"), setting
    assert set(service["SuccessExitStatus"].split()) == {"1", "75"}
    assert service["KillSignal"] == "SIGTERM"


def test_service_options_are_known_to_the_run_command(tmp_path):
    arguments = run_arguments(unit("serumscope.service")["Service"]["ExecStart"])
    sites = tmp_path / "sites.toml"
    sites.write_text("")
    localised = [str(sites) if a.endswith("sites.toml") else a for a in arguments]
    accepts(localised)


def test_timer_starts_the_service_every_six_hours():
    timer = unit("serumscope.timer")["Timer"]
    assert timer["Unit"] == "serumscope.service"
    assert timer["Persistent"] == "true"
    if shutil.which("systemd-analyze"):
        normalised = subprocess.run(
            ["systemd-analyze", "calendar", timer["OnCalendar"]], capture_output=True, text=True
        )
        assert normalised.returncode == 0, normalised.stderr
    assert re.fullmatch(r"\*-\*-\* 00/6:\d\d:00", timer["OnCalendar"])


def test_documented_cron_line_runs_serumscope_run_quietly(tmp_path):
    lines = [
        line
        for line in DOCS.read_text().splitlines()
        if re.match(r"^[\d*/,-]+\s+[\d*/,-]+\s+\S+\s+\S+\s+\S+\s+cd ", line)
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    command = fields[5]
    invocation = command.split("&&", 1)[1].split(">>", 1)[0]
    arguments = run_arguments(invocation)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sites.toml").write_text("")
    accepts([*arguments, "--sites", str(tmp_path / "data" / "sites.toml")])
    assert "--quiet" in arguments


def test_worker_and_ingest_units_call_commands_with_options_they_have():
    from serumscope.commands.distributed import ingest, worker

    for name, command in (
        ("serumscope-worker@.service", worker),
        ("serumscope-ingest.service", ingest),
    ):
        service = unit(name)["Service"]
        words = shlex.split(
            service["ExecStart"].replace("${REDIS_URL}", "redis://127.0.0.1:6379/0")
        )
        assert words[0].endswith("serumscope") and words[1] == command.name, words
        context = command.make_context(command.name, words[2:])
        assert context.params["redis_url"].startswith("redis://")
        assert service["Restart"] == "always"
        assert service["NoNewPrivileges"] == "yes"
