// Client-side routes on the History API: penny serves index.html for every
// path outside /api and /v1, so /chat/ID can be reloaded and bookmarked.
import { useEffect, useState } from 'preact/hooks';
import { html } from 'htm/preact';

export function navigate(path) {
  if (location.pathname + location.search !== path) history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return path;
}

// Link is an <a> that changes the page without reloading it.
export function Link({ href, children, ...rest }) {
  const click = (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${click} ...${rest}>${children}</a>`;
}
