"""The post-generation hook: prune left-out starters, write settings, copy infra."""

from pathlib import Path

import devhost
from tests.conftest import TEMPLATE, default_answers, load_hook

hook = load_hook("post_gen_project")

MAIN_BICEP = """targetScope = 'subscription'
module identity 'modules/identity.bicep' = {
  name: 'identity'
}
// dafx:when model_provider=azure_openai|foundry
module model 'modules/model.bicep' = {
  name: 'model'
}
output MODEL_ENDPOINT string = model.outputs.endpoint
// dafx:end
output APP string = 'app'
"""


def write_infra(root: Path) -> Path:
    infra = root / "infra"
    (infra / "modules").mkdir(parents=True)
    (infra / "main.bicep").write_text(MAIN_BICEP)
    (infra / "modules" / "identity.bicep").write_text("param name string = 'id'\n")
    (infra / "modules" / "model.bicep").write_text("output endpoint string = 'e'\n")
    (infra / "abbreviations.json").write_text("{}\n")
    return infra


def test_default_answers_remove_the_agent_starter_the_model_client_and_the_pool_image() -> None:
    assert hook.files_to_remove(default_answers()) == [
        "workflows/content_review.py",
        "docs/workflows/content_review.md",
        "http/content_review.http",
        "tests/workflows/test_content_review.py",
        "tests/test_unconfigured_model.py",
        "model_client.py",
        "tests/fake_chat_client.py",
        "tests/offline_function_app.py",
        "tests/loopback_model_function_app.py",
        "tests/test_model_client.py",
        "Dockerfile",
        ".dockerignore",
    ]


def test_a_left_out_starter_loses_its_module_its_tests_its_page_and_its_requests() -> None:
    removed = hook.files_to_remove(
        default_answers(model_provider="foundry", fanout_workflow="none", worker_pool="gpu")
    )

    assert removed == [
        "workflows/quotes.py",
        "docs/workflows/quotes.md",
        "http/quotes.http",
        "tests/workflows/test_quotes.py",
    ]


def test_removing_the_last_file_of_a_folder_removes_the_folder(tmp_path: Path) -> None:
    (tmp_path / "http").mkdir()
    (tmp_path / "http" / "quotes.http").write_text("GET http://localhost\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "quotes.md").write_text("# quotes\n")
    (tmp_path / "docs" / "deploy.md").write_text("# deploy\n")

    hook.remove_files(tmp_path, ["http/quotes.http", "docs/quotes.md"])

    assert not (tmp_path / "http").exists()
    assert [path.name for path in (tmp_path / "docs").iterdir()] == ["deploy.md"]


def test_blocks_for_other_answers_are_dropped_with_their_markers() -> None:
    kept = hook.keep_selected_blocks(MAIN_BICEP, default_answers(model_provider="none"))

    assert "dafx:" not in kept and "module model" not in kept and "MODEL_ENDPOINT" not in kept
    assert "output APP string = 'app'" in kept


def test_blocks_for_this_answer_are_kept_without_their_markers() -> None:
    kept = hook.keep_selected_blocks(MAIN_BICEP, default_answers(model_provider="foundry"))

    assert "dafx:" not in kept
    assert "module model 'modules/model.bicep'" in kept and "MODEL_ENDPOINT" in kept


BATCH_BLOCK = """// dafx:when batch_workflow!=none
resource documents 'containers' = {}
// dafx:end
"""


def test_a_not_equal_block_is_kept_while_its_starter_is_on() -> None:
    kept = hook.keep_selected_blocks(BATCH_BLOCK, default_answers(batch_workflow="contracts"))

    assert kept == "resource documents 'containers' = {}\n"


def test_a_not_equal_block_is_dropped_when_its_starter_is_left_out() -> None:
    assert hook.keep_selected_blocks(BATCH_BLOCK, default_answers(batch_workflow="none")) == ""


def test_copy_infra_leaves_out_modules_no_longer_referenced(tmp_path: Path) -> None:
    source = write_infra(tmp_path / "template")
    target = tmp_path / "project" / "infra"

    hook.copy_infra(source, target, default_answers(model_provider="none"))

    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.*")) == [
        "abbreviations.json",
        "main.bicep",
        "modules/identity.bicep",
    ]


def test_copy_infra_keeps_the_model_module_when_a_provider_is_chosen(tmp_path: Path) -> None:
    source = write_infra(tmp_path / "template")
    target = tmp_path / "project" / "infra"

    hook.copy_infra(source, target, default_answers(model_provider="azure_openai"))

    assert (target / "modules" / "model.bicep").is_file()


def test_copy_infra_never_overwrites_a_file_the_project_has(tmp_path: Path) -> None:
    source = write_infra(tmp_path / "template")
    target = tmp_path / "project" / "infra"
    target.mkdir(parents=True)
    (target / "main.bicep").write_text("// rendered by the project\n")

    hook.copy_infra(source, target, default_answers())

    assert (target / "main.bicep").read_text() == "// rendered by the project\n"


def test_local_settings_are_written_from_the_sample(tmp_path: Path) -> None:
    (tmp_path / "local.settings.sample.json").write_text('{"Values": {}}')

    hook.write_local_settings(tmp_path)

    assert (tmp_path / "local.settings.json").read_text() == '{"Values": {}}'


def test_existing_local_settings_are_kept(tmp_path: Path) -> None:
    (tmp_path / "local.settings.sample.json").write_text('{"Values": {}}')
    (tmp_path / "local.settings.json").write_text('{"Values": {"MINE": "1"}}')

    hook.write_local_settings(tmp_path)

    assert (tmp_path / "local.settings.json").read_text() == '{"Values": {"MINE": "1"}}'


def test_next_steps_name_the_project_folder() -> None:
    steps = hook.next_steps(default_answers(project_slug="helpdesk"))

    assert "cd helpdesk" in steps and "devhost " in steps


def test_devtools_are_built_into_one_wheel_named_by_their_version(tmp_path: Path) -> None:
    built = hook.build_devtools(TEMPLATE / "devtools", tmp_path / "devtools")

    names = sorted(path.name for path in (tmp_path / "devtools").iterdir())
    assert names == sorted(["CHANGELOG.md", "README.md", built.name])
    assert built.name.startswith(f"dafx_devhost-{devhost.__version__}-")


def test_the_devtools_wheel_is_the_same_bytes_from_the_same_source(tmp_path: Path) -> None:
    first = hook.build_devtools(TEMPLATE / "devtools", tmp_path / "first")
    second = hook.build_devtools(TEMPLATE / "devtools", tmp_path / "second")

    assert first.read_bytes() == second.read_bytes()
