// app: start-up, login and the hash router (#/status, #/actions, #/channels[/name],
// #/tokens). Each page module exports mount(main, arg) returning an unmount function.
import * as api from './api.js';
import { h, clear, notice } from './dom.js';
import * as status from './status.js';
import * as actions from './actions.js';
import * as channels from './channels.js';
import * as tokens from './tokens.js';

const pages = { status, actions, channels, tokens };
const titles = { status: 'Status', actions: 'Actions', channels: 'Channels', tokens: 'Tokens' };
let unmount = null;
let session = null; // the /admin/init reply once authenticated

const main = document.getElementById('main');
const top = document.getElementById('top');

function showLogin(message) {
  if (unmount) unmount();
  unmount = null;
  session = null;
  top.hidden = true;
  document.title = 'Log in · Gyre admin';
  const password = h('input#password', {
    type: 'password', name: 'password', autocomplete: 'current-password', required: true,
  });
  const error = h('div#login-error', { 'aria-live': 'polite' });
  if (message) error.append(notice('error', message));
  const button = h('button#login-submit', { type: 'submit' }, 'Log in');
  const form = h('form.login', {
    on: {
      submit: async (e) => {
        e.preventDefault();
        clear(error);
        button.disabled = true;
        try {
          await api.login(password.value);
          await start();
        } catch (err) {
          error.append(notice('error', err.message));
          password.select();
        } finally {
          button.disabled = false;
        }
      },
    },
  },
  h('div.logo', h('img', { src: 'favicon.svg', alt: '', width: 40, height: 40 })),
  h('h1', 'Gyre admin'),
  h('label', { for: 'password' }, 'Password'),
  password, error, button);
  clear(main).append(h('div.login-wrap', form));
  password.focus();
}

function route() {
  if (!session) return;
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, ...rest] = hash.split('/');
  const page = pages[name] ? name : 'status';
  if (!pages[name]) {
    history.replaceState(null, '', '#/status');
  }
  if (unmount) unmount();
  clear(main);
  for (const a of top.querySelectorAll('nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${titles[page]} · Gyre admin`;
  const arg = rest.length ? decodeURIComponent(rest.join('/')) : '';
  unmount = pages[page].mount(main, arg, session) || null;
}

async function start() {
  let info;
  try {
    info = await api.init();
  } catch (err) {
    clear(main).append(notice('error', `Cannot reach the server: ${err.message}`));
    return;
  }
  if (!info.authenticated) {
    api.setToken('');
    showLogin();
    return;
  }
  session = info;
  top.hidden = false;
  document.getElementById('mode').textContent = info.insecure ? 'insecure mode' : '';
  document.getElementById('logout').hidden = !!info.insecure;
  route();
  main.focus();
}

window.addEventListener('hashchange', route);
window.addEventListener('gyre-unauthorized', () => showLogin('Your session has expired: log in again.'));
document.getElementById('logout').addEventListener('click', () => {
  api.setToken('');
  showLogin();
});

start();
