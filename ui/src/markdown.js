// Model output and anything from documents is untrusted: Markdown is
// rendered by marked and then sanitised by DOMPurify before it reaches the
// page; [n] citation markers become buttons afterwards, built with DOM
// calls on the sanitised tree (never by pasting strings into HTML).
import { marked } from 'marked';
import DOMPurify from 'dompurify';

marked.setOptions({ gfm: true, breaks: true });

// Links open in a new tab and never hand the opener over.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const CITE = /\[(\d+)\]/g;

export function renderMarkdown(text, citationNumbers = new Set()) {
  const clean = DOMPurify.sanitize(marked.parse(text || ''), {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
    FORBID_ATTR: ['style'],
  });
  const root = document.createElement('div');
  root.innerHTML = clean;
  if (citationNumbers.size > 0) linkCitations(root, citationNumbers);
  return root.innerHTML;
}

function linkCitations(root, numbers) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) {
    if (!walker.currentNode.parentElement.closest('code, pre')) nodes.push(walker.currentNode);
  }
  for (const node of nodes) {
    const text = node.nodeValue;
    CITE.lastIndex = 0;
    if (!CITE.test(text)) continue;
    CITE.lastIndex = 0;
    const frag = document.createDocumentFragment();
    let last = 0;
    let m;
    while ((m = CITE.exec(text))) {
      const n = Number(m[1]);
      if (!numbers.has(n)) continue;
      frag.append(text.slice(last, m.index));
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'cite';
      b.dataset.n = String(n);
      b.textContent = `[${n}]`;
      b.setAttribute('aria-label', `open source ${n}`);
      frag.append(b);
      last = m.index + m[0].length;
    }
    frag.append(text.slice(last));
    node.replaceWith(frag);
  }
}

// citedSentences finds the sentences of the answer that cite n, without
// their markers: what the highlight in the source should match.
export function citedSentences(answer, n) {
  return (answer || '')
    // A marker after the full stop belongs to the sentence before it.
    .split(/(?<=[.!?](?:\s*\[\d+\])*)\s+(?!\[\d+\])|\n+/)
    .filter((s) => s.includes(`[${n}]`))
    .map((s) => s.replace(CITE, '').trim());
}

const words = (s) => new Set((s.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) || []));

// highlight splits a passage into sentences and marks the ones that share
// the most words with what the answer says (at least the best one).
export function highlight(passage, claims) {
  const parts = passage.split(/(?<=[.!?])(\s+)/);
  const claim = words(claims.join(' '));
  const scores = parts.map((p) => {
    const w = words(p);
    if (w.size === 0 || claim.size === 0) return 0;
    let shared = 0;
    for (const x of w) if (claim.has(x)) shared++;
    return shared / Math.min(w.size, claim.size);
  });
  const best = Math.max(0, ...scores);
  return parts.map((text, i) => ({ text, marked: best > 0 && scores[i] >= Math.max(0.3, best * 0.6) }));
}
