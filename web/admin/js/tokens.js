// tokens: connection and subscription JWTs for testing, signed by the server with the
// HMAC key of client.token / client.subscription_token (the admin API's
// connection_token and subscription_token actions).
import * as api from './api.js';
import { h, clear, notice, pretty } from './dom.js';

export function mount(main) {
  const user = h('input#token-user', { name: 'user', value: 'user-1', required: true });
  const channel = h('input#token-channel', { name: 'channel', placeholder: 'empty: a connection token' });
  const ttl = h('input#token-ttl', { name: 'ttl', type: 'number', value: 3600, min: 0 });
  const info = h('textarea#token-info', { name: 'info', rows: 3, spellcheck: 'false', placeholder: '{"name": "Alice"} (connection tokens)' });
  const out = h('textarea#token-output', { rows: 5, readonly: true, spellcheck: 'false', 'aria-label': 'Token' });
  const claims = h('pre.reply#token-claims', { tabindex: 0, 'aria-label': 'Claims' });
  const message = h('div', { 'aria-live': 'polite' });
  const copy = h('button.ghost#token-copy', { type: 'button', disabled: true }, 'Copy');

  async function generate(e) {
    e.preventDefault();
    clear(message);
    const params = { user: user.value, ttl: Number(ttl.value) || 0 };
    let method = 'connection_token';
    if (channel.value.trim()) {
      method = 'subscription_token';
      params.channel = channel.value.trim();
    }
    if (info.value.trim()) {
      try {
        params.info = JSON.parse(info.value);
      } catch (err) {
        message.append(notice('error', `info is not JSON: ${err.message}`));
        return;
      }
    }
    try {
      const r = await api.call(method, params);
      out.value = r.token;
      claims.textContent = pretty(decodePayload(r.token));
      copy.disabled = false;
      message.append(notice('ok', method === 'connection_token' ? 'Connection token generated.' : 'Subscription token generated.'));
    } catch (err) {
      if (!(err instanceof api.Unauthorized)) message.append(notice('error', err.message));
    }
  }
  copy.addEventListener('click', async () => {
    out.select();
    try {
      await navigator.clipboard.writeText(out.value);
      clear(message).append(notice('ok', 'Copied.'));
    } catch {
      clear(message).append(notice('error', 'The browser refused the clipboard: the token is selected, copy it with Ctrl+C.'));
    }
  });

  main.append(h('div.page-head', h('h1', 'Tokens')),
    h('div.split',
      h('form.panel.editor', { on: { submit: generate } },
        h('p.muted', 'HS256 tokens signed with the server\'s HMAC key, for testing clients.'),
        h('label', { for: 'token-user' }, 'User'), user,
        h('label', { for: 'token-channel' }, 'Channel (subscription token)'), channel,
        h('label', { for: 'token-ttl' }, 'Lifetime in seconds (0: no expiry)'), ttl,
        h('label', { for: 'token-info' }, 'Info (JSON, optional)'), info,
        h('div.row', h('button#token-generate', { type: 'submit' }, 'Generate'))),
      h('section.panel', { 'aria-labelledby': 'tok-title' }, h('h2#tok-title', 'Token'), message, out,
        h('div.row', copy), h('h2', 'Claims'), claims)));
  user.focus();
  return null;
}

function decodePayload(token) {
  const part = token.split('.')[1] || '';
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}
