"""Helpers the web tests share."""

from __future__ import annotations

import re

HTML = {"Accept": "text/html"}
BOOTSTRAP = "web-test-bootstrap-token"


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found[1]
