"""Document batch, run in-process against Azurite: documents in, totals and result rows out."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.sample_documents import expected_totals, sample_name, sample_text, upload
from tests.azurite import Azurite
from workflows import blob_store, document_batch
from workflows.document_batch import (
    MAX_BLOB_LIST_BYTES,
    MAX_GROUPS,
    BatchSummary,
    DocumentBatch,
    analyse,
    build_document_batch_workflow,
)
from workflows.messages import BadStartMessageError, parse_start_message

DOCUMENTS = 60


@pytest.fixture
def storage(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The app's storage setting pointing at Azurite, as the executors read it."""
    settings = {blob_store.STORAGE_SETTING: azurite.connection_string}
    monkeypatch.setenv(blob_store.STORAGE_SETTING, azurite.connection_string)
    yield settings


async def seeded(settings: dict[str, str], count: int) -> str:
    """A fresh prefix in the documents container holding ``count`` sample documents."""
    prefix = f"{uuid.uuid4().hex}/"
    await upload(settings, "documents", prefix, count)
    return prefix


async def run_batch(body: dict[str, Any]) -> BatchSummary:
    outputs = (await build_document_batch_workflow().run(body)).get_outputs()
    assert len(outputs) == 1, outputs
    summary: BatchSummary = outputs[0]
    return summary


async def result_rows(settings: dict[str, str], summary: BatchSummary) -> list[dict[str, Any]]:
    async with blob_store.open_storage(settings) as service:
        results = service.get_container_client(summary.results_container)
        rows: list[dict[str, Any]] = []
        async for name in results.list_blob_names(name_starts_with=summary.results_prefix):
            rows += await blob_store.read_json_lines(results, name)
        return rows


def test_analysis_counts_words_and_names_the_clauses_it_finds() -> None:
    result = analyse("Payment is due on receipt. Either party may terminate it.")

    assert result == {"words": 10, "clauses": ["payment", "termination"]}


def test_a_batch_names_its_documents_by_prefix_or_by_list_not_both() -> None:
    with pytest.raises(BadStartMessageError, match="give either prefix or blobs, not both"):
        parse_start_message(
            DocumentBatch, {"container": "docs", "prefix": "a/", "blobs": ["a/1.txt"]}
        )


def test_a_batch_without_prefix_or_blobs_is_refused_naming_both() -> None:
    with pytest.raises(BadStartMessageError, match=r"give prefix \(.*\) or blobs"):
        parse_start_message(DocumentBatch, {"container": "docs"})


def test_an_empty_list_of_blobs_is_refused() -> None:
    with pytest.raises(ValueError, match="blobs is empty: list at least one blob name"):
        DocumentBatch.model_validate({"container": "docs", "blobs": []})


def test_a_blob_listed_twice_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"blobs names 'a/1\.txt' more than once"):
        DocumentBatch.model_validate({"container": "docs", "blobs": ["a/1.txt", "b", "a/1.txt"]})


def forty_character_names(count: int) -> list[str]:
    """``count`` blob names of 40 characters: each takes 44 bytes of the list's JSON."""
    return [f"contracts/2026/{n:08d}/agreement-v1.txt" for n in range(count)]


def test_a_list_of_blobs_over_its_share_of_the_payload_limit_is_refused_pointing_to_prefix() -> (
    None
):
    names = forty_character_names(MAX_BLOB_LIST_BYTES // 44 + 1)

    with pytest.raises(BadStartMessageError) as refused:
        parse_start_message(DocumentBatch, {"container": "docs", "blobs": names})

    assert f"over the {MAX_BLOB_LIST_BYTES:,} a start body may give it" in str(refused.value)
    assert "payload limit is 1 MiB" in str(refused.value)
    assert "give prefix instead" in str(refused.value)


def test_a_list_of_blobs_up_to_its_share_is_taken() -> None:
    names = forty_character_names(MAX_BLOB_LIST_BYTES // 44)

    batch = DocumentBatch.model_validate({"container": "docs", "blobs": names})

    assert batch.blobs == names


def test_a_container_name_azure_refuses_is_refused_before_the_run_starts() -> None:
    with pytest.raises(ValueError, match="container"):
        DocumentBatch.model_validate({"container": "My_Documents"})


async def test_every_document_is_analysed_over_several_groups_of_chunks(
    storage: dict[str, str],
) -> None:
    prefix = await seeded(storage, DOCUMENTS)

    summary = await run_batch(
        {"container": "documents", "prefix": prefix, "chunk_size": 5, "chunks_per_group": 4}
    )

    totals = expected_totals(DOCUMENTS)
    assert (summary.chunks, summary.groups) == (12, 3)
    assert {key: getattr(summary, key) for key in totals} == totals


async def test_the_results_hold_one_row_per_document(storage: dict[str, str]) -> None:
    prefix = await seeded(storage, 30)

    summary = await run_batch({"container": "documents", "prefix": prefix, "chunk_size": 7})

    rows = await result_rows(storage, summary)
    assert sorted(row["document"] for row in rows) == [sample_name(prefix, n) for n in range(30)]
    assert rows[0] == {"document": rows[0]["document"], **analyse(sample_text(0))}


async def test_a_listed_document_that_does_not_exist_is_a_failed_row_not_a_failed_batch(
    storage: dict[str, str],
) -> None:
    prefix = await seeded(storage, 2)
    blobs = [sample_name(prefix, 0), f"{prefix}missing.txt", sample_name(prefix, 1)]

    summary = await run_batch({"container": "documents", "blobs": blobs})

    assert (summary.documents, summary.analysed, summary.failed) == (3, 2, 1)
    failed = [row for row in await result_rows(storage, summary) if "error" in row]
    assert failed == [{"document": f"{prefix}missing.txt", "error": "not found"}]


async def test_a_document_over_the_size_limit_is_a_failed_row_naming_the_limit(
    storage: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(document_batch, "MAX_DOCUMENT_BYTES", 20)
    prefix = f"{uuid.uuid4().hex}/"
    async with blob_store.open_storage(storage) as service:
        container = await blob_store.ensure_container(service, "documents")
        await container.upload_blob(f"{prefix}at-limit.txt", b"x" * 20)
        await container.upload_blob(f"{prefix}over-limit.txt", b"x" * 21)
        await container.upload_blob(f"{prefix}empty.txt", b"")

    summary = await run_batch({"container": "documents", "prefix": prefix})

    rows = {row["document"]: row for row in await result_rows(storage, summary)}
    assert rows[f"{prefix}over-limit.txt"]["error"] == "larger than 20 bytes"
    assert rows[f"{prefix}at-limit.txt"]["words"] == 1
    assert rows[f"{prefix}empty.txt"]["words"] == 0


async def test_a_prefix_with_no_documents_fails_the_run_naming_it(storage: dict[str, str]) -> None:
    await seeded(storage, 1)

    with pytest.raises(Exception, match="holds no documents under the prefix 'nothing-here/'"):
        await run_batch({"container": "documents", "prefix": "nothing-here/"})


async def test_a_container_that_does_not_exist_fails_the_run_naming_it(
    storage: dict[str, str],
) -> None:
    with pytest.raises(Exception, match="The container 'no-such-container' does not exist"):
        await run_batch({"container": "no-such-container", "prefix": ""})


async def test_a_list_of_blobs_in_a_container_that_does_not_exist_fails_the_run_naming_it(
    storage: dict[str, str],
) -> None:
    with pytest.raises(Exception, match="The container 'no-such-container' does not exist"):
        await run_batch({"container": "no-such-container", "blobs": ["a.txt"]})


async def test_an_empty_prefix_takes_the_whole_container(storage: dict[str, str]) -> None:
    container = f"whole-{uuid.uuid4().hex[:8]}"
    await upload(storage, container, "a/", 3)
    await upload(storage, container, "b/", 2)

    summary = await run_batch({"container": container, "prefix": ""})

    assert (summary.documents, summary.analysed) == (5, 5)


async def test_names_with_spaces_unicode_and_deep_nesting_are_read_and_reported_as_given(
    storage: dict[str, str],
) -> None:
    prefix = f"{uuid.uuid4().hex}/"
    deep = "/".join(f"level{n}" for n in range(60))
    names = [
        f"{prefix}a contract with spaces.txt",
        f"{prefix}Vertrag über Möbel - 契約 (2026).txt",
        f"{prefix}{deep}/deep.txt",
    ]
    async with blob_store.open_storage(storage) as service:
        container = await blob_store.ensure_container(service, "documents")
        for number, name in enumerate(names):
            await container.upload_blob(name, sample_text(number).encode("utf-8"))

    by_prefix = await run_batch({"container": "documents", "prefix": prefix})
    by_list = await run_batch({"container": "documents", "blobs": names})

    for summary in (by_prefix, by_list):
        rows = await result_rows(storage, summary)
        assert sorted(row["document"] for row in rows) == sorted(names)
        assert (summary.analysed, summary.failed) == (3, 0)
    by_deep_prefix = await run_batch({"container": "documents", "prefix": f"{prefix}{deep}/"})
    assert [row["document"] for row in await result_rows(storage, by_deep_prefix)] == names[2:]


async def test_a_document_that_is_not_utf8_text_is_a_failed_row_naming_why(
    storage: dict[str, str],
) -> None:
    prefix = f"{uuid.uuid4().hex}/"
    async with blob_store.open_storage(storage) as service:
        container = await blob_store.ensure_container(service, "documents")
        await container.upload_blob(f"{prefix}latin1.txt", "Vertrag über".encode("latin-1"))
        await container.upload_blob(f"{prefix}binary.pdf", bytes(range(256)))
        await container.upload_blob(f"{prefix}good.txt", b"Payment is due.")

    summary = await run_batch({"container": "documents", "prefix": prefix})

    rows = {row["document"]: row for row in await result_rows(storage, summary)}
    assert rows[f"{prefix}latin1.txt"] == {
        "document": f"{prefix}latin1.txt",
        "error": "not UTF-8 text",
    }
    assert rows[f"{prefix}binary.pdf"]["error"] == "not UTF-8 text"
    assert (summary.analysed, summary.failed) == (1, 2)


async def test_a_batch_over_the_most_one_run_takes_fails_naming_the_limit(
    storage: dict[str, str],
) -> None:
    prefix = await seeded(storage, MAX_GROUPS + 1)

    with pytest.raises(Exception, match=f"more than {MAX_GROUPS} documents, the most one run"):
        await run_batch(
            {"container": "documents", "prefix": prefix, "chunk_size": 1, "chunks_per_group": 1}
        )


async def test_a_body_that_is_not_a_batch_fails_naming_every_bad_field() -> None:
    with pytest.raises(BadStartMessageError, match="chunk_size: Input should be less than"):
        await run_batch({"container": "documents", "chunk_size": 10**6})
