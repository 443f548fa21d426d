// The accept control of a consent dialog in this frame, if one is shown: the first visible match of a
// known framework's documented selector (open shadow roots searched too, as Playwright's CSS does), else,
// when allowed, a button whose whole text is a clear "accept all" inside an element that looks like a
// consent dialog (its id, class, label or role says cookie/consent/privacy, or a dialog that speaks of
// cookies). Returns {selector, text, framework} or null; changes nothing in the page (the selector of a
// generic button is a path from the nearest ancestor with an id, so nothing needs marking).
(arg) => {
  const roots = [document];
  for (let i = 0; i < roots.length && i < 200; i++) {
    for (const el of roots[i].querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
  }
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2) return false;
    const style = getComputedStyle(el);
    return style.visibility !== 'hidden' && style.display !== 'none' && Number(style.opacity) > 0.05 && !el.disabled;
  };
  const words = (el) => (el.innerText || el.value || el.getAttribute('aria-label') || '').replace(/\s+/g, ' ').trim();
  for (const [framework, selector] of arg.known) {
    for (const root of roots) {
      let found = [];
      try { found = root.querySelectorAll(selector); } catch (e) { break; }
      for (const el of found) {
        if (visible(el)) return {selector, text: words(el).slice(0, 200), framework};
      }
    }
  }
  if (!arg.generic) return null;
  const wanted = new Set(arg.texts);
  const place = /cookie|consent|gdpr|dsgvo|privacy|cmp|datenschutz/i;
  const talk = /cookie|consent|datenschutz|privacy|confidentialit|privacidad/i;
  const parentOf = (el) => el.parentElement || (el.getRootNode() instanceof ShadowRoot ? el.getRootNode().host : null);
  const inDialog = (el) => {
    let e = parentOf(el);
    for (let depth = 0; e && e !== document.body && depth < 12; depth++, e = parentOf(e)) {
      const named = [e.id, typeof e.className === 'string' ? e.className : '', e.getAttribute('aria-label') || '',
        e.getAttribute('aria-labelledby') || ''].join(' ');
      if (place.test(named)) return true;
      const role = e.getAttribute('role');
      if ((role === 'dialog' || role === 'alertdialog' || e.getAttribute('aria-modal') === 'true' || e.tagName === 'DIALOG') &&
          talk.test(e.innerText || '')) return true;
    }
    return false;
  };
  const pathOf = (el) => {
    const steps = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      if (e.id && document.querySelectorAll('#' + CSS.escape(e.id)).length === 1) {
        steps.unshift('#' + CSS.escape(e.id));
        return steps.join(' > ');
      }
      let n = 1;
      for (let s = e.previousElementSibling; s; s = s.previousElementSibling) if (s.tagName === e.tagName) n++;
      steps.unshift(e.tagName.toLowerCase() + ':nth-of-type(' + n + ')');
    }
    return steps.join(' > ');
  };
  const candidates = document.querySelectorAll('button, [role=button], a, input[type=button], input[type=submit]');
  for (const el of candidates) {
    const said = words(el);
    if (!wanted.has(said.toLowerCase()) || !visible(el) || !inDialog(el)) continue;
    return {selector: pathOf(el), text: said.slice(0, 200), framework: 'generic'};
  }
  return null;
}
