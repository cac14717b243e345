"""The pre-generation hook: every answer is checked before a file is written."""

import json

import pytest

from tests.conftest import DEFAULTS, default_answers, load_hook

hook = load_hook("pre_gen_project")


def test_default_answers_are_accepted() -> None:
    assert hook.validate(default_answers()) == []


def test_hook_choices_match_cookiecutter_json() -> None:
    for key, allowed in hook.CHOICES.items():
        assert tuple(DEFAULTS[key]) == allowed


@pytest.mark.parametrize(
    "slug", ["Agent", "1agent", "agent workflows", "../escape", "a/b", "x" * 41, "", "agent$"]
)
def test_bad_slugs_are_rejected_with_an_example(slug: str) -> None:
    (problem,) = hook.validate(default_answers(project_slug=slug))

    assert "project_slug" in problem and "for example" in problem


@pytest.mark.parametrize("slug", ["a", "agent_workflows", "agent-workflows-2", "x" * 40])
def test_good_slugs_are_accepted(slug: str) -> None:
    assert hook.validate(default_answers(project_slug=slug)) == []


@pytest.mark.parametrize(
    "name", ["9lives", "has space", "dot.ted", 'quote"; import os', "tilde~name", "x" * 64, ""]
)
def test_workflow_names_outside_the_library_pattern_are_rejected(name: str) -> None:
    (problem,) = hook.validate(default_answers(triage_workflow=name))

    assert problem.startswith(f"triage_workflow {name!r} is not a valid workflow name")


def test_a_workflow_name_of_63_characters_is_accepted() -> None:
    assert hook.validate(default_answers(fanout_workflow="q" * 63)) == []


def test_the_derived_sub_workflow_name_must_fit_too() -> None:
    (problem,) = hook.validate(default_answers(composition_workflow="t" * 60))

    assert "fare check sub-workflow" in problem


def test_workflow_names_must_differ_ignoring_case() -> None:
    (problem,) = hook.validate(default_answers(triage_workflow="Orders", fanout_workflow="orders"))

    assert problem == (
        "fanout_workflow 'orders' clashes with 'Orders': workflow names must be unique,"
        " ignoring case."
    )


def test_a_name_may_not_clash_with_the_sub_workflow_name() -> None:
    answers = default_answers(composition_workflow="trip", approval_workflow="TRIP_fare_check")

    (problem,) = hook.validate(answers)

    assert "'trip_fare_check' clashes with 'TRIP_fare_check'" in problem


def test_a_name_may_not_clash_with_a_batch_sub_workflow_name() -> None:
    answers = default_answers(batch_workflow="docs", triage_workflow="Docs_Chunk")

    (problem,) = hook.validate(answers)

    assert "'docs_chunk' clashes with 'Docs_Chunk'" in problem


def test_a_batch_name_too_long_for_its_sub_workflows_is_rejected() -> None:
    problems = hook.validate(default_answers(batch_workflow="b" * 60))

    assert problems == [
        f"batch_workflow ({sub_workflow}) {'b' * 60 + suffix!r} is not a valid workflow name:"
        " use 1 to 63 ASCII letters, digits, '_' or '-', starting with a letter, or 'none' to"
        " leave that workflow out."
        for suffix, sub_workflow in [
            ("_group", "its chunk group sub-workflow"),
            ("_chunk", "its chunk sub-workflow"),
        ]
    ]


def test_none_leaves_a_workflow_out() -> None:
    assert hook.hosted_workflow_names(default_answers(triage_workflow="none")) == [
        ("supplier_quotes", "fanout_workflow"),
        ("expense_approval", "approval_workflow"),
        ("trip_booking", "composition_workflow"),
        ("trip_booking_fare_check", "composition_workflow (its fare check sub-workflow)"),
        ("document_batch", "batch_workflow"),
        ("document_batch_group", "batch_workflow (its chunk group sub-workflow)"),
        ("document_batch_chunk", "batch_workflow (its chunk sub-workflow)"),
    ]


@pytest.mark.parametrize("answer", ["None", "NONE", "nOnE"])
def test_none_in_another_case_is_rejected_rather_than_made_a_workflow(answer: str) -> None:
    problems = hook.validate(default_answers(triage_workflow=answer))

    assert problems == [
        f"triage_workflow {answer!r} would name a workflow {answer!r}: write 'none' in lower case"
        " to leave that workflow out, or choose another name."
    ]


def test_the_agent_workflow_needs_a_model_provider() -> None:
    without = hook.hosted_workflow_names(default_answers(model_provider="none"))
    with_provider = hook.hosted_workflow_names(default_answers(model_provider="foundry"))

    assert ("content_review", "agent_workflow") not in without
    assert ("content_review", "agent_workflow") in with_provider


NO_STARTER = {
    "triage_workflow": "none",
    "fanout_workflow": "none",
    "approval_workflow": "none",
    "composition_workflow": "none",
    "batch_workflow": "none",
}


def test_leaving_every_workflow_out_is_accepted_and_hosts_none() -> None:
    answers = default_answers(**NO_STARTER)

    assert hook.validate(answers) == []
    assert hook.hosted_workflow_names(answers) == []


def test_a_worker_pool_with_every_workflow_left_out_is_refused_saying_to_answer_none() -> None:
    (problem,) = hook.validate(default_answers(worker_pool="gpu", **NO_STARTER))

    assert problem.startswith("worker_pool 'gpu' places ")
    assert "worker_pool=none" in problem


@pytest.mark.parametrize("key", ["project_name", "description", "author"])
def test_text_answers_must_be_one_line(key: str) -> None:
    (problem,) = hook.validate(default_answers(**{key: "two\nlines"}))

    assert problem.startswith(f"{key} contains a line break")


def test_unknown_choice_is_rejected() -> None:
    (problem,) = hook.validate(default_answers(python_version="2.7"))

    assert problem == "python_version '2.7' is not one of 3.12, 3.11, 3.13."


def test_main_lists_every_problem_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    answers = default_answers(project_slug="Bad Slug", triage_workflow="bad name")

    assert hook.main(json.dumps(answers)) == 1

    err = capsys.readouterr().err
    assert "project_slug 'Bad Slug'" in err and "triage_workflow 'bad name'" in err
    assert "Nothing was written" in err


def test_main_accepts_good_answers_silently(capsys: pytest.CaptureFixture[str]) -> None:
    assert hook.main(json.dumps(default_answers())) == 0
    assert capsys.readouterr().err == ""


def test_a_worker_pool_name_is_accepted() -> None:
    assert hook.validate(default_answers(worker_pool="gpu")) == []


@pytest.mark.parametrize("pool", ["GPU", "gpu_pool", "9gpu", "gpu-", "a" * 17, "None"])
def test_a_worker_pool_outside_the_resource_name_rule_is_rejected(pool: str) -> None:
    (problem,) = hook.validate(default_answers(worker_pool=pool))

    assert problem.startswith(f"worker_pool {pool!r} is not a valid pool name")


def test_a_worker_pool_needs_the_document_batch_whose_analysis_it_runs() -> None:
    (problem,) = hook.validate(default_answers(worker_pool="gpu", batch_workflow="none"))

    assert "document batch's per-chunk analysis" in problem
    assert "batch_workflow is 'none'" in problem
    assert "worker_pool=none" in problem


def test_a_worker_pool_does_not_need_the_triage_workflow() -> None:
    assert hook.validate(default_answers(worker_pool="gpu", triage_workflow="none")) == []
