"""Start-up cost the command line need not know about: docker-py loaded without paramiko when
no engine of this run can be an ssh:// one (docs/cli.md, "Start-up")."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

from hotfix.cli.argv import command_in
from hotfix.cli.parser import COMMANDS
from hotfix.docker.engines import DEFAULT as DEFAULT_ENGINE

if TYPE_CHECKING:
    from collections.abc import Sequence

# Commands that may reach several engines, or that hand the choice to a client.
MANY_ENGINES = frozenset({"apply", "rollout", "lsp"})
# Options (or their abbreviations) that take other engines in.
OTHER_ENGINES = ("--all-engines", "--replicas", "--with")
# docker-py's URL schemes that are surely not ssh:// (its utils.parse_host).
NOT_SSH_SCHEMES = ("unix", "http+unix", "tcp", "http", "https")


def spare_paramiko(argv: Sequence[str]) -> None:
    """Have ``import paramiko`` fail, for docker-py to load without its ssh transport, when
    this run surely reaches no ssh:// engine. Only before docker-py or paramiko is imported
    (a process imports docker-py once): the resident process's children are left as they are.
    """
    if not {"docker", "paramiko"} & sys.modules.keys() and reaches_no_ssh_engine(argv):
        sys.modules["paramiko"] = None  # type: ignore[assignment]  # as if not installed


def reaches_no_ssh_engine(argv: Sequence[str]) -> bool:
    """Whether ``argv`` surely reaches one engine only, and not through ssh://: the default
    engine, with DOCKER_HOST set to a non-ssh URL, or unset and no current docker context.
    Told without docker-py (that is the point) and without parsing; in doubt, False."""
    command = command_in(argv, COMMANDS)
    if command is None or command in MANY_ENGINES:
        return False
    if _engines_named(argv) != {DEFAULT_ENGINE}:
        return False
    if any(_abbreviates(token, OTHER_ENGINES) for token in argv):
        return False
    host = os.environ.get("DOCKER_HOST", "").strip()
    if host:
        return host.partition("://")[0].lower() in NOT_SSH_SCHEMES
    return _no_current_context()


def _engines_named(argv: Sequence[str]) -> set[str]:
    """Every value given to --engine (before or after the command), else the default one."""
    named = set()
    tokens = iter(argv)
    for token in tokens:
        option, equals, value = token.partition("=")
        if _abbreviates(option, ("--engine",)):
            named.add(value if equals else next(tokens, ""))
    return named or {os.environ.get("HOTFIX_ENGINE") or DEFAULT_ENGINE}


def _abbreviates(token: str, options: Sequence[str]) -> bool:
    """Whether argparse may take ``token`` for one of ``options`` (it accepts any prefix)."""
    option = token.partition("=")[0]
    return (
        len(option) > 2 and option.startswith("--") and any(o.startswith(option) for o in options)
    )


def _no_current_context() -> bool:
    """No docker config names a current context (other than 'default'), in any of the files
    docker-py may read it from (its utils.config.find_config_file)."""
    if os.environ.get("DOCKER_CONTEXT", "default") != "default":
        return False
    home = os.path.expanduser("~")
    candidates = [os.path.join(home, ".docker", "config.json"), os.path.join(home, ".dockercfg")]
    if os.environ.get("DOCKER_CONFIG"):
        candidates.insert(0, os.path.join(os.environ["DOCKER_CONFIG"], "config.json"))
    for path in candidates:
        try:
            with open(path, "rb") as f:
                config = json.load(f)
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            return False
        if not isinstance(config, dict) or config.get("currentContext", "default") != "default":
            return False
    return True
