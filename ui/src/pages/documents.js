import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from 'htm/preact';

import { get, put, del, upload } from '../api.js';
import { bytes, when } from '../format.js';

const PAGE = 50;
const ACCEPT = '.txt,.md,.pdf,.html,.htm,.docx,.csv,.json';
const FINAL = new Set(['ready', 'failed']);
const PARALLEL_UPLOADS = 3;

// DocumentsPage: drop files (many at once) and watch each one go from
// upload to ready; below, the documents you can read, searched and paged.
export function DocumentsPage({ user }) {
  const [uploads, setUploads] = useState([]);
  const [collection, setCollection] = useState('default');
  const [listVersion, setListVersion] = useState(0);
  const [collections, setCollections] = useState([]);
  const refreshList = () => setListVersion((v) => v + 1);

  const patch = (key, change) => setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...change } : u)));

  // watch polls a document until it is ready or failed.
  const watch = async (key, id) => {
    for (;;) {
      await new Promise((r) => setTimeout(r, 700));
      try {
        const d = await get(`/api/documents/${id}`);
        patch(key, { doc: d });
        if (FINAL.has(d.status)) {
          refreshList();
          return;
        }
      } catch (e) {
        patch(key, { error: e.message });
        return;
      }
    }
  };

  const addFiles = (files) => {
    const items = [...files].map((f, i) => ({ key: `${Date.now()}-${i}-${f.name}`, file: f, sent: 0 }));
    if (items.length === 0) return;
    setUploads((list) => [...items, ...list]);
    const target = collection.trim() || 'default';
    const queue = [...items];
    const worker = async () => {
      for (let item; (item = queue.shift()); ) {
        try {
          const r = await upload([item.file], target, (sent) => patch(item.key, { sent }));
          const d = r.documents[0];
          patch(item.key, { sent: 1, doc: d });
          refreshList();
          if (!FINAL.has(d.status)) await watch(item.key, d.id);
        } catch (e) {
          patch(item.key, { error: e.message });
        }
      }
    };
    for (let i = 0; i < Math.min(PARALLEL_UPLOADS, items.length); i++) worker();
  };

  const [dragging, setDragging] = useState(false);
  const input = useRef(null);
  const drop = (e) => {
    e.preventDefault();
    setDragging(false);
    addFiles(e.dataTransfer.files);
  };

  return html`
    <div class="page documents">
      <h1>Documents</h1>
      <section class=${'dropzone panel' + (dragging ? ' dragging' : '')}
        onDragOver=${(e) => { e.preventDefault(); setDragging(true); }}
        onDragLeave=${() => setDragging(false)} onDrop=${drop} aria-label="upload">
        <p><strong>Drop files here</strong> or${' '}
          <button type="button" class="link" onClick=${() => input.current.click()}>choose files</button>${' '}
          — PDF, Word (.docx), Markdown, text, HTML, CSV, JSON.</p>
        <input ref=${input} type="file" multiple accept=${ACCEPT} class="sr-only" aria-label="files to upload"
          onChange=${(e) => { addFiles(e.target.files); e.target.value = ''; }} />
        <label class="inline">Collection
          <input list="collections" value=${collection} onInput=${(e) => setCollection(e.target.value)} pattern="[A-Za-z0-9._\\-]+" />
        </label>
        <datalist id="collections">${collections.map((c) => html`<option value=${c} />`)}</datalist>
        ${uploads.length > 0 && html`
          <ul class="uploads" aria-label="uploads">
            ${uploads.map((u) => html`<${UploadRow} key=${u.key} u=${u} />`)}
          </ul>
          <button type="button" class="link" onClick=${() => setUploads((l) => l.filter((u) => !(u.error || FINAL.has(u.doc?.status))))}>Clear finished</button>`}
      </section>
      <${DocumentList} user=${user} version=${listVersion} onCollections=${setCollections} onChanged=${refreshList} />
    </div>
  `;
}

function statusText(d) {
  if (!d) return 'uploading';
  if (d.status === 'embedding' && d.progress) return `embedding ${d.progress.done}/${d.progress.total}`;
  if (d.status === 'failed') return `failed: ${d.error || 'unknown reason'}`;
  return d.status + (d.duplicate ? ' (already uploaded)' : '');
}

function progressOf(u) {
  if (u.error) return 1;
  const d = u.doc;
  if (!d) return 0.3 * u.sent;
  switch (d.status) {
    case 'queued': return 0.35;
    case 'parsing': return 0.45;
    case 'embedding': return d.progress?.total ? 0.5 + 0.5 * (d.progress.done / d.progress.total) : 0.5;
    default: return 1;
  }
}

function UploadRow({ u }) {
  const state = u.error ? 'failed' : u.doc?.status || 'uploading';
  return html`
    <li class=${'upload ' + state} data-status=${state}>
      <span class="name">${u.file.name}</span>
      <progress max="1" value=${progressOf(u)} aria-label=${'progress of ' + u.file.name}></progress>
      <span class="status">${u.error ? `failed: ${u.error}` : statusText(u.doc)}</span>
    </li>
  `;
}

function DocumentList({ user, version, onCollections, onChanged }) {
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const [collection, setCollection] = useState('');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState(null);
  const [error, setError] = useState('');
  const [sharing, setSharing] = useState(null);

  useEffect(() => {
    const t = setTimeout(() => { setSearch(q); setOffset(0); }, 250);
    return () => clearTimeout(t);
  }, [q]);

  useEffect(() => {
    const params = new URLSearchParams({ limit: PAGE, offset });
    if (search) params.set('q', search);
    if (collection) params.set('collection', collection);
    get('/api/documents?' + params)
      .then((p) => { setPage(p); setError(''); onCollections(p.collections); })
      .catch((e) => setError(e.message));
  }, [search, collection, offset, version]);

  // While anything in view is still being processed, look again.
  useEffect(() => {
    if (!page?.documents.some((d) => !FINAL.has(d.status))) return;
    const t = setTimeout(onChanged, 1500);
    return () => clearTimeout(t);
  }, [page]);

  const remove = async (d) => {
    if (!confirm(`Delete “${d.title}”? It is removed from every index and cannot be cited any more.`)) return;
    try {
      await del(`/api/documents/${d.id}`);
      onChanged();
    } catch (e) {
      setError(e.message);
    }
  };

  const filtered = search || collection;
  return html`
    <section class="panel" aria-label="your documents">
      <div class="toolbar">
        <input type="search" placeholder="Search titles and file names" aria-label="search documents" value=${q} onInput=${(e) => setQ(e.target.value)} />
        <select aria-label="collection" value=${collection} onChange=${(e) => { setCollection(e.target.value); setOffset(0); }}>
          <option value="">All collections</option>
          ${(page?.collections || []).map((c) => html`<option value=${c}>${c}</option>`)}
        </select>
        ${page && html`<span class="hint">${page.total} document${page.total === 1 ? '' : 's'}</span>`}
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${page && page.total === 0 && !filtered && html`
        <div class="empty"><h2>No documents yet</h2><p>Drop files above. penny reads them, splits them into passages and indexes them; then the Chat page answers from them with citations.</p></div>`}
      ${page && page.total === 0 && filtered && html`<p class="hint">Nothing matches.</p>`}
      ${page && page.documents.length > 0 && html`
        <div class="table-wrap"><table class="docs">
          <thead><tr><th>Title</th><th>Collection</th><th>Status</th><th>Size</th><th>Added</th><th>Shared</th><th><span class="sr-only">actions</span></th></tr></thead>
          <tbody>
            ${page.documents.map((d) => html`
              <tr key=${d.id} data-status=${d.status}>
                <td><span class="title">${d.title}</span><br /><span class="hint">${d.filename}</span></td>
                <td>${d.collection || 'default'}</td>
                <td><span class=${'badge ' + (d.status === 'ready' ? 'ok' : d.status === 'failed' ? 'bad' : 'busy')}>${statusText(d)}</span>
                  ${d.status === 'ready' && html`<br /><span class="hint">${d.chunks} passages${d.pages ? `, ${d.pages} pages` : ''}</span>`}</td>
                <td>${bytes(d.size)}</td>
                <td>${when(d.createdAt)}</td>
                <td>${d.sharedAll ? 'everyone' : d.sharedWith?.length ? `${d.sharedWith.length} people` : 'private'}</td>
                <td class="actions">${d.ownerId === user.id
                  ? html`<button class="link" onClick=${() => setSharing(d)}>Share</button>${' '}<button class="link danger" onClick=${() => remove(d)}>Delete</button>`
                  : html`<span class="hint">shared with you</span>`}</td>
              </tr>`)}
          </tbody>
        </table></div>
        <div class="pager">
          <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
          <span>${offset + 1}–${offset + page.documents.length} of ${page.total}</span>
          <button disabled=${offset + PAGE >= page.total} onClick=${() => setOffset(offset + PAGE)}>Next</button>
        </div>`}
      ${sharing && html`<${ShareDialog} doc=${sharing} onClose=${() => setSharing(null)} onSaved=${() => { setSharing(null); onChanged(); }} />`}
    </section>
  `;
}

function ShareDialog({ doc, onClose, onSaved }) {
  const [emails, setEmails] = useState('');
  const [everyone, setEveryone] = useState(!!doc.sharedAll);
  const [error, setError] = useState('');
  const save = async (e) => {
    e.preventDefault();
    try {
      const users = emails.split(/[\s,;]+/).filter(Boolean);
      await put(`/api/documents/${doc.id}/sharing`, { users, everyone });
      onSaved();
    } catch (err) {
      setError(err.message);
    }
  };
  return html`
    <form class="dialog panel" role="dialog" aria-label=${'share ' + doc.title} onSubmit=${save}>
      <h2>Share “${doc.title}”</h2>
      <p class="hint">Readers get answers and citations from it; only you can delete or re-share it. Saving replaces the current list${doc.sharedWith?.length ? ` (${doc.sharedWith.length} people now)` : ''}.</p>
      <label>People (emails, separated by commas)
        <textarea rows="2" value=${emails} onInput=${(e) => setEmails(e.target.value)} placeholder="bob@example.com, carol@example.com"></textarea>
      </label>
      <label class="inline"><input type="checkbox" checked=${everyone} onChange=${(e) => setEveryone(e.target.checked)} /> Everyone on this penny</label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="buttons"><button type="button" onClick=${onClose}>Cancel</button><button type="submit" class="primary">Save</button></div>
    </form>
  `;
}
