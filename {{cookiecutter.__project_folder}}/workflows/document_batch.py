"""Document batch: analyse every document under a blob prefix, in chunks, at any size.

A run is started with where the documents are, never their text: a container and a prefix,
or a container and a list of blob names. The documents and everything the run produces live
in Blob Storage (``workflows/blob_store.py``); durable messages carry only small references.

The batch is cut in two levels of bounded size, so no orchestration's history or payload
grows with the batch:

- ``plan_batch`` lists the documents and writes one manifest blob per chunk of at most
  ``chunk_size`` documents, then hands out groups of at most ``chunks_per_group`` chunks;
- each group is a sub-workflow (``<name>_group``, a child orchestration) that hands its
  chunks to the chunk sub-workflow (``<name>_chunk``, one child orchestration per chunk);
- each chunk runs ``analyze_chunk``, one plain executor (one activity), which reads its
  documents and writes one results blob and one summary blob.

Each level waits for its children through a one-step ``wait_for_*`` executor that runs in
the same superstep as the children, then adds up the children's summary blobs. The run's
output is the batch's totals and where the results are.
"""

import asyncio
import json
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Self

from agent_framework import Workflow, WorkflowBuilder, WorkflowContext, WorkflowExecutor, executor
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob.aio import BlobServiceClient, ContainerClient
from pydantic import Field, StringConstraints, model_validator

from workflows import blob_store
from workflows.catalog import DeclaredWorkflow, SubWorkflow
from workflows.messages import InboundMessage, parse_start_message
{% if cookiecutter.worker_pool != "none" %}
from workflows.placement import runs_on
{% endif %}

WORKFLOW_NAME = "{{ cookiecutter.batch_workflow }}"
GROUP_WORKFLOW_NAME = "{{ cookiecutter.batch_workflow }}_group"
CHUNK_WORKFLOW_NAME = "{{ cookiecutter.batch_workflow }}_chunk"
{% if cookiecutter.worker_pool != "none" %}
# The worker pool that analyses chunks: `python worker.py --pool {{ cookiecutter.worker_pool }}`.
ANALYSIS_POOL = "{{ cookiecutter.worker_pool }}"
{% endif %}

MAX_CHUNK_SIZE = 1_000
MAX_CHUNKS_PER_GROUP = 100
MAX_GROUPS = 100
# The most bytes of JSON a start body's list of blob names may take. The body is the run's input
# and the planning step's, a payload each, so it must stay under the 1 MiB payload limit with
# room to spare (docs/limits.md has the measured ceiling); a larger batch names a prefix.
MAX_BLOB_LIST_BYTES = 768 * 1024
TYPICAL_NAME_LENGTH = 40
TYPICAL_NAMES_PER_LIST = MAX_BLOB_LIST_BYTES // (TYPICAL_NAME_LENGTH + 4) // 1_000 * 1_000
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
# What the Blob service answers a range request on an empty blob (Range Not Satisfiable).
EMPTY_RANGE_STATUS = 416
# Documents a chunk reads at once: enough to keep the storage round trips overlapping.
READ_CONCURRENCY = 16
DEFAULT_RESULTS_CONTAINER = "batch-results"

# Words a clause is recognised by, in lower case. Replace `analyse` with your own analysis (a
# model call per document fits here too): it gets one document's text and returns its result.
CLAUSES: Mapping[str, tuple[str, ...]] = {
    "confidentiality": ("confidential",),
    "governing_law": ("governing law", "jurisdiction"),
    "liability": ("liability", "indemnif"),
    "payment": ("payment", "invoice"),
    "termination": ("terminat",),
}

# Azure's rule: 3 to 63 lowercase letters, digits and single hyphens, not at either end.
ContainerName = Annotated[
    str, StringConstraints(min_length=3, max_length=63, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
]
BlobName = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class DocumentBatch(InboundMessage):
    """Where the documents are: ``container`` plus a ``prefix`` or a list of ``blobs``."""

    container: ContainerName
    prefix: Annotated[str, StringConstraints(max_length=1024)] | None = None
    blobs: list[BlobName] | None = None
    results_container: ContainerName = DEFAULT_RESULTS_CONTAINER
    chunk_size: Annotated[int, Field(ge=1, le=MAX_CHUNK_SIZE)] = 100
    chunks_per_group: Annotated[int, Field(ge=1, le=MAX_CHUNKS_PER_GROUP)] = MAX_CHUNKS_PER_GROUP

    @model_validator(mode="after")
    def prefix_or_blobs(self) -> Self:
        if self.blobs is not None and self.prefix is not None:
            raise ValueError("give either prefix or blobs, not both")
        if self.blobs is None and self.prefix is None:
            raise ValueError(
                'give prefix (a blob name prefix, "" for the whole container) or blobs'
                " (a list of blob names)"
            )
        if self.blobs is not None:
            check_blob_list(self.blobs)
        return self

    @property
    def max_documents(self) -> int:
        return MAX_GROUPS * self.chunks_per_group * self.chunk_size


def check_blob_list(blobs: list[str]) -> None:
    """Refuse an empty list, a repeated name, and a list over the start body's share."""
    if not blobs:
        raise ValueError("blobs is empty: list at least one blob name, or give a prefix")
    repeated = [name for name, seen in Counter(blobs).items() if seen > 1]
    if repeated:
        shown = ", ".join(repr(name) for name in repeated[:3])
        more = f" and {len(repeated) - 3:,} more" if len(repeated) > 3 else ""
        raise ValueError(f"blobs names {shown}{more} more than once: list each document once")
    size = len(json.dumps(blobs, ensure_ascii=False).encode("utf-8"))
    if size > MAX_BLOB_LIST_BYTES:
        raise ValueError(
            f"blobs takes {size:,} bytes of JSON, over the {MAX_BLOB_LIST_BYTES:,} a start body"
            f" may give it (about {TYPICAL_NAMES_PER_LIST:,} names of"
            f" {TYPICAL_NAME_LENGTH} characters; the durable payload limit is 1 MiB): put the"
            " documents under one prefix and give prefix instead"
        )


class BatchError(RuntimeError):
    """The batch cannot run as asked (no documents, too many, a missing container...)."""


@dataclass
class Counts:
    """What a chunk, a group or the whole batch found."""

    documents: int = 0
    analysed: int = 0
    failed: int = 0
    words: int = 0
    clauses: dict[str, int] = field(default_factory=dict)

    def add(self, other: "Counts") -> None:
        self.documents += other.documents
        self.analysed += other.analysed
        self.failed += other.failed
        self.words += other.words
        for clause, count in other.clauses.items():
            self.clauses[clause] = self.clauses.get(clause, 0) + count

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Self:
        return cls(
            int(value["documents"]),
            int(value["analysed"]),
            int(value["failed"]),
            int(value["words"]),
            {str(k): int(v) for k, v in value["clauses"].items()},
        )


@dataclass
class BatchPlan:
    batch_id: str
    results_container: str
    documents: int
    chunks: int
    groups: int


@dataclass
class GroupJob:
    batch_id: str
    results_container: str
    group: int
    first_chunk: int
    chunk_count: int


@dataclass
class ChunkJob:
    batch_id: str
    results_container: str
    chunk: int


@dataclass
class BatchSummary:
    """The run's output: the batch's totals and where every result is."""

    batch_id: str
    documents: int
    analysed: int
    failed: int
    words: int
    clauses: dict[str, int]
    chunks: int
    groups: int
    results_container: str
    results_prefix: str
    summary_blob: str


def manifest_blob(batch_id: str, chunk: int) -> str:
    return f"{batch_id}/manifests/{chunk:06d}.json"


def results_blob(batch_id: str, chunk: int) -> str:
    return f"{batch_id}/results/{chunk:06d}.jsonl"


def chunk_summary_blob(batch_id: str, chunk: int) -> str:
    return f"{batch_id}/chunks/{chunk:06d}.json"


def group_summary_blob(batch_id: str, group: int) -> str:
    return f"{batch_id}/groups/{group:04d}.json"


def batch_summary_blob(batch_id: str) -> str:
    return f"{batch_id}/summary.json"


WORD = re.compile(r"\w+")


def analyse(text: str) -> dict[str, Any]:
    """One document's result: its word count and the clauses it mentions."""
    lowered = text.lower()
    clauses = [name for name, words in CLAUSES.items() if any(w in lowered for w in words)]
    return {"words": len(WORD.findall(text)), "clauses": clauses}


async def documents_of(
    source: ContainerClient, request: DocumentBatch
) -> AsyncIterator[dict[str, Any]]:
    """Each document of the batch as ``{"name"}``, in listing order.

    Names only: listing every blob's properties costs several times the CPU, and a
    document's size is checked when it is read.
    """
    if request.blobs is not None:
        # A listed name that does not exist is that document's failed row; a container that
        # does not exist fails the whole run, as it does for a prefix.
        if not await source.exists():
            raise BatchError(
                f"The container {request.container!r} does not exist in the document storage."
            )
        for name in request.blobs:
            yield {"name": name}
        return
    try:
        async for name in source.list_blob_names(name_starts_with=request.prefix or None):
            yield {"name": name}
    except ResourceNotFoundError:
        raise BatchError(
            f"The container {request.container!r} does not exist in the document storage."
        ) from None


async def write_manifests(
    service: BlobServiceClient, request: DocumentBatch, batch_id: str
) -> BatchPlan:
    """List the batch, write one manifest blob per chunk, and say how it was cut."""
    source = service.get_container_client(request.container)
    results = await blob_store.ensure_container(service, request.results_container)
    chunk: list[dict[str, Any]] = []
    chunks = documents = 0
    writes: set[asyncio.Task[None]] = set()

    async def flush() -> None:
        nonlocal chunks
        manifest = {"container": request.container, "documents": chunk.copy()}
        name = manifest_blob(batch_id, chunks)
        writes.add(asyncio.create_task(blob_store.write_json(results, name, manifest)))
        chunks += 1
        chunk.clear()
        if len(writes) >= READ_CONCURRENCY:
            done, _ = await asyncio.wait(writes, return_when=asyncio.FIRST_COMPLETED)
            writes.difference_update(done)
            for task in done:
                task.result()

    async for document in documents_of(source, request):
        documents += 1
        if documents > request.max_documents:
            await asyncio.gather(*writes)
            raise BatchError(
                f"The batch holds more than {request.max_documents:,} documents, the most one run"
                f" takes ({MAX_GROUPS} groups of chunks_per_group={request.chunks_per_group}"
                f" chunks of chunk_size={request.chunk_size}): raise chunk_size (at most"
                f" {MAX_CHUNK_SIZE}) or split the prefix."
            )
        chunk.append(document)
        if len(chunk) == request.chunk_size:
            await flush()
    if chunk:
        await flush()
    await asyncio.gather(*writes)
    if documents == 0:
        where = f"under the prefix {request.prefix!r}" if request.prefix else "at all"
        raise BatchError(f"The container {request.container!r} holds no documents {where}.")
    groups = -(-chunks // request.chunks_per_group)
    return BatchPlan(batch_id, request.results_container, documents, chunks, groups)


async def plan_batch(body: object, ctx: WorkflowContext[GroupJob | BatchPlan]) -> None:
    request = parse_start_message(DocumentBatch, body)
    async with blob_store.open_storage() as service:
        plan = await write_manifests(service, request, uuid.uuid4().hex)
    per_group = request.chunks_per_group
    for group in range(plan.groups):
        first = group * per_group
        count = min(per_group, plan.chunks - first)
        job = GroupJob(plan.batch_id, plan.results_container, group, first, count)
        await ctx.send_message(job, target_id="groups")
    await ctx.send_message(plan, target_id="wait_for_groups")


async def read_document(source: ContainerClient, document: Mapping[str, Any]) -> dict[str, Any]:
    """One document's result row; a document that cannot be read is a failed row."""
    name = str(document["name"])
    try:
        # One request reads at most one byte past the limit, so a huge document costs no
        # more memory than the limit. The service refuses any range of an empty blob (416).
        downloader = await source.download_blob(name, offset=0, length=MAX_DOCUMENT_BYTES + 1)
        data = await downloader.readall()
    except ResourceNotFoundError:
        return {"document": name, "error": "not found"}
    except HttpResponseError as error:
        if error.status_code != EMPTY_RANGE_STATUS:
            raise
        data = b""
    if len(data) > MAX_DOCUMENT_BYTES:
        return {"document": name, "error": f"larger than {MAX_DOCUMENT_BYTES:,} bytes"}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {"document": name, "error": "not UTF-8 text"}
    return {"document": name, **analyse(text)}


def count(rows: list[dict[str, Any]]) -> Counts:
    counts = Counts(documents=len(rows))
    for row in rows:
        if "error" in row:
            counts.failed += 1
            continue
        counts.analysed += 1
        counts.words += row["words"]
        for clause in row["clauses"]:
            counts.clauses[clause] = counts.clauses.get(clause, 0) + 1
    return counts


async def analyze_chunk(job: ChunkJob, ctx: WorkflowContext) -> None:
    """The heavy step: read one chunk's documents, analyse each, store rows and totals."""
    async with blob_store.open_storage() as service:
        results = service.get_container_client(job.results_container)
        manifest = await blob_store.read_json(results, manifest_blob(job.batch_id, job.chunk))
        source = service.get_container_client(manifest["container"])
        gate = asyncio.Semaphore(READ_CONCURRENCY)

        async def read(document: Mapping[str, Any]) -> dict[str, Any]:
            async with gate:
                return await read_document(source, document)

        rows = await asyncio.gather(*(read(d) for d in manifest["documents"]))
        await blob_store.write_json_lines(results, results_blob(job.batch_id, job.chunk), rows)
        summary = asdict(count(rows))
        await blob_store.write_json(results, chunk_summary_blob(job.batch_id, job.chunk), summary)


async def add_up(container: ContainerClient, names: list[str]) -> Counts:
    """The sum of the summary blobs ``names``; a missing one is an error naming it."""
    total = Counts()
    for start in range(0, len(names), READ_CONCURRENCY):
        batch = names[start : start + READ_CONCURRENCY]
        try:
            values = await asyncio.gather(*(blob_store.read_json(container, n) for n in batch))
        except ResourceNotFoundError as error:
            raise BatchError(
                f"A summary is missing from {container.container_name}: {error.message}"
            ) from None
        for value in values:
            total.add(Counts.from_json(value))
    return total


async def open_group(job: GroupJob, ctx: WorkflowContext[ChunkJob | GroupJob]) -> None:
    for chunk in range(job.first_chunk, job.first_chunk + job.chunk_count):
        await ctx.send_message(
            ChunkJob(job.batch_id, job.results_container, chunk), target_id="chunks"
        )
    await ctx.send_message(job, target_id="wait_for_chunks")


async def wait_for_chunks(job: GroupJob, ctx: WorkflowContext[GroupJob]) -> None:
    """Runs beside the chunks; the next step starts only once every chunk is done."""
    await ctx.send_message(job)


async def close_group(job: GroupJob, ctx: WorkflowContext) -> None:
    async with blob_store.open_storage() as service:
        results = service.get_container_client(job.results_container)
        chunks = range(job.first_chunk, job.first_chunk + job.chunk_count)
        total = await add_up(results, [chunk_summary_blob(job.batch_id, c) for c in chunks])
        summary_name = group_summary_blob(job.batch_id, job.group)
        await blob_store.write_json(results, summary_name, asdict(total))


async def wait_for_groups(plan: BatchPlan, ctx: WorkflowContext[BatchPlan]) -> None:
    """Runs beside the groups; the next step starts only once every group is done."""
    await ctx.send_message(plan)


async def summarize_batch(plan: BatchPlan, ctx: WorkflowContext[None, BatchSummary]) -> None:
    async with blob_store.open_storage() as service:
        results = service.get_container_client(plan.results_container)
        groups = [group_summary_blob(plan.batch_id, g) for g in range(plan.groups)]
        total = await add_up(results, groups)
        if total.documents != plan.documents:
            raise BatchError(
                f"Batch {plan.batch_id} planned {plan.documents} documents but its chunks"
                f" report {total.documents}."
            )
        summary = BatchSummary(
            batch_id=plan.batch_id,
            chunks=plan.chunks,
            groups=plan.groups,
            results_container=plan.results_container,
            results_prefix=f"{plan.batch_id}/results/",
            summary_blob=batch_summary_blob(plan.batch_id),
            **asdict(total),
        )
        await blob_store.write_json(results, summary.summary_blob, asdict(summary))
    await ctx.yield_output(summary)


def build_chunk_workflow() -> Workflow:
{% if cookiecutter.worker_pool != "none" %}
    # Analysing a chunk is the heavy step (a model per document, on a GPU, in a real project):
    # it runs on the pool's workers; planning, grouping and adding up run where the workflow runs.
    analyzer = runs_on(ANALYSIS_POOL)(executor(id="analyze_chunk")(analyze_chunk))
{% else %}
    analyzer = executor(id="analyze_chunk")(analyze_chunk)
{% endif %}
    return WorkflowBuilder(name=CHUNK_WORKFLOW_NAME, start_executor=analyzer).build()


def build_group_workflow() -> Workflow:
    opener = executor(id="open_group")(open_group)
    chunks = WorkflowExecutor(build_chunk_workflow(), id="chunks")
    waiter = executor(id="wait_for_chunks")(wait_for_chunks)
    closer = executor(id="close_group")(close_group)
    return (
        WorkflowBuilder(name=GROUP_WORKFLOW_NAME, start_executor=opener)
        .add_edge(opener, chunks)
        .add_edge(opener, waiter)
        .add_edge(waiter, closer)
        .build()
    )


def build_document_batch_workflow() -> Workflow:
    planner = executor(id="plan_batch")(plan_batch)
    groups = WorkflowExecutor(build_group_workflow(), id="groups")
    waiter = executor(id="wait_for_groups")(wait_for_groups)
    summarizer = executor(id="summarize_batch")(summarize_batch)
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=planner)
        .add_edge(planner, groups)
        .add_edge(planner, waiter)
        .add_edge(waiter, summarizer)
        .build()
    )


# Its runs need Blob Storage (Azurite locally): tests/workflows/test_document_batch.py and the
# batch tests run them, so the shared scenario table declares none.
WORKFLOW = DeclaredWorkflow(
    name=WORKFLOW_NAME,
    build=build_document_batch_workflow,
    activities=("plan_batch", "wait_for_groups", "summarize_batch"),
    sub_workflows=(
        SubWorkflow(
            GROUP_WORKFLOW_NAME, activities=("open_group", "wait_for_chunks", "close_group")
        ),
        SubWorkflow(CHUNK_WORKFLOW_NAME, activities=("analyze_chunk",)),
    ),
)
