// o2c web app: small progressive enhancements (every form works without this file).
(function () {
  "use strict";

  function cents(text) {
    // A decimal string to integer hundredths of a cent (exact enough for a running hint;
    // the server checks the entry exactly and refuses an unbalanced one).
    const m = /^\s*(\d{0,13})(?:\.(\d{0,4}))?\s*$/.exec(text || "");
    if (!m || (m[1] === "" && !m[2])) { return 0; }
    return parseInt(m[1] || "0", 10) * 10000 + parseInt(((m[2] || "") + "0000").slice(0, 4), 10);
  }

  function runningDifference(form) {
    const out = form.querySelector("[data-difference]");
    if (!out) { return; }
    let debit = 0, credit = 0;
    form.querySelectorAll("input[name=debit]").forEach(function (i) { debit += cents(i.value); });
    form.querySelectorAll("input[name=credit]").forEach(function (i) { credit += cents(i.value); });
    const diff = debit - credit;
    const abs = Math.abs(diff);
    const text = Math.floor(abs / 10000) + "." + String(abs % 10000).padStart(4, "0").slice(0, 2);
    out.textContent = diff === 0 ? "Balanced (difference 0.00)" :
      "Difference " + (diff > 0 ? "debit " : "credit ") + text + ": not balanced";
    out.className = "diff " + (diff === 0 ? "ok" : "bad");
    const post = form.querySelector("button[type=submit]");
    if (post) { post.setAttribute("aria-describedby", out.id); }
  }

  function charts(root) {
    if (typeof window.Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      canvas.dataset.drawn = "1";
      const spec = JSON.parse(canvas.dataset.chart);
      new window.Chart(canvas, {
        type: "bar",
        data: { labels: spec.labels, datasets: spec.datasets },
        options: { indexAxis: "y", animation: false, responsive: true,
                   plugins: { legend: { display: spec.datasets.length > 1 } } }
      });
    });
  }

  function setUp(root) {
    root.querySelectorAll("form[data-journal]").forEach(function (form) {
      form.addEventListener("input", function () { runningDifference(form); });
      runningDifference(form);
    });
    charts(root);
  }

  function forgetNotice() {
    // The "done" message belongs to one visit: a reload or a bookmark should not repeat it.
    const url = new URL(window.location.href);
    if (url.searchParams.has("done")) {
      url.searchParams.delete("done");
      window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
    }
  }

  document.addEventListener("DOMContentLoaded", function () { forgetNotice(); setUp(document); });
  document.addEventListener("htmx:afterSettle", function (e) { setUp(e.target); });
})();
