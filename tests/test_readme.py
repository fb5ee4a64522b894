"""The README cannot rot: its reference is generated and its Python examples run."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from driver import docs

README = Path(__file__).resolve().parents[1] / "README.md"


def test_reference_is_current() -> None:
    text = README.read_text()
    assert docs.splice(text, docs.reference()) == text, (
        "run: python -m driver.docs --write README.md"
    )


def python_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("code", python_examples())
def test_python_example_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, "README.md", "exec"), {})


def test_quickstart_commands_come_first() -> None:
    text = README.read_text()
    block = re.search(r"```bash\n(.*?)```", text, flags=re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "Provider=Sandbox" in commands[0] or "--sandbox" in commands[0]
    assert commands[1].endswith("pytest")
    ci = (README.parent / ".ci" / "run").read_text()
    assert ".venv/bin/pytest" in ci and "pip install -q -e '.[dev]'" in ci


def _shell(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driver", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "line",
    [
        line
        for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)
        for line in block.splitlines()
        if line.startswith("confsql ")
    ],
)
def test_shell_example_runs(line: str) -> None:
    result = _shell(shlex.split(line)[1:])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize("script", re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S))
def test_sql_script_example_runs(script: str) -> None:
    result = _shell(["--sandbox"], stdin=script)
    assert result.returncode == 0, result.stderr
    assert "ana" in result.stdout and "ben" in result.stdout
