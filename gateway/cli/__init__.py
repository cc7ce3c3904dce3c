"""`partner-gateway`: serve the gateway, run the sandbox partners, compose, and the demo."""

from __future__ import annotations

from gateway.cli.app import app, main

__all__ = ["app", "main"]
