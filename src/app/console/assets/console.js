// sentinel-dock console: the little the pages need. No inline script (the CSP forbids it).
"use strict";

// Dock page: the cards follow the daemon's status, pushed as server-sent events.
(function dockLive() {
  const cards = document.getElementById("cards");
  if (!cards || !window.EventSource) return;
  const source = new EventSource("/dock/events");
  source.addEventListener("cards", function (e) { cards.innerHTML = e.data; });
})();

// Recording page: the GPS marker follows the playback time.
(function trackMarker() {
  const video = document.querySelector("video[data-recording]");
  const svg = document.querySelector("svg.track");
  if (!video || !svg) return;
  const marker = svg.querySelector("circle.marker");
  const points = Array.from(svg.querySelectorAll("g.points > g")).map(function (g) {
    return { t: Number(g.dataset.t), x: g.dataset.x, y: g.dataset.y };
  });
  if (!marker || points.length === 0) return;
  video.addEventListener("timeupdate", function () {
    let chosen = points[0];
    for (const p of points) { if (p.t <= video.currentTime) chosen = p; else break; }
    marker.setAttribute("cx", chosen.x);
    marker.setAttribute("cy", chosen.y);
  });
})();

// Extraction form: only the chosen purpose's fields show; the others are disabled, so
// that their `required` does not stop the form (the server checks each purpose's own).
(function purposeFields() {
  const select = document.querySelector("#extract select[name=purpose]");
  if (!select) return;
  const sets = document.querySelectorAll("#extract fieldset[data-purpose]");
  function show() {
    const want = select.value === "" ? "" : (select.value === "judicial" ? "judicial" : "other");
    sets.forEach(function (set) {
      const on = set.dataset.purpose === want;
      set.hidden = !on;
      set.disabled = !on;
    });
  }
  select.addEventListener("change", show);
  show();
})();
