// Takes away the style sheet show-skipped.js adopted.
() => {
  const sheet = globalThis.evidencekitShown;
  if (!sheet) return;
  document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  globalThis.evidencekitShown = undefined;
}
