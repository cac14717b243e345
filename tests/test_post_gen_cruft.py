"""The post-generation hook's step that records the template for cruft (.cruft.json)."""

import json
from pathlib import Path

import pytest

from tests.conftest import default_answers, git, load_hook

hook = load_hook("post_gen_project")


def template_repository(folder: Path, *contents: str) -> list[str]:
    """A git repository with one commit per content of cookiecutter.json; the commit ids."""
    folder.mkdir(parents=True, exist_ok=True)
    git(folder, "init", "--quiet")
    commits = []
    for content in contents:
        (folder / "cookiecutter.json").write_text(content)
        git(folder, "add", "--all")
        git(folder, "commit", "--quiet", "--message", "revision")
        commits.append(git(folder, "rev-parse", "HEAD"))
    return commits


def cookiecutter_answers(template: str, repo_dir: Path) -> dict[str, object]:
    return {
        **default_answers(),
        "_template": template,
        "_repo_dir": str(repo_dir),
        "_output_dir": "/somewhere/on/this/machine",
        "_checkout": None,
    }


def test_the_state_has_the_shape_cruft_writes() -> None:
    state = hook.cruft_state(default_answers(), "https://example.invalid/t.git", "abc123")

    assert set(state) == {"template", "commit", "checkout", "context", "directory"}
    assert state["template"] == "https://example.invalid/t.git"
    assert state["commit"] == "abc123"
    assert state["context"]["cookiecutter"]["_commit"] == "abc123"
    assert state["context"]["cookiecutter"]["_template"] == "https://example.invalid/t.git"


def test_the_state_keeps_every_answer_but_no_path_of_this_machine(tmp_path: Path) -> None:
    answers = cookiecutter_answers(".", tmp_path)

    context = hook.cruft_state(answers, "t", "c")["context"]["cookiecutter"]

    assert {key: context[key] for key in default_answers()} == default_answers()
    assert not {"_repo_dir", "_output_dir", "_checkout"} & set(context)


def test_a_github_abbreviation_becomes_a_url_cruft_can_clone(tmp_path: Path) -> None:
    answers = cookiecutter_answers("gh:org/dafx-func", tmp_path)

    assert hook.template_source(answers, tmp_path) == "https://github.com/org/dafx-func.git"


def test_a_local_template_is_recorded_by_its_absolute_path(tmp_path: Path) -> None:
    answers = cookiecutter_answers("../dafx-func", tmp_path)

    assert hook.template_source(answers, tmp_path) == str(tmp_path.resolve())


def test_the_revision_is_the_checked_out_commit(tmp_path: Path) -> None:
    commits = template_repository(tmp_path / "t", "{}", '{"a": "b"}')

    assert hook.template_revision(tmp_path / "t") == commits[-1]


def test_a_folder_inside_another_repository_has_no_revision(tmp_path: Path) -> None:
    template_repository(tmp_path, "{}")
    (tmp_path / "inner").mkdir()

    assert hook.template_revision(tmp_path / "inner") is None


def test_a_folder_outside_git_has_no_revision(tmp_path: Path) -> None:
    assert hook.template_revision(tmp_path) is None


def test_a_relative_template_folder_is_found_from_where_cookiecutter_started(
    tmp_path: Path,
) -> None:
    (tmp_path / "dafx-func").mkdir()
    (tmp_path / "dafx-func" / "cookiecutter.json").write_text("{}")

    found = hook.resolve_template_folder("dafx-func", str(tmp_path))

    assert found == (tmp_path / "dafx-func").resolve()


def test_a_template_folder_that_cannot_be_found_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(hook.TemplateError, match="'missing'"):
        hook.resolve_template_folder("missing", str(tmp_path))


def test_under_cruft_the_named_commit_is_checked_out(tmp_path: Path) -> None:
    first, _ = template_repository(tmp_path / "t", '{"revision": 1}', '{"revision": 2}')
    answers = {"_template": str(tmp_path / "t"), "_commit": first}

    with hook.template_folder(answers) as folder:
        assert json.loads((folder / "cookiecutter.json").read_text()) == {"revision": 1}


def test_a_cookiecutter_run_writes_cruft_json(tmp_path: Path) -> None:
    (commit,) = template_repository(tmp_path / "t", "{}")
    project = tmp_path / "project"
    project.mkdir()

    hook.write_cruft_state(project, cookiecutter_answers(".", tmp_path / "t"), tmp_path / "t")

    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == commit
    assert state["template"] == str((tmp_path / "t").resolve())


def test_a_template_with_uncommitted_changes_is_reported(tmp_path: Path) -> None:
    template_repository(tmp_path / "t", "{}")
    (tmp_path / "t" / "cookiecutter.json").write_text('{"changed": true}')
    project = tmp_path / "project"
    project.mkdir()

    note = hook.write_cruft_state(
        project, cookiecutter_answers(".", tmp_path / "t"), tmp_path / "t"
    )

    assert "uncommitted changes" in note


def test_a_template_outside_git_gets_no_cruft_json_and_a_note(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    project = tmp_path / "project"
    project.mkdir()

    note = hook.write_cruft_state(
        project, cookiecutter_answers(".", tmp_path / "t"), tmp_path / "t"
    )

    assert not (project / ".cruft.json").exists()
    assert "cruft link" in note


def test_under_cruft_the_hook_leaves_cruft_json_to_cruft(tmp_path: Path) -> None:
    answers = {**default_answers(), "_template": "t", "_commit": "c"}

    hook.write_cruft_state(tmp_path, answers, tmp_path)

    assert not (tmp_path / ".cruft.json").exists()
