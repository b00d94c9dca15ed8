"""Swarm services: inspect one, roll it to a new image, list its tasks."""

from __future__ import annotations

from typing import Any

from hotfix.core.errors import ContainerNotFound, FileNotFound
from hotfix.docker.errors import engine_errors


class SwarmMixin:
    api: Any  # docker-py's APIClient
    name: str

    def swarm_service(self, name: str) -> dict[str, Any]:
        try:
            with engine_errors():
                attrs: dict[str, Any] = self.api.inspect_service(name)
        except (ContainerNotFound, FileNotFound):
            raise FileNotFound(f"no such Swarm service: {name!r} on engine {self.name}") from None
        return attrs

    def update_service_image(
        self, name: str, image: str, *, monitor: float, parallelism: int = 1
    ) -> None:
        """Start Swarm's own rolling update to ``image``: ``parallelism`` tasks at a time,
        each watched for ``monitor`` seconds, rolled back on failure."""
        current = self.swarm_service(name)
        spec = current["Spec"]
        template = dict(spec["TaskTemplate"])
        template["ContainerSpec"] = {**template["ContainerSpec"], "Image": image}
        with engine_errors():
            self.api.update_service(
                current["ID"],
                current["Version"]["Index"],
                task_template=template,
                name=spec.get("Name"),
                labels=spec.get("Labels"),
                mode=spec.get("Mode"),
                update_config=_rollout(parallelism, monitor, on_failure="rollback"),
                rollback_config=_rollout(parallelism, monitor, on_failure="pause"),
                networks=template.get("Networks"),
                endpoint_spec=spec.get("EndpointSpec"),
            )

    def service_tasks(self, name: str) -> list[dict[str, Any]]:
        with engine_errors():
            tasks: list[dict[str, Any]] = self.api.tasks(filters={"service": name})
        return tasks


def _rollout(parallelism: int, monitor: float, *, on_failure: str) -> dict[str, Any]:
    """An UpdateConfig (or RollbackConfig): stop-first, no delay, no failure tolerated."""
    return {
        "Parallelism": parallelism,
        "Delay": 0,
        "FailureAction": on_failure,
        "Monitor": int(monitor * 1e9),
        "MaxFailureRatio": 0,
        "Order": "stop-first",
    }
