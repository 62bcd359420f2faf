"""The Bicep templates parse, and their files agree with each other (no Bicep compiler runs here, so these
checks stand in for the compiler's cross-file ones): module paths, parameters and outputs, loaded files,
role GUIDs, the parameters file and azure.yaml.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .bicep import APP, INFRA, MAIN, ROOT, bicep_files, code_text, parse, parse_text

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_the_expected_templates_exist():
    names = {p.relative_to(INFRA).as_posix() for p in bicep_files()}
    assert {"main.bicep", "modules/app.bicep", "modules/identity.bicep", "modules/azureml-role.bicep",
            "modules/foundry-role.bicep"} <= names


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_bicep_file_parses(path: Path):
    ast = parse(path)
    assert ast.get("resources") or ast.get("modules") or ast.get("outputs"), f"{path} declares nothing"


@pytest.mark.parametrize("damage", [
    lambda text: text[: text.rindex("}")],  # an unclosed object
    lambda text: text.replace("param ", "parm ", 1),  # a misspelt keyword
    lambda text: text.replace("= {", "= {{", 1),  # a stray brace
    lambda text: text.replace("= 'subscription'", "= 'subscription", 1),  # an unterminated string
])
def test_the_parser_rejects_a_syntax_error(damage):
    """The parse test above is a real check: the same parser refuses broken copies of main.bicep."""
    with pytest.raises(Exception):  # noqa: B017 - lark's UnexpectedInput family or pycep's ValueError
        parse_text(damage(MAIN.read_text()))


def _body(declaration: dict) -> dict:
    """The object of a resource or module, looking through a for-expression or an if()."""
    config = declaration["config"]
    return config["config"] if "loop_type" in config or "condition" in config else config


def _modules() -> list[tuple[Path, str, dict]]:
    found = []
    for path in bicep_files():
        for name, module in (parse(path).get("modules") or {}).items():
            found.append((path, name, module))
    return found


@pytest.mark.parametrize(("path", "name", "module"), _modules(), ids=[f"{p.name}:{n}" for p, n, _ in _modules()])
def test_each_module_exists_and_gets_exactly_the_parameters_it_declares(path: Path, name: str, module: dict):
    target = path.parent / module["detail"]["path"]
    assert target.is_file(), f"{path.name}: module {name} points at a missing {target}"
    body = _body(module)
    passed = set(body.get("params") or {})
    declared = parse(target).get("parameters") or {}
    required = {p for p, spec in declared.items() if spec.get("default") is None}
    assert passed <= set(declared), f"{name} passes parameters {target.name} lacks: {passed - set(declared)}"
    assert required <= passed, f"{name} leaves required parameters of {target.name} unset: {required - passed}"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_module_outputs_that_are_read_exist(path: Path):
    modules = parse(path).get("modules") or {}
    for module, output in re.findall(r"\b(\w+)\.outputs\.(\w+)", code_text(path)):
        assert module in modules, f"{path.name} reads outputs of {module}, which is not a module here"
        target = path.parent / modules[module]["detail"]["path"]
        assert output in (parse(target).get("outputs") or {}), f"{target.name} has no output {output}"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_loaded_files_exist_and_role_names_are_defined(path: Path):
    text = code_text(path)
    for loaded in re.findall(r"loadJsonContent\('([^']+)'\)", text):
        assert (path.parent / loaded).is_file(), f"{path.name} loads a missing {loaded}"
    if "loadJsonContent('../roles.json')" in text or "loadJsonContent('roles.json')" in text:
        roles = json.loads((INFRA / "roles.json").read_text())
        for role in re.findall(r"(?<![\w'/.])roles\.(\w+)", text):
            assert role in roles, f"{path.name} uses roles.{role}, which infra/roles.json does not define"


def test_role_ids_are_guids_each_used_and_documented():
    roles = json.loads((INFRA / "roles.json").read_text())
    sources = "\n".join(code_text(p) for p in bicep_files())
    readme = (INFRA / "README.md").read_text()
    for name, guid in roles.items():
        assert GUID.fullmatch(guid), f"roles.json {name} is not a lower-case GUID"
        assert f"roles.{name}" in sources, f"roles.json {name} is never used"
        assert guid in readme, f"infra/README.md does not document {name} ({guid})"
    assert len(set(roles.values())) == len(roles), "two role names share a GUID"


def test_the_parameters_file_sets_only_parameters_of_main_and_every_required_one():
    declared = parse(MAIN)["parameters"]
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= set(declared), f"main.parameters.json sets unknown parameters {set(given) - set(declared)}"
    required = {p for p, spec in declared.items() if spec.get("default") is None}
    assert required <= set(given), f"main.parameters.json leaves {required - set(given)} unset"
    for name in ("azureMlConnections", "foundryAgentsConnections", "abacusConnections"):
        assert isinstance(given[name]["value"], list), f"{name} must be an array"
    assert "abacusApiKeys" not in given, "API keys never go into a parameters file in the repo"


def test_azure_yaml_points_at_main_and_names_the_service_the_app_is_tagged_with():
    text = (ROOT / "azure.yaml").read_text()
    assert re.search(r"^infra:\n(  .*\n)*  provider: bicep\n", text, re.MULTILINE)
    assert re.search(r"^  path: infra$", text, re.MULTILINE) and re.search(r"^  module: main$", text, re.MULTILINE)
    services = re.findall(r"^services:\n  ([\w-]+):\n((?:    .*\n)+)", text, re.MULTILINE)
    assert len(services) == 1, "azure.yaml declares one service"
    service, body = services[0]
    assert "host: function" in body and "language: python" in body
    assert f"'azd-service-name': '{service}'" in APP.read_text(), "the Function App's azd-service-name tag differs"


def test_the_app_runs_python_3_11_on_flex_consumption_with_identity_only_storage():
    resources = parse(APP)["resources"]
    plan = resources["plan"]["config"]
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    site = resources["site"]["config"]
    assert site["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
    assert site["properties"]["httpsOnly"] is True
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
    deployment = site["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert deployment["authentication"]["type"] == "UserAssignedIdentity"
    storage = resources["storage"]["config"]["properties"]
    assert storage["allowSharedKeyAccess"] is False, "host storage must accept Entra ID only"
    assert storage["allowBlobPublicAccess"] is False and storage["minimumTlsVersion"] == "TLS1_2"
    vault = resources["keyVault"]["config"]["properties"]
    assert vault["enableRbacAuthorization"] is True
    insights = resources["insights"]["config"]["properties"]
    assert insights["DisableLocalAuth"] is True
    for policy in ("ftpPublishing", "scmPublishing"):
        assert resources[policy]["config"]["properties"] == {"allow": False}


def test_every_role_assignment_names_a_service_principal_or_the_deployer():
    for path in bicep_files():
        for name, resource in (parse(path).get("resources") or {}).items():
            if resource["type"] != "Microsoft.Authorization/roleAssignments":
                continue
            properties = _body(resource)["properties"]
            assert properties["principalType"] in ("ServicePrincipal", "principalType"), f"{path.name}:{name}"
            assert "roleDefinitions" in json.dumps(properties["roleDefinitionId"]), f"{path.name}:{name}"
