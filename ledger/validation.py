"""Validation errors in Chinese, safe to send back.

pydantic's own errors are English, echo the whole input (megabytes, maybe) and may carry exception
objects that cannot be turned into JSON. ``describe_errors`` keeps where (``loc``, ``field``) and
what (``type``) and says it in Chinese (``msg``), with no input in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FIELD_LABELS = {
    "title": "标题",
    "summary": "摘要",
    "source": "来源",
    "source_ref": "原始编号",
    "case_type": "类型",
    "topic": "主题",
    "risk_level": "风险等级",
    "region": "地区",
    "event_id": "事件编号",
    "alert_id": "预警编号",
    "post_ids": "原帖编号",
    "post_urls": "原帖链接",
    "petitioner": "诉求人",
    "petitioner_phone": "联系电话",
    "unit_id": "单位",
    "co_unit_ids": "协办单位",
    "time_limit_days": "办理时限",
    "action": "操作",
    "version": "版本",
    "note": "说明",
    "response": "回应内容",
    "extension_days": "延期工作日数",
    "fields": "修改的字段",
    "content": "承诺内容",
    "due_at": "承诺时限",
    "due_workdays": "承诺工作日数",
    "fulfilment": "落实情况",
    "evidence_links": "佐证材料链接",
    "disclosure_channel": "公开渠道",
    "disclosure_url": "公开链接",
    "revisit_result": "回访情况",
    "satisfaction": "满意度",
    "limit": "每页条数",
    "offset": "起始位置",
    "q": "搜索词",
}


def field_name(loc: Sequence[Any]) -> str:
    """The Chinese name of the field at ``loc`` (without the "body"/"query" prefix), item numbers as 第 N 项."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    out = []
    for p in parts:
        if isinstance(p, int):
            out.append(f"第 {p + 1} 项")
        else:
            out.append(FIELD_LABELS.get(str(p), str(p)[:40]))
    return "".join(out[:1]) + "".join(f"（{x}）" for x in out[1:]) if out else "请求内容"


def message(err: Mapping[str, Any]) -> str:
    """One error in Chinese: the field's name and what is wrong with it."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    name = field_name(err.get("loc", ()))
    if kind == "url_scheme":  # ledger.urls: its message is Chinese already and names the link
        return f"{name}：{err.get('msg', '')}"
    templates = {
        "missing": "必须填写",
        "string_too_short": "不能为空" if ctx.get("min_length") == 1 else "至少 {min_length} 个字符",
        "string_too_long": "最多 {max_length} 个字符",
        "too_short": "至少 {min_length} 项",
        "too_long": "最多 {max_length} 项",
        "int_parsing": "须为整数",
        "int_type": "须为整数",
        "int_from_float": "须为整数",
        "bool_parsing": "须为是或否",
        "bool_type": "须为是或否",
        "string_type": "须为文字",
        "list_type": "须为列表",
        "dict_type": "须为键值对",
        "greater_than_equal": "不能小于 {ge}",
        "greater_than": "须大于 {gt}",
        "less_than_equal": "不能大于 {le}",
        "less_than": "须小于 {lt}",
        "literal_error": "须为以下之一：{expected}",
        "enum": "须为以下之一：{expected}",
        "extra_forbidden": "不是可以提交的字段",
        "datetime_parsing": "日期时间格式不对（例如 2026-12-31T18:00:00+08:00）",
        "datetime_from_date_parsing": "日期时间格式不对（例如 2026-12-31T18:00:00+08:00）",
        "timezone_aware": "须带时区（例如 +08:00）",
        "json_invalid": "不是有效的 JSON",
        "model_attributes_type": "格式不对",
        "model_type": "格式不对",
        "value_error": "取值不对",
    }
    text = templates.get(kind, "格式不对")
    try:
        text = text.format(**{k: str(v)[:100] for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):
        pass
    return f"{name}：{text}"


def describe_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in errors[:20]:
        loc = [p if isinstance(p, int) else str(p)[:60] for p in err.get("loc", ())][:6]
        out.append({"loc": loc, "field": field_name(loc), "type": str(err.get("type", ""))[:40], "msg": message(err)})
    return out
