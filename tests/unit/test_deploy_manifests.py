"""The deployment files, checked as CI would before they reach a cluster (issue 14):

- every Kubernetes object of `deploy/k8s` (expanded as `kustomize build` would) against the
  Kubernetes schemas that `kubernetes-validate` carries, in strict mode (unknown fields fail);
- our rules for them: probes and resources on every container, a PodDisruptionBudget for every
  service, an animator grace period longer than its drain;
- `docker-compose.yml` against the compose specification (the JSON schema check-jsonschema
  vendors from github.com/compose-spec/compose-spec).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.support.kustomize import build

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
WORKLOADS = {"Deployment", "StatefulSet"}


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return build(K8S)


def _name(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in objects if d["kind"] in WORKLOADS]


def test_every_object_is_valid_for_kubernetes(objects: list[dict[str, Any]]) -> None:
    version = kubernetes_validate.latest_version()
    errors = []
    for doc in objects:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{_name(doc)}: {exc.message} at {list(exc.path)}")
    assert not errors, "\n".join(errors)
    assert {d["kind"] for d in objects} >= {"Deployment", "Service", "PodDisruptionBudget"}


def test_the_overlay_puts_everything_in_its_namespace(objects: list[dict[str, Any]]) -> None:
    namespaced = [d for d in objects if d["kind"] != "Namespace"]
    assert {d["metadata"]["namespace"] for d in namespaced} == {"lumiere"}
    images = {
        c["image"] for d in _workloads(objects) for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert "lumiere:latest" in images


def test_every_container_has_probes_and_resources(objects: list[dict[str, Any]]) -> None:
    missing = []
    for doc in _workloads(objects):
        for c in doc["spec"]["template"]["spec"]["containers"]:
            res = c.get("resources", {})
            for what, present in [
                ("readinessProbe", "readinessProbe" in c),
                ("livenessProbe", "livenessProbe" in c),
                ("cpu request", "cpu" in res.get("requests", {})),
                ("memory request", "memory" in res.get("requests", {})),
                ("memory limit", "memory" in res.get("limits", {})),
            ]:
                if not present:
                    missing.append(f"{_name(doc)} {c['name']}: no {what}")
    assert not missing, "\n".join(missing)


def test_every_service_of_ours_has_a_disruption_budget(objects: list[dict[str, Any]]) -> None:
    budgets = [
        d["spec"]["selector"]["matchLabels"] for d in objects if d["kind"] == "PodDisruptionBudget"
    ]
    ours = [
        d
        for d in _workloads(objects)
        if any(
            c["image"].startswith("lumiere") for c in d["spec"]["template"]["spec"]["containers"]
        )
    ]
    uncovered = [
        _name(d)
        for d in ours
        if not any(
            b.items() <= d["spec"]["template"]["metadata"]["labels"].items() for b in budgets
        )
    ]
    assert not uncovered
    # A budget only helps with more than one pod: every stage runs at least two.
    assert all(d["spec"]["replicas"] >= 2 for d in ours), [
        (_name(d), d["spec"]["replicas"]) for d in ours
    ]


def test_a_draining_animator_has_time_to_finish_its_segment(objects: list[dict[str, Any]]) -> None:
    animator = next(d for d in objects if _name(d) == "Deployment/animator")
    pod = animator["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0].get("env", [])}
    drain = float(env["LUMIERE_SHUTDOWN_GRACE_S"])
    assert pod["terminationGracePeriodSeconds"] >= drain + 10


def test_docker_compose_follows_the_compose_specification() -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, "\n".join(errors)
    animator = compose["services"]["animator"]
    assert animator["environment"]["LUMIERE_SHUTDOWN_GRACE_S"]
    assert animator["stop_grace_period"]
