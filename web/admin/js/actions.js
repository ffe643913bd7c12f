// actions: runs any server API method (or admin action) with its params in a JSON editor
// and shows the reply. Ctrl+Enter sends; each method starts from a template.
import * as api from './api.js';
import { h, clear, notice, pretty } from './dom.js';

const templates = {
  publish: { channel: 'chat:index', data: { text: 'hello' } },
  broadcast: { channels: ['chat:index'], data: { text: 'hello' } },
  subscribe: { user: 'user-1', channel: 'chat:index' },
  unsubscribe: { user: 'user-1', channel: 'chat:index' },
  disconnect: { user: 'user-1' },
  refresh: { user: 'user-1', expired: false },
  presence: { channel: 'chat:index' },
  presence_stats: { channel: 'chat:index' },
  history: { channel: 'chat:index', limit: 10, reverse: true },
  history_remove: { channel: 'chat:index' },
  channels: { pattern: '*' },
  info: {},
  rpc: { method: 'name', params: {} },
  reload: {},
  connection_token: { user: 'user-1', ttl: 3600 },
  subscription_token: { user: 'user-1', channel: 'chat:index', ttl: 3600 },
};

let last = { method: 'publish', params: pretty(templates.publish) }; // kept across visits

export function mount(main) {
  const select = h('select#method', { name: 'method' },
    Object.keys(templates).map((m) => h('option', { value: m }, m)));
  select.value = last.method;
  const editor = h('textarea#params', {
    name: 'params', rows: 14, spellcheck: 'false', 'aria-describedby': 'params-help',
  });
  editor.value = last.params;
  const problem = h('div#params-problem', { 'aria-live': 'polite' });
  const send = h('button#send', { type: 'submit' }, 'Send');
  const format = h('button.ghost#format', { type: 'button' }, 'Format');
  const replyStatus = h('div#reply-status', { 'aria-live': 'polite' });
  const reply = h('pre.reply#reply', { tabindex: 0, 'aria-label': 'Reply' }, 'No request sent yet.');

  function parse() {
    clear(problem);
    try {
      const v = JSON.parse(editor.value || '{}');
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('params must be a JSON object');
      editor.removeAttribute('aria-invalid');
      return v;
    } catch (err) {
      editor.setAttribute('aria-invalid', 'true');
      problem.append(notice('error', `Invalid JSON: ${err.message}`));
      return null;
    }
  }

  async function run() {
    const params = parse();
    if (!params) return;
    send.disabled = true;
    const started = performance.now();
    try {
      const r = await api.callRaw(select.value, params);
      const ms = Math.round(performance.now() - started);
      clear(replyStatus).append(r.error
        ? notice('error', `Error ${r.error.code}: ${r.error.message} (${ms} ms)`)
        : notice('ok', `OK (${ms} ms)`));
      reply.textContent = pretty(r);
    } catch (err) {
      if (!(err instanceof api.Unauthorized)) {
        clear(replyStatus).append(notice('error', err.message));
        reply.textContent = '';
      }
    } finally {
      send.disabled = false;
    }
  }

  select.addEventListener('change', () => {
    editor.value = pretty(templates[select.value] || {});
    last.method = select.value;
    last.params = editor.value;
    parse();
  });
  editor.addEventListener('input', () => { last.params = editor.value; });
  editor.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run();
    }
  });
  format.addEventListener('click', () => {
    const v = parse();
    if (v) editor.value = last.params = pretty(v);
  });

  const form = h('form.panel.editor', {
    on: { submit: (e) => { e.preventDefault(); run(); } },
  },
  h('div.row', h('label', { for: 'method' }, 'Method'), select),
  h('label', { for: 'params' }, 'Params (JSON)'),
  editor,
  h('p.muted#params-help', 'Ctrl+Enter sends. Admin-only actions: reload, connection_token, subscription_token.'),
  problem,
  h('div.row', send, format));
  main.append(h('div.page-head', h('h1', 'Actions')),
    h('div.split', form, h('section.panel', { 'aria-labelledby': 'reply-title' },
      h('h2#reply-title', 'Reply'), replyStatus, reply)));
  select.focus();
  return null;
}
