"""Azure ML / AI Foundry workspace pipeline jobs through the ARM Jobs API (reference/azureml-jobs.md)."""
