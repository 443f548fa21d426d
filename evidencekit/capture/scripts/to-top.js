// Back to the top of the page, and one frame for the page to see it.
async () => {
  window.scrollTo(0, 0);
  await new Promise((done) => { requestAnimationFrame(() => done()); setTimeout(done, 100); });
}
