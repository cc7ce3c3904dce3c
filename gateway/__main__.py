"""`python -m gateway` is the `partner-gateway` command."""

from gateway.cli import main

main()
