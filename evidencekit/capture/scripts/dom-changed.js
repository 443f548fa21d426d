// Whether the DOM changed since watch-unless-grown.js started its watch; true if no watch is running.
() => {
  const watch = globalThis.evidencekitWatch;
  if (!watch) return true;
  if (watch.observer.takeRecords().length > 0) watch.changed = true;  // taken records are not delivered again
  return watch.changed;
}
