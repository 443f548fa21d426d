// Scrolls down a viewport at a time, at most maxSteps steps, pausing pauseFrames animation frames at
// each position (0, or a slow pass's pause). After each step: one animation frame, then a task. Chromium
// runs a frame's scroll events, its rAF callbacks (a scroll listener's rAF-throttled check among them) and
// its intersection-observer update in one rendering task; the task queued from our rAF callback runs only
// after that, so the new position has been seen by every observer before the next step. This runs in the
// capture's own world (see world.py), so the page cannot replace these timers; setTimeout in `frame` still
// covers a page whose frames are throttled, and the race in each step a timer that does not come. The
// bottom is known from the scroll position (a step that does not move the page also ends it), so no step
// is spent finding out.
async ({maxSteps, pauseFrames}) => {
  const frame = () => new Promise((done) => { requestAnimationFrame(() => done()); setTimeout(done, 100); });
  const task = () => new Promise((done) => { setTimeout(done, 0); });
  const root = document.scrollingElement || document.documentElement;
  const atBottom = () => window.scrollY + window.innerHeight >= root.scrollHeight - 1;
  let steps = 0, bottom = atBottom(), scrolledAt = null;
  while (!bottom && steps < maxSteps) {
    const before = window.scrollY;
    window.scrollBy(0, Math.max(200, Math.floor(window.innerHeight * 0.9)));
    scrolledAt = performance.now();
    await frame(); await Promise.race([task(), frame()]);
    for (let i = 0; i < pauseFrames; i += 1) await frame();
    steps += 1;
    bottom = atBottom() || window.scrollY <= before;
  }
  const sinceScroll = scrolledAt === null ? null : Math.round(performance.now() - scrolledAt);
  return {steps, bottom, sinceScroll, y: Math.round(window.scrollY), height: Math.round(root.scrollHeight)};
}
