"""Word -> PDF with LibreOffice (``soffice --headless --convert-to pdf``) in a subprocess.

Each conversion gets its own throw-away LibreOffice profile (``-env:UserInstallation``): two
soffice processes sharing a profile collide (the second hands its work to the first or fails),
and the scheduled job and a staff member's ``yuqing brief`` may convert at the same time.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from briefings.model import BriefingError


def find_soffice(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise BriefingError(
            f"未找到 LibreOffice 程序“{program}”，无法生成 PDF（Debian/Ubuntu：apt-get install libreoffice-writer-nogui；"
            f"或在 ledger.briefing.soffice 中写明其路径；只要 Word 版可用 --no-pdf）"
        )
    return path


def to_pdf(docx: Path, *, soffice: str = "soffice", timeout: float = 120.0) -> Path:
    """Convert ``docx`` to a PDF beside it; returns the PDF's path."""
    program = find_soffice(soffice)
    out_dir = docx.resolve().parent
    target = out_dir / f"{docx.stem}.pdf"
    target.unlink(missing_ok=True)  # so that an old PDF is never taken for this conversion's
    with tempfile.TemporaryDirectory(prefix="yuqing-soffice-") as profile:
        cmd = [
            program,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out_dir),
            str(docx.resolve()),
        ]
        # Its own process group, so that a hung conversion is ended with every process it started
        # (soffice runs soffice.bin as a child).
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise BriefingError(f"LibreOffice 转换 PDF 超时（{timeout:g} 秒，见 ledger.briefing.pdf_timeout_seconds）：{docx}") from None
    if proc.returncode != 0 or not target.exists() or target.stat().st_size == 0:
        detail = (err or out).decode("utf-8", "replace").strip()[-500:]
        raise BriefingError(f"LibreOffice 转换 PDF 失败（退出码 {proc.returncode}）：{docx}" + (f"：{detail}" if detail else ""))
    return target
