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
