/**
 * A view's filters and sort kept in the URL's hash (`#/roster?program=diabetes&sort=days`), so a
 * reload, a bookmark or the back button brings the same list. Only codes and numbers go there,
 * never what a person typed to search (it could be a patient's name): no PHI in a URL.
 */

export function hashRoute(): { path: string; params: URLSearchParams } {
  const hash = location.hash.replace(/^#/, '');
  const q = hash.indexOf('?');
  return q < 0 ? { path: hash, params: new URLSearchParams() } : { path: hash.slice(0, q), params: new URLSearchParams(hash.slice(q + 1)) };
}

/** Replaces the hash's query without a navigation (no hashchange: the view stays mounted). */
export function replaceHashParams(path: string, params: URLSearchParams): void {
  const s = params.toString();
  history.replaceState(null, '', `#${path}${s === '' ? '' : `?${s}`}`);
}
