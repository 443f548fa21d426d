// The visible text, open shadow roots' text, links and title of a frame. innerText leaves out shadow
// trees, so open shadow roots are read separately; <style> and <script> inside them are skipped because
// innerText of an unrendered element is its raw source. The main frame is read in the capture's own
// world; a child frame through Playwright, in the frame's own page world.
//
// Also what is not the page author's own (see evidencekit/indicators/page.py): `notOwn`, in document
// order, the text of each outermost furniture region (nav, aside, header/footer outside any sectioning
// element, ARIA navigation/banner/contentinfo/complementary; none inside main or article) and of each
// link outside them that points to another document; `furnitureLinks`, the hrefs found only in furniture.
// Nothing on the page is changed: this only reads.
() => {
  const shadows = [], links = [];
  const skip = new Set(['STYLE', 'SCRIPT', 'TEMPLATE', 'NOSCRIPT']);
  const CONTENT = 'main, article, [role="main"], [role="article"]';
  const ALWAYS = 'nav, aside, [role="navigation"], [role="banner"], [role="contentinfo"], [role="complementary"]';
  const SCOPED = 'header:not([role]), footer:not([role])';
  const SECTIONING = 'article, aside, main, nav, section';
  const isRegion = (el) => el.matches(ALWAYS)
    || (el.matches(SCOPED) && !(el.parentElement && el.parentElement.closest(SECTIONING)));
  // The outermost furniture region holding el (el itself included), or null: also null inside main/article.
  // Worked out from the top down once per element (false: inside main or article), so a page of many
  // links costs one look at each element rather than one per link and ancestor.
  const memo = new Map();
  const furnitureOf = (el) => {
    const chain = [];
    let node = el;
    while (node && !memo.has(node)) { chain.push(node); node = node.parentElement; }
    let known = node ? memo.get(node) : null;
    for (let i = chain.length - 1; i >= 0; i--) {
      const step = chain[i];
      if (known !== false) {
        if (step.matches(CONTENT)) known = false;
        else if (!known && isRegion(step)) known = step;
      }
      memo.set(step, known);
    }
    return known || null;
  };
  const here = location.href.split('#')[0];
  const elsewhere = (href) => /^https?:/i.test(href) && href.split('#')[0] !== here;
  const inFurniture = new Set(), outside = new Set();
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if ((el.tagName === 'A' || el.tagName === 'AREA') && typeof el.href === 'string' && el.href) {
        links.push(el.href);
        (root === document && furnitureOf(el) ? inFurniture : outside).add(el.href);
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
  const notOwn = [];
  for (const el of document.querySelectorAll(`${ALWAYS}, header, footer, a[href]`)) {
    if (el.matches('a[href]')) {
      if (!furnitureOf(el) && elsewhere(el.href)) notOwn.push(el.innerText || '');
    } else if (furnitureOf(el) === el) {
      notOwn.push(el.innerText || '');
    }
  }
  const furnitureLinks = [...inFurniture].filter((href) => !outside.has(href));
  return {
    text: document.body ? document.body.innerText : '', shadows, links, title: document.title,
    notOwn, furnitureLinks,
  };
}
