// Small helpers for the portal pages. No inline code anywhere: the CSP allows scripts from 'self' only.

// Leave empty filters out of htmx GET requests, so the address bar (hx-push-url) and the
// "导出 Excel" link carry only the conditions that were actually set.
document.addEventListener("htmx:configRequest", function (event) {
  if (event.detail.verb !== "get" || !event.detail.formData) {
    return;
  }
  var data = event.detail.formData;
  Array.from(new Set(data.keys())).forEach(function (key) {
    if (data.getAll(key).every(function (value) { return value === ""; })) {
      data.delete(key);
    }
  });
});
