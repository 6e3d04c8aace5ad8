"""The Markdown pages link to what exists, and the README stays a front door.

Every relative link in a tracked Markdown file must point at a file or folder of the repository
(resolved from the Markdown file's own folder), and an `#anchor` into a Markdown page must name
one of its headings, by GitHub's slug rules. Code folders are written as inline code, not links,
so a page does not depend on where a package lives this week.
"""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_LIMIT = 20 * 1024  # bytes: the detail belongs in docs/

# [text](target) and ![alt](target); a target may carry a "title". Reference-style definitions
# ("[id]: target") too.
INLINE_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1\s*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def markdown_files() -> list[Path]:
    """Every tracked page: README.md, PRIVACY.md, CHANGELOG.md, docs/**/*.md, sample_data/..."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.md"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist, say)
        paths = [p for p in ROOT.rglob("*.md") if not {".venv", ".git"} & set(p.parts)]
    return sorted(p for p in paths if p.is_file())


def prose(text: str) -> str:
    """The text without code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    body = prose(text)
    return INLINE_LINK.findall(body) + REFERENCE_DEFINITION.findall(body)


def is_external(target: str) -> bool:
    return re.match(r"(?i)^(https?:|mailto:|//)", target) is not None


def slug(heading: str) -> str:
    """GitHub's anchor: lowercase, punctuation but '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's slug in a Markdown file, with GitHub's -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if not target or is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        if not resolved.exists():
            problems.append(f"{target}: no such file or folder")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    return problems


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_what_exists(page):
    assert broken_links(page) == []


def test_the_pages_the_readme_sends_people_to_are_checked():
    checked = {str(p.relative_to(ROOT)) for p in markdown_files()}
    assert {"README.md", "PRIVACY.md", "CHANGELOG.md", "sample_data/README.md"} <= checked
    assert any(name.startswith("docs/") for name in checked)


def test_readme_stays_a_front_door():
    size = len((ROOT / "README.md").read_bytes())
    assert size < README_LIMIT, f"README.md is {size} bytes; move detail into docs/"


def test_slugs_follow_github():
    assert slug("Set-up on a fresh machine") == "set-up-on-a-fresh-machine"
    assert slug("The `kanon` command") == "the-kanon-command"
    assert slug("The rest of the policy: `check-property` and `dsr`") == (
        "the-rest-of-the-policy-check-property-and-dsr"
    )
    assert slug("snake_case & more") == "snake_case--more"


def test_a_broken_link_and_a_missing_anchor_are_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## Real heading\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "# Top\n\n[ok](docs/a.md#real-heading) [gone](docs/missing.md) "
        "[bad](docs/a.md#nothing) [self](#top) [lost](#nowhere) [web](https://example.com/x) "
        "`[code](not/a/link.md)`\n\n```\n[fenced](nor/this.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "docs/missing.md: no such file or folder",
        "docs/a.md#nothing: no heading #nothing in docs/a.md",
        "#nowhere: no heading #nowhere in README.md",
    ]
