"""What an operator deploys, checked offline: the container image's recipe, the Kubernetes manifests as
Kubernetes objects, and the values for Dagster's Helm chart.

No container engine or cluster runs here (DEPLOYING.md says so); these tests check everything short of that.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES_VERSION = "1.31.0"  # the oldest release the manifests are meant for (policy/v1 PDBs need 1.21)
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
VALUES = ROOT / "deploy" / "helm" / "values.yaml"


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_each_manifest_is_a_valid_kubernetes_object(manifest):
    documents = _documents(manifest)
    assert documents
    for document in documents:
        # Strict: an unknown or misspelt field fails, as `kubectl apply --validate=strict` would.
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_ingress_is_probed_on_healthz_and_survives_disruption():
    kinds = {doc["kind"]: doc for doc in _documents(ROOT / "deploy" / "k8s" / "ingress.yaml")}
    assert set(kinds) == {"Deployment", "Service", "PodDisruptionBudget"}
    deployment = kinds["Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["command"][:2] == ["ignite-etl", "ingress"]
    assert deployment["spec"]["replicas"] >= 2 and kinds["PodDisruptionBudget"]["spec"]["minAvailable"] >= 1
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (kinds["Service"]["spec"]["selector"], kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()


def test_the_workers_take_every_queue_between_them():
    from ignite_etl.workers import QUEUES

    taken = set()
    for document in _documents(ROOT / "deploy" / "k8s" / "workers.yaml"):
        command = document["spec"]["template"]["spec"]["containers"][0]["command"]
        assert command[:2] == ["ignite-etl", "worker"]
        taken |= {command[i + 1] for i, arg in enumerate(command) if arg == "--queue"}
    assert taken == set(QUEUES)


def test_the_image_installs_with_the_step_make_uses_and_runs_as_a_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    runs = re.findall(r"^RUN (.+)$", dockerfile, flags=re.MULTILINE)
    assert any(run.startswith("make install") for run in runs)
    assert re.search(r"^install: \$\(STAMP_DEV\)$", makefile, flags=re.MULTILINE)  # `make dev`'s own install
    users = re.findall(r"^USER (\S+)$", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    copied = " ".join(re.findall(r"^COPY .+$", dockerfile, flags=re.MULTILINE))
    for needed in ("pyproject.toml", "ignite_etl", "sql", "deploy", "Makefile"):
        assert needed in copied  # migrations are read from sql/ beside the package
    assert "ignite_etl_tests" in (ROOT / ".dockerignore").read_text()


def test_the_chart_values_hold_the_same_run_limits_as_the_instance_we_ship():
    values = yaml.safe_load(VALUES.read_text())
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queued["tagConcurrencyLimits"] == instance["concurrency"]["runs"]["tag_concurrency_limits"]
    pools = values["additionalInstanceConfig"]["concurrency"]["pools"]
    assert pools == instance["concurrency"]["pools"]
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["codeServerArgs"] == ["--module-name", "ignite_etl.definitions"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    # Secrets stay in Kubernetes secrets: no password, key or token in the values file.
    assert _secret_looking(values) == {"postgresql.postgresqlPassword": ""}


def _secret_looking(node, path: str = "") -> dict[str, object]:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _secret_looking(value, f"{path}.{key}".strip(".")).items()}
    last = path.rsplit(".", 1)[-1].lower()
    words = ("password", "token", "apikey", "secretkey", "secret_key")
    return {path: node} if isinstance(node, str) and any(word in last for word in words) else {}


def _remote_kubernetes_refs_offline(schema):
    """The chart's schema points its Kubernetes types at kubernetesjsonschema.dev (draft 7, `definitions`):
    serve them from the schemas kubernetes-validate ships (2020-12, `$defs`), so validation never leaves this
    machine."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    bundled = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"

    def retrieve(uri: str) -> Resource:
        match = re.match(r"https://kubernetesjsonschema\.dev/(v[\d.]+)/_definitions\.json", uri)
        if not match:
            raise LookupError(uri)
        candidates = sorted(bundled.glob(f"{match.group(1)}*-local/_definitions.json")) or sorted(
            bundled.glob("v1.*-local/_definitions.json"))  # the oldest bundled release where the chart's is older
        text = candidates[0].read_text().replace('"#/$defs/', '"#/definitions/')
        contents = json.loads(text)
        contents = {"definitions": contents["$defs"]}
        return Resource.from_contents(contents, default_specification=DRAFT7)

    return Registry(retrieve=retrieve)


def _merge(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{key: _merge(base.get(key), value) for key, value in override.items()}}
    return override


SHARED_CHART = ROOT.parent / "shared" / "reference" / "dagster-chart"
"""Where the project's shared reference would hold the chart (its values.yaml, values.schema.json, Chart.yaml)."""


def test_the_values_validate_against_dagster_s_chart_at_the_pinned_version():
    """Needs the chart itself, which is not on this machine or any registry it reaches: IGNITE_DAGSTER_CHART
    (`helm pull dagster/dagster --version <pinned> --untar`'s folder), or the shared reference's copy."""
    chart_dir = Path(os.environ.get("IGNITE_DAGSTER_CHART") or SHARED_CHART)
    if not (chart_dir / "values.schema.json").exists():
        pytest.skip("set IGNITE_DAGSTER_CHART to an unpacked dagster chart (helm pull dagster/dagster "
                    "--version 1.13.27 --untar) to validate deploy/helm/values.yaml against its values schema")
    from importlib.metadata import version

    assert _chart_problems(chart_dir, yaml.safe_load(VALUES.read_text())) == []
    assert yaml.safe_load((chart_dir / "Chart.yaml").read_text())["appVersion"] == version("dagster")


def _chart_problems(chart_dir: Path, values: dict) -> list[str]:
    """What `helm lint` would refuse: `values` merged over the chart's defaults, against its values schema."""
    import jsonschema

    schema = json.loads((chart_dir / "values.schema.json").read_text())
    merged = _merge(yaml.safe_load((chart_dir / "values.yaml").read_text()), values)
    validator = jsonschema.Draft7Validator(schema, registry=_remote_kubernetes_refs_offline(schema))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(merged)]


def test_the_chart_check_resolves_the_chart_s_kubernetes_types_offline_and_finds_wrong_values(tmp_path, loopback_only):
    """The check above, on a two-field chart of the same form as Dagster's (a Kubernetes type by remote $ref),
    so that it is known to work before the real chart is at hand."""
    probe = "https://kubernetesjsonschema.dev/v1.18.0/_definitions.json#/definitions/io.k8s.api.core.v1.Probe"
    (tmp_path / "values.schema.json").write_text(json.dumps({
        "type": "object", "properties": {"replicaCount": {"type": "integer"}, "readinessProbe": {"$ref": probe}}}))
    (tmp_path / "values.yaml").write_text("replicaCount: 1\nreadinessProbe: {periodSeconds: 5}\n")

    assert _chart_problems(tmp_path, {"replicaCount": 2, "readinessProbe": {"periodSeconds": 10}}) == []
    problems = _chart_problems(tmp_path, {"replicaCount": "two", "readinessProbe": {"periodSeconds": "often"}})
    assert len(problems) == 2 and any(p.startswith("readinessProbe/periodSeconds") for p in problems)
