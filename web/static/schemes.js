// 监测方案 pages: refresh the progress of the background re-tagging (#backfill) from
// GET /api/v1/schemes/backfill until it has finished. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var box = document.getElementById("backfill");
  if (!box) return;
  var bar = document.getElementById("backfill-bar");
  var text = document.getElementById("backfill-text");

  function describe(b) {
    if (b.state === "finished") return "已完成：" + b.done + " 条历史信息已按当前方案打标签（其中 " + b.written + " 条标签有变化）";
    if (b.state === "running") return "进行中：" + b.done + " / " + b.total + " 条";
    if (b.state === "failed") return "暂停（将自动重试）：" + b.error;
    if (b.state === "no_store") return "未连接信息库，无法为历史信息打标签（新信息仍由处理流程打标签）";
    return "等待开始（处理流程载入新方案后即开始）";
  }

  function poll() {
    fetch("/api/v1/schemes/backfill", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        var b = body && body.backfill;
        if (!b) return setTimeout(poll, 5000);
        box.dataset.state = b.state;
        box.dataset.revision = String(b.revision);
        bar.value = b.percent;
        bar.textContent = b.percent + "%";
        text.textContent = describe(b);
        if (b.state !== "finished" && b.state !== "idle" && b.state !== "no_store") setTimeout(poll, b.state === "failed" ? 5000 : 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }

  if (box.dataset.state !== "finished" && box.dataset.state !== "no_store") setTimeout(poll, 500);
})();
