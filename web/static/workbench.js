/* Charts of the 监测工作台, drawn by ECharts (vendor/echarts.min.js) from the JSON endpoints named
   in each chart's data-src. No inline script (CSP): this file finds the [data-chart] elements. */
(function () {
  "use strict";
  var font = window.getComputedStyle(document.body).fontFamily;
  var RED = "#b71c1c", GREY = "#90a4ae", ORANGE = "#ef6c00";

  function base() {
    return {
      textStyle: { fontFamily: font },
      tooltip: { trigger: "axis", textStyle: { fontFamily: font } },
      legend: { top: 0, textStyle: { fontFamily: font } },
      grid: { left: 48, right: 48, top: 32, bottom: 40 },
      animation: false
    };
  }

  function volume(d) {
    var o = base();
    o.xAxis = { type: "category", data: d.labels, axisLabel: { fontFamily: font } };
    o.yAxis = [
      { type: "value", name: "帖子", minInterval: 1, nameTextStyle: { fontFamily: font } },
      { type: "value", name: "负面占比%", min: 0, max: 100, nameTextStyle: { fontFamily: font } }
    ];
    o.series = [
      { name: "帖子", type: "bar", data: d.posts, itemStyle: { color: GREY } },
      { name: "负面", type: "bar", data: d.negative, itemStyle: { color: RED } },
      { name: "负面占比", type: "line", yAxisIndex: 1, data: d.share, itemStyle: { color: ORANGE }, connectNulls: true }
    ];
    return o;
  }

  function towns(d) {
    var o = volume(d);
    o.grid.bottom = 70;
    o.xAxis.axisLabel = { interval: 0, rotate: 35, fontFamily: font };
    return o;
  }

  function event(d) {
    var o = base();
    o.xAxis = { type: "category", data: d.labels, axisLabel: { fontFamily: font } };
    o.yAxis = { type: "value", name: "帖子", minInterval: 1, nameTextStyle: { fontFamily: font } };
    o.series = [
      { name: "帖子", type: "line", data: d.posts, itemStyle: { color: GREY }, areaStyle: { opacity: 0.2 } },
      { name: "负面", type: "line", data: d.negative, itemStyle: { color: RED } }
    ];
    return o;
  }

  var KINDS = { volume: volume, towns: towns, event: event };

  function draw(el) {
    var kind = KINDS[el.getAttribute("data-chart")];
    if (!kind || !window.echarts) { return; }
    fetch(el.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (d) {
        var chart = window.echarts.init(el, null, { renderer: "canvas" });
        chart.setOption(kind(d));
        el.setAttribute("data-drawn", "1");
        window.addEventListener("resize", function () { chart.resize(); });
      })
      .catch(function () { el.textContent = "图表数据加载失败，请刷新页面重试"; el.classList.add("muted"); });
  }

  document.querySelectorAll("[data-chart]").forEach(draw);
})();
