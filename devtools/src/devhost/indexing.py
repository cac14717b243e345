"""Load a Function App the way the Python worker does and index its functions once."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.functions.decorators.function_app import Function, FunctionRegister

_ROUTE_PARAMETER = re.compile(
    r"\{(?P<catch_all>\*{1,2})?(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?P<constraint>(?::[^{}?=]+)*)(?P<optional>\?)?(?:=[^{}]*)?\}"
)
_CONSTRAINT_PATTERNS = {
    ":int": r"-?\d+",
    ":long": r"-?\d+",
    ":bool": r"(?i:true|false)",
    ":alpha": r"[A-Za-z]+",
    ":guid": r"[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}",
}


class AppLoadError(Exception):
    """The Function App could not be found or indexed."""


@dataclass(frozen=True)
class IndexedFunction:
    """One function as the worker sees it: name, trigger and bindings."""

    name: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    user_function: Callable[..., Any]

    @property
    def trigger_type(self) -> str:
        return str(self.trigger.get("type", ""))


@dataclass(frozen=True)
class HttpRoute:
    function: IndexedFunction
    template: str
    methods: frozenset[str] | None
    pattern: re.Pattern[str]

    def accepts(self, method: str) -> bool:
        return self.methods is None or method.upper() in self.methods


@dataclass
class FunctionIndex:
    """The functions of one app, grouped by how the host dispatches them."""

    route_prefix: str
    http_routes: list[HttpRoute] = field(default_factory=list)
    orchestrators: dict[str, IndexedFunction] = field(default_factory=dict)
    activities: dict[str, IndexedFunction] = field(default_factory=dict)
    entities: dict[str, IndexedFunction] = field(default_factory=dict)
    unsupported: list[IndexedFunction] = field(default_factory=list)

    def match(self, path: str) -> list[tuple[HttpRoute, dict[str, str]]]:
        """Routes whose template matches `path`, most specific first."""
        matches: list[tuple[HttpRoute, dict[str, str]]] = []
        for route in self.http_routes:
            found = route.pattern.fullmatch(path)
            if found:
                params = {
                    key: value for key, value in found.groupdict().items() if value is not None
                }
                matches.append((route, params))
        return matches

    def orchestrator(self, name: str) -> IndexedFunction | None:
        return self.orchestrators.get(name.casefold())

    def activity(self, name: str) -> IndexedFunction | None:
        return self.activities.get(name.casefold())

    def entity(self, name: str) -> IndexedFunction | None:
        return self.entities.get(name.casefold())


def compile_route(route_prefix: str, template: str) -> re.Pattern[str]:
    """Compile an ASP.NET-style route template (with the prefix) into a path regex."""
    full_template = "/".join(
        part.strip("/") for part in (route_prefix, template) if part.strip("/")
    )
    pieces: list[str] = []
    position = 0
    for parameter in _ROUTE_PARAMETER.finditer(full_template):
        literal = re.escape(full_template[position : parameter.start()])
        name = parameter.group("name")
        if parameter.group("catch_all"):
            fragment = f"(?P<{name}>.*)"
        else:
            constraint = parameter.group("constraint").split("(")[0].lower()
            value = _CONSTRAINT_PATTERNS.get(constraint, r"[^/]+")
            fragment = f"(?P<{name}>{value})"
        if parameter.group("optional") and literal.endswith("/"):
            literal = literal[:-1]
            fragment = f"(?:/{fragment})?"
        elif parameter.group("optional"):
            fragment = f"{fragment}?"
        pieces.append(literal + fragment)
        position = parameter.end()
    pieces.append(re.escape(full_template[position:]))
    return re.compile("/" + "".join(pieces), re.IGNORECASE)


def _specificity(route: HttpRoute) -> tuple[int, int]:
    parameters = route.template.count("{")
    return (parameters, -len(route.template))


def find_function_app(module: Any, attribute: str | None) -> FunctionRegister:
    """Find the app object in a module, as the worker does when it indexes."""
    if attribute:
        app = getattr(module, attribute, None)
        if not isinstance(app, FunctionRegister):
            raise AppLoadError(f"'{module.__name__}.{attribute}' is not a FunctionApp")
        return app
    apps = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    if len(apps) != 1:
        raise AppLoadError(
            f"expected exactly one FunctionApp in '{module.__name__}', found {len(apps)}; "
            "name it with --app module:attribute"
        )
    return apps[0]


def load_app(project_dir: Path, app_spec: str) -> FunctionRegister:
    """Import `module[:attribute]` from the project directory and return its app."""
    module_name, _, attribute = app_spec.partition(":")
    project = str(project_dir.resolve())
    if project not in sys.path:
        sys.path.insert(0, project)
    os.environ.setdefault("AzureWebJobsScriptRoot", project)
    module = importlib.import_module(module_name)
    return find_function_app(module, attribute or None)


def _describe(function: Function) -> IndexedFunction:
    trigger = function.get_trigger()
    return IndexedFunction(
        name=function.get_function_name() or function.get_user_function().__name__,
        trigger=trigger.get_dict_repr() if trigger is not None else {},
        bindings=[binding.get_dict_repr() for binding in function.get_bindings()],
        user_function=function.get_user_function(),
    )


def parameter_problem(function: IndexedFunction) -> str | None:
    """What the Python worker refuses when it loads `function`, in its words; None if nothing.

    The worker matches the function's parameters against its bindings by name: `context` may
    be a parameter without a binding, `$return` is a binding without a parameter, and every
    other name must be on both sides.
    """
    parameters = set(inspect.signature(function.user_function).parameters)
    bound = {str(binding.get("name")) for binding in function.bindings} - {"$return"}
    bound.add(str(function.trigger.get("name")))
    if "context" not in bound:
        parameters.discard("context")
    only_in_python = parameters - bound
    if only_in_python:
        return (
            f"cannot load the {function.name} function: the following parameters are "
            f"declared in Python but not in function.json: {only_in_python!r}"
        )
    only_in_bindings = bound - parameters
    if only_in_bindings:
        return (
            f"cannot load the {function.name} function: the following parameters are "
            f"declared in function.json but not in Python: {only_in_bindings!r}"
        )
    return None


def _register(table: dict[str, IndexedFunction], function: IndexedFunction, *names: Any) -> None:
    for name in (function.name, *names):
        if isinstance(name, str) and name:
            table[name.casefold()] = function


def index_app(app: FunctionRegister, route_prefix: str) -> FunctionIndex:
    """Index the app. `get_functions()` is not idempotent, so this runs once per app."""
    index = FunctionIndex(route_prefix=route_prefix)
    described = [_describe(item) for item in app.get_functions()]
    problems = [problem for problem in map(parameter_problem, described) if problem]
    if problems:
        raise AppLoadError("FunctionLoadError: " + "; ".join(problems))
    for function in described:
        trigger_type = function.trigger_type
        if trigger_type == "httpTrigger":
            template = function.trigger.get("route") or function.name
            methods = function.trigger.get("methods")
            index.http_routes.append(
                HttpRoute(
                    function=function,
                    template=template,
                    methods=frozenset(str(m).upper() for m in methods) if methods else None,
                    pattern=compile_route(route_prefix, template),
                )
            )
        elif trigger_type == "orchestrationTrigger":
            _register(index.orchestrators, function, function.trigger.get("orchestration"))
        elif trigger_type == "activityTrigger":
            _register(index.activities, function, function.trigger.get("activity"))
        elif trigger_type == "entityTrigger":
            _register(index.entities, function, function.trigger.get("entityName"))
        else:
            index.unsupported.append(function)
    index.http_routes.sort(key=_specificity)
    return index
