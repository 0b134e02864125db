// Stoa's playground: GraphiQL 5 with a sign-in bar. The token (from `login` or pasted) is kept in
// sessionStorage and added to every HTTP request and, through createGraphiQLFetcher's
// subscriptionUrl, to every connection_init. The example tabs are client-gen/operations/*.graphql;
// an unedited example runs by its trusted documentId, so it works where only trusted documents do.
import './workers.js';
import 'graphiql/style.css';
import './main.css';
import { createElement as h, useCallback, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { tabs, trusted, loginId } from 'stoa:examples';

const mount = document.getElementById('stoa-playground');
const endpoint = new URL(mount.dataset.endpoint || 'graphql', window.location.href);
const socket = new URL(endpoint);
socket.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';
const TOKEN = 'stoa.playground.token';
const WHO = 'stoa.playground.who';

const refusedCodes = (result) => (result?.errors ?? []).map((e) => e?.extensions?.code);

/** Wraps a fetcher result: an `UNAUTHENTICATED` answer or a 4401/4403 close signs the bar out. */
function watch(result, signedOut) {
  const check = (value) => {
    if (refusedCodes(value).includes('UNAUTHENTICATED')) signedOut();
    return value;
  };
  if (result && typeof result[Symbol.asyncIterator] === 'function') {
    return (async function* guarded() {
      try {
        for await (const value of result) yield check(value);
      } catch (e) {
        // An `error` frame carries GraphQL errors: shown as the result, not thrown at the page.
        if (Array.isArray(e)) {
          yield check({ errors: e });
          return;
        }
        // A socket that never opened (the server or a proxy refused the upgrade) errors with a
        // bare Event: shown as a readable error, the page stays usable.
        if (typeof Event !== 'undefined' && e instanceof Event && !(e instanceof CloseEvent)) {
          yield { errors: [{ message: `the WebSocket connection to ${socket.href} failed (upgrade refused?)` }] };
          return;
        }
        if (/\b44(01|03)\b/.test(String(e?.message ?? e))) signedOut();
        throw e;
      }
    })();
  }
  return Promise.resolve(result).then(check);
}

function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN) ?? '');
  const [who, setWho] = useState(() => sessionStorage.getItem(WHO) ?? '');
  const [state, setState] = useState(() => (sessionStorage.getItem(TOKEN) ? 'signed-in' : 'signed-out'));
  const [message, setMessage] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [pasted, setPasted] = useState('');

  const keep = useCallback((next, label) => {
    setToken(next);
    setWho(label);
    setState(next ? 'signed-in' : 'signed-out');
    if (next) {
      sessionStorage.setItem(TOKEN, next);
      sessionStorage.setItem(WHO, label);
    } else {
      sessionStorage.removeItem(TOKEN);
      sessionStorage.removeItem(WHO);
    }
  }, []);
  const signedOut = useCallback(() => setState('signed-out'), []);

  const signIn = async (event) => {
    event.preventDefault();
    setMessage('');
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ documentId: loginId, variables: { input: { email, password } } }),
      });
      const body = await res.json();
      const access = body?.data?.login?.accessToken;
      if (!access) throw new Error(body?.errors?.[0]?.message ?? `HTTP ${res.status}`);
      keep(access, email);
      setPassword('');
    } catch (e) {
      keep('', '');
      setMessage(String(e?.message ?? e));
    }
  };

  const fetcher = useMemo(() => {
    const base = createGraphiQLFetcher({
      url: endpoint.href,
      subscriptionUrl: socket.href,
      enableIncrementalDelivery: false,
    });
    return (params, opts) => {
      // An unedited example runs by its trusted id; anything else is sent as text.
      const ids = trusted[params.query];
      const names = ids ? Object.keys(ids) : [];
      const name = params.operationName ?? (names.length === 1 ? names[0] : undefined);
      const id = ids && name ? ids[name] : undefined;
      const sent = id ? { query: '', documentId: id, operationName: name, variables: params.variables } : params;
      const headers = { ...(opts?.headers ?? {}) };
      if (token) headers.Authorization = `Bearer ${token}`;
      return watch(base(sent, { ...opts, headers }), signedOut);
    };
  }, [token, signedOut]);

  const status = state === 'signed-in' ? `signed in${who ? ` as ${who}` : ''}` : 'signed out';
  const bar = h(
    'div',
    { className: 'stoa-bar' },
    h(
      'form',
      { onSubmit: signIn, className: 'stoa-login' },
      h('input', { name: 'email', type: 'email', placeholder: 'email', value: email, autoComplete: 'username', onChange: (e) => setEmail(e.target.value) }),
      ' ',
      h('input', { name: 'password', type: 'password', placeholder: 'password', value: password, autoComplete: 'current-password', onChange: (e) => setPassword(e.target.value) }),
      ' ',
      h('button', { type: 'submit' }, 'Sign in'),
    ),
    h(
      'form',
      { onSubmit: (e) => (e.preventDefault(), keep(pasted.trim().replace(/^Bearer\s+/i, ''), 'pasted token'), setPasted('')), className: 'stoa-token' },
      h('input', { name: 'token', placeholder: 'or paste an access token', value: pasted, onChange: (e) => setPasted(e.target.value) }),
      ' ',
      h('button', { type: 'submit' }, 'Use token'),
    ),
    token ? h('button', { type: 'button', className: 'stoa-signout', onClick: () => keep('', '') }, 'Sign out') : null,
    message ? h('span', { className: 'stoa-message' }, message) : null,
    h('span', { className: 'stoa-status', 'data-state': state }, status),
  );
  return h(
    'div',
    { style: { display: 'contents' } },
    bar,
    h('div', { className: 'stoa-graphiql' }, h(GraphiQL, { fetcher, defaultTabs: tabs, shouldPersistHeaders: false })),
  );
}

// @graphiql/toolkit 0.12.1 turns a subscription's `error` frame (or a socket's error Event) into
// `iterator.throw(…)` and leaves that promise unhandled (push-pull-async-iterable-iterator);
// GraphiQL has shown the error by then, so the page does not report the rejection a second time.
window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason;
  const graphqlErrors = Array.isArray(reason) && reason.every((e) => typeof e?.message === 'string');
  if (graphqlErrors || reason instanceof Event) event.preventDefault();
});

createRoot(mount).render(h(App));
