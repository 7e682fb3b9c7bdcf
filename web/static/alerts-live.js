/* The alert inbox, live: new alerts arrive as server-sent events from /alerts/stream and are added
   to the top of the list without a reload (text only: textContent, never HTML from the wire).
   Also: the "select all" box of bulk acknowledgement. */
(function () {
  "use strict";
  var table = document.getElementById("alerts");
  var badge = document.getElementById("live-status");
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=alert_id][form=bulk]").forEach(function (box) { box.checked = all.checked; });
    });
  }
  if (!table || !window.EventSource) { return; }
  var status = table.getAttribute("data-status") || "";
  var severity = table.getAttribute("data-severity") || "";
  var rule = table.getAttribute("data-rule") || "";
  var canAct = table.getAttribute("data-can-act") === "1";
  var OPEN = { pending: 1, firing: 1, acknowledged: 1 };

  function wanted(a) {
    if (severity && a.severity !== severity) { return false; }
    if (rule && a.rule !== rule) { return false; }
    if (status === "open") { return a.status in OPEN; }
    return !status || a.status === status;
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    if (text !== null) { td.textContent = text; }
    tr.appendChild(td);
    return td;
  }

  function badgeSpan(text, cls) {
    var s = document.createElement("span");
    s.className = "badge " + cls;
    s.textContent = text;
    return s;
  }

  function add(a) {
    if (!wanted(a) || table.querySelector("tr[data-alert='" + a.id + "']")) { return; }
    var tbody = table.tBodies[0];
    var empty = tbody.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    var tr = document.createElement("tr");
    tr.setAttribute("data-alert", a.id);
    tr.className = "sev-" + a.severity + " fresh";
    if (canAct) {
      var td = cell(tr, null);
      if (a.status === "pending" || a.status === "firing") {
        var box = document.createElement("input");
        box.type = "checkbox"; box.name = "alert_id"; box.value = a.id; box.setAttribute("form", "bulk");
        box.setAttribute("aria-label", "选择");
        td.appendChild(box);
      }
    }
    cell(tr, a.time, "nowrap");
    cell(tr, null, "nowrap").appendChild(badgeSpan(a.severity, "sev-" + a.severity));
    cell(tr, a.rule, "text");
    var link = document.createElement("a");
    link.href = "/alerts/" + encodeURIComponent(a.id);
    link.textContent = a.title;
    cell(tr, null, "text").appendChild(link);
    cell(tr, a.post_count + "（负面 " + a.negative_count + "）", "nowrap");
    cell(tr, a.last_seen, "nowrap");
    cell(tr, null, "nowrap").appendChild(badgeSpan(a.status_zh, "a-" + a.status));
    cell(tr, "—");
    tbody.insertBefore(tr, tbody.firstChild);
  }

  var source = new EventSource(table.getAttribute("data-live"));
  source.addEventListener("open", function () { if (badge) { badge.classList.add("on"); badge.textContent = "实时"; } });
  source.addEventListener("error", function () { if (badge) { badge.classList.remove("on"); badge.textContent = "重连中"; } });
  source.addEventListener("alert", function (e) { add(JSON.parse(e.data)); });
})();
