// The one way the UI talks to penny: same-origin cookies, the CSRF header
// on unsafe methods, a silent refresh when the access token has expired,
// and errors as sentences (penny's {"error": {code, message}}).

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function csrfToken() {
  const c = document.cookie.split('; ').find((c) => c.startsWith('penny_csrf='));
  return c ? decodeURIComponent(c.slice('penny_csrf='.length)) : '';
}

let signedOut = () => {};
// onSignedOut is called when the session is gone and cannot be refreshed.
export function onSignedOut(fn) {
  signedOut = fn;
}

let refreshing = null;
// refresh spends the refresh cookie for a new session, once for however
// many requests found their token expired at the same time.
export function refresh() {
  if (!refreshing) {
    refreshing = fetch('/api/auth/refresh', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrfToken() },
    })
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => setTimeout(() => (refreshing = null), 0));
  }
  return refreshing;
}

async function toError(res) {
  let code = 'http_' + res.status;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new APIError(res.status, code, message);
}

// The routes that make or end sessions: their 401 is an answer, not an
// expired access token.
const SESSION_ROUTES = new Set(['/api/auth/login', '/api/auth/register', '/api/auth/refresh', '/api/auth/logout']);

// send makes one request and returns the Response; any other 401 is
// retried once after a refresh.
export async function send(method, path, { json, body, signal, accept } = {}) {
  const go = () => {
    const headers = {};
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    if (accept) headers['Accept'] = accept;
    if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
    return fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      signal,
      body: json !== undefined ? JSON.stringify(json) : body,
    });
  };
  let res;
  try {
    res = await go();
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new APIError(0, 'network', 'penny cannot be reached. Check that it is running and try again.');
  }
  if (res.status === 401 && !SESSION_ROUTES.has(path)) {
    if (await refresh()) {
      res = await go();
    }
    if (res.status === 401) {
      signedOut();
    }
  }
  if (!res.ok) throw await toError(res);
  return res;
}

// api answers with the decoded JSON body (null for 204).
export async function api(method, path, opts) {
  const res = await send(method, path, opts);
  return res.status === 204 ? null : res.json();
}

export const get = (path, opts) => api('GET', path, opts);
export const post = (path, json, opts) => api('POST', path, { ...opts, json });
export const put = (path, json, opts) => api('PUT', path, { ...opts, json });
export const del = (path, opts) => api('DELETE', path, opts);

// stream posts json and reads penny's server-sent events: onDelta gets each
// piece of text; the "done" event's data is returned; an "error" event
// throws.
export async function stream(path, json, { onDelta, signal }) {
  const res = await send('POST', path, { json, signal, accept: 'text/event-stream' });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      const payload = data ? JSON.parse(data) : null;
      if (event === 'delta') onDelta(payload.text);
      else if (event === 'done') return payload;
      else if (event === 'error') {
        const e = payload.error || {};
        throw new APIError(502, e.code || 'provider_error', e.message || 'the model failed while answering');
      }
    }
  }
  throw new APIError(502, 'stream_ended', 'the answer stopped before it finished; try again');
}

// upload sends files to /api/documents with upload progress (fetch has no
// upload progress; XMLHttpRequest does). onProgress gets a fraction 0..1.
export function upload(files, collection, onProgress) {
  const attempt = () =>
    new Promise((resolve, reject) => {
      const form = new FormData();
      if (collection) form.append('collection', collection);
      for (const f of files) form.append('file', f, f.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/documents');
      xhr.setRequestHeader('X-CSRF-Token', csrfToken());
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onerror = () => reject(new APIError(0, 'network', 'the upload was interrupted; try again'));
      xhr.onload = () => resolve(xhr);
      xhr.send(form);
    });
  return attempt().then(async (xhr) => {
    if (xhr.status === 401 && (await refresh())) xhr = await attempt();
    let body = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      // keep null
    }
    if (xhr.status >= 200 && xhr.status < 300) return body;
    if (xhr.status === 401) signedOut();
    const e = (body && body.error) || {};
    throw new APIError(xhr.status, e.code || 'http_' + xhr.status, e.message || `upload failed (${xhr.status})`);
  });
}
