"""12345 hotline work orders from CSV and Excel (.xlsx) exports, with a configurable column mapping.

``path`` is one export file or a watched drop folder. Idempotent on the work-order number: it is
the post's native id, so a file read twice, or an order exported again in a later file, never
makes a second post; an order exported again *with* its 办理结果 is published again under the
same id so the reply reaches the store (see ``collectors.service``).

Drop folder: files are remembered in the source's state by path, size, mtime and SHA-1; a file is
read again only when its content changed, and a copy of an already-read file under another name
is recognised by its hash. Files are left where they are (not moved to ``done/``): moving needs
write access to what is often a shared export folder, and a move done before the bus
acknowledged would lose the file on a crash. Files modified less than ``settle_seconds`` ago
are left for the next run (they may still be being copied). Excel lock files (``~$*``) are ignored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from collectors import charset
from collectors.base import Collector, FetchResult
from collectors.config import KindConfig, SettingError
from yuqing.events import PostCollected, Reply
from yuqing.ids import post_id
from yuqing.timeutil import TZ, aware, now, parse_datetime

DEFAULT_COLUMNS = {
    "id": "工单编号",
    "title": "标题",
    "content": "诉求内容",
    "published": "受理时间",
    "category": "诉求类型",
    "reply": "办理结果",
    "replied_at": "办结时间",
    "unit": "承办单位",
}
KEYS = (*DEFAULT_COLUMNS, "author", "phone_area")


class HotlineConfig(KindConfig):
    kind: str = "hotline"
    path: str = Field(description="an export file, or a drop folder watched for new files")
    patterns: list[str] = Field(default_factory=lambda: ["*.csv", "*.xlsx"], description="drop-folder file patterns")
    columns: dict[str, str] = Field(default_factory=dict, description="post field -> column header, over the defaults")
    encoding: str | None = Field(None, description="CSV charset; null = detect UTF-8 / GB18030")
    delimiter: str | None = Field(None, description="CSV delimiter; null = detect , ; or tab")
    sheet: str | None = Field(None, description="Excel sheet name; null = the first sheet")
    settle_seconds: float = Field(2.0, ge=0, description="drop-folder files younger than this wait for the next run")

    @field_validator("columns")
    @classmethod
    def _keys(cls, v: dict[str, str]) -> dict[str, str]:
        for key, header in v.items():
            if key in ("id", "content") and not header:
                raise SettingError(key, "cannot be switched off")
            if key not in KEYS and not key.startswith("raw."):
                raise SettingError(key, f"unknown post field; use one of {', '.join(KEYS)} or raw.NAME")
        return v

    @property
    def mapping(self) -> dict[str, str]:
        """The defaults overridden by ``columns``; an empty header name switches a field off."""
        merged = {**DEFAULT_COLUMNS, **self.columns}
        return {k: v for k, v in merged.items() if v or k in ("id", "content")}

    @field_validator("delimiter")
    @classmethod
    def _delim(cls, v: str | None) -> str | None:
        if v is not None and len(v) != 1:
            raise ValueError("must be one character")
        return v


def _cell(value: Any) -> str:
    """A cell as text: Excel stores work-order numbers as floats (2.0250301e+11)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return aware(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value).strip()


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class HotlineCollector(Collector):
    kind = "hotline"
    Config = HotlineConfig
    dedup_text = False  # two callers with the same complaint are two work orders

    def _files(self) -> tuple[list[Path], bool]:
        cfg: HotlineConfig = self.config  # type: ignore[assignment]
        path = Path(cfg.path)
        if not path.is_dir():
            return [path], False
        found = {p for pattern in cfg.patterns for p in path.glob(pattern) if p.is_file() and not p.name.startswith("~$")}
        return sorted(found), True

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        cfg: HotlineConfig = self.config  # type: ignore[assignment]
        result = FetchResult(state=dict(state))
        done: dict[str, dict[str, Any]] = {k: v for k, v in dict(state.get("files", {})).items() if isinstance(v, dict)}
        files, folder = self._files()
        if not folder and not files[0].exists():
            from yuqing.errors import SourceError

            raise SourceError(cfg.id, f"{files[0]} does not exist")
        hashes = {v.get("sha1") for v in done.values()}
        ref = now()
        for file in files:
            try:
                st = file.stat()
                seen = done.get(str(file))
                if seen and seen.get("size") == st.st_size and seen.get("mtime") == st.st_mtime:
                    continue
                if folder and time.time() - st.st_mtime < cfg.settle_seconds:
                    continue  # may still be being copied
                digest = _sha1(file)
                record = {"size": st.st_size, "mtime": st.st_mtime, "sha1": digest}
                if digest in hashes:
                    done[str(file)] = record  # same bytes as a file already read
                    continue
                rows = list(self._rows(result, file))
            except OSError as exc:
                self.problem(result, f"cannot read {file}: {exc.strerror or exc}")
                continue
            except ValueError as exc:  # not a valid CSV / xlsx
                self.problem(result, f"{file.name}: {exc}")
                continue
            for lineno, row in rows:
                post = self._post(result, file, lineno, row, ref)
                if post is not None:
                    result.posts.append(post)
            done[str(file)] = record
            hashes.add(digest)
        if folder:  # forget files that were removed from the folder
            done = {k: v for k, v in done.items() if Path(k).exists()}
        result.state["files"] = done
        return result

    def _rows(self, result: FetchResult, file: Path) -> Iterator[tuple[int, dict[str, str]]]:
        cfg: HotlineConfig = self.config  # type: ignore[assignment]
        suffix = file.suffix.lower()
        if suffix == ".xls":
            raise ValueError("old .xls format is not supported: save the export as .xlsx or .csv")
        table: Iterable[Sequence[Any]]
        if suffix in (".xlsx", ".xlsm"):
            table = self._xlsx(file)
        else:
            decoded = charset.decode(file.read_bytes(), encoding=cfg.encoding)
            if decoded.problem and decoded.encoding == "utf-8" and "\ufffd" in decoded.text:
                self.problem(result, f"{file.name}: {decoded.problem}")
            text = decoded.text
            first = text.split("\n", 1)[0]
            delim = cfg.delimiter or max(",\t;", key=first.count)
            table = csv.reader(io.StringIO(text), delimiter=delim)
        cols = cfg.mapping
        header: list[str] | None = None
        for lineno, cells in enumerate(table, start=1):
            values = [_cell(c) for c in cells]
            if header is None:
                if cols["id"] in values:
                    header = values
                    missing = [cols[k] for k in ("id", "content") if cols[k] not in header]
                    if missing:
                        raise ValueError(f"missing column(s) {', '.join(missing)}")
                elif lineno >= 10:
                    break
                continue  # title rows above the header
            if not any(values):
                continue
            yield lineno, dict(zip(header, values, strict=False))
        if header is None:
            raise ValueError(f"no header row with the work-order column {cols['id']!r} in the first 10 rows")

    def _xlsx(self, file: Path) -> Iterator[tuple[Any, ...]]:
        cfg: HotlineConfig = self.config  # type: ignore[assignment]
        import zipfile

        from openpyxl import load_workbook

        try:
            wb = load_workbook(file, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise ValueError(f"not a valid .xlsx file ({type(exc).__name__}: {exc})") from exc
        try:
            if cfg.sheet and cfg.sheet not in wb.sheetnames:
                raise ValueError(f"no sheet {cfg.sheet!r} (sheets: {', '.join(wb.sheetnames)})")
            ws = wb[cfg.sheet] if cfg.sheet else wb.worksheets[0]
            yield from ws.iter_rows(values_only=True)
        finally:
            wb.close()

    def _post(self, result: FetchResult, file: Path, lineno: int, row: dict[str, str], ref: datetime) -> PostCollected | None:
        cfg: HotlineConfig = self.config  # type: ignore[assignment]
        cols = cfg.mapping

        def get(key: str) -> str:
            return (row.get(cols[key]) or "").strip() if key in cols else ""

        where = f"{file.name}:{lineno}"
        order, content = get("id"), get("content")
        if not order or not content:
            self.problem(result, f"{where}: no work-order number or no content, skipped")
            return None
        published = self.when(result, get("published") or None, ref, f"{where} (order {order})")
        if not get("published"):
            self.problem(result, f"{where} (order {order}): no acceptance time, using the collection time")
        reply = None
        if get("reply"):
            reply = Reply(content=get("reply"), organization=get("unit") or None, replied_at=parse_datetime(get("replied_at") or None, ref))
        raw: dict[str, Any] = {"file": file.name, "line": lineno}
        for key in cols:
            if key in ("category", "unit", "phone_area") and get(key):
                raw[key] = get(key)
            elif key.startswith("raw.") and get(key):
                raw[key[4:]] = get(key)
        return PostCollected(
            id=post_id(cfg.id, native_id=order),
            title=get("title") or content[:30],
            content=content,
            author=get("author") or None,
            published_at=published.astimezone(TZ),
            source=self.source,
            reply=reply,
            raw=raw,
        )
