import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from 'htm/preact';

import { get, post, stream } from '../api.js';
import { renderMarkdown, citedSentences, highlight } from '../markdown.js';
import { usd, ms, when } from '../format.js';
import { navigate, Link } from '../router.js';

// ChatPage: the conversations on the left, the open one on the right, and
// the source of a clicked citation beside it.
export function ChatPage({ path }) {
  const chatId = path.split('/')[2] || '';
  const [chats, setChats] = useState(null);
  const [docCount, setDocCount] = useState(null);
  const [error, setError] = useState('');

  const loadChats = () => get('/api/chats').then((r) => setChats(r.chats)).catch((e) => setError(e.message));
  useEffect(() => {
    loadChats();
    get('/api/documents?limit=1').then((r) => setDocCount(r.total)).catch(() => {});
  }, []);

  return html`
    <div class="chat-layout">
      <aside class="chats" aria-label="conversations">
        <button class="primary wide" onClick=${() => navigate('/chat')}>New chat</button>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${chats && chats.length === 0 && html`<p class="hint">Your conversations will be listed here.</p>`}
        <ul>
          ${(chats || []).map((c) => html`
            <li key=${c.id}>
              <${Link} href=${'/chat/' + c.id} class=${c.id === chatId ? 'active' : ''}>
                <span class="title">${c.title || 'Untitled'}</span>
                <span class="when">${when(c.updatedAt)}</span>
              <//>
            </li>`)}
        </ul>
      </aside>
      <${Conversation} key=${chatId} chatId=${chatId} docCount=${docCount} onChanged=${loadChats} />
    </div>
  `;
}

function Conversation({ chatId, docCount, onChanged }) {
  const [messages, setMessages] = useState(chatId ? null : []);
  const [draft, setDraft] = useState('');
  const [pending, setPending] = useState(null); // {question, text}
  const [error, setError] = useState('');
  const [source, setSource] = useState(null); // {message, n}
  const abort = useRef(null);
  const end = useRef(null);

  useEffect(() => {
    if (!chatId) return;
    get(`/api/chats/${chatId}/messages`)
      .then((r) => setMessages(r.messages))
      .catch((e) => setError(e.message));
  }, [chatId]);
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [messages, pending]);
  useEffect(() => () => abort.current?.abort(), []);

  const ask = async (e) => {
    e?.preventDefault();
    const question = draft.trim();
    if (!question || pending) return;
    setError('');
    setPending({ question, text: '' });
    setDraft('');
    const ctl = new AbortController();
    abort.current = ctl;
    let id = chatId;
    try {
      if (!id) {
        const chat = await post('/api/chats', { title: question.slice(0, 60) });
        id = chat.id;
      }
      const reply = await stream(`/api/chats/${id}/messages`, { content: question }, {
        signal: ctl.signal,
        onDelta: (d) => setPending((p) => p && { ...p, text: p.text + d }),
      });
      setMessages((m) => [...(m || []), reply.userMessage, reply.message]);
      setPending(null);
      onChanged();
      // A new chat gets its address; the page reopens it from the store.
      if (!chatId) navigate('/chat/' + id);
    } catch (err) {
      if (err.name === 'AbortError') {
        setPending((p) => p && { ...p, stopped: true });
      } else {
        setPending(null);
        setDraft(question);
        setError(err.message);
      }
      if (!chatId && id) onChanged();
    } finally {
      abort.current = null;
    }
  };

  const keydown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) ask(e);
  };

  const rate = async (m, rating) => {
    try {
      const updated = await post(`/api/messages/${m.id}/feedback`, { rating });
      setMessages((list) => list.map((x) => (x.id === m.id ? updated : x)));
    } catch (err) {
      setError(err.message);
    }
  };

  const empty = messages && messages.length === 0 && !pending;
  return html`
    <section class="conversation" aria-label="conversation">
      <div class="messages" aria-live="polite">
        ${!messages && !error && html`<p class="hint">Loading the conversation…</p>`}
        ${empty && html`<${EmptyChat} docCount=${docCount} />`}
        ${(messages || []).map((m) => html`<${Message} key=${m.id} m=${m} onCite=${(n) => setSource({ message: m, n })} onRate=${rate} />`)}
        ${pending && html`
          <div class="msg user"><div class="bubble">${pending.question}</div></div>
          <div class="msg assistant" aria-busy=${!pending.stopped}>
            <div class="bubble">${pending.text ? html`<div class="md" dangerouslySetInnerHTML=${{ __html: renderMarkdown(pending.text) }} />` : html`<span class="typing">Thinking…</span>`}</div>
            ${pending.stopped && html`<p class="meta">Stopped. This partial answer is not saved.</p>`}
          </div>`}
        <div ref=${end}></div>
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <form class="composer" onSubmit=${ask}>
        <label class="sr-only" for="question">Your question</label>
        <textarea id="question" rows="2" placeholder=${docCount ? 'Ask about your documents…' : 'Ask anything…'}
          value=${draft} onInput=${(e) => setDraft(e.target.value)} onKeyDown=${keydown}></textarea>
        ${pending && !pending.stopped
          ? html`<button type="button" class="stop" onClick=${() => abort.current?.abort()}>Stop</button>`
          : html`<button type="submit" class="primary" disabled=${!draft.trim()}>Send</button>`}
      </form>
    </section>
    ${source && html`<${SourcePanel} key=${source.message.id + source.n} source=${source} onClose=${() => setSource(null)} />`}
  `;
}

function EmptyChat({ docCount }) {
  if (docCount === 0) {
    return html`<div class="empty">
      <h2>Ask your documents</h2>
      <p>Upload documents first and penny answers from them, with numbered sources you can open and check.</p>
      <p><${Link} href="/documents" class="button primary">Upload documents<//></p>
      <p class="hint">Without documents, penny answers as a plain assistant.</p>
    </div>`;
  }
  return html`<div class="empty">
    <h2>Ask a question</h2>
    <p>penny searches ${docCount ? `your ${docCount} document${docCount === 1 ? '' : 's'}` : 'your documents'}, answers with numbered citations, and picks the cheapest model that can answer well.</p>
  </div>`;
}

function Message({ m, onCite, onRate }) {
  if (m.role === 'user') return html`<div class="msg user"><div class="bubble">${m.content}</div></div>`;
  const numbers = new Set((m.citations || []).map((c) => c.n));
  const click = (e) => {
    const b = e.target.closest('button.cite');
    if (b) onCite(Number(b.dataset.n));
  };
  const rating = m.feedback?.rating;
  return html`
    <div class="msg assistant">
      <div class="bubble">
        <div class="md" onClick=${click} dangerouslySetInnerHTML=${{ __html: renderMarkdown(m.content, numbers) }} />
        ${m.citations?.length > 0 && html`
          <ol class="sources" aria-label="sources">
            ${m.citations.map((c) => html`<li key=${c.n}><button type="button" class="link" onClick=${() => onCite(c.n)}>[${c.n}] ${c.title}${c.page ? `, page ${c.page}` : ''}</button></li>`)}
          </ol>`}
      </div>
      <div class="meta">
        <span class="provider">${m.provider}</span> · <span>${m.model}</span> ·
        <span class="cost" title="what this answer cost">${usd(m.costMicros)}</span>
        ${m.cached ? html` · <span class="badge ok">cached (${m.cached})</span>` : ''}
        ${m.latencyMs ? html` · <span>${ms(m.latencyMs)}</span>` : ''}
        <span class="rate">
          <button type="button" class=${'icon ' + (rating === 'up' ? 'on' : '')} aria-pressed=${rating === 'up'} aria-label="good answer" title="good answer" onClick=${() => onRate(m, 'up')}><${Thumb} /></button>
          <button type="button" class=${'icon down ' + (rating === 'down' ? 'on' : '')} aria-pressed=${rating === 'down'} aria-label="bad answer" title="bad answer" onClick=${() => onRate(m, 'down')}><${Thumb} /></button>
        </span>
      </div>
      ${(m.reasons?.length > 0 || m.tier) && html`
        <details class="why">
          <summary>Why this model</summary>
          <ul>
            ${!m.reasons?.length && html`<li>Tier: ${m.tier}${m.arm ? ` (arm ${m.arm})` : ''}</li>`}
            ${(m.reasons || []).map((r, i) => html`<li key=${i}>${r}</li>`)}
          </ul>
        </details>`}
    </div>
  `;
}

// Thumb is a thumbs-up drawn inline (no icon font or emoji font needed);
// .down turns it over.
function Thumb() {
  return html`<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round">
    <path d="M7 10v11H3V10h4zm0 0 4-8a3 3 0 0 1 3 3v4h5.5a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.1 21H7" />
  </svg>`;
}

// SourcePanel shows the cited passage with the sentences that support the
// answer highlighted. The text is rendered as text, never as HTML.
function SourcePanel({ source, onClose }) {
  const { message, n } = source;
  const cite = (message.citations || []).find((c) => c.n === n);
  const [chunk, setChunk] = useState(null);
  const [error, setError] = useState('');
  const closeRef = useRef(null);
  useEffect(() => {
    closeRef.current?.focus();
    if (!cite) return;
    get(`/api/documents/${cite.documentId}/chunks/${cite.chunkId}`).then(setChunk).catch((e) => setError(e.message));
  }, []);
  useEffect(() => {
    const esc = (e) => e.key === 'Escape' && onClose();
    addEventListener('keydown', esc);
    return () => removeEventListener('keydown', esc);
  }, []);
  const parts = chunk ? highlight(chunk.text, citedSentences(message.content, n)) : [];
  return html`
    <aside class="source panel" role="dialog" aria-label=${`source ${n}`}>
      <header>
        <h2>[${n}] ${cite ? cite.title : 'Source'}</h2>
        <button ref=${closeRef} class="icon" aria-label="close source" onClick=${onClose}>✕</button>
      </header>
      ${cite && html`<p class="hint">${cite.page ? `Page ${cite.page} · ` : ''}characters ${cite.start}–${cite.end}</p>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${!chunk && !error && html`<p class="hint">Loading the passage…</p>`}
      ${chunk && html`
        ${chunk.heading && chunk.heading !== cite?.title && html`<h3>${chunk.heading}</h3>`}
        <blockquote class="passage">${parts.map((p, i) => (p.marked ? html`<mark key=${i}>${p.text}</mark>` : p.text))}</blockquote>`}
    </aside>
  `;
}
