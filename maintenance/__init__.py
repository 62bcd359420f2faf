"""Maintenance jobs of the app: timer functions that keep the task hub and the platforms tidy."""
