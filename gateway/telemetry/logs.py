"""Log lines: JSON with `trace_id` and `span_id` when piped, readable text on a terminal.

Nothing here adds request content to log records: callers log ids, partner ids, outcomes and
counts — never names, birth dates or numbers of travellers.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from opentelemetry import trace


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            line["trace_id"] = trace.format_trace_id(context.trace_id)
            line["span_id"] = trace.format_span_id(context.span_id)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, *, as_json: bool | None = None) -> None:
    """Root logging to stderr; JSON unless stderr is a terminal (or `as_json` says)."""
    handler = logging.StreamHandler(sys.stderr)
    use_json = not sys.stderr.isatty() if as_json is None else as_json
    handler.setFormatter(
        JsonFormatter()
        if use_json
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
