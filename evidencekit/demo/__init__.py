"""The built-in demo: a local web site with a fictional suspicious job advertisement to capture."""

from evidencekit.demo.server import demo_site_files, serve_demo_site

__all__ = ["demo_site_files", "serve_demo_site"]
