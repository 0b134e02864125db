// The playground in a real browser: Debian's Chromium driven by playwright-core against
// `$STOA_BIN serve` on a random port (SQLite; with E2E_DATABASE_URL and E2E_REDIS_URL, Postgres +
// Redis). Signs in with the bar, runs queries, a mutation and a live subscription, checks that
// nothing but 127.0.0.1 is contacted and that the page logs no error (CSP violations show there).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.STOA_BIN ?? join(here, '..', '..', 'target', 'debug', 'stoa');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const backend = process.env.E2E_DATABASE_URL ? 'postgres+redis' : 'sqlite';
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const cleanup = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function serve(env = {}) {
  assert.ok(existsSync(BIN), `STOA_BIN=${BIN} does not exist`);
  const dataDir = mkdtempSync(join(tmpdir(), 'stoa-playground-'));
  const port = await freePort();
  const vars = { PATH: process.env.PATH ?? '', STOA_DATA_DIR: dataDir, STOA_BIND: `127.0.0.1:${port}`, STOA_LOG: 'warn', ...env };
  if (process.env.E2E_DATABASE_URL) {
    Object.assign(vars, {
      DATABASE_URL: process.env.E2E_DATABASE_URL,
      REDIS_URL: process.env.E2E_REDIS_URL ?? '',
      STOA_REDIS_PREFIX: `stoa-ui-${run}`,
      STOA_JWT_SECRET: `ui-secret-${run}-0123456789abcdef0123456789`,
    });
  }
  let log = '';
  const child = spawn(BIN, ['serve'], { env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  cleanup.push(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`stoa exited:\n${log}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return url;
    } catch {}
    await sleep(50);
  }
  throw new Error(`stoa did not start:\n${log}`);
}

/** A GraphQL request from Node: by trusted id when `id` is given. */
async function gql(url, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify(body) });
  return res.json();
}

const manifest = (await import('../src/gql/persisted-documents.json', { with: { type: 'json' } })).default;
const idOf = (name) => Object.entries(manifest).find(([, t]) => new RegExp(`(query|mutation|subscription) ${name}\\b`).test(t))[0];

/** A user with a workspace and a channel, made over HTTP by trusted ids (works in every mode). */
async function fixture(url) {
  const email = `ui.${run}.${Math.random().toString(36).slice(2)}@example.com`;
  const password = 'pw-playground-12345';
  const reg = await gql(url, { documentId: idOf('Register'), variables: { input: { email, password, displayName: 'Pat' } } });
  const token = reg.data.register.accessToken;
  const ws = await gql(url, { documentId: idOf('CreateWorkspace'), variables: { input: { name: 'UI' } } }, token);
  const workspaceId = ws.data.createWorkspace.workspace.id;
  const ch = await gql(url, { documentId: idOf('CreateChannel'), variables: { input: { workspaceId, name: 'ui' } } }, token);
  return { email, password, token, channelId: ch.data.createChannel.channel.id };
}

async function browser() {
  const b = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  cleanup.push(() => b.close());
  return b;
}

/** A page on the playground that records every host it contacts and every error it logs. */
async function open(b, url) {
  const page = await b.newPage();
  const hosts = new Set();
  const errors = [];
  let requests = 0;
  let bytes = 0;
  page.on('request', (r) => {
    requests += 1;
    hosts.add(new URL(r.url()).host);
  });
  page.on('response', async (r) => {
    const length = Number(r.headers()['content-length'] ?? 0);
    bytes += Number.isFinite(length) ? length : 0;
  });
  page.on('websocket', (ws) => hosts.add(new URL(ws.url()).host));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  const started = Date.now();
  await page.goto(`${url}/`);
  await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor({ timeout: 30_000 });
  const ready = Date.now() - started;
  return { page, hosts, errors, ready, stats: () => ({ requests, bytes }) };
}

/** Replaces the query editor's text and runs it (Ctrl+Enter). */
async function runQuery(page, text) {
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  await execute(page);
}

/** Runs what the query editor holds, once GraphiQL has taken in the edit (it debounces). */
async function execute(page) {
  await page.locator('.graphiql-query-editor .monaco-editor').first().click();
  await sleep(400);
  await page.keyboard.press('Control+Enter');
}

const response = (page) => page.locator('.graphiql-response');

async function signIn(page, who) {
  await page.fill('.stoa-login input[name=email]', who.email);
  await page.fill('.stoa-login input[name=password]', who.password);
  await page.click('.stoa-login button[type=submit]');
  await page.locator('.stoa-status[data-state=signed-in]').waitFor({ timeout: 10_000 });
}

test(`[${backend}] sign in, query, mutate and watch a live subscription, all from this server only`, async () => {
  const url = await serve();
  const who = await fixture(url);
  const b = await browser();
  const { page, hosts, errors, ready, stats } = await open(b, url);
  console.log(`figure: page ready (editor mounted) in ${ready} ms, ${stats().requests} requests, ${stats().bytes} bytes (cold)`);

  // Without a token the subscription is refused: the token really travels in connection_init.
  await runQuery(page, `subscription Watch { channelEvents(channelId: "${who.channelId}") { seq message { body } } }`);
  await response(page).getByText('UNAUTHENTICATED').first().waitFor({ timeout: 15_000 });
  await execute(page); // stop

  await signIn(page, who);
  await runQuery(page, 'query Me { me { email } }');
  await response(page).getByText(who.email).first().waitFor({ timeout: 15_000 });

  await runQuery(page, `mutation Post { postMessage(input: { channelId: "${who.channelId}", body: "from the playground" }) { message { seq body } } }`);
  await response(page).getByText('from the playground').first().waitFor({ timeout: 15_000 });

  await runQuery(page, `subscription Watch { channelEvents(channelId: "${who.channelId}") { seq message { body } } }`);
  await sleep(1500); // the socket is up and subscribed
  await gql(url, { documentId: idOf('PostMessage'), variables: { input: { channelId: who.channelId, body: 'posted from node' } } }, who.token);
  await response(page).getByText('posted from node').first().waitFor({ timeout: 15_000 });

  const shot = join(tmpdir(), `stoa-playground-${backend}.png`);
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual([...hosts].filter((h) => !h.startsWith('127.0.0.1')), [], `external hosts: ${[...hosts]}`);
  assert.deepEqual(errors, []);

  // Revalidation: a reload sends If-None-Match and gets 304s.
  const warm = await b.newPage();
  let notModified = 0;
  warm.on('response', (r) => r.status() === 304 && (notModified += 1));
  await warm.goto(`${url}/`);
  await warm.locator('.graphiql-query-editor .monaco-editor').first().waitFor({ timeout: 30_000 });
  await warm.reload();
  await warm.locator('.graphiql-query-editor .monaco-editor').first().waitFor({ timeout: 30_000 });
  console.log(`figure: reload revalidated ${notModified} assets with 304`);
});

test(`[${backend}] a wrong token shows signed out; an example tab runs by its trusted id under enforce`, async () => {
  const url = await serve({ STOA_TRUSTED_DOCUMENTS_MODE: 'enforce' });
  const who = await fixture(url);
  const b = await browser();
  const { page, errors } = await open(b, url);
  // The identity tab's first operation is `Me`: unedited, it runs by its trusted id.
  const identityTab = page.locator('.graphiql-tab-button').getByText('Me', { exact: true }).first();
  await page.fill('.stoa-token input[name=token]', 'not-a-token');
  await page.click('.stoa-token button[type=submit]');
  await identityTab.click();
  await page.keyboard.press('Control+Home');
  await execute(page);
  await page.locator('.stoa-status[data-state=signed-out]').waitFor({ timeout: 15_000 });
  await response(page).getByText('UNAUTHENTICATED').first().waitFor({ timeout: 15_000 });

  await signIn(page, who);
  await identityTab.click();
  await execute(page);
  await response(page).getByText(who.email).first().waitFor({ timeout: 15_000 });
  // Free-form text is refused with its code.
  await runQuery(page, 'query Mine { me { id } }');
  await response(page).getByText('TRUSTED_DOCUMENTS_ONLY').first().waitFor({ timeout: 15_000 });
  assert.deepEqual(errors.filter((e) => !/status of (400|401|404)/.test(e)), []);
});

test(`[${backend}] production serves no playground unless STOA_PLAYGROUND=on; paths outside the bundle are 404`, async () => {
  const off = await serve({ STOA_ENV: 'production' });
  assert.equal((await fetch(`${off}/`)).status, 404);
  assert.equal((await fetch(`${off}/playground/main.js`)).status, 404);
  const on = await serve({ STOA_ENV: 'production', STOA_PLAYGROUND: 'on' });
  const page = await fetch(`${on}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  for (const path of ['/playground/../Cargo.toml', '/playground/%2e%2e/Cargo.toml', '/playground/%2e%2e%2fCargo.toml', '/playground/nope.js']) {
    assert.equal((await fetch(`${on}${path}`)).status, 404, path);
  }
  const js = await fetch(`${on}/playground/main.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  const etag = js.headers.get('etag');
  assert.ok(etag);
  assert.equal((await fetch(`${on}/playground/main.js`, { headers: { 'if-none-match': etag } })).status, 304);
  // A member's free-form query is refused (production enforces trusted documents).
  const who = await fixture(on);
  const refused = await gql(on, { query: '{ me { id } }' }, who.token);
  assert.equal(refused.errors?.[0]?.extensions?.code, 'TRUSTED_DOCUMENTS_ONLY');
});

/** A stand-in proxy in front of `url` that forwards HTTP and refuses every WebSocket upgrade. */
async function refusingProxy(url) {
  const http = await import('node:http');
  const target = new URL(url);
  const proxy = http.createServer((req, res) => {
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  proxy.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => proxy.close(resolve)));
  return `http://127.0.0.1:${proxy.address().port}`;
}

test(`[${backend}] behind a proxy that refuses the upgrade, GraphiQL shows the error and the page stays usable`, async () => {
  const url = await refusingProxy(await serve());
  const who = await fixture(url);
  const b = await browser();
  const { page, errors } = await open(b, url);
  await signIn(page, who);
  await runQuery(page, `subscription Watch { channelEvents(channelId: "${who.channelId}") { seq } }`);
  await response(page).getByText(/Socket closed|error/i).first().waitFor({ timeout: 20_000 });
  await runQuery(page, 'query Me { me { email } }');
  await response(page).getByText(who.email).first().waitFor({ timeout: 15_000 });
  // Only the refused handshake may be logged.
  assert.deepEqual(errors.filter((e) => !/WebSocket connection to .* failed|status of 403/.test(e)), []);
});
