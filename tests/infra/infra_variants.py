"""The two values of the `privateNetworking` parameter, made concrete for tools that do not
evaluate Bicep expressions (checkov reads `x ? a : b` as neither a nor b).

Every place the infrastructure depends on the switch is a one-line `privateNetworking ? a : b`
with literal or symbol operands; resolving those for one value gives the Bicep that value
deploys. A ternary the resolver cannot read is an error, so a new dependency on the switch is
never silently left out of the checks."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

SWITCH = "privateNetworking"
OPERAND = r"('[^'\n]*'|[A-Za-z_][\w.]*)"
TERNARY = re.compile(rf"\b{SWITCH} \? {OPERAND} : {OPERAND}")
MAIN_DEFAULT = re.compile(rf"^(param {SWITCH} bool = )(true|false)$", re.MULTILINE)


class UnresolvedSwitch(ValueError):
    pass


def resolve(text: str, private: bool) -> str:
    resolved = TERNARY.sub(lambda match: match[1] if private else match[2], text)
    resolved = MAIN_DEFAULT.sub(lambda match: match[1] + str(private).lower(), resolved)
    leftover = re.search(rf"\b{SWITCH} \?", resolved)
    if leftover:
        line = resolved[: leftover.start()].count("\n") + 1
        raise UnresolvedSwitch(f"line {line}: {SWITCH} ternary with operands it cannot read")
    return resolved


def network_variant(infra: Path, target: Path, private: bool) -> Path:
    """A copy of `infra` with every switch-dependent value fixed to one setting."""
    shutil.copytree(infra, target)
    for path in target.rglob("*.bicep"):
        path.write_text(resolve(path.read_text(encoding="utf-8"), private), encoding="utf-8")
    return target
