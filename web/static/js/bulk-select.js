// Bulk selection on the ticket list: a "select every ticket of this page" checkbox and the
// running count in the action bar. Without this file every row's checkbox still works; only
// these two conveniences are missing (the "select all" box stays hidden).
(function () {
  "use strict";

  function rowBoxes(form) {
    return Array.prototype.filter.call(form.elements, function (element) {
      return element.name === "ticket";
    });
  }

  function refresh(form) {
    var boxes = rowBoxes(form);
    var chosen = boxes.filter(function (box) { return box.checked; }).length;
    var all = document.querySelector("[data-bulk-all][form='" + form.id + "']");
    if (all) {
      all.hidden = false;
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
    var count = form.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = chosen ? form.dataset.countLabel.replace("%(count)s", chosen) : "";
    }
  }

  function refreshAll() {
    document.querySelectorAll("form.bulk-bar").forEach(refresh);
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox" || !box.form) return;
    if (!box.form.classList.contains("bulk-bar")) return;
    if (box.hasAttribute("data-bulk-all")) {
      rowBoxes(box.form).forEach(function (row) { row.checked = box.checked; });
    }
    refresh(box.form);
  });

  document.addEventListener("DOMContentLoaded", refreshAll);
  // The results are swapped in by htmx when a filter changes.
  document.addEventListener("htmx:afterSettle", refreshAll);
})();
