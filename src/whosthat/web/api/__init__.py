"""The JSON API under /api/v1 (contract in DESIGN.md, guide in docs/api.md), one router per resource.

Every route authenticates with X-API-Key (scoped) or the admin session cookie (+ X-CSRF-Token on
unsafe methods), declares its request and response models and status code, and calls one service
function; caller mistakes come back as 4xx `{"error", "detail"}` (web/errors.py).
"""

PREFIX = "/api/v1"
