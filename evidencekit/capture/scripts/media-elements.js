// The media a page's own elements name: <video> and <audio> sources (src and each <source>), their
// subtitle <track>s, and links to HLS (.m3u8) and DASH (.mpd) playlists; at most `limit` of them.
// Runs in the capture's own world (see world.py): the page's scripts cannot hide their elements from it.
// Only looks: nothing in the page is changed. The Python side (capture/media_find.py) reads the list.
(limit) => {
  const found = [];
  const add = (url, element, type, kind) => {
    if (url && found.length < limit) found.push({url: String(url), element, type: type || null, kind});
  };
  for (const el of document.querySelectorAll('video, audio')) {
    const tag = el.localName;
    if (el.getAttribute('src')) add(el.src, tag, el.getAttribute('type'), 'media');
    for (const source of el.querySelectorAll('source')) {
      if (source.getAttribute('src')) add(source.src, tag + '>source', source.getAttribute('type'), 'media');
    }
    for (const track of el.querySelectorAll('track')) {
      if (track.getAttribute('src')) add(track.src, tag + '>track', track.getAttribute('srclang'), 'subtitles');
    }
  }
  for (const link of document.querySelectorAll('a[href], link[href]')) {
    const path = (link.pathname || '').toLowerCase();
    const type = (link.getAttribute('type') || '').toLowerCase();
    if (path.endsWith('.m3u8') || path.endsWith('.mpd') || type.includes('mpegurl') || type.includes('dash+xml')) {
      add(link.href, link.localName, link.getAttribute('type'), 'media');
    }
  }
  return found;
}
