// What stands between the visitor and the page, as the page stands: the layers (fixed, or absolute and
// as large as the view) that lie on top at a grid of points over the view, what they hold (a password
// field, their words, frames), whether the page's own scrolling is locked, and the page's visible
// password and birth-date fields. Only looks: nothing in the page is changed. The Python side
// (capture/walls.py) decides what these facts make of the page.
(arg) => {
  const grid = arg.grid;
  const textLimit = arg.text_limit;
  const vw = window.innerWidth, vh = window.innerHeight;
  const viewArea = Math.max(1, vw * vh);
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2) return false;
    const style = getComputedStyle(el);
    return style.visibility !== 'hidden' && style.display !== 'none' && Number(style.opacity) > 0.05;
  };
  const parentOf = (el) => el.parentElement || (el.getRootNode() instanceof ShadowRoot ? el.getRootNode().host : null);
  // The element on top at a point, open shadow roots included (document.elementFromPoint stops at a
  // shadow root's host: a web component's login modal would be seen as its empty host).
  const deepAt = (x, y) => {
    let el = document.elementFromPoint(x, y);
    for (let depth = 0; el && el.shadowRoot && depth < 20; depth++) {
      const inner = el.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === el) break;
      el = inner;
    }
    return el;
  };
  // Every match of a selector under a root, into open shadow roots.
  const deepAll = (root, selector) => {
    const found = [...root.querySelectorAll(selector)];
    const hosts = [root instanceof Element && root.shadowRoot ? root : null, ...root.querySelectorAll('*')];
    for (const host of hosts) if (host && host.shadowRoot) found.push(...deepAll(host.shadowRoot, selector));
    return found;
  };
  const outermostHost = (el) => {
    let e = el;
    while (e.getRootNode() instanceof ShadowRoot) e = e.getRootNode().host;
    return e;
  };
  const lockedScroll = [document.documentElement, document.body].some(
    (el) => el && getComputedStyle(el).overflowY === 'hidden');
  const layerOf = (el) => {
    let found = null;
    for (let e = el; e && e !== document.documentElement && e !== document.body; e = parentOf(e)) {
      const style = getComputedStyle(e);
      if (style.position === 'fixed') found = e;
      else if (style.position === 'absolute' && !found) {
        const box = e.getBoundingClientRect();
        const shown = Math.max(0, Math.min(box.right, vw) - Math.max(box.left, 0)) *
          Math.max(0, Math.min(box.bottom, vh) - Math.max(box.top, 0));
        if (shown >= viewArea * 0.9) found = e;
      }
    }
    return found;
  };
  // A layer walls the content only if it lies over some of it: somewhere under the layer there is
  // something of the page (not the layer's own ancestors, not the bare html and body), or the layer is
  // fixed and the page's scrolling is locked. A hero section in the page's flow, as large as the view and
  // holding a members' login box, is the page itself, with nothing beneath it.
  const overContent = (layer, x, y) => {
    if (lockedScroll && getComputedStyle(layer).position === 'fixed') return true;
    const stack = document.elementsFromPoint(x, y);
    const host = outermostHost(layer);
    const at = stack.indexOf(host);
    if (at < 0) return true;
    return stack.slice(at + 1).some((e) => e !== document.documentElement && e !== document.body &&
      !e.contains(host) && !host.contains(e));
  };
  const found = new Map();  // layer -> {points, overContent}
  let points = 0;
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      const x = Math.floor((col + 0.5) * vw / grid), y = Math.floor((row + 0.5) * vh / grid);
      points++;
      const top = deepAt(x, y);
      const layer = top ? layerOf(top) : null;
      if (!layer) continue;
      const seen = found.get(layer) || {points: 0, over: false};
      seen.points++;
      seen.over = seen.over || overContent(layer, x, y);
      found.set(layer, seen);
    }
  }
  const layers = new Map();
  let covered = 0;
  for (const [layer, seen] of found) {
    if (!seen.over) continue;
    covered += seen.points;
    layers.set(layer, seen.points);
  }
  const describe = (el) => {
    const id = el.id ? '#' + el.id : '';
    const cls = typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\s+/).slice(0, 3).join('.') : '';
    const own = el.tagName.toLowerCase() + id + cls;
    const root = el.getRootNode();
    return root instanceof ShadowRoot ? describe(root.host) + ' >> ' + own : own;
  };
  const words = [];
  let passwordInLayer = false;
  const frames = [];
  const names = [];
  for (const [layer] of [...layers.entries()].sort((a, b) => b[1] - a[1])) {
    names.push(describe(layer));
    const said = (layer.innerText || '').replace(/\s+/g, ' ').trim();
    if (said) words.push(said);
    for (const input of deepAll(layer, 'input[type=password]')) {
      if (visible(input)) passwordInLayer = true;
    }
    if (layer.tagName === 'IFRAME' && layer.src) frames.push(layer.src);
    for (const frame of deepAll(layer, 'iframe')) if (frame.src && visible(frame)) frames.push(frame.src);
  }
  const passwords = deepAll(document, 'input[type=password]').filter(visible).length;
  const birth = deepAll(document, 'input, select').filter((el) => visible(el) && (
    el.type === 'date' || /birth|bday|dob|geburt|naissance|nacimiento/i.test(
      [el.name, el.id, el.getAttribute('autocomplete') || '', el.getAttribute('aria-label') || ''].join(' ')))).length;
  const root = document.scrollingElement || document.documentElement;
  return {
    view: {width: vw, height: vh},
    coverage_points: covered,
    grid_points: points,
    layers: names.slice(0, 8),
    layer_text: words.join(' \u2016 ').slice(0, textLimit),
    password_in_layer: passwordInLayer,
    layer_frames: frames.slice(0, 8),
    password_fields: passwords,
    birth_fields: birth,
    scroll_locked: lockedScroll && root.scrollHeight > vh + 2,
  };
}
