// The visible text, open shadow roots' text, links and title of a frame. innerText leaves out shadow
// trees, so open shadow roots are read separately; <style> and <script> inside them are skipped because
// innerText of an unrendered element is its raw source. The main frame is read in the capture's own
// world; a child frame through Playwright, in the frame's own page world.
() => {
  const shadows = [], links = [];
  const skip = new Set(['STYLE', 'SCRIPT', 'TEMPLATE', 'NOSCRIPT']);
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if ((el.tagName === 'A' || el.tagName === 'AREA') && typeof el.href === 'string' && el.href) {
        links.push(el.href);
      }
      if (el.shadowRoot) {
        const text = Array.from(el.shadowRoot.children)
          .filter((child) => !skip.has(child.tagName))
          .map((child) => (child.innerText || '').trim())
          .filter((t) => t).join('\n');
        if (text) shadows.push(text);
        visit(el.shadowRoot);
      }
    }
  };
  visit(document);
  return {text: document.body ? document.body.innerText : '', shadows, links, title: document.title};
}
