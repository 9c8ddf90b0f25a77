/* Live progress on the operation detail page: polls the admin's progress JSON every ~2 s
   while the operation runs and updates the numbers in place (no reload). */
"use strict";
(function () {
  function start() {
    const box = document.getElementById("importops-progress");
    if (!box || box.dataset.running !== "true") return;
    const url = box.dataset.url;
    const field = (name) => box.querySelector('[data-field="' + name + '"]');
    const text = (name, value) => {
      const el = field(name);
      if (el) el.textContent = value === null || value === undefined ? "—" : String(value);
    };

    async function poll() {
      let data;
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return schedule();
        data = await response.json();
      } catch (error) {
        return schedule();
      }
      ["completed", "error", "total", "percent", "rate", "status", "stateLabel"].forEach((k) => text(k, data[k]));
      text("eta", data.eta === null ? null : data.eta + " s");
      field("bar").style.width = data.percent + "%";
      const badge = field("stateLabel");
      badge.className = "importops-badge importops-" + data.state;
      if (data.failureReason) {
        text("failureReason", data.failureReason);
        box.querySelector(".importops-failure").hidden = false;
      }
      if (data.running) return schedule();
      box.dataset.running = "false";
      const abort = document.getElementById("importops-abort");
      if (abort) abort.parentElement.remove();
    }

    function schedule() {
      window.setTimeout(poll, 2000);
    }
    schedule();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
