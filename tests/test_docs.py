"""The front page and docs/: every relative link resolves (files and #anchors), the README stays a front
page (at most 8 KB, nothing outside the repository), and its two commands are the ones .ci/run runs."""

import re

import pytest
from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")
FENCE = re.compile(r"```.*?```", re.S)


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def links(page) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return [a or b for a, b in LINK.findall(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    checked = 0
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.name}: {target} -> {dest} does not exist"
        assert ROOT in dest.parents or dest == ROOT, f"{page.name}: {target} leaves the repository"
        if anchor:
            assert anchor in anchors(dest), f"{page.name}: {target}: no heading #{anchor} in {dest.name}"
        checked += 1
    assert checked or page.name != "README.md"


def test_the_docs_index_lists_every_page():
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    for page in PAGES:
        if page.parent.name == "docs" and page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/README.md does not link {page.name}"


def test_the_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 8192
    assert "TEXT_SAMPLES" not in text
    for page in PAGES:  # nothing refers to files that are not in the repository
        body = page.read_text(encoding="utf-8")
        assert "SPEC.md" not in body and "/work/" not in body, page.name
    for needed in ("git clone", "https://download.pytorch.org/whl/cpu", "seqgan-gp", "Not SeqGAN",
                   "1-billion-word-language-modeling-benchmark-r13output.tar.gz",
                   "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "github.com/fyu/lsun",
                   "inception-2015-12-05.pt"):
        assert needed in text, needed


def test_the_readme_commands_are_the_ones_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)  # the first code block: the two commands
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["pip install -e . && python cli.py train-text --preset demo",
                        'pip install -e ".[test]" && python -m pytest -q']
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert all(c in ci for c in commands), ".ci/run must run the README's commands verbatim"
