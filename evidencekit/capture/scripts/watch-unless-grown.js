// Whether the page has grown below the reader since the scroll reached the bottom (an endless feed that
// appended while its request was ending): scrolling goes on then, so nothing read now would last. If it
// has not, a watch on the DOM starts in the capture's own world: any change after it (a node added or
// removed, an attribute or a text changed, even one changed back) is remembered, so that what is read now
// can later be checked against the page without reading the DOM again (dom-changed.js).
// roomSlack: how many CSS pixels below the view still count as the bottom (page.py's ROOM_SLACK_PX).
(roomSlack) => {
  const root = document.scrollingElement || document.documentElement;
  if (root.scrollHeight - window.scrollY - window.innerHeight > roomSlack) return true;
  if (globalThis.evidencekitWatch) globalThis.evidencekitWatch.observer.disconnect();
  const watch = {changed: false};
  watch.observer = new MutationObserver(() => { watch.changed = true; });
  watch.observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  globalThis.evidencekitWatch = watch;
  return false;
}
