// Copy the assembled document to the clipboard (the preview is only its beginning).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-url]");
  if (!button) return;
  const label = button.textContent;
  try {
    const response = await fetch(button.dataset.copyUrl);
    await navigator.clipboard.writeText(await response.text());
    button.textContent = "Copied";
  } catch (error) {
    button.textContent = "Copy failed";
  }
  setTimeout(() => { button.textContent = label; }, 2000);
});

// A request htmx does not swap (403: the form's token expired, 413, 5xx): say so next to the
// element that made it. The message goes in as text, never as HTML.
document.addEventListener("htmx:responseError", (event) => {
  const source = event.detail.elt.closest("form") || event.detail.elt;
  let message = `The request failed (${event.detail.xhr.status}).`;
  try {
    message = JSON.parse(event.detail.xhr.responseText).error || message;
  } catch (error) { /* not JSON: keep the status */ }
  let note = source.parentElement.querySelector(":scope > .request-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "field-error request-error";
    note.setAttribute("role", "alert");
    source.insertAdjacentElement("afterend", note);
  }
  note.textContent = message;
});

// Before htmx swaps content out, it walks every element it removes (two events on each, for its
// own cleanup): a cost in the hundreds of rows of the job page's list. Under hx-disable htmx has set
// up nothing, so there is nothing to clean: when the target is replaced (innerHTML, outerHTML, no
// swap delay), those subtrees are emptied first, in the same task as the swap (no frame in between),
// and htmx walks only the rest.
document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  if (!detail.shouldSwap) return;
  const source = detail.requestConfig?.elt || detail.elt;  // the element that asked: its hx-swap applies
  const spec = (detail.swapOverride || source.closest("[hx-swap]")?.getAttribute("hx-swap")
    || htmx.config.defaultSwapStyle).split(/\s+/);
  if (!["innerHTML", "outerHTML"].includes(spec[0]) || spec.some((part) => part.startsWith("swap:"))) return;
  for (const inert of detail.target.querySelectorAll("[hx-disable]")) {
    // what htmx carries over into the new content (hx-preserve) is left whole
    if (!inert.closest("[hx-preserve]") && !inert.querySelector("[hx-preserve]")) inert.replaceChildren();
  }
});
