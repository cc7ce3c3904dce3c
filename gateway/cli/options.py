"""Options shared by the commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.client import ClientTls

__all__ = [
    "ConfigOption",
    "JsonOption",
    "PartnerOption",
    "TargetOption",
    "TlsCaOption",
    "TlsCertOption",
    "TlsKeyOption",
    "client_target",
    "tls_options",
]

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file (PSG_* env overrides).")
]
PartnerOption = Annotated[
    str | None,
    typer.Option(
        help="The partner you act as (default: the one this command line composed or booked it as)."
    ),
]
TargetOption = Annotated[
    str | None,
    typer.Option(
        help="Gateway address (default: the settings' server.address, where `serve` listens: "
        "127.0.0.1:50051 unless configured)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_PEM = {"exists": True, "dir_okay": False, "readable": True}
TlsCaOption = Annotated[
    Path | None,
    typer.Option("--tls-ca", help="Connect over TLS; PEM CA of the gateway's certificate.", **_PEM),
]
TlsCertOption = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert", help="PEM client certificate for mutual TLS (with --tls-key).", **_PEM
    ),
]
TlsKeyOption = Annotated[
    Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.", **_PEM)
]


def tls_options(ca: Path | None, cert: Path | None, key: Path | None) -> ClientTls | None:
    """TLS options of a client command; none given: plaintext."""
    if ca is None and cert is None and key is None:
        return None
    try:
        return ClientTls(ca_file=ca, cert_file=cert, key_file=key)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tls-cert/--tls-key") from exc


def client_target(listen: str) -> str:
    """The address to call a gateway listening on `listen` at: a wildcard host is this host."""
    host, sep, port = listen.rpartition(":")
    if sep and host in ("0.0.0.0", ""):
        return f"127.0.0.1:{port}"
    if sep and host in ("[::]", "::"):
        return f"[::1]:{port}"
    return listen
