/* Upload page: send the form to POST /api/v1/ingest with XHR (for upload progress), then
   show the job's status, or the row-level errors of a refused upload. A zip or a folder
   is a batch: the answer is a table with a row per backtest. */
(() => {
  "use strict";
  const form = document.getElementById("upload-form");
  const result = document.getElementById("upload-result");
  if (!form || !result) return;
  const bar = form.querySelector("progress");
  const barBox = form.querySelector("[data-progress]");
  const barText = form.querySelector("[data-progress-text]");
  const submit = form.querySelector("[data-upload]");
  const DONE = new Set(["completed", "failed"]);
  const SINGLE = ["json_file", "csv_file", "events_file", "parameters_file", "params_file"];
  /** A batch row's status, drawn with the badge colours of the jobs. */
  const BADGE = { ingested: "completed", "already stored": "ok", failed: "failed", queued: "pending" };

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    for (const child of children) node.append(child ?? "");
    return node;
  }

  function show(...nodes) {
    result.replaceChildren(...nodes);
    result.focus();
  }

  /** Row errors ({file, row, column, value, message}) or request errors ({loc, message}). */
  function errorTable(errors) {
    const byRow = errors.some((e) => e.file !== undefined && e.file !== null);
    const head = byRow ? ["File", "Row", "Column", "Value", "Message"] : ["Field", "Message"];
    const rows = errors.map((e) => {
      const cells = byRow
        ? [e.file, e.row ?? "—", e.column ?? "—", e.value ?? "", e.message]
        : [(e.loc || []).filter((p) => p !== "body").join("."), e.message];
      return el("tr", {}, ...cells.map((c) => el("td", {}, String(c))));
    });
    const table = el(
      "table",
      { class: "data row-errors" },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...rows),
    );
    return el("div", { class: "table-wrap" }, table);
  }

  function seconds(job) {
    if (!job.started_at || !job.finished_at) return "";
    const s = (Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000;
    return ` in ${s.toFixed(2)} s`;
  }

  function jobView(job, heading) {
    const parts = [
      el("h2", {}, heading),
      el(
        "p",
        { "data-job-status": job.status },
        "Job ",
        el("a", { href: `/ui/jobs/${job.id}` }, job.id.slice(0, 8)),
        ": ",
        el("span", { class: `badge ${job.status}` }, job.status),
        `${seconds(job)}, ${job.trades_ingested.toLocaleString()} trades stored.`,
      ),
    ];
    if (job.backtest_id && job.status === "completed") {
      parts.push(el("p", {}, el("a", { href: `/ui/backtests/${job.backtest_id}`, class: "button" }, "Open the backtest")));
    }
    if (job.error_message) parts.push(el("p", { class: "error", role: "alert" }, job.error_message));
    if (job.errors?.length) parts.push(errorTable(job.errors));
    if (job.warnings?.length) parts.push(el("h3", {}, `${job.warnings.length} warnings`), errorTable(job.warnings));
    return parts;
  }

  async function followJob(jobId, heading) {
    for (let attempt = 0; attempt < 600; attempt++) {
      const response = await fetch(`/api/v1/jobs/${jobId}`, { headers: window.backtestdb.apiHeaders() });
      if (!response.ok) {
        show(el("p", { class: "error", role: "alert" }, await window.backtestdb.errorText(response)));
        return;
      }
      const job = await response.json();
      show(...jobView(job, heading));
      if (DONE.has(job.status)) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  function money(value) {
    return value === null || value === undefined
      ? "—"
      : value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function batchRow(item) {
    const link = item.backtest_id
      ? el("a", { href: `/ui/backtests/${item.backtest_id}` }, "Open")
      : item.job_id ? el("a", { href: `/ui/jobs/${item.job_id}` }, "Job") : "";
    return el(
      "tr",
      { "data-status": item.status },
      el("td", {}, item.path),
      el("td", {}, el("span", { class: `badge ${BADGE[item.status] || ""}` }, item.status)),
      el("td", { class: "num" }, item.trades.toLocaleString()),
      el("td", { class: "num" }, money(item.net_profit)),
      el("td", {}, item.reason || ""),
      el("td", {}, link),
    );
  }

  /** The batch table: {items, runs, total, done, failed, interrupted}. */
  function batchView(body) {
    const counts = {};
    for (const item of body.items) counts[item.status] = (counts[item.status] || 0) + 1;
    const summary = Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(", ");
    const parts = [
      el("h2", {}, `${body.total} backtest${body.total === 1 ? "" : "s"} found`),
      el("p", { "data-batch-status": body.failed ? "failed" : "done", role: "status" }, `${summary}.`),
    ];
    for (const run of body.runs) {
      parts.push(el("p", {}, "Run ", el("a", { href: `/ui/runs/${run.id}`, class: "button", "data-run": run.id }, run.name),
        ` (${run.kind}, ${run.pass_count} backtests).`));
    }
    const head = ["Backtest", "Status", "Trades", "Net profit", "Reason", ""];
    const numeric = new Set(["Trades", "Net profit"]);
    const table = el(
      "table",
      { class: "data batch" },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", class: numeric.has(h) ? "num" : "" }, h)))),
      el("tbody", {}, ...body.items.map(batchRow)),
    );
    parts.push(el("div", { class: "table-wrap" }, table));
    if (body.items.some((item) => item.status === "queued")) {
      parts.push(el("p", { class: "muted" }, "Queued: a worker ingests each backtest; follow them on the ", el("a", { href: "/ui/jobs" }, "jobs page"), "."));
    }
    return parts;
  }

  /** The form's data; a folder's files under their paths inside it (the API places them). */
  function formData() {
    const data = new FormData(form);
    for (const [name, value] of [...data.entries()]) {
      if (value instanceof File && !value.name && !value.size) data.delete(name);
    }
    data.delete("folder_file");
    for (const file of form.querySelector("#u-folder")?.files || []) {
      data.append("folder_file", file, file.webkitRelativePath || file.name);
    }
    return data;
  }

  function refused(status, body) {
    const parts = [
      el("h2", {}, "The upload was refused"),
      el("p", { class: "error", role: "alert" }, body.detail || `HTTP ${status}`),
    ];
    if (body.errors?.length) {
      const more = body.error_count > body.errors.length ? ` (first ${body.errors.length} of ${body.error_count})` : "";
      parts.push(el("h3", {}, `Errors${more}`), errorTable(body.errors));
    }
    if (body.job_id) parts.push(el("p", {}, "Recorded as ", el("a", { href: `/ui/jobs/${body.job_id}` }, "a failed job"), "."));
    show(...parts);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.backtestdb.rememberKey(form.querySelector("[data-api-key]"));
    const data = formData();
    const batch = data.has("archive_file") || data.has("folder_file");
    if (batch && SINGLE.some((name) => data.has(name))) {
      show(el("p", { class: "error", role: "alert" }, "Send single files or a zip or folder, not both: clear one of them."));
      return;
    }
    if (batch && data.has("archive_file") && data.has("folder_file")) {
      show(el("p", { class: "error", role: "alert" }, "Send a zip or a folder, not both: clear one of them."));
      return;
    }
    if (!batch && !data.has("json_file") && !data.has("csv_file") && !data.has("events_file")) {
      show(el("p", { class: "error", role: "alert" }, "Choose a report, a History CSV or an events.json to upload, or a zip or a folder of them."));
      return;
    }
    data.delete(batch ? "name" : "run");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    for (const [name, value] of Object.entries(window.backtestdb.apiHeaders())) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      barText.textContent = `${percent} % of ${(e.total / 1048576).toFixed(1)} MiB`;
    });
    xhr.upload.addEventListener("load", () => { barText.textContent = "Sent; ingesting…"; });
    xhr.addEventListener("load", () => {
      submit.disabled = false;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { body = { detail: xhr.responseText.slice(0, 300) }; }
      if (xhr.status >= 200 && xhr.status < 300 && Array.isArray(body.items)) {
        barText.textContent = "Done.";
        show(...batchView(body));
      } else if (xhr.status >= 200 && xhr.status < 300) {
        barText.textContent = "Done.";
        show(el("p", { role: "status" }, body.message || "Accepted."));
        if (body.job_id) followJob(body.job_id, body.message || "Ingest");
      } else {
        barText.textContent = "";
        refused(xhr.status, body);
      }
    });
    xhr.addEventListener("error", () => {
      submit.disabled = false;
      show(el("p", { class: "error", role: "alert" }, "The upload failed: the server did not answer."));
    });
    submit.disabled = true;
    barBox.hidden = false;
    bar.value = 0;
    barText.textContent = "Starting…";
    result.replaceChildren();
    xhr.send(data);
  });
})();
