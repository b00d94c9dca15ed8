"""Successor matching over plain data: Compose, Swarm, same name — and name reuse."""

from __future__ import annotations

from hotfix.lifecycle.successors import Who, is_successor, successors, swarm_slot


def compose(
    cid: str, name: str, number: str = "2", service: str = "web", image: str = "app:1"
) -> Who:
    labels = {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": number,
    }
    return Who(cid, "default", name, image, labels)


def task(cid: str, slot: str, service: str = "api", engine: str = "default") -> Who:
    labels = {
        "com.docker.swarm.service.name": service,
        "com.docker.swarm.task.name": f"{service}.{slot}.{cid}x",
    }
    return Who(cid, engine, f"{service}.{slot}.{cid}x", "app:1", labels)


def plain(cid: str, name: str, image: str = "app:1", engine: str = "default") -> Who:
    return Who(cid, engine, name, image, {})


def test_a_recreated_compose_replica_is_its_successor_even_on_a_new_image():
    old = compose("a", "shop-web-2")
    assert is_successor(old, compose("b", "shop-web-2"))
    assert is_successor(old, compose("b", "shop-web-2", image="app:1-hotfix"))


def test_another_replica_number_of_the_same_service_is_not():
    assert not is_successor(compose("a", "shop-web-2"), compose("b", "shop-web-1", number="1"))


def test_the_same_name_with_another_compose_service_is_name_reuse():
    assert not is_successor(compose("a", "shop-web-2"), compose("b", "shop-web-2", service="db"))
    assert not is_successor(compose("a", "shop-web-2"), plain("b", "shop-web-2"))
    assert not is_successor(plain("a", "shop-web-2"), compose("b", "shop-web-2"))


def test_a_swarm_task_is_succeeded_by_the_task_of_the_same_slot():
    assert swarm_slot(task("a", "3").labels) == "3"
    old = task("a", "2")
    found = successors(old, [task("b", "1"), task("c", "2"), task("d", "2", service="other")])
    assert [w.id for w in found] == ["c"]


def test_a_swarm_task_on_another_engine_is_not():
    assert not is_successor(task("a", "2"), task("b", "2", engine="engine2"))


def test_a_plain_container_needs_the_same_name_and_image():
    old = plain("a", "api")
    assert is_successor(old, plain("b", "api"))
    assert not is_successor(old, plain("b", "api", image="other:2"))
    assert not is_successor(old, plain("b", "api2"))
    assert not is_successor(old, plain("a", "api"))  # itself
