"""deploy/: every file parses, every variable it sets is a setting, the dashboard shows every metric,
and the systemd units pass ``systemd-analyze verify``."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from receiver.spool import SpoolState
from workers import metrics
from workers.settings import load_settings

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_VARIANTS = ("_FILE", "_PREVIOUS")


def setting_names() -> set[str]:
    """Every variable workers/settings.py reads: those it asks an empty environment for, plus every
    variable-shaped name in its source (vendor tables read only when a vendor is configured)."""
    asked: set[str] = set()

    class Recorder(dict[str, str]):
        def get(self, key: str, default: Any = None) -> Any:
            asked.add(key)
            return default

    load_settings(Recorder())
    tree = ast.parse((ROOT / "workers" / "settings.py").read_text())
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return asked | {name for name in literals if _ENV_NAME.match(name)}


def env_example() -> dict[str, str]:
    lines = (DEPLOY / "env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def documents() -> dict[Path, list[Any]]:
    found = {}
    for path in sorted(DEPLOY.rglob("*")):
        if path.suffix in (".yaml", ".yml"):
            found[path] = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        elif path.suffix == ".json":
            found[path] = [json.loads(path.read_text())]
    return found


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return list(pod.get("containers", []))


def our_variables(path: Path, doc: Any) -> set[str]:
    """Variable names a deploy document hands to cdr-ingest processes (not to Redis or PostgreSQL)."""
    names: set[str] = set()
    if path.name == "docker-compose.yml":
        for service in doc["services"].values():
            if str(service.get("image", "")).startswith("cdr-ingest"):
                env = service.get("environment", {})
                names |= set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}
    elif isinstance(doc, dict) and doc.get("kind") in ("ConfigMap", "Secret"):
        names |= set(doc.get("data", {})) | set(doc.get("stringData", {}))
    elif isinstance(doc, dict) and "kind" in doc:
        for c in containers(doc):
            if str(c.get("image", "")).startswith("cdr-ingest"):
                names |= {e["name"] for e in c.get("env", [])}
    return names


def test_every_deploy_file_parses() -> None:
    """Each YAML and JSON file under deploy/ loads, and the set is the one this suite checks."""
    names = {str(p.relative_to(DEPLOY)) for p in documents()}
    assert {"docker-compose.yml", "k8s/receiver.yaml", "k8s/worker.yaml", "k8s/poller.yaml", "k8s/config.yaml",
            "grafana/cdr-ingest.json"} <= names  # fmt: skip


def test_every_variable_in_deploy_is_a_setting() -> None:
    """Compose, Kubernetes, systemd and env.example only set variables that workers/settings.py reads."""
    known = setting_names()
    used: dict[str, set[str]] = {}
    for path, docs in documents().items():
        for doc in docs:
            used.setdefault(str(path.relative_to(DEPLOY)), set()).update(our_variables(path, doc))
    for unit in (DEPLOY / "systemd").glob("*.service"):
        used[unit.name] = set(re.findall(r"^Environment=([A-Z0-9_]+)=", unit.read_text(), re.M))
    used["env.example"] = set(env_example())
    assert {where: sorted(names - known) for where, names in used.items() if names - known} == {}
    assert used["k8s/receiver.yaml"] and used["docker-compose.yml"] and used["cdr-receiver.service"]


def test_env_example_lists_every_setting() -> None:
    """Every variable settings.py reads is in env.example (its _FILE/_PREVIOUS variants are explained there)."""
    required = {n for n in setting_names() if not n.endswith(_VARIANTS) and not n.endswith("_PREVIOUS_FILE")}
    assert sorted(required - set(env_example())) == []


def test_redis_is_durable_and_never_evicts() -> None:
    """Compose runs Redis on redis.conf: AOF fsynced every second, maxmemory-policy noeviction."""
    (compose,) = documents()[DEPLOY / "docker-compose.yml"]
    redis = compose["services"]["redis"]
    (conf_mount,) = [v for v in redis["volumes"] if v.startswith("./redis.conf:")]
    assert conf_mount.split(":")[1] in redis["command"]
    conf = dict(line.split(None, 1) for line in (DEPLOY / "redis.conf").read_text().splitlines()
                if line.strip() and not line.startswith("#"))  # fmt: skip
    assert (conf["appendonly"], conf["appendfsync"], conf["maxmemory-policy"]) == ("yes", "everysec", "noeviction")
    assert {"receiver", "worker", "poller", "redis", "postgres"} <= set(compose["services"])


def test_kubernetes_probes_and_autoscaler() -> None:
    """The receiver probes /healthz and /readyz and keeps its spool on a volume; the HPA scales the workers."""
    docs = [d for path, ds in documents().items() if "k8s" in path.parts for d in ds]
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    (receiver,) = containers(by_kind["StatefulSet", "cdr-receiver"])
    assert receiver["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert receiver["readinessProbe"]["httpGet"]["path"] == "/readyz"
    spool = next(e["value"] for e in receiver["env"] if e["name"] == "SPOOL_DIR")
    assert {"name": "spool", "mountPath": spool} in receiver["volumeMounts"]
    hpa = by_kind["HorizontalPodAutoscaler", "cdr-worker"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "cdr-worker"}
    assert ("Service", "cdr-receiver") in by_kind and by_kind["Deployment", "cdr-poller"]["spec"]["replicas"] == 1


def defined_metrics() -> set[str]:
    names = {m._name for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)}
    names |= {f.name for f in metrics.QueueCollector("q", lambda: {"queued": 0}).collect()}
    names |= {f.name for f in metrics.SpoolCollector(lambda: SpoolState(bytes=0, segments=0)).collect()}
    return names


def test_dashboard_shows_every_metric_and_only_real_ones() -> None:
    """Each cdr_ingest_* name in the Grafana queries exists, and every metric has a panel."""
    (dashboard,) = documents()[DEPLOY / "grafana" / "cdr-ingest.json"]
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {re.sub(r"_(total|bucket|count|sum)$", "", n) for e in exprs for n in re.findall(r"cdr_ingest_\w+", e)}
    assert used == defined_metrics()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    """systemd-analyze verify passes with no message, in a root holding the units and the binary they name."""
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in units:
        shutil.copy(unit, root / "etc/systemd/system" / unit.name)
        for exe in re.findall(r"^Exec\w*=-?(/\S+)", unit.read_text(), re.M):
            (root / exe.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (root / exe.lstrip("/")).write_text("#!/bin/sh\n")
            (root / exe.lstrip("/")).chmod(0o755)
    names = [u.name.replace("@.", "@1.") for u in units]
    result = subprocess.run(["systemd-analyze", "verify", f"--root={root}", *names], capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    assert len(names) == 3
