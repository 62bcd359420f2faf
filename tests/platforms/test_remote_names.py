from platforms.azure_ml.clone import job_name
from platforms.remote_names import remote_name


def test_each_platform_names_what_finds_a_runs_job_without_a_call():
    assert remote_name("azureml_pipeline", "train", "r1") == job_name("r1") == "runbridge-r1"
    assert remote_name("foundry_agent", "asst_1", "r1") == "runbridge.runId=r1"
    assert remote_name("abacus_pipeline", "simtrain01", "r1").startswith("pipeline simtrain01:")
    assert remote_name("no_such_type", "x", "r1") is None
