"""Upload sample documents for the document batch workflow to the document storage.

    python scripts/sample_documents.py --count 1000 --prefix samples/

Each document is a short contract-like text; which clauses it mentions follows from its
number, so a batch's totals are known in advance (:func:`expected_totals`). The storage is
the one the app uses: ``DOCUMENTS_STORAGE`` (or ``DOCUMENTS_STORAGE__blobServiceUri``) from
the environment, else from ``local.settings.json``.
"""

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from workflows import blob_store  # noqa: E402
from workflows.document_batch import analyse  # noqa: E402

UPLOAD_CONCURRENCY = 32
SENTENCES = (
    "This agreement is entered into by the parties named below.",
    "Each party shall keep the other party's information confidential.",
    "Either party may terminate this agreement with thirty days written notice.",
    "Neither party's liability shall exceed the fees paid in the preceding year.",
    "Payment is due within thirty days of each invoice.",
    "This agreement is subject to the governing law of the State of Washington.",
)


def sample_text(number: int) -> str:
    """Document ``number``: the opening sentence plus the clauses its number's bits pick."""
    picked = [s for bit, s in enumerate(SENTENCES[1:]) if (number >> bit) & 1]
    return " ".join([f"Agreement {number}.", SENTENCES[0], *picked])


def sample_name(prefix: str, number: int) -> str:
    return f"{prefix}{number:06d}.txt"


def expected_totals(count: int) -> dict[str, Any]:
    """What a batch of the first ``count`` sample documents adds up to."""
    words = 0
    clauses: dict[str, int] = {}
    for number in range(count):
        result = analyse(sample_text(number))
        words += result["words"]
        for clause in result["clauses"]:
            clauses[clause] = clauses.get(clause, 0) + 1
    return {"documents": count, "analysed": count, "failed": 0, "words": words, "clauses": clauses}


async def upload(settings: Mapping[str, str], container_name: str, prefix: str, count: int) -> None:
    async with blob_store.open_storage(settings) as service:
        container = await blob_store.ensure_container(service, container_name)
        gate = asyncio.Semaphore(UPLOAD_CONCURRENCY)

        async def put(number: int) -> None:
            async with gate:
                data = sample_text(number).encode("utf-8")
                await container.upload_blob(sample_name(prefix, number), data, overwrite=True)

        await asyncio.gather(*(put(number) for number in range(count)))


def read_settings() -> dict[str, str]:
    """``local.settings.json`` Values under the environment, as the app reads them."""
    values: dict[str, str] = {}
    local = PROJECT / "local.settings.json"
    if local.is_file():
        document = json.loads(local.read_text(encoding="utf-8"))
        values.update({k: str(v) for k, v in document.get("Values", {}).items()})
    values.update(os.environ)
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100, help="documents (default: 100)")
    parser.add_argument("--container", default="documents", help="default: documents")
    parser.add_argument("--prefix", default="samples/", help="default: samples/")
    arguments = parser.parse_args(argv)
    try:
        asyncio.run(upload(read_settings(), arguments.container, arguments.prefix, arguments.count))
    except blob_store.StorageSettingError as error:
        print(f"sample_documents.py: {error}", file=sys.stderr)
        return 2
    body = {"container": arguments.container, "prefix": arguments.prefix}
    print(f"Uploaded {arguments.count} documents. Start a batch with: {json.dumps(body)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
