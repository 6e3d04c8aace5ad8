"""The README's set-up commands are a contract: CI must run exactly the test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    commands = setup_commands()
    assert len(commands) == 2
    assert "streamlit run app.py" in commands[0] and "sample" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    assert setup_commands()[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_both_commands_make_and_use_their_own_virtual_environment():
    python_tools = {"pip", "kanon", "streamlit", "pytest", "python", "ruff", "deptry"}
    for command in setup_commands():
        assert "python3 -m venv .venv" in command
        for step in command.split("&&"):
            words = [word for word in step.split() if not re.match(r"[A-Z_]+=", word)]
            tool = words[0]
            assert tool not in python_tools, f"{step.strip()!r} runs {tool} from outside .venv"
