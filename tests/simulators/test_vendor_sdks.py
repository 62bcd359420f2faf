"""The vendors' own SDKs, unchanged, against the simulators ("users will point their own scripts at it").

- azure-ai-ml `MLClient` (jobs list/get/create_or_update/begin_cancel) against `azure_ml`;
- azure-ai-agents `AgentsClient` (list_agents, create_thread_and_run, runs.get, messages.list,
  runs.cancel, create_thread_and_process_run) against `foundry_agents`;
- abacusai `ApiClient` (list_pipelines, run_pipeline, describe_pipeline_version) against `abacus`.

azure-core sends bearer tokens over https only, so the Azure simulators run with `tls=True` and the SDKs
trust `SimServer.ca_file` through REQUESTS_CA_BUNDLE. The SDKs are heavy: they come from
requirements-vendor.txt (`make setup` installs it); without one, its tests skip and say why.
Lifecycles move by `VirtualClock.advance`, except where an SDK polls on its own (then a ScaledClock).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.clock import ScaledClock, VirtualClock
from simulators.registry import create_server
from simulators.server import SimServer

pytestmark = pytest.mark.filterwarnings("ignore")  # the SDKs warn about their experimental classes


def _needs(module: str, requirement: str) -> pytest.MarkDecorator:
    missing = importlib.util.find_spec(module.split(".")[0]) is None
    if not missing:
        try:
            missing = importlib.util.find_spec(module) is None
        except ModuleNotFoundError:
            missing = True
    return pytest.mark.skipif(
        missing, reason=f"{requirement} is not installed (pip install -r requirements-vendor.txt)"
    )


needs_azure_ml = _needs("azure.ai.ml", "azure-ai-ml")
needs_agents = _needs("azure.ai.agents", "azure-ai-agents")
needs_abacus = _needs("abacusai", "abacusai")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class FakeCredential:
    """An azure-core TokenCredential issuing unsigned JWTs for the scope asked for.

    azure-ai-ml decodes tokens (without checking the signature): the `aud` of its `x-azureml-token`
    must be `https://ml.azure.com`, and it reads `tid` for the Studio link.
    """

    def _token(self, scopes: tuple[str, ...]) -> tuple[str, int]:
        expires = int(time.time()) + 3600
        audience = scopes[0].removesuffix("/.default") if scopes else ""
        claims = {"aud": audience, "tid": "00000000-0000-0000-0000-00000000a11d", "oid": "sim-user", "exp": expires}
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.sig", expires

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(*self._token(scopes))

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(*self._token(scopes))


def _serve(monkeypatch: pytest.MonkeyPatch, name: str, clock: Any, **options: Any) -> Iterator[SimServer]:
    server = create_server(name, clock, tls=True, **options)
    server.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    try:
        yield server
    finally:
        server.stop()


# -- TLS on its own ----------------------------------------------------------------------------------


def test_tls_server_serves_https_with_a_trustable_certificate() -> None:
    import requests

    server = create_server("abacus", VirtualClock(), tls=True)
    with server:
        assert server.url.startswith("https://127.0.0.1:")
        assert server.ca_file is not None
        with requests.Session() as session:
            session.trust_env = False
            assert session.get(f"{server.url}/_sim/stats", verify=server.ca_file).json()["platform"] == "abacus"
            localhost = server.url.replace("127.0.0.1", "localhost")
            assert session.get(f"{localhost}/_sim/stats", verify=server.ca_file).status_code == 200
            with pytest.raises(requests.exceptions.SSLError):  # self-signed: untrusted by default
                session.get(f"{server.url}/_sim/stats", timeout=5)
            # the failed handshake did not hurt the server
            assert session.get(f"{server.url}/_sim/stats", verify=server.ca_file).status_code == 200
    assert create_server("abacus", VirtualClock()).ca_file is None  # plain http stays the default


def test_cli_serves_https_with_tls() -> None:
    import requests

    command = [sys.executable, "-m", "simulators", "foundry_agents", "--port", "0", "--clock", "virtual", "--tls"]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("foundry_agents simulator listening on https://127.0.0.1:"), process.stderr.read()
        trust = process.stdout.readline().split(maxsplit=1)
        assert trust[0] == "trust"
        ca_file = trust[1].strip()
        with requests.Session() as session:
            session.trust_env = False
            stats = session.get(f"{line.split()[-1]}/_sim/stats", verify=ca_file).json()
            assert stats["platform"] == "foundry_agents"
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


# -- azure-ai-ml -------------------------------------------------------------------------------------


@pytest.fixture
def aml(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, SimServer, VirtualClock]]:
    clock = VirtualClock()
    # cancel_mode "immediate": the async mode's Retry-After (10 s, §1.4) would make the SDK poller sleep for real
    for server in _serve(monkeypatch, "azure_ml", clock, cancel_mode="immediate"):
        monkeypatch.setenv("AZUREML_DEV_URL_MFE", server.url)  # MLClient's custom ARM endpoint
        from azure.ai.ml import MLClient

        from simulators.azure_ml import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE

        client = MLClient(FakeCredential(), SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE)
        yield client, server, clock


@needs_azure_ml
def test_mlclient_lists_and_gets_jobs(aml: tuple[Any, SimServer, VirtualClock]) -> None:
    ml, server, _ = aml
    assert {job.name for job in ml.jobs.list()} == {"train-pipeline", "failing-pipeline", "long-pipeline"}
    job = ml.jobs.get("train-pipeline")
    assert job.type == "pipeline"
    assert job.status == "Completed"
    assert set(job.jobs) == {"train", "evaluate"}
    assert set(job.inputs) == {"learning_rate", "epochs"}
    assert job.studio_url.startswith("https://ml.azure.com/runs/train-pipeline")
    assert server.stats()["requestsByOperation"]["Jobs_List"] == 2  # followed nextLink (page size 2)


@needs_azure_ml
def test_mlclient_resubmits_a_job_and_cancels_it(aml: tuple[Any, SimServer, VirtualClock]) -> None:
    ml, server, clock = aml
    job = ml.jobs.get("train-pipeline")
    job.name = None  # the SDK generates a new name on create_or_update
    job.display_name = "sdk-clone"
    created = ml.jobs.create_or_update(job)
    assert created.name != "train-pipeline"
    assert created.status == "NotStarted"
    assert server.platform.stats()["remoteJobsCreated"] == 1
    clock.advance(30)  # NotStarted 10 s, Starting 10 s, then Queued ~2 min
    assert ml.jobs.get(created.name).status == "Queued"
    clock.advance(180)
    assert ml.jobs.get(created.name).status == "Running"
    ml.jobs.begin_cancel(created.name).result(timeout=30)
    assert ml.jobs.get(created.name).status == "Canceled"
    operations = server.stats()["requestsByOperation"]
    assert operations["Jobs_CreateOrUpdate"] == 1
    assert operations["Jobs_Cancel"] == 1
    assert operations["Compute_Get"] >= 1  # the SDK resolves the pipeline's compute before the PUT


@needs_azure_ml
def test_mlclient_sees_a_clone_of_the_failing_template_fail(aml: tuple[Any, SimServer, VirtualClock]) -> None:
    ml, _, clock = aml
    job = ml.jobs.get("failing-pipeline")
    job.name = None
    created = ml.jobs.create_or_update(job)
    clock.advance(400)  # NotStarted 10, Queued 20, Running 300
    assert ml.jobs.get(created.name).status == "Failed"


# -- azure-ai-agents ---------------------------------------------------------------------------------


def _agents(monkeypatch: pytest.MonkeyPatch, clock: Any) -> Iterator[tuple[Any, SimServer]]:
    from azure.ai.agents import AgentsClient

    from simulators.foundry_agents.catalog import PROJECT

    for server in _serve(monkeypatch, "foundry_agents", clock):
        client = AgentsClient(endpoint=f"{server.url}/api/projects/{PROJECT}", credential=FakeCredential())
        try:
            yield client, server
        finally:
            client.close()


@needs_agents
def test_agents_client_lists_runs_reads_and_cancels(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulators.foundry_agents.catalog import ECHO_AGENT, SLOW_AGENT

    clock = VirtualClock()
    for client, server in _agents(monkeypatch, clock):
        agents = {agent.name: agent.id for agent in client.list_agents()}
        assert agents == {"echo": ECHO_AGENT, "tools": "asst_tools0000000000000000000", "slow": SLOW_AGENT}

        run = client.create_thread_and_run(
            agent_id=ECHO_AGENT, thread={"messages": [{"role": "user", "content": "hello from the sdk"}]}
        )
        assert run.status == "queued"
        clock.advance(60)
        done = client.runs.get(thread_id=run.thread_id, run_id=run.id)
        assert done.status == "completed"
        texts = {m.role: m.text_messages[0].text.value for m in client.messages.list(thread_id=run.thread_id)}
        assert texts["user"] == "hello from the sdk"
        assert "hello from the sdk" in texts["assistant"]

        slow = client.create_thread_and_run(
            agent_id=SLOW_AGENT, thread={"messages": [{"role": "user", "content": "take your time"}]}
        )
        clock.advance(5)
        assert client.runs.cancel(thread_id=slow.thread_id, run_id=slow.id).status == "cancelling"
        clock.advance(60)
        assert client.runs.get(thread_id=slow.thread_id, run_id=slow.id).status == "cancelled"
        assert server.stats()["requestsByOperation"]["cancelRun"] == 1


@needs_agents
def test_agents_client_processes_a_run_to_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulators.foundry_agents.catalog import ECHO_AGENT

    clock = ScaledClock(60.0)  # the SDK polls by itself: a minute of simulated time per second
    for client, _ in _agents(monkeypatch, clock):
        run = client.create_thread_and_process_run(
            agent_id=ECHO_AGENT,
            thread={"messages": [{"role": "user", "content": "process me"}]},
            polling_interval=0.1,
        )
        assert run.status == "completed"
        messages = list(client.messages.list(thread_id=run.thread_id))
        assert messages[0].role == "assistant"  # newest first


# -- abacusai ----------------------------------------------------------------------------------------


@needs_abacus
def test_abacus_api_client_runs_a_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    from abacusai import ApiClient

    clock = VirtualClock()
    for server in _serve(monkeypatch, "abacus", clock):
        client = ApiClient(api_key="sim-abacus-key", server=server.url)
        assert {p.pipeline_id for p in client.list_pipelines()} >= {"simtrain01", "simfail01"}
        version = client.run_pipeline(
            "simtrain01",
            pipeline_variable_mappings=[{"name": "learning_rate", "value": 0.1, "variableType": "FLOAT"}],
        )
        assert version.status == "PENDING"
        clock.advance(120)
        assert client.describe_pipeline_version(version.pipeline_version).status == "RUNNING"
        clock.advance(3600)
        done = client.describe_pipeline_version(version.pipeline_version)
        assert done.status == "COMPLETE"
        assert server.platform.stats()["remoteJobsCreated"] == 1
