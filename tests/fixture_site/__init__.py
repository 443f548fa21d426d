"""The local web site the browser tests capture (routes in handler.py, pages in www/)."""

from .handler import WWW
from .server import THREAD_PREFIX, FixtureSite, RequestLog, refused_url

__all__ = ["THREAD_PREFIX", "WWW", "FixtureSite", "RequestLog", "refused_url"]
