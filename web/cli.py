"""``yuqing web`` (and ``yuqing ledger serve``, the same): serve the one web app."""

from __future__ import annotations

import sys

import click

from yuqing.clikit import Ctx, pass_ctx

_host = click.option("--host", help="default: ledger.host")
_port = click.option("--port", type=int, help="default: ledger.port")


def _serve(ctx: Ctx, host: str | None, port: int | None) -> None:
    from web.serve import serve_forever

    if not serve_forever(ctx.settings, host, port, echo=lambda line: click.echo(line, err=True)):
        sys.exit(1)


@click.command("web")
@_host
@_port
@pass_ctx
def web_command(ctx: Ctx, host: str | None, port: int | None) -> None:
    """Serve the web app (workbench, ledger, alerts, briefings, /api/v1); same as `yuqing ledger serve`."""
    _serve(ctx, host, port)


@click.command("serve")
@_host
@_port
@pass_ctx
def serve(ctx: Ctx, host: str | None, port: int | None) -> None:
    """Serve the web UI and API (without the rest of the pipeline; `yuqing run` serves it too)."""
    _serve(ctx, host, port)
