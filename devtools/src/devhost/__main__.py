"""Command line: ``devhost [serve] [--port 7071] ...`` and the project's development commands.

``devhost`` (or ``python -m devhost``) with no command, or ``devhost serve``, runs the app;
``devhost new-workflow``, ``devhost generate`` and ``devhost local-settings`` are the commands
listed in ``COMMANDS``. Each command's ``--help`` says more.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from . import __version__
from .backend import HistoryLimitSettingError
from .dashboard import DASHBOARD_PATH
from .host import KEY_VARIABLE, LOOPBACK_NAME, DevHost, PortInUseError
from .indexing import AppLoadError, FunctionIndex
from .instances import InstancesNotReadyError, fork_server_started
from .invocation import configure_console_logging, functions_loop
from .otlp import TRACES_PATH
from .settings import HostSettings
from .upstream import remove_multiprocessing_temp_dir
from .work_items import disabled_activities

_STOP_POLL_SECONDS = 0.1


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="devhost [serve]",
        description="Run this Function App locally, without Core Tools, Azurite or a container.",
    )
    parser.add_argument("-p", "--port", type=int, default=7071, help="HTTP port (default 7071)")
    parser.add_argument(
        "--host",
        default=LOOPBACK_NAME,
        help="interface to listen on (default localhost: 127.0.0.1 and ::1); any other "
        "makes devhost require a key",
    )
    parser.add_argument(
        "--app", default="function_app", help="module[:attribute] of the app (default function_app)"
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path.cwd(),
        help="folder with host.json (default: current)",
    )
    parser.add_argument(
        "--instances",
        type=_instance_count,
        default=1,
        help="worker processes serving orchestrators, activities and entities, as Flex "
        "instances would (default 1: the host process itself)",
    )
    parser.add_argument(
        "--backend-port",
        type=int,
        default=0,
        help="loopback port of the durable backend, for workers of your own such as "
        "`python worker.py --pool NAME` (default: a free port, printed at start-up)",
    )
    parser.add_argument(
        "--no-azurite",
        dest="azurite",
        action="store_false",
        help="do not start Azurite, even when an app setting is UseDevelopmentStorage=true",
    )
    return parser.parse_args(argv)


def _instance_count(text: str) -> int:
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError("--instances needs at least 1")
    return count


def describe_functions(index: FunctionIndex, base_url: str) -> list[str]:
    """The function list printed at start-up, in the shape `func start` prints it."""
    lines = []
    for route in sorted(index.http_routes, key=lambda item: item.function.name):
        methods = ",".join(sorted(route.methods)) if route.methods else "ALL"
        path = "/".join(part for part in (index.route_prefix, route.template) if part)
        lines.append(f"        {route.function.name}: [{methods}] {base_url}/{path}")
    kinds = (
        ("orchestrationTrigger", index.orchestrators),
        ("activityTrigger", index.activities),
        ("entityTrigger", index.entities),
    )
    for kind, table in kinds:
        for name in sorted({function.name for function in table.values()}):
            lines.append(f"        {name}: {kind}")
    for function in index.unsupported:
        lines.append(f"        {function.name}: {function.trigger_type} (not run by devhost)")
    return lines


def describe_backend(host: DevHost) -> list[str]:
    """Where other workers connect, and which activities the app's settings leave to them."""
    lines = [
        f"gRPC on {host.backend_address}; a worker of your own connects with "
        f"DURABLE_TASK_SCHEDULER_CONNECTION_STRING=Endpoint=http://{host.backend_address};"
        "Authentication=None",
        f"OTLP traces: a worker of your own shows its steps in the dashboard's waterfall with "
        f"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://{host.backend_address} (OTLP/gRPC); "
        f"OTLP/HTTP exporters post to {host.base_url}{TRACES_PATH}"
        + (" with OTEL_EXPORTER_OTLP_HEADERS=x-functions-key=<key>" if host.key else ""),
    ]
    assert host.index is not None
    for name in disabled_activities(host.index, os.environ):
        lines.append(
            f"{name}: disabled (AzureWebJobs.{name}.Disabled); its work waits for a worker "
            "that hosts it"
        )
    return lines


def exposed_warning(host: str, key: str) -> list[str]:
    """What devhost says when it listens beyond this machine."""
    rule = "!" * 78
    return [
        "",
        rule,
        f"devhost listens on {host}: anyone who reaches this port could start, answer,",
        "terminate and purge runs. So calls need this key, as Azure's function-level",
        "routes do (?code=<key> or the x-functions-key header): the dashboard, the",
        "management API and every route whose auth level is function or admin.",
        f"        key: {key}",
        f"Set {KEY_VARIABLE} to choose the key. Anonymous routes still answer anyone.",
        rule,
    ]


def main(argv: list[str] | None = None) -> int:
    arguments = _parse(argv)
    configure_console_logging()
    settings = HostSettings(
        project_dir=arguments.project_dir,
        app=arguments.app,
        host=arguments.host,
        port=arguments.port,
        instances=arguments.instances,
        backend_port=arguments.backend_port,
        azurite=arguments.azurite,
    )
    try:
        host = DevHost(settings)
    except HistoryLimitSettingError as error:
        print(f"devhost: {error}", file=sys.stderr)
        return 2
    try:
        host.start()
    except PortInUseError:
        print(
            f"Port {arguments.port} is unavailable. Close the process using that port, "
            "or specify another port using --port [-p].",
            file=sys.stderr,
        )
        return 1
    except (AppLoadError, ImportError) as error:
        print(f"Could not load the Function App '{arguments.app}': {error}", file=sys.stderr)
        return 1
    except InstancesNotReadyError as error:
        print(f"The instances did not start: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the backend port is taken (--backend-port)
        print(f"{error}. Choose another --backend-port, or 0 for a free one.", file=sys.stderr)
        return 1

    # A plain list, not a threading.Event: setting an Event from a signal handler deadlocks
    # when the signal lands while the main thread holds the Event's lock inside `wait`.
    stop_signals: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_signals.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    assert host.index is not None
    print("\nFunctions:\n")
    print("\n".join(describe_functions(host.index, host.base_url)))
    print("\nInstances:\n")
    print("\n".join(f"        {line}" for line in host.describe_instances()))
    print("\nDurable backend:\n")
    print("\n".join(f"        {line}" for line in describe_backend(host)))
    if host.storage_note is not None:
        print(f"\nStorage:\n\n        {host.storage_note}")
    dashboard = f"{host.base_url}{DASHBOARD_PATH}/"
    if host.key is not None:
        print("\n".join(exposed_warning(arguments.host, host.key)))
        dashboard += f"?code={host.key}"
    print(f"\nDashboard: {dashboard}")
    print(f"\ndevhost is listening on {host.base_url} (Ctrl+C to stop).\n", flush=True)
    while not stop_signals:
        time.sleep(_STOP_POLL_SECONDS)
    print("Stopping devhost...", flush=True)
    abandoned = host.stop()
    functions_loop.release()
    if abandoned:
        print(f"Abandoned {len(abandoned)} unfinished item(s):", flush=True)
        for what in abandoned:
            print(f"  {what}", flush=True)
    return 0


def serve(argv: list[str]) -> int:
    """Serve the app; exit with `main`'s status without waiting for abandoned user code."""
    status = main(argv)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    if fork_server_started():
        remove_multiprocessing_temp_dir()
    # Threads still running user code would otherwise hold the interpreter open.
    os._exit(status)


def _new_workflow(argv: list[str]) -> int:
    from .new_workflow import main as new_workflow

    return new_workflow(argv)


def _generate(argv: list[str]) -> int:
    from .generate import main as generate

    return generate(argv)


def _local_settings(argv: list[str]) -> int:
    from .local_settings import main as local_settings

    return local_settings(argv)


# Each command imports its module when it runs, so serving never pays for the others.
COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "serve": (serve, "run the Function App locally (the default command)"),
    "new-workflow": (_new_workflow, "add a workflow: its module, test, page and requests"),
    "generate": (_generate, "rewrite (or --check) each workflow's diagram page and requests"),
    "diagrams": (_generate, "the same as generate (its earlier name)"),
    "local-settings": (_local_settings, "point local.settings.json at azd's Azure resources"),
}


def usage() -> str:
    lines = [f"devhost {__version__}: the dafx-func development tools", "", "commands:"]
    lines += [f"  {name:<16}{summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "devhost with no command serves the app; devhost COMMAND --help says more."]
    return "\n".join(lines)


def run(argv: list[str] | None = None) -> None:
    """The console entry point: dispatch to a command, serving by default."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments and arguments[0] in ("-h", "--help"):
        print(usage())
        sys.exit(0)
    if arguments and arguments[0] in ("-V", "--version"):
        print(f"devhost {__version__}")
        sys.exit(0)
    if arguments and arguments[0] in COMMANDS:
        command, _ = COMMANDS[arguments[0]]
        sys.exit(command(arguments[1:]))
    sys.exit(serve(arguments))


if __name__ == "__main__":
    run()
