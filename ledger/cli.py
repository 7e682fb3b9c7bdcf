"""``yuqing ledger ...``: migrate, manage units, users and tokens, export, remind."""

from __future__ import annotations

from pathlib import Path

import click

from yuqing.clikit import Ctx, pass_ctx


def _service(ctx: Ctx, *, bus: bool = False):  # type: ignore[no-untyped-def]
    from ledger.stage import open_service

    settings = ctx.settings
    bus_obj = None
    if bus:
        from yuqing.runtime import Runtime

        bus_obj = Runtime(settings).bus
    return open_service(settings, bus=bus_obj)


@click.group()
def ledger() -> None:
    """舆情回应台账: the response ledger (web UI, units, users, export)."""


@ledger.command()
@pass_ctx
def migrate(ctx: Ctx) -> None:
    """Create or upgrade the ledger's tables (Alembic)."""
    from ledger.db import Database

    db = Database(ctx.settings.database.url)
    try:
        click.echo(f"ledger schema at {db.migrate()}")
    finally:
        db.close()


@ledger.group()
def units() -> None:
    """Units (交办单位)."""


@units.command("add")
@click.argument("names", nargs=-1, required=True)
@click.option("--kind", default="部门", show_default=True, type=click.Choice(["部门", "乡镇", "其他"]))
@pass_ctx
def units_add(ctx: Ctx, names: tuple[str, ...], kind: str) -> None:
    """Add units by name; existing ones are left as they are."""
    from ledger.states import SYSTEM

    svc = _service(ctx)
    for name in names:
        if svc.unit_by_name(name) is None:
            unit = svc.create_unit(SYSTEM, name, kind)
            click.echo(f"{unit.id}\t{unit.name}")


@units.command("list")
@pass_ctx
def units_list(ctx: Ctx) -> None:
    for u in _service(ctx).list_units():
        click.echo(f"{u.id}\t{u.name}\t{u.kind}\t{'启用' if u.active else '停用'}")


@ledger.group()
def users() -> None:
    """Users and their roles."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["unit", "monitor", "leader", "admin"]))
@click.option("--unit", "unit_name", help="unit name (role unit only)")
@click.option("--name", "display_name", default="", help="display name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, envvar="YUQING_LEDGER_PASSWORD")
@pass_ctx
def users_add(ctx: Ctx, username: str, role: str, unit_name: str | None, display_name: str, password: str) -> None:
    """Add a user (the first administrator is made this way)."""
    from ledger.states import SYSTEM

    svc = _service(ctx)
    unit_id = None
    if unit_name:
        unit = svc.unit_by_name(unit_name)
        if unit is None:
            raise click.BadParameter(f"no unit {unit_name!r}; add it with `yuqing ledger units add`", param_hint="--unit")
        unit_id = unit.id
    user = svc.create_user(SYSTEM, username, password, role, unit_id=unit_id, display_name=display_name)
    click.echo(f"已添加用户 {user.username}（{role}）")


@users.command("passwd")
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True, envvar="YUQING_LEDGER_PASSWORD")
@pass_ctx
def users_passwd(ctx: Ctx, username: str, password: str) -> None:
    """Reset a user's password; the user's sessions end at once."""
    from ledger.states import SYSTEM

    svc = _service(ctx)
    user = next((u for u in svc.list_users(SYSTEM) if u.username == username), None)
    if user is None:
        raise click.BadParameter(f"no user {username!r}", param_hint="USERNAME")
    svc.set_password(SYSTEM, user.id, password)
    click.echo(f"已重置 {username} 的密码，其登录会话已全部失效")


@users.command("list")
@pass_ctx
def users_list(ctx: Ctx) -> None:
    from ledger.states import SYSTEM

    for u in _service(ctx).list_users(SYSTEM):
        click.echo(f"{u.id}\t{u.username}\t{u.role}\t{u.unit.name if u.unit else '-'}\t{'启用' if u.active else '停用'}")


@ledger.command()
@click.argument("username")
@click.option("--name", "token_name", default="", help="what the token is for")
@pass_ctx
def token(ctx: Ctx, username: str, token_name: str) -> None:
    """Issue an API token acting as USERNAME; printed once, stored only as a hash."""
    from ledger.states import SYSTEM

    svc = _service(ctx)
    user = next((u for u in svc.list_users(SYSTEM) if u.username == username), None)
    if user is None:
        raise click.BadParameter(f"no user {username!r}", param_hint="USERNAME")
    click.echo(svc.issue_token(SYSTEM, user.id, token_name))


@ledger.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="ledger.xlsx", show_default=True)
@click.option("--unit", "unit_name", help="only this unit's cases")
@click.option("--status", help="pending, assigned, in_progress, responded, fulfilling, fulfilled, disclosed, closed")
@click.option("--overdue/--not-overdue", default=None, help="only overdue / only not overdue cases")
@pass_ctx
def export(ctx: Ctx, output: str, unit_name: str | None, status: str | None, overdue: bool | None) -> None:
    """Export the ledger to Excel with the columns offices use."""
    from ledger.export import export_xlsx
    from ledger.states import SYSTEM

    svc = _service(ctx)
    unit_id = None
    if unit_name:
        unit = svc.unit_by_name(unit_name)
        if unit is None:
            raise click.BadParameter(f"no unit {unit_name!r}", param_hint="--unit")
        unit_id = unit.id
    page = svc.list_cases(SYSTEM, unit_id=unit_id, status=status, overdue=overdue, limit=1_000_000)
    Path(output).write_bytes(export_xlsx(list(reversed(page.items)), svc.clock()))
    click.echo(f"已导出 {page.total} 件到 {output}")


@ledger.command()
@pass_ctx
def remind(ctx: Ctx) -> None:
    """Send the reminders and escalations due now (what `yuqing run` does on a schedule)."""
    from ledger.channels import open_ledger_deliveries
    from ledger.reminders import run_reminders

    svc = _service(ctx, bus=True)
    ledger_deliveries = open_ledger_deliveries(ctx.settings)
    try:
        report = run_reminders(svc, [], ledger_deliveries=ledger_deliveries)
    finally:
        ledger_deliveries.close()
    click.echo(f"提醒 {len(report.reminded)} 条，超期督办 {len(report.escalated)} 条，发送失败 {len(report.failed)} 条")
