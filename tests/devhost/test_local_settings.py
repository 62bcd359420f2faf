"""local.settings.json as Core Tools applies it (devhost/local_settings.py; devhost/README.md)."""

from __future__ import annotations

import json

import pytest

from devhost.local_settings import LocalSettingsError, apply_local_settings

from .conftest import HERE


def write(tmp_path, settings) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps(settings))


def test_values_become_app_settings_and_the_environment_wins(tmp_path):
    write(tmp_path, {"IsEncrypted": False, "Values": {"A": "1", "TaskHub_Name": "file", "B": ""},
                     "ConnectionStrings": {"Sql": "Server=x"}})
    environ = {"TASKHUB_NAME": "from-env"}
    applied = apply_local_settings(tmp_path, environ)
    assert environ == {"TASKHUB_NAME": "from-env", "A": "1", "B": ""}
    assert (applied.set, applied.kept, applied.ignored_connection_strings) == (["A", "B"], ["TaskHub_Name"], ["Sql"])


def test_no_file_is_no_change(tmp_path):
    environ: dict[str, str] = {}
    assert apply_local_settings(tmp_path, environ) is None and environ == {}


@pytest.mark.parametrize(("settings", "reason"), [
    ({"IsEncrypted": True, "Values": {"A": "ciphertext"}}, "func settings decrypt"),
    ({"Values": {"PORT": 7071}}, "Values.PORT must be a string"),
    ({"Values": ["A"]}, "Values must be an object"),
])
def test_settings_devhost_cannot_apply_are_refused_naming_why(tmp_path, settings, reason):
    write(tmp_path, settings)
    environ: dict[str, str] = {}
    with pytest.raises(LocalSettingsError, match=reason):
        apply_local_settings(tmp_path, environ)
    assert environ == {}


def test_a_sample_settings_file_names_its_task_hub():
    environ: dict[str, str] = {}
    apply_local_settings(HERE / "samples" / "dts_hello_cities", environ)
    assert environ["TASKHUB_NAME"] == "default" and environ["FUNCTIONS_WORKER_RUNTIME"] == "python"
