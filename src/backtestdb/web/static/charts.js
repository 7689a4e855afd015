/* Equity charts with uPlot (vendored): one backtest's balance and drawdown, or several
   backtests' curves overlaid. Data comes from the JSON API's downsampled /equity. */
(() => {
  "use strict";
  const HEIGHT = 360;

  function colour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  const money = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  const short = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

  async function getJSON(url) {
    const response = await fetch(url, {
      headers: { Accept: "application/json", ...window.backtestdb.apiHeaders() },
    });
    if (!response.ok) throw new Error(await window.backtestdb.errorText(response));
    return response.json();
  }

  /** Twice the chart's width in points (at most the API's 10,000): each pixel keeps its
      high and low, so nothing visible is lost to downsampling. */
  function pointsFor(box) {
    return Math.min(10000, Math.max(200, Math.round((box.clientWidth || 800) * 2)));
  }

  /** Seconds since the epoch for uPlot; the first point may lack a time (use the next). */
  function times(points) {
    const xs = points.map((p) => (p.time ? Date.parse(p.time) / 1000 : null));
    const first = xs.find((x) => x !== null) ?? 0;
    let last = first;
    return xs.map((x) => (last = x === null ? last : Math.max(x, last)));
  }

  function axis(extra) {
    return {
      stroke: colour("--muted"),
      grid: { stroke: colour("--grid"), width: 1 },
      ticks: { stroke: colour("--grid"), width: 1 },
      ...extra,
    };
  }

  /** Zoom buttons next to a chart (drag to zoom and double-click to reset work too). */
  function wireZoom(root, plot, full) {
    for (const button of root.querySelectorAll("[data-zoom]")) {
      button.onclick = () => {
        const { min, max } = plot.scales.x;
        const [lo, hi] = full();
        const mid = (min + max) / 2;
        const half = (max - min) / 2;
        if (button.dataset.zoom === "in") plot.setScale("x", { min: mid - half / 2, max: mid + half / 2 });
        if (button.dataset.zoom === "out")
          plot.setScale("x", { min: Math.max(lo, mid - half * 2), max: Math.min(hi, mid + half * 2) });
        if (button.dataset.zoom === "reset") plot.setScale("x", { min: lo, max: hi });
      };
    }
  }

  function fitWidth(box, plot) {
    new ResizeObserver(() => plot.setSize({ width: box.clientWidth, height: HEIGHT })).observe(box);
  }

  function drawn(figure, status, text) {
    return (u) => {
      if (figure.dataset.drawn) return;
      figure.dataset.drawn = "true";
      window.backtestdb.chartDrawnAt = performance.now();
      status.textContent = text;
    };
  }

  async function equityChart(figure) {
    const box = figure.querySelector("[data-chart]");
    const status = figure.querySelector("[data-chart-status]");
    let data;
    try {
      data = await getJSON(`${figure.dataset.equity}?points=${pointsFor(box)}`);
    } catch (error) {
      status.textContent = `Could not load the equity curve: ${error.message}`;
      return;
    }
    if (data.points.length < 2) {
      status.textContent = "No trades: nothing to draw.";
      return;
    }
    const xs = times(data.points);
    const balance = data.points.map((p) => p.balance);
    const drawdown = data.points.map((p) => -p.drawdown_percent);
    const line = colour("--accent");
    const loss = colour("--neg");
    const text =
      `${data.total_points.toLocaleString()} points, ${data.points.length.toLocaleString()} drawn; ` +
      `max drawdown ${money.format(data.max_drawdown)} (${data.max_drawdown_percent} %). ` +
      "Drag to zoom, double-click to reset.";
    const plot = new uPlot(
      {
        width: box.clientWidth,
        height: HEIGHT,
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true }, pct: { range: (u, min) => [Math.min(min * 1.1, -1), 0] } },
        series: [
          { label: "Time (UTC)" },
          { label: "Balance", scale: "$", stroke: line, width: 1.5, value: (u, v) => (v == null ? "—" : money.format(v)) },
          {
            label: "Drawdown %",
            scale: "pct",
            stroke: loss,
            fill: colour("--neg-fill"),
            width: 1,
            value: (u, v) => (v == null ? "—" : `${v.toFixed(2)} %`),
          },
        ],
        axes: [
          axis({}),
          axis({ scale: "$", size: 70, values: (u, vals) => vals.map((v) => short.format(v)) }),
          axis({ scale: "pct", side: 1, size: 60, grid: { show: false }, values: (u, vals) => vals.map((v) => `${v} %`) }),
        ],
        hooks: { draw: [drawn(figure, status, text)] },
      },
      [xs, balance, drawdown],
      box,
    );
    wireZoom(figure.closest("section") || document, plot, () => [xs[0], xs[xs.length - 1]]);
    fitWidth(box, plot);
  }

  async function compareChart(figure) {
    const box = figure.querySelector("[data-chart]");
    const status = figure.querySelector("[data-chart-status]");
    const sources = [...document.querySelectorAll("[data-series]")];
    const points = Math.min(4000, pointsFor(box));
    let curves;
    try {
      curves = await Promise.all(sources.map((s) => getJSON(`${s.dataset.equity}?points=${points}`)));
    } catch (error) {
      status.textContent = `Could not load the equity curves: ${error.message}`;
      return;
    }
    const select = document.querySelector("[data-compare-scale]");
    let plot = null;
    const draw = () => {
      const asReturn = !select || select.value === "return";
      const tables = curves.map((curve) => {
        const xs = times(curve.points);
        const start = curve.initial_balance || 1;
        const ys = curve.points.map((p) => (asReturn ? (p.balance / start - 1) * 100 : p.balance));
        // uPlot.join needs strictly increasing x: keep the last point of equal times.
        const keepX = [];
        const keepY = [];
        xs.forEach((x, i) => {
          if (keepX.length && keepX[keepX.length - 1] === x) keepY[keepY.length - 1] = ys[i];
          else { keepX.push(x); keepY.push(ys[i]); }
        });
        return [keepX, keepY];
      });
      const data = uPlot.join(tables);
      const format = (v) => (v == null ? "—" : asReturn ? `${v.toFixed(2)} %` : money.format(v));
      const series = [{ label: "Time (UTC)" }].concat(
        sources.map((s, i) => ({
          label: s.dataset.name,
          stroke: colour(`--series-${i % 10}`),
          width: 1.5,
          spanGaps: true,
          value: (u, v) => format(v),
        })),
      );
      plot?.destroy();
      delete figure.dataset.drawn;
      plot = new uPlot(
        {
          width: box.clientWidth,
          height: HEIGHT,
          cursor: { drag: { x: true, y: false } },
          scales: { x: { time: true } },
          series,
          axes: [axis({}), axis({ size: 70, values: (u, vals) => vals.map((v) => (asReturn ? `${v} %` : short.format(v))) })],
          hooks: {
            draw: [drawn(figure, status, `${curves.length} backtests. Drag to zoom, double-click to reset.`)],
          },
        },
        data,
        box,
      );
      const xs = data[0];
      wireZoom(figure.closest("section") || document, plot, () => [xs[0], xs[xs.length - 1]]);
    };
    draw();
    select?.addEventListener("change", draw);
    new ResizeObserver(() => plot?.setSize({ width: box.clientWidth, height: HEIGHT })).observe(box);
  }

  // The other charts of the dashboard (runs.js) draw with the same colours, axes and sizing.
  window.backtestdb.charts = { HEIGHT, colour, axis, fitWidth, drawn, money, short };

  function start() {
    const single = document.querySelector("figure[data-equity]");
    if (single) equityChart(single);
    const overlay = document.getElementById("compare-chart");
    if (overlay) compareChart(overlay);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
