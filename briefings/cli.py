"""``yuqing brief``: the leadership's risk briefing (风险研判简报) for a period, as Word and PDF."""

from __future__ import annotations

from pathlib import Path

import click

from yuqing.clikit import Ctx, pass_ctx


@click.command()
@click.option("--since", default="7d", show_default=True, help="start: a span back from --until (7d, 24h) or a date (2026-11-23)")
@click.option("--until", help="end: a date (that whole day included) or an ISO time; default now")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="output directory; default ledger.briefing.out_dir")
@click.option("--pdf/--no-pdf", default=None, help="also write a PDF (LibreOffice); default ledger.briefing.pdf")
@click.option("--issue", type=click.IntRange(1, 999), help="issue number (第N期); default the ISO week of the last day")
@click.option("--scheme", help="监测方案 name: post figures only from the posts tagged with it (alerts and cases are not narrowed)")
@click.option("--event", "event_id", help="专报: one event's posts over the days they span (recorded and delivered like --deliver)")
@click.option("--deliver", is_flag=True, help="record the run in the archive (/briefings) and send it to ledger.briefing.recipients")
@pass_ctx
def brief(
    ctx: Ctx,
    since: str,
    until: str | None,
    out_dir: str | None,
    pdf: bool | None,
    issue: int | None,
    scheme: str | None,
    event_id: str | None,
    deliver: bool,
) -> None:
    """风险研判简报: figures, charts and recommendations for a period, as .docx (and .pdf).

    Prints the paths of the files written; progress goes to stderr. With --deliver or --event the
    run is recorded and archived under ledger.briefing.out_dir and delivered (email with the files
    attached, robots a summary with a link); failed deliveries are retried by `yuqing run`.
    """
    from briefings.build import parse_period, write_pdf, write_word
    from yuqing.runtime import Runtime

    settings = ctx.settings
    if event_id is not None or deliver:
        if scheme:
            raise click.UsageError("--scheme cannot be combined with --event or --deliver yet")
        _recorded(ctx, since, until, pdf, event_id)
        return
    cfg = settings.ledger.briefing
    period = parse_period(since, until)
    want_pdf = cfg.pdf if pdf is None else pdf
    steps = 4 if want_pdf else 3
    step = iter(range(1, steps + 1))

    def progress(text: str) -> None:
        click.echo(f"[{next(step, steps)}/{steps}] {text}", err=True)

    if scheme:
        _known_scheme(settings.database.url, scheme)
    runtime = Runtime(settings)
    store, where = runtime.store, Path(out_dir or cfg.out_dir)
    if scheme:  # one scheme's briefing: its own heading and directory
        from schemes.scoped import ScopedStore

        store, where = ScopedStore(runtime.store, scheme), where / scheme
        cfg = cfg.model_copy(update={"title": f"{cfg.title}（监测方案：{scheme}）"})
        settings = settings.model_copy(update={"ledger": settings.ledger.model_copy(update={"briefing": cfg})})
    try:
        out = write_word(settings, store, period, where, progress=progress, issue=issue)
    finally:
        runtime.close()
    click.echo(str(out.docx))
    if want_pdf:
        out = write_pdf(settings, out, progress=progress)
        click.echo(str(out.pdf))
    b = out.briefing
    click.echo(f"{b.heading}：帖文 {b.total.current} 条，负面 {b.negative.current} 条，研判建议 {len(b.recommendations)} 条", err=True)


def _known_scheme(database_url: str, name: str) -> None:
    """Refuse a scheme that is not in the database (its briefing would be silently empty)."""
    from schemes.store import SchemeStore

    table = SchemeStore(database_url)
    try:
        names = [s.name for s in table.list()]
    finally:
        table.close()
    if name not in names:
        listed = "、".join(names) or "（尚无方案）"
        raise click.BadParameter(f"没有名为「{name}」的监测方案；已有：{listed}", param_hint="--scheme")


def _recorded(ctx: Ctx, since: str, until: str | None, pdf: bool | None, event_id: str | None) -> None:
    from briefings.build import parse_period
    from briefings.runs import run_briefing, run_special
    from briefings.schedule import open_archive
    from ledger.channels import open_ledger_deliveries
    from yuqing.runtime import Runtime

    settings = ctx.settings
    ledger_deliveries = open_ledger_deliveries(settings)
    archive = open_archive(settings, ledger_deliveries)
    runtime = Runtime(settings)
    try:
        click.echo("生成中……", err=True)
        if event_id is not None:
            if not event_id.strip():
                raise click.BadParameter("an event id is needed", param_hint="--event")
            run = run_special(settings, runtime.store, archive, event_id, pdf=pdf)
        else:
            run = run_briefing(settings, runtime.store, archive, "manual", parse_period(since, until), pdf=pdf)
    finally:
        runtime.close()
        ledger_deliveries.close()
    for name in run.files:
        click.echo(str(archive.directory(run.id, run.kind) / name))
    click.echo(f"{run.title}：编号 {run.id}，{run.status_zh}" + (f"；{run.note}" if run.note else ""), err=True)
    for d in run.deliveries:
        if d.status != "sent":
            click.echo(
                f"  {d.notifier}：{d.last_status}（`yuqing run` 将重试）" if d.status == "pending" else f"  {d.notifier}：{d.last_status}",
                err=True,
            )
