// The visible text, open shadow roots' text, links and title of a frame. innerText leaves out shadow
// trees, so open shadow roots are read separately; <style> and <script> inside them are skipped because
// innerText of an unrendered element is its raw source. The main frame is read in the capture's own
// world; a child frame through Playwright, in the frame's own page world.
//
// Also what is not the page author's own (see evidencekit/indicators/page.py): `notOwn`, in document
// order, the text of each outermost furniture region and of each link outside them that points to another
// document; `furnitureLinks`, the hrefs found only in furniture; `furnitureImages`, the image addresses
// (img src/currentSrc/srcset, picture sources) found only in furniture. Furniture regions, none inside main
// or article (nor [role=main|article]):
// - nav, aside, ARIA navigation/banner/contentinfo/complementary, header/footer outside any sectioning
//   element;
// - overlays: role=dialog|alertdialog, and elements positioned fixed or sticky (cookie banners, chat
//   widgets, sticky menus);
// - an element whose id or class, split into lower-case tokens on "-", "_" and spaces, holds one of
//   FURNITURE_TOKENS (`<div class="site-footer">`, `<div id="cookie-notice">`): div layouts.
// An overlay or a token-named element that holds the page's h1 is not furniture (a layout wrapper, or the
// ad itself shown in a dialog). An open shadow root hosted in furniture, or showing only overlays, is too.
// Nothing on the page is changed: this only reads.
() => {
  const shadows = [], links = [];
  const skip = new Set(['STYLE', 'SCRIPT', 'TEMPLATE', 'NOSCRIPT']);
  const CONTENT = 'main, article, [role="main"], [role="article"]';
  const ALWAYS = 'nav, aside, [role="navigation"], [role="banner"], [role="contentinfo"], [role="complementary"]';
  const SCOPED = 'header:not([role]), footer:not([role])';
  const SECTIONING = 'article, aside, main, nav, section';
  const DIALOG = '[role="dialog"], [role="alertdialog"], dialog';
  const FURNITURE_TOKENS = new Set([
    'header', 'footer', 'menu', 'navbar', 'nav', 'navigation', 'topbar', 'sidebar', 'breadcrumb', 'breadcrumbs',
    'masthead', 'cookie', 'cookies', 'consent', 'gdpr',
  ]);
  const tokens = (el) => {
    const words = [el.id || '', typeof el.className === 'string' ? el.className : el.getAttribute('class') || ''];
    return words.join(' ').toLowerCase().split(/[\s_-]+/).filter((t) => t);
  };
  const overlay = (el) => {
    if (el === document.body || el === document.documentElement) return false;
    const position = getComputedStyle(el).position;
    return position === 'fixed' || position === 'sticky';
  };
  const holdsHeading = (el) => el.querySelector('h1') !== null;
  const isRegion = (el) => el.matches(ALWAYS)
    || (el.matches(SCOPED) && !(el.parentElement && el.parentElement.closest(SECTIONING)))
    || ((el.matches(DIALOG) || overlay(el) || tokens(el).some((t) => FURNITURE_TOKENS.has(t))) && !holdsHeading(el));
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
  const imagesInFurniture = new Set(), imagesOutside = new Set();
  const absolute = (url) => { try { return new URL(url, document.baseURI).href; } catch (e) { return null; } };
  const srcsetUrls = (srcset) => (srcset || '').split(',')
    .map((part) => part.trim().split(/\s+/)[0]).filter((u) => u);
  const imageUrls = (el) => {
    const urls = [];
    if (el.tagName === 'IMG') {
      urls.push(el.currentSrc, el.getAttribute('src'), ...srcsetUrls(el.getAttribute('srcset')));
    } else if (el.tagName === 'SOURCE' && el.parentElement && el.parentElement.tagName === 'PICTURE') {
      urls.push(...srcsetUrls(el.getAttribute('srcset')), el.getAttribute('src'));
    }
    return urls.filter((u) => u).map(absolute).filter((u) => u);
  };
  // An open shadow root is furniture as a whole when its host is (a consent manager's element inside a
  // fixed banner) or when everything it shows is an overlay (a banner drawn fixed inside its own shadow
  // tree), unless it holds an h1. Its text then goes to notOwn, after the document's (as in the text).
  const overlayRoot = (shadow) => {
    const shown = Array.from(shadow.children).filter((child) => !skip.has(child.tagName));
    return shown.length > 0 && shown.every((child) => child.matches(DIALOG) || overlay(child))
      && shadow.querySelector('h1') === null;
  };
  const shadowNotOwn = [];
  const visit = (root, furniture) => {
    for (const el of root.querySelectorAll('*')) {
      const inside = furniture || (root === document && furnitureOf(el) !== null);
      if (el.tagName === 'IMG' || el.tagName === 'SOURCE') {
        const into = inside ? imagesInFurniture : imagesOutside;
        for (const url of imageUrls(el)) into.add(url);
      }
      if ((el.tagName === 'A' || el.tagName === 'AREA') && typeof el.href === 'string' && el.href) {
        links.push(el.href);
        (inside ? inFurniture : outside).add(el.href);
      }
      if (el.shadowRoot) {
        const text = Array.from(el.shadowRoot.children)
          .filter((child) => !skip.has(child.tagName))
          .map((child) => (child.innerText || '').trim())
          .filter((t) => t).join('\n');
        const shadowFurniture = inside || overlayRoot(el.shadowRoot);
        if (text) {
          shadows.push(text);
          if (shadowFurniture) shadowNotOwn.push(text);
        }
        visit(el.shadowRoot, shadowFurniture);
      }
    }
  };
  visit(document, false);
  const notOwn = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.matches('a[href]')) {
      if (!furnitureOf(el) && elsewhere(el.href)) notOwn.push(el.innerText || '');
    } else if (furnitureOf(el) === el) {
      notOwn.push(el.innerText || '');
    }
  }
  notOwn.push(...shadowNotOwn);
  const furnitureLinks = [...inFurniture].filter((href) => !outside.has(href));
  const furnitureImages = [...imagesInFurniture].filter((url) => !imagesOutside.has(url));
  return {
    text: document.body ? document.body.innerText : '', shadows, links, title: document.title,
    notOwn, furnitureLinks, furnitureImages,
  };
}
