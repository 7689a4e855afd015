/* backtestdb dashboard: delete confirmation, compare selection, toggle groups.
   Plain browser JavaScript, no build step; the pages work with or without it for reading. */
(() => {
  "use strict";
  const KEY = "backtestdb.apiKey";

  /** Headers for the JSON API: the API key, when one was given in this tab. */
  function apiHeaders() {
    const key = sessionStorage.getItem(KEY);
    return key ? { "X-API-Key": key } : {};
  }

  function rememberKey(input) {
    if (input && input.value.trim()) sessionStorage.setItem(KEY, input.value.trim());
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      return body.detail || `${response.status} ${response.statusText}`;
    } catch {
      return `${response.status} ${response.statusText}`;
    }
  }

  window.backtestdb = { apiHeaders, rememberKey, errorText, KEY };

  /* Delete, after a confirmation dialog (a real <dialog>: focus is trapped and Esc cancels).
     A button names its dialog (data-dialog, else the backtest one in base.html) and the API
     address it deletes (data-delete-url, else the backtest's); data-after is where to go. */
  let pending = null;

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-delete]");
    const dialog = button && document.getElementById(button.dataset.dialog || "confirm-delete");
    if (!dialog) return;
    pending = button;
    dialog.querySelector("[data-name]").textContent = button.dataset.name || "";
    const problem = dialog.querySelector("[data-error]");
    problem.hidden = true;
    problem.textContent = "";
    dialog.querySelector("[data-confirm]").disabled = false;
    dialog.showModal();
  });

  for (const dialog of document.querySelectorAll("dialog[data-delete-dialog]")) {
    dialog.querySelector("[data-cancel]").addEventListener("click", () => dialog.close("cancel"));
    // The form's submit (the Delete button, or Enter in the key field) deletes.
    dialog.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      confirmDelete(dialog);
    });
  }

  async function confirmDelete(dialog) {
    const button = dialog.querySelector("[data-confirm]");
    const problem = dialog.querySelector("[data-error]");
    const keyInput = dialog.querySelector("[data-api-key]");
    rememberKey(keyInput);
    button.disabled = true;
    const id = pending.dataset.delete;
    const url = pending.dataset.deleteUrl || `/api/v1/backtests/${encodeURIComponent(id)}`;
    let response;
    try {
      response = await fetch(url, { method: "DELETE", headers: apiHeaders() });
    } catch (error) {
      response = null;
      problem.textContent = `The server did not answer: ${error}`;
    }
    if (response && response.ok) {
      dialog.close("deleted");
      if (pending.dataset.after) {
        window.location.assign(pending.dataset.after);
        return;
      }
      pending.closest("tr")?.remove();
      if (window.htmx && document.getElementById("results")) {
        window.htmx.ajax("GET", window.location.pathname + window.location.search, {
          target: "#results",
          swap: "outerHTML",
        });
      }
      return;
    }
    if (response) {
      problem.textContent = await errorText(response);
      if (response.status === 401 && keyInput) {
        keyInput.closest("[data-key-field]").hidden = false;
        keyInput.focus();
      }
    }
    problem.hidden = false;
    button.disabled = false;
  }

  /* Compare: enable the button for 2..max selected rows. */
  function updateCompare() {
    const form = document.getElementById("compare-form");
    if (!form) return;
    const max = Number(form.dataset.max || 10);
    const chosen = form.querySelectorAll("input[name=ids]:checked").length;
    const button = form.querySelector("[data-compare]");
    const hint = form.querySelector("[data-compare-hint]");
    button.disabled = chosen < 2 || chosen > max;
    button.textContent = chosen ? `Compare selected (${chosen})` : "Compare selected";
    hint.textContent =
      chosen > max ? `At most ${max} at a time.` : `Select 2 to ${max} backtests to compare.`;
  }
  document.addEventListener("change", (event) => {
    if (event.target.matches("#compare-form input[name=ids]")) updateCompare();
  });

  /* A group of toggle buttons (breakdown choice): exactly one is pressed. */
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-toggle-group] button");
    if (!button) return;
    for (const other of button.parentElement.querySelectorAll("button")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
  });

  /* htmx: show a failed fragment request instead of silently doing nothing. */
  document.addEventListener("htmx:responseError", (event) => {
    const target = event.detail.target;
    if (!target) return;
    const note = document.createElement("p");
    note.className = "error";
    note.setAttribute("role", "alert");
    note.textContent = `Could not load this part (${event.detail.xhr.status}).`;
    target.prepend(note);
  });
  document.addEventListener("htmx:afterSwap", updateCompare);
  document.addEventListener("DOMContentLoaded", updateCompare);
})();
