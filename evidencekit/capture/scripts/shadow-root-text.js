// The text and links of one shadow root (``this``), and of the open roots inside it: what
// visible-text.js does for open roots, for a closed one that DevTools handed over (a page's own scripts,
// and the capture's, cannot reach a closed root from the document: element.shadowRoot is null).
// Closed roots nested inside are handed over one by one too, so they are not entered here.
function () {
  const texts = [], links = [];
  const skip = new Set(['STYLE', 'SCRIPT', 'TEMPLATE', 'NOSCRIPT']);
  const own = (root) => Array.from(root.children)
    .filter((child) => !skip.has(child.tagName))
    .map((child) => (child.innerText || '').trim())
    .filter((t) => t).join('\n');
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if ((el.tagName === 'A' || el.tagName === 'AREA') && typeof el.href === 'string' && el.href) {
        links.push(el.href);
      }
      if (el.shadowRoot) {
        const text = own(el.shadowRoot);
        if (text) texts.push(text);
        visit(el.shadowRoot);
      }
    }
  };
  const top = own(this);
  if (top) texts.push(top);
  visit(this);
  return {texts, links};
}
