/* One trade's stop-loss (and take-profit) at each of its events, with uPlot (vendored).
   Data comes from the JSON API's /trades/{number}/events. */
(() => {
  "use strict";
  const HEIGHT = 360;
  const price = new Intl.NumberFormat(undefined, { maximumFractionDigits: 8 });

  function colour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function axis(extra) {
    return {
      stroke: colour("--muted"),
      grid: { stroke: colour("--grid"), width: 1 },
      ticks: { stroke: colour("--grid"), width: 1 },
      ...extra,
    };
  }

  async function stopLossChart(figure) {
    const box = figure.querySelector("[data-chart]");
    const status = figure.querySelector("[data-chart-status]");
    let events;
    try {
      const response = await fetch(figure.dataset.tradeEvents, {
        headers: { Accept: "application/json", ...window.backtestdb.apiHeaders() },
      });
      if (!response.ok) throw new Error(await window.backtestdb.errorText(response));
      events = (await response.json()).items;
    } catch (error) {
      status.textContent = `Could not load the events: ${error.message}`;
      return;
    }
    const xs = events.map((e) => Date.parse(e.time) / 1000);
    const value = (u, v) => (v == null ? "—" : price.format(v));
    // A stop holds from its event until the next one: steps, not slopes.
    const steps = uPlot.paths.stepped({ align: 1 });
    const plot = new uPlot(
      {
        width: box.clientWidth,
        height: HEIGHT,
        scales: { x: { time: true } },
        series: [
          { label: "Time (UTC)" },
          { label: "S/L", stroke: colour("--neg"), width: 2, paths: steps, points: { show: true }, value },
          {
            label: "T/P",
            stroke: colour("--accent"),
            width: 1,
            dash: [4, 4],
            paths: steps,
            points: { show: true },
            value,
          },
        ],
        axes: [axis({}), axis({ size: 80, values: (u, vals) => vals.map((v) => price.format(v)) })],
        hooks: {
          draw: [
            () => {
              if (figure.dataset.drawn) return;
              figure.dataset.drawn = "true";
              status.textContent = `${events.length} events. S/L solid, T/P dashed.`;
            },
          ],
        },
      },
      [xs, events.map((e) => e.stop_loss), events.map((e) => e.take_profit)],
      box,
    );
    new ResizeObserver(() => plot.setSize({ width: box.clientWidth, height: HEIGHT })).observe(box);
  }

  function start() {
    const figure = document.querySelector("figure[data-trade-events]");
    if (figure) stopLossChart(figure);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
