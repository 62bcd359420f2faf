"""runbridge's command line: one command a scheduler starts, whose exit code is the run's outcome."""

__version__ = "0.1.0"
