"""Evidence uploads: checked for size and for type by content, not by the name the browser sends.

A file is accepted only when its extension is allowed *and* its first bytes are what that
extension promises (a renamed executable named ``photo.jpg`` is refused).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePath

from ledger.errors import InvalidInput


def _zip_with(member_prefix: str) -> Callable[[bytes], bool]:
    def check(data: bytes) -> bool:
        if not data.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(BytesIO(data)) as z:
                return any(n.startswith(member_prefix) for n in z.namelist())
        except zipfile.BadZipFile:
            return False

    return check


def _text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


SNIFFERS: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "pdf": ("application/pdf", lambda d: d.startswith(b"%PDF-")),
    "png": ("image/png", lambda d: d.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", lambda d: d.startswith(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", lambda d: d.startswith(b"\xff\xd8\xff")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _zip_with("word/")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _zip_with("xl/")),
    "txt": ("text/plain; charset=utf-8", _text),
}


@dataclass(frozen=True)
class CheckedUpload:
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_upload(filename: str, data: bytes, *, allowed: list[str], max_bytes: int) -> CheckedUpload:
    """Raise InvalidInput (naming the file) unless the upload is an allowed, well-formed type within the size limit."""
    name = PurePath(filename.replace("\\", "/")).name.strip() or "附件"
    if len(data) > max_bytes:
        raise InvalidInput(f"附件「{name}」超过大小上限 {max_bytes // 1024} KB", field="files")
    if not data:
        raise InvalidInput(f"附件「{name}」是空文件", field="files")
    ext = PurePath(name).suffix.lower().lstrip(".")
    if ext not in allowed or ext not in SNIFFERS:
        raise InvalidInput(f"附件「{name}」的类型不允许（允许：{'、'.join(allowed)}）", field="files")
    content_type, sniff = SNIFFERS[ext]
    if not sniff(data):
        raise InvalidInput(f"附件「{name}」的内容与扩展名 .{ext} 不符", field="files")
    return CheckedUpload(filename=name, content_type=content_type, data=data)
