"""evidencekit: preserve web pages and files as court-grade evidence."""

__version__ = "0.1.0"
