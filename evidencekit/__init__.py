"""evidencekit: preserve web pages and files as court-grade evidence."""

__version__ = "0.1.0"
# The environment variable naming the case folder; here so that the CLI names it without loading case code.
CASE_ENV = "EVIDENCEKIT_CASE"
