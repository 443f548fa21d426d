// The rendered DOM as a document: its doctype, then the root element's outerHTML (what Playwright's
// page.content() returns), read in the capture's own world, where the page cannot redefine either.
() => {
  const doctype = document.doctype ? new XMLSerializer().serializeToString(document.doctype) : '';
  return doctype + (document.documentElement ? document.documentElement.outerHTML : '');
}
