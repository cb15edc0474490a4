"""docker-compose.yml: valid against the Compose specification and wired the way it must be.

No Docker engine runs here, so the file is validated against the spec's JSON schema, checked
for the mistakes that would only show at `docker compose up` (the API pointed at the wrong
host, the indexer running another image, a port open to the network), and the Qdrant
health probe is run for real against a local HTTP server.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from tests.deploy.conftest import COMPOSE_FILE, COMPOSE_SCHEMA, ROOT
from tests.deploy.dockerfile import Dockerfile

QDRANT_HTTP_PORT = 6333
LOOPBACK = {"127.0.0.1", "::1", "[::1]", "localhost"}


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose["services"]
    assert isinstance(services, dict)
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """`environment` as a mapping, whichever of its two spellings the file uses."""
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.partition("=")[::2] for item in env)
    return {key: str(value) for key, value in env.items()}


def test_compose_file_validates_against_the_compose_spec(compose: dict[str, Any]) -> None:
    if not COMPOSE_SCHEMA.is_file():
        pytest.skip(f"Compose JSON schema not found at {COMPOSE_SCHEMA}")
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    # The schema names draft 07 without the trailing '#', which jsonschema does not recognise.
    declared = str(schema.get("$schema", ""))
    validator_class = (
        jsonschema.Draft7Validator
        if "draft-07" in declared
        else jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    )
    validator_class.check_schema(schema)
    errors = [
        f"{error.json_path}: {error.message}"
        for error in validator_class(schema).iter_errors(compose)
    ]
    assert errors == []


def test_compose_file_has_no_obsolete_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


def test_docker_compose_config_accepts_the_file() -> None:
    """The real parser, where the `docker compose` plugin is installed (it needs no daemon)."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the docker CLI has no compose plugin")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def _qdrant_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in _services(compose).items()
        if str(service.get("image", "")).startswith("qdrant/qdrant:")
    }


def test_qdrant_image_is_pinned_and_keeps_its_storage_in_a_named_volume(
    compose: dict[str, Any],
) -> None:
    qdrant = _qdrant_services(compose)
    assert list(qdrant) == ["qdrant", "qdrant-node1", "qdrant-node2", "qdrant-node3"]
    volumes = set()
    for name, service in qdrant.items():
        assert re.fullmatch(r"qdrant/qdrant:v\d+\.\d+\.\d+", service["image"]), name
        mounts = [str(v).split(":") for v in service.get("volumes", [])]
        storage = [m for m in mounts if len(m) >= 2 and m[1] == "/qdrant/storage"]
        assert storage, f"{name}: /qdrant/storage is not on a volume: data is lost on recreate"
        assert storage[0][0] in compose.get("volumes", {}), f"{name}: not a named volume"
        volumes.add(storage[0][0])
    assert len(volumes) == len(qdrant), "two Qdrant nodes share one storage volume"


def test_cluster_profile_is_a_three_node_qdrant_cluster(compose: dict[str, Any]) -> None:
    services = _services(compose)
    nodes = {n: s for n, s in _qdrant_services(compose).items() if n.startswith("qdrant-node")}
    for name, node in nodes.items():
        assert node["profiles"] == ["cluster"], name
        assert _environment(node)["QDRANT__CLUSTER__ENABLED"] == "true", name
        command = node["command"]
        assert command[command.index("--uri") + 1] == f"http://{name}:6335", name
        if name != "qdrant-node1":
            assert command[command.index("--bootstrap") + 1] == "http://qdrant-node1:6335"
            assert node["depends_on"]["qdrant-node1"]["condition"] == "service_healthy"

    api = services["api-cluster"]
    env = _environment(api)
    assert urlsplit(env["QDRANT_URL"]).hostname in nodes
    assert 1 < int(env["POLYSEARCH_QDRANT_REPLICAS"]) <= len(nodes)
    assert int(env["POLYSEARCH_QDRANT_SHARDS"]) >= len(nodes)
    assert set(api["depends_on"]) == set(nodes)

    shard_jobs = [s["command"] for n, s in services.items() if n.startswith("indexer-shard-")]
    specs = sorted(cmd[cmd.index("--shard") + 1] for cmd in shard_jobs)
    assert specs == [f"{i}/{len(specs)}" for i in range(len(specs))], "shards must cover 0..n-1"
    for name in ("api-cluster", *(n for n in services if n.startswith("indexer-shard-"))):
        assert services[name]["profiles"] == ["cluster"]
        assert _environment(services[name]) == env, f"{name} must use the cluster settings"


def test_api_and_indexer_talk_to_the_qdrant_service(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name in ("api", "indexer"):
        url = urlsplit(_environment(services[name])["QDRANT_URL"])
        assert url.scheme == "http"
        assert url.hostname in _qdrant_services(compose), f"{name}: {url.hostname} is no service"
        assert url.port == QDRANT_HTTP_PORT, f"{name}: Qdrant's REST API listens on 6333"


def test_api_and_indexer_wait_for_a_healthy_qdrant(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert services["qdrant"]["healthcheck"]["test"], "service_healthy needs a healthcheck"
    for name in ("api", "indexer"):
        depends = services[name]["depends_on"]
        assert depends["qdrant"]["condition"] == "service_healthy", name


def test_api_restarts_and_indexer_runs_once(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert services["api"]["restart"] in {"always", "unless-stopped", "on-failure"}
    indexer = services["indexer"]
    assert indexer["restart"] == "no"
    assert indexer["command"] == ["python", "-m", "indexer", "demo"]


def test_indexer_runs_the_same_image_as_the_api(compose: dict[str, Any]) -> None:
    services = _services(compose)
    api, indexer = services["api"], services["indexer"]
    assert api["build"] == indexer["build"]
    assert api["image"] == indexer["image"]
    build = api["build"]
    context = build if isinstance(build, str) else build["context"]
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context / dockerfile).resolve() == (ROOT / "Dockerfile").resolve()


def _published(port: str | int | dict[str, Any]) -> tuple[str | None, str]:
    """(host address, container port) of a `ports` entry in short or long syntax."""
    if isinstance(port, dict):
        return port.get("host_ip"), str(port["target"])
    text = str(port).split("/")[0]
    parts = text.rsplit(":", 2)
    if len(parts) == 3:
        return parts[0], parts[2]
    return None, parts[-1]  # "8000" or "8000:8000": every interface


def test_published_ports_are_bound_to_loopback(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        for port in service.get("ports", []):
            host, _ = _published(port)
            assert host in LOOPBACK, f"{name}: {port} is reachable from the network"


def test_api_publishes_the_port_the_image_serves_on(
    compose: dict[str, Any], dockerfile: Dockerfile
) -> None:
    container_ports = {_published(p)[1] for p in _services(compose)["api"]["ports"]}
    exposed = {e.value.split("/")[0] for e in dockerfile.final.of("EXPOSE")}
    assert container_ports and container_ports <= exposed


# --- the Qdrant health probe, run against a stand-in HTTP server ----------------------------


class _ReadyzHandler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/readyz" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"all shards are ready" if code == 200 else b"no")

    def log_message(self, format: str, *args: object) -> None:  # silence the test output
        pass


@contextmanager
def _serving(status: int) -> Iterator[int]:
    handler = type("Handler", (_ReadyzHandler,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _qdrant_probe(compose: dict[str, Any], port: int) -> int:
    test = _services(compose)["qdrant"]["healthcheck"]["test"]
    assert test[0] == "CMD", "exec form: the qdrant image's shell is bash, not sh"
    argv = [arg.replace(str(QDRANT_HTTP_PORT), str(port)) for arg in test[1:]]
    assert argv != test[1:], "the probe does not name Qdrant's port"
    return subprocess.run(argv, capture_output=True, timeout=10, check=False).returncode


@pytest.mark.skipif(shutil.which("bash") is None, reason="the probe is a bash script")
def test_qdrant_healthcheck_passes_when_ready_and_fails_otherwise(
    compose: dict[str, Any],
) -> None:
    with _serving(200) as port:
        assert _qdrant_probe(compose, port) == 0
    with _serving(503) as port:
        assert _qdrant_probe(compose, port) != 0
    with _serving(200) as port:
        pass  # closed: nothing listens on the port any more
    assert _qdrant_probe(compose, port) != 0


def test_api_services_may_bind_inside_their_container(compose: dict[str, Any]) -> None:
    """`python -m app` refuses 0.0.0.0 without keys unless allowed; the image listens there."""
    for name, service in _services(compose).items():
        if name.startswith("api"):
            env = _environment(service)
            keys = env.get("POLYSEARCH_API_KEYS_READ") or env.get("POLYSEARCH_API_KEYS_WRITE")
            assert keys or env.get("POLYSEARCH_ALLOW_INSECURE_BIND") == "true", name
            assert all(p.startswith("127.0.0.1:") for p in service["ports"]), name
