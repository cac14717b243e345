"""The docs a maintainer and a user read: no issue numbers, plain sentences.

Issue numbers point at a tracker the reader cannot see, so no doc names one. The two long
records, ``docs/design-decisions.md`` and ``docs/verification.md``, average under 25 words a
sentence, counted by the small splitter below.

How sentences are counted (``sentences``):

1. Fenced code blocks, table rows (lines starting with ``|``) and headings (lines starting
   with ``#``) are dropped.
2. The rest is cut into blocks at blank lines and at the start of every list item
   (``-``, ``*``, ``+`` or ``1.``), so a list item never runs on into the next.
3. A bold lead-in at the start of a block (``**Retention.** The scheduler...``) is a label,
   like a heading, and is dropped.
4. Inline code spans count as one word each, and a link counts as its text.
5. A block is cut after ``.``, ``!`` or ``?`` (closing quotes, brackets and emphasis marks may
   follow) when whitespace comes next, except after the abbreviations ``e.g.``, ``i.e.``,
   ``vs.`` and ``cf.``. What is left at the end of a block is a sentence too.
6. A word is a whitespace-separated token holding at least one letter or digit.
"""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE

PROJECT = TEMPLATE / "{{cookiecutter.__project_folder}}"
WORDS_PER_SENTENCE_LIMIT = 25
PLAIN_RECORDS = [TEMPLATE / "docs" / "design-decisions.md", TEMPLATE / "docs" / "verification.md"]


def docs_a_reader_opens() -> list[Path]:
    """Both READMEs and every page under the template's and the generated project's docs/."""
    pages = [TEMPLATE / "README.md", PROJECT / "README.md"]
    pages += sorted((TEMPLATE / "docs").glob("*.md"))
    pages += sorted((PROJECT / "docs").glob("*.md"))
    return pages


# "issue 8", "Issue 12", "issue #12", "issues #9", "PR 4": our tracker's numbers. "#12" alone
# too, unless it is qualified by a repository ("pytest-dev/pytest-xdist#1386", a public
# citation) or is a colour ("fill:#123456"). "issues 8 requests" is the verb, so the plural
# counts only with "#".
ISSUE_NUMBER = re.compile(
    r"\b(?:issue|PRs?|pull requests?)\s*#?\s*\d+|\bissues\s*#\s*\d+|(?<![\w/.:&#-])#\d+\b",
    re.IGNORECASE,
)


def issue_numbers(text: str) -> list[str]:
    """Every reference to an issue or pull-request number of our own tracker in ``text``."""
    return [match.group(0) for match in ISSUE_NUMBER.finditer(text)]


FENCE = re.compile(r"^\s*(```|~~~)")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")
BOLD_LEAD_IN = re.compile(r"^\*\*[^*]+\*\*\s*")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
SENTENCE_END = re.compile(r"[.!?][\"')\]*_]*(?=\s)")
ABBREVIATIONS = ("e.g.", "i.e.", "vs.", "cf.")


def prose_blocks(markdown: str) -> list[str]:
    """Steps 1 and 2: the paragraphs and list items, each joined into one line."""
    blocks: list[list[str]] = []
    current: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        stripped = line.strip()
        if in_fence or stripped.startswith(("|", "#")) or not stripped:
            if current:
                blocks.append(current)
            current = []
            continue
        if LIST_ITEM.match(line):
            if current:
                blocks.append(current)
            current = [LIST_ITEM.sub("", line, count=1).strip()]
            continue
        current.append(stripped)
    if current:
        blocks.append(current)
    return [" ".join(block) for block in blocks]


def sentences(markdown: str) -> list[str]:
    """The sentences of ``markdown``, as the module docstring specifies."""
    found: list[str] = []
    for block in prose_blocks(markdown):
        text = BOLD_LEAD_IN.sub("", block, count=1)
        text = CODE_SPAN.sub("CODE", text)
        text = LINK.sub(r"\1", text)
        start = 0
        for end in SENTENCE_END.finditer(text):
            candidate = text[start : end.end()]
            if candidate.rstrip("\"')]*_").lower().endswith(ABBREVIATIONS):
                continue
            found.append(candidate.strip())
            start = end.end()
        found.append(text[start:].strip())
    return [sentence for sentence in found if words(sentence)]


def words(sentence: str) -> list[str]:
    """Step 6: tokens holding a letter or a digit."""
    return [token for token in sentence.split() if any(ch.isalnum() for ch in token)]


def words_per_sentence(markdown: str) -> float:
    found = sentences(markdown)
    return sum(len(words(sentence)) for sentence in found) / len(found)


# The splitter and the issue pattern, specified by example.


def test_code_blocks_tables_and_headings_are_not_sentences() -> None:
    markdown = (
        "# A heading of many many words\n\n"
        "```\nthe code. in a block. here.\n```\n\n"
        "| a table. | row. |\n|---|---|\n\n"
        "One sentence here.\n"
    )
    assert sentences(markdown) == ["One sentence here."]


def test_a_sentence_ends_at_a_full_stop_followed_by_space() -> None:
    assert sentences("It runs. It stops! Does it?\nYes, at 1.5 s.") == [
        "It runs.",
        "It stops!",
        "Does it?",
        "Yes, at 1.5 s.",
    ]


def test_a_sentence_runs_across_wrapped_lines_of_a_paragraph() -> None:
    assert sentences("One sentence wrapped\nover two lines.\n\nAnother.") == [
        "One sentence wrapped over two lines.",
        "Another.",
    ]


def test_each_list_item_is_its_own_block() -> None:
    assert sentences("- first item\n- second item, wrapped\n  onto a line.\n1. third") == [
        "first item",
        "second item, wrapped onto a line.",
        "third",
    ]


def test_a_bold_lead_in_is_a_label_not_a_sentence() -> None:
    assert sentences("- **Retention.** Completed runs go after a week.") == [
        "Completed runs go after a week."
    ]


def test_full_stops_inside_code_and_after_abbreviations_do_not_end_a_sentence() -> None:
    markdown = "Run `python -m pytest -q. -x` first, e.g. on CI. Then stop."
    assert sentences(markdown) == ["Run CODE first, e.g. on CI.", "Then stop."]


def test_a_link_counts_as_its_text() -> None:
    assert words(sentences("See [the scaling page](docs/scaling.md) now.")[0]) == [
        "See",
        "the",
        "scaling",
        "page",
        "now.",
    ]


def test_words_per_sentence_is_words_over_sentences() -> None:
    assert words_per_sentence("One two three. Four five. -- six.") == 2.0


@pytest.mark.parametrize(
    "text",
    [
        "as issue 8 says",
        "(Issue 12, item 3)",
        "issues #9 and #10",
        "see #12.",
        "in issue #4",
        "PR 7",
    ],
)
def test_issue_numbers_are_found(text: str) -> None:
    assert issue_numbers(text)


@pytest.mark.parametrize(
    "text",
    [
        "pytest-dev/pytest-xdist#1386",
        "[Azure/Durable-Task-Scheduler#32](https://github.com/Azure/x/issues/32)",
        "classDef activity fill:#e7f0fd,stroke:#1f6feb;",
        "fill:#123456;",
        "the issue is open",
        "4 issues left",
        "each client issues 8 requests",
    ],
)
def test_public_citations_colours_and_plain_words_are_not_issue_numbers(text: str) -> None:
    assert issue_numbers(text) == []


# The docs themselves.


@pytest.mark.parametrize("page", docs_a_reader_opens(), ids=lambda p: str(p.relative_to(TEMPLATE)))
def test_no_doc_refers_to_an_issue_number(page: Path) -> None:
    found = issue_numbers(page.read_text(encoding="utf-8"))
    assert found == [], f"{page.relative_to(TEMPLATE)} refers to issue numbers: {found}"


@pytest.mark.parametrize("page", PLAIN_RECORDS, ids=lambda p: p.name)
def test_the_records_average_under_25_words_a_sentence(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    average = words_per_sentence(text)
    longest = max(sentences(text), key=lambda sentence: len(words(sentence)))
    assert average < WORDS_PER_SENTENCE_LIMIT, (
        f"{page.name} averages {average:.1f} words a sentence (limit "
        f"{WORDS_PER_SENTENCE_LIMIT}); its longest sentence has {len(words(longest))}: {longest}"
    )


def test_the_template_readme_is_short_and_links_its_topic_pages() -> None:
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")

    assert len(readme.splitlines()) < 120
    assert "](docs/contributing.md)" in readme


@pytest.mark.slow
def test_a_default_bakes_readme_is_short_and_every_guide_it_links_exists(
    bake: Callable[..., Path],
) -> None:
    project = bake()
    readme = (project / "README.md").read_text(encoding="utf-8")

    assert len(readme.splitlines()) < 200
    linked = re.findall(r"\]\(((?:docs|devtools)/[^)#]+)", readme)
    assert linked and [path for path in linked if not (project / path).exists()] == []
