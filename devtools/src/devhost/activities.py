"""Run activity functions as the Python worker does and report their results.

Inputs are decoded and results encoded by the worker's own activity trigger converter. Sync
activities run on the functions thread pool, async ones on the functions loop, where they
wait without holding a thread. A result larger than the Durable Task Scheduler accepts
fails the activity with a message naming the limit.
"""

from __future__ import annotations

import logging
import time
import traceback

from opentelemetry.trace import Span

from .backend import check_payload
from .indexing import FunctionIndex
from .invocation import InvocationLog, UserCode
from .orchestrations import failure_details
from .tracing import activity_span, record_failure
from .upstream import decode_activity_input, encode_activity_output, pb

logger = logging.getLogger("devhost")


class ActivityRunner:
    def __init__(self, index: FunctionIndex, user_code: UserCode, log: InvocationLog) -> None:
        self._index = index
        self._user_code = user_code
        self._log = log

    async def run(self, request: pb.ActivityRequest, token: str) -> pb.ActivityResponse:
        """Run one activity work item; its response, success or failure."""
        instance_id = request.orchestrationInstance.instanceId
        started = time.perf_counter()
        response = pb.ActivityResponse(
            instanceId=instance_id, taskId=request.taskId, completionToken=token
        )
        with activity_span(request) as span:
            status = await self._call(request, response, span)
        self._log.durable("Activity", request.name, instance_id, status, started)
        return response

    async def _call(
        self, request: pb.ActivityRequest, response: pb.ActivityResponse, span: Span
    ) -> str:
        """Run the activity's function and put its result or failure in `response`."""
        instance_id = request.orchestrationInstance.instanceId
        try:
            function = self._index.activity(request.name)
            if function is None:
                raise LookupError(
                    f"The function '{request.name}' doesn't exist or is not an activity."
                )
            encoded = request.input.value if request.HasField("input") else "null"
            arguments = {str(function.trigger["name"]): decode_activity_input(encoded)}
            what = f"activity '{request.name}' (instance {instance_id})"
            result = await self._user_code.call(
                function.user_function, arguments, function.name, what
            )
            output = encode_activity_output(result)
            check_payload(f"The output of activity '{request.name}'", output)
            response.result.value = output
            return "Succeeded"
        except Exception as error:  # the orchestrator sees the activity as failed
            details = failure_details(type(error).__name__, str(error), traceback.format_exc())
            response.failureDetails.CopyFrom(details)
            record_failure(span, str(error))
            logger.error("Activity '%s' failed", request.name, exc_info=True)
            return "Failed"
