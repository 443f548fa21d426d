// The accept control of a consent dialog in this frame, if one is shown: the first visible match of a
// known framework's documented selector (open shadow roots searched too, as Playwright's CSS does), else,
// when allowed, a button whose whole text is a clear "accept all" inside a consent UI (its id, class or
// label names cookies or consent and it speaks of them, or a dialog that speaks of cookies), or a plain
// "Accept"/"OK" inside a consent UI named so; never in a dialog that asks an age, a payment, a job or a
// contract, never a link to another address or a form's submit. Returns {selector, text, framework} or null; changes nothing in the page (the selector of a
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
  const strong = new Set(arg.texts);
  const weak = new Set(arg.weak_texts);
  // A consent UI by its own name (id, class, label, test id), or a dialog that speaks of cookies or consent
  // to them ("cookie policy", "privacy policy" are said by every modal: they do not count).
  const named = /cookie|consent|gdpr|dsgvo|(?:^|[^a-z])cmp(?:[^a-z]|$)/i;
  const talk = /cookies?(?!\s*(?:policy|policies|richtlinie|-richtlinie|notice page))|consent to|einwilligung|consentement|consentimiento|consenso|zustimmung/i;
  // Never click in a dialog that asks anything else: an age, a payment, a job, a contract.
  const other = /\b(?:are you (?:over|at least)|years? old|at least 1[89]|over 1[89]|18\+|adults?|adult content|age verification|date of birth|pay|payment|fees?|price|upi|bank transfer|card number|salary|job offer|position|contract|passport|signature|visa|congratulations)\b/i;
  const parentOf = (el) => el.parentElement || (el.getRootNode() instanceof ShadowRoot ? el.getRootNode().host : null);
  const isDialog = (e) => {
    const role = e.getAttribute('role');
    return role === 'dialog' || role === 'alertdialog' || e.getAttribute('aria-modal') === 'true' || e.tagName === 'DIALOG';
  };
  // The consent UI the control sits in: 'named', 'dialog', or null (then it is not clicked).
  const containerOf = (el) => {
    let e = parentOf(el);
    for (let depth = 0; e && e !== document.body && depth < 12; depth++, e = parentOf(e)) {
      const said = e.innerText || '';
      if (isDialog(e) && other.test(said)) return null;
      const name = [e.id, typeof e.className === 'string' ? e.className : '', e.getAttribute('aria-label') || '',
        e.getAttribute('data-testid') || ''].join(' ');
      if (named.test(name) && talk.test(said)) return other.test(said) ? null : 'named';
      if (isDialog(e) && talk.test(said)) return 'dialog';
    }
    return null;
  };
  // A control whose click would leave the page: a link to another address, a form's submit, a script
  // that sets the location. A consent control answers in the page.
  const leaves = (el) => {
    const href = el.tagName === 'A' ? (el.getAttribute('href') || '').trim() : '';
    if (href && !href.startsWith('#') && !/^javascript:/i.test(href)) return true;
    if (/location|navigate|window\.open|\.submit\(/i.test(el.getAttribute('onclick') || '')) return true;
    const form = el.form;
    return Boolean(form && el.type === 'submit' && (form.getAttribute('method') || '').toLowerCase() !== 'dialog');
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
    const text = said.toLowerCase();
    if (!(strong.has(text) || weak.has(text)) || !visible(el) || leaves(el)) continue;
    const container = containerOf(el);
    if (container === null || (weak.has(text) && container !== 'named')) continue;
    return {selector: pathOf(el), text: said.slice(0, 200), framework: 'generic'};
  }
  return null;
}
