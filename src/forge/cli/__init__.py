"""The `forge` command: a Typer app, one module per command group. No logic lives here."""
