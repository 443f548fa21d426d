// Still at the bottom (the page did not grow): back to the top, where the full-page screenshot is taken.
// roomSlack: how many CSS pixels below the view still count as the bottom (page.py's ROOM_SLACK_PX).
async (roomSlack) => {
  const root = document.scrollingElement || document.documentElement;
  const below = root.scrollHeight - window.scrollY - window.innerHeight;
  const height = Math.round(root.scrollHeight);
  if (below > roomSlack || window.scrollY === 0) return {height, below: Math.round(below)};
  window.scrollTo(0, 0);
  await new Promise((done) => { requestAnimationFrame(() => done()); setTimeout(done, 100); });
  return {height, below: Math.round(below)};
}
