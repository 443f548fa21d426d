// Images that a lazy loader still holds back (the real address in a data- attribute, nothing shown yet).
() => {
  const names = ['data-src', 'data-srcset', 'data-original', 'data-lazy', 'data-lazy-src'];
  let left = 0;
  for (const img of document.images) {
    if (!names.some((name) => img.hasAttribute(name))) continue;
    const shown = img.currentSrc || '';
    if (!shown || shown.startsWith('data:')) left += 1;
  }
  return left;
}
