/* A run's page: the metric against one parameter (mean, and the band from the lowest to
   the highest pass), drawn with uPlot from the figures table the server rendered; and the
   page's selects, which apply as soon as they change. */
(() => {
  "use strict";

  function points(figure) {
    const rows = [...document.querySelectorAll(`#${figure.dataset.sensitivity} [data-point]`)];
    const numbers = (key) => rows.map((row) => Number(row.dataset[key]));
    return {
      labels: rows.map((row) => row.dataset.x),
      mean: numbers("mean"),
      low: numbers("min"),
      high: numbers("max"),
    };
  }

  /** The x scale: a little room either side, and some width for a single value. */
  function padded(u, min, max) {
    const room = min === max ? 1 : (max - min) * 0.05;
    return [min - room, max + room];
  }

  function sensitivityChart(figure) {
    const charts = window.backtestdb.charts;
    const box = figure.querySelector("[data-chart]");
    const status = figure.querySelector("[data-chart-status]");
    const data = points(figure);
    const numeric = figure.dataset.numeric === "true";
    // Text values (and booleans) stand at 0, 1, 2… with their own labels.
    const xs = numeric ? data.labels.map(Number) : data.labels.map((_, i) => i);
    const name = (v) => (numeric ? String(v) : data.labels[v] ?? "");
    const line = charts.colour("--accent");
    const format = (u, v) => (v == null ? "—" : charts.money.format(v));
    const edge = { stroke: line, width: 1, dash: [4, 4], value: format, points: { show: false } };
    const text =
      `${xs.length} value${xs.length === 1 ? "" : "s"} of ${figure.dataset.parameter}: the mean ${figure.dataset.metric.toLowerCase()}, ` +
      "and the band from the lowest to the highest pass.";
    const plot = new uPlot(
      {
        width: box.clientWidth,
        height: charts.HEIGHT,
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false, range: padded } },
        series: [
          { label: figure.dataset.parameter, value: (u, v) => (v == null ? "—" : name(v)) },
          { label: "Highest", ...edge },
          { label: `Mean ${figure.dataset.metric}`, stroke: line, width: 2, value: format, points: { show: true, size: 8 } },
          { label: "Lowest", ...edge },
        ],
        bands: [{ series: [1, 3], fill: charts.colour("--grid") }],
        axes: [
          // A tick at each value the passes hold, unless there are too many to read.
          charts.axis(!numeric || xs.length <= 12 ? { splits: () => xs, values: (u, splits) => splits.map(name) } : {}),
          charts.axis({ size: 70, values: (u, vals) => vals.map((v) => charts.short.format(v)) }),
        ],
        hooks: { draw: [charts.drawn(figure, status, text)] },
      },
      [xs, data.high, data.mean, data.low],
      box,
    );
    charts.fitWidth(box, plot);
  }

  /* A select of these forms applies at once (the submit button stays for keyboards and
     for pages without scripts). */
  document.addEventListener("change", (event) => {
    const form = event.target.closest("form[data-autosubmit]");
    if (form && event.target.matches("select")) form.requestSubmit();
  });

  function start() {
    const figure = document.querySelector("figure[data-sensitivity]");
    if (figure) sensitivityChart(figure);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
