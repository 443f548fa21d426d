// Sections marked content-visibility: auto are painted only near the view, so a full-page image leaves
// them blank. For the screenshot they are shown through a style sheet of the capture's own, adopted by
// the document (the DOM is not touched), and the sheet is taken away after it (hide-skipped.js). Each is
// named by its place in the tree. content-visibility: hidden is left alone: a visitor never sees that
// content either. Returns how many sections were shown.
() => {
  const where = (el) => {
    const steps = [];
    for (let node = el; node.parentElement; node = node.parentElement) {
      steps.unshift(':nth-child(' + (Array.prototype.indexOf.call(node.parentElement.children, node) + 1) + ')');
    }
    return steps.length ? ':root > ' + steps.join(' > ') : ':root';
  };
  const chosen = [];
  for (const el of document.querySelectorAll('*')) {
    if (getComputedStyle(el).contentVisibility === 'auto') chosen.push(where(el));
  }
  if (!chosen.length) return 0;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(chosen.join(', ') + ' { content-visibility: visible !important; }');
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  globalThis.evidencekitShown = sheet;
  return chosen.length;
}
