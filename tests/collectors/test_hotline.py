"""12345 work orders from CSV and Excel exports in a watched drop folder."""

from __future__ import annotations

import csv
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from collectors.config import SourceConfig
from tests.collectors.conftest import collect, published
from yuqing.events import Reply
from yuqing.timeutil import TZ

HEADER = ["工单编号", "标题", "诉求内容", "受理时间", "诉求类型", "办理结果", "办结时间", "承办单位"]


def rows(posts: list[dict[str, Any]], start: int = 1, replies: bool = True) -> list[list[str]]:
    return [
        [
            f"GD2026{start + i:06d}",
            p["title"],
            p["content"],
            p["published"],
            "投诉",
            (p.get("reply") or "") if replies else "",
            (p.get("replied_at") or "") if replies else "",
            "县住建局",
        ]
        for i, p in enumerate(posts)
    ]


def write_csv(path: Path, data: list[list[str]], encoding: str = "utf-8-sig", header: list[str] = HEADER) -> None:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows([header, *data])


def cfg(path: Path, **kw: Any) -> SourceConfig:
    return SourceConfig(id="h12345", kind="hotline", name="12345", path=str(path), **{"settle_seconds": 0, **kw})


def test_csv_export(tmp_path, posts) -> None:
    f = tmp_path / "export.csv"
    write_csv(f, rows(posts[:3]))
    report = collect(cfg(f))
    assert report.problems == []
    assert [p.id for p in report.posts] == ["h12345:GD2026000001", "h12345:GD2026000002", "h12345:GD2026000003"]
    p, src = report.posts[0], posts[0]
    assert (p.title, p.content, p.raw) == (
        src["title"],
        src["content"],
        {"file": "export.csv", "line": 2, "category": "投诉", "unit": "县住建局"},
    )
    assert p.reply == Reply(content=src["reply"], organization="县住建局", replied_at=p.reply.replied_at)  # type: ignore[union-attr]


def test_gbk_csv_and_custom_columns(tmp_path, posts) -> None:
    f = tmp_path / "export.csv"
    header = ["编号", "主题", "内容", "来电时间", "类别", "回复", "回复时间", "部门"]
    write_csv(f, rows(posts[:2]), encoding="gb18030", header=header)
    columns = {
        "id": "编号",
        "title": "主题",
        "content": "内容",
        "published": "来电时间",
        "category": "类别",
        "reply": "回复",
        "replied_at": "回复时间",
        "unit": "部门",
    }
    report = collect(cfg(f, columns=columns))
    assert [p.content for p in report.posts] == [p["content"] for p in posts[:2]]


def test_excel_export_with_title_row_numeric_ids_and_dates(tmp_path, posts) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["某县12345热线工单导出（2021年3月）"])
    ws.append(HEADER)
    ws.append([202103020001, posts[0]["title"], posts[0]["content"], datetime(2021, 3, 2, 9, 30), "咨询", None, None, "县教育局"])
    ws.append([None, None, None, None, None, None, None, None])
    ws.append(
        [202103020002.0, posts[1]["title"], posts[1]["content"], "2021/3/2 10:05:00", "投诉", "已处理", datetime(2021, 3, 5), "县教育局"]
    )
    wb.save(tmp_path / "export.xlsx")
    report = collect(cfg(tmp_path / "export.xlsx"))
    assert report.problems == []
    a, b = report.posts
    assert (a.id, b.id) == ("h12345:202103020001", "h12345:202103020002")
    assert a.published_at == datetime(2021, 3, 2, 9, 30, tzinfo=TZ) and a.reply is None
    assert b.reply == Reply(content="已处理", organization="县教育局", replied_at=datetime(2021, 3, 5, tzinfo=TZ))
    assert b.raw["line"] == 5


def test_drop_folder_is_idempotent_and_reads_only_changes(tmp_path, posts, bus, state) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(drop / "a.csv", rows(posts[:3], replies=False))
    first = collect(cfg(drop), bus, state)
    assert first.published == 3
    assert collect(cfg(drop), bus, state).fetched == 0  # unchanged file: not even read
    # The same export copied under another name is recognised by its hash.
    shutil.copy(drop / "a.csv", drop / "a (copy).csv")
    assert collect(cfg(drop), bus, state).fetched == 0
    # A later export repeats two orders, one now closed with a reply, and adds a new one.
    later = rows(posts[:3], replies=False)[1:] + rows(posts[3:4], start=4)
    later[0][5], later[0][6] = "已协调施工方整改。", "2021-03-09 10:00:00"
    write_csv(drop / "b.csv", later)
    third = collect(cfg(drop), bus, state)
    assert (third.fetched, third.published, third.updated, third.duplicates) == (3, 1, 1, 1)
    ids = [m["id"] for m in published(bus)]
    assert ids.count("h12345:GD2026000002") == 2 and len(ids) == 5
    # An edited file is read again; orders already published are not published again.
    with open(drop / "a.csv", "a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow(rows(posts[5:6], start=6)[0])
    fourth = collect(cfg(drop), bus, state)
    assert (fourth.published, fourth.duplicates) == (1, 3)


def test_drop_folder_waits_for_files_still_being_written(tmp_path, posts) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(drop / "new.csv", rows(posts[:2]))
    assert collect(cfg(drop, settle_seconds=3600)).fetched == 0
    old = os.stat(drop / "new.csv").st_mtime - 7200
    os.utime(drop / "new.csv", (old, old))
    assert collect(cfg(drop, settle_seconds=3600)).fetched == 2


def test_bad_files_and_rows_are_reported_and_others_read(tmp_path, posts, caplog) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(
        drop / "a.csv",
        [*rows(posts[:1]), ["GD1", "无内容", "", "2021-03-02", "", "", "", ""], ["GD2", "t", "内容", "明年", "", "", "", ""]],
    )
    write_csv(drop / "b.csv", rows(posts[1:2]), header=["编号", "内容"])
    (drop / "c.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    (drop / "~$a.xlsx").write_bytes(b"lock file")
    report = collect(cfg(drop))
    assert [p.id for p in report.posts] == ["h12345:GD2026000001", "h12345:GD2"]
    assert report.problems == [
        "a.csv:3: no work-order number or no content, skipped",
        "a.csv:4 (order GD2): unparsable date '明年', using the collection time",
        "b.csv: no header row with the work-order column '工单编号' in the first 10 rows",
        "c.xlsx: not a valid .xlsx file (BadZipFile: File is not a zip file)",
    ]
    assert [r.getMessage() for r in caplog.records if r.name == "yuqing.collectors"][:4] == [f"source h12345: {m}" for m in report.problems]


def test_missing_file_is_a_source_error(tmp_path) -> None:
    report = collect(cfg(tmp_path / "nope.csv"))
    assert report.error == f"source h12345: {tmp_path / 'nope.csv'} does not exist"
