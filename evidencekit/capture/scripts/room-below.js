// How many CSS pixels of the page lie below the view.
() => {
  const root = document.scrollingElement || document.documentElement;
  return {below: Math.round(root.scrollHeight - window.scrollY - window.innerHeight)};
}
