# mypy: disable-error-code="untyped-decorator"
"""An app the Python worker refuses to load: `start` takes a durable client it never binds."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start", methods=["POST"])
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    await client.start_new("nothing")
    return func.HttpResponse(status_code=202)


@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")
