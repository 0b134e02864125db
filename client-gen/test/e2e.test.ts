// @stoa/client end to end against `$STOA_BIN serve` on a random port: typed requests, a typed
// subscription, a typed ErrorCode, trusted documents against an `enforce` server, resuming across a
// restarted server, a socket whose token expired coming back with a fresh one, and a helpdesk
// ticket's life (version guards, typed refusals, its typed event stream) and a ticket's approval
// under an ALL policy.
// Runs on the embedded backends; with E2E_DATABASE_URL and E2E_REDIS_URL set, on Postgres + Redis.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import {
  AddDepartmentMemberDocument,
  AddMemberDocument,
  ChannelEventsDocument,
  CreateApprovalPolicyDocument,
  CreateChannelDocument,
  CreateDepartmentDocument,
  CreateTicketDocument,
  CreateWorkspaceDocument,
  DecideApprovalDocument,
  LoginDocument,
  MeDocument,
  PostMessageDocument,
  RefreshSessionDocument,
  RegisterDocument,
  RequestApprovalDocument,
  TicketApprovalsDocument,
  TicketCountsDocument,
  TicketDocument,
  TicketEventsDocument,
  TicketsDocument,
  TransitionTicketDocument,
  UpdateWorkspaceDocument,
  createStoaClient,
  StoaError,
  type ApprovalMode,
  type ErrorCode,
  type StoaClientOptions,
  type Subscription,
  type TicketAction,
  type TicketEventsSubscription,
  type TicketState,
} from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = process.env.STOA_BIN ?? join(root, '..', 'target', 'debug', 'stoa');
const backend = process.env.E2E_DATABASE_URL ? 'postgres+redis' : 'sqlite';
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One `stoa serve` on a fixed port and data folder, restartable. */
class Server {
  readonly url: string;
  private child: ChildProcess | undefined;
  private log = '';
  private constructor(
    private readonly port: number,
    private readonly env: Record<string, string>,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(env: Record<string, string> = {}): Promise<Server> {
    assert.ok(existsSync(BIN), `STOA_BIN=${BIN} does not exist: build it (cargo build) or set STOA_BIN`);
    const dataDir = mkdtempSync(join(tmpdir(), 'stoa-client-e2e-'));
    dirs.push(dataDir);
    const vars: Record<string, string> = {
      STOA_DATA_DIR: dataDir,
      STOA_LOG: 'warn',
      STOA_RATE_LIMIT_IP_PER_MIN: '1000000',
      STOA_RATE_LIMITS: 'owner=1000000,admin=1000000,member=1000000',
      ...env,
    };
    if (process.env.E2E_DATABASE_URL) {
      vars.DATABASE_URL = process.env.E2E_DATABASE_URL;
      vars.REDIS_URL = process.env.E2E_REDIS_URL ?? '';
      vars.STOA_REDIS_PREFIX = `stoa-e2e-${run}`;
      vars.STOA_JWT_SECRET = `e2e-secret-${run}-0123456789abcdef0123456789`;
    }
    const server = new Server(await freePort(), vars);
    await server.boot();
    return server;
  }

  async boot(): Promise<void> {
    const env = { PATH: process.env.PATH ?? '', ...this.env, STOA_BIND: `127.0.0.1:${this.port}` };
    const child = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => (this.log += d));
    child.stderr?.on('data', (d) => (this.log += d));
    this.child = child;
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) throw new Error(`stoa exited ${child.exitCode}:\n${this.log}`);
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`stoa did not start:\n${this.log}`);
  }

  /** SIGTERM, and wait for the drain to finish. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

const servers: Server[] = [];
after(async () => Promise.all(servers.map((s) => s.stop())));
async function server(env: Record<string, string> = {}): Promise<Server> {
  const s = await Server.start(env);
  servers.push(s);
  return s;
}

function client(url: string, extra: Partial<StoaClientOptions> = {}) {
  return createStoaClient({ url, webSocketImpl: WebSocket, maxRetryDelayMs: 1000, ...extra });
}

async function signUp(url: string, name: string, trusted: boolean) {
  const email = `${name}.${run}.${Math.random().toString(36).slice(2)}@example.com`;
  const password = `pw-${name}-12345`;
  const anon = client(url, { trusted });
  await anon.request(RegisterDocument, { input: { email, password, displayName: name } });
  // The login mutation, typed: `accessToken` is a string.
  const { login } = await anon.request(LoginDocument, { input: { email, password } });
  return { email, token: login.accessToken, refresh: login.refreshToken, id: login.viewer.id };
}

async function expectCode(promise: Promise<unknown>, expected: ErrorCode): Promise<StoaError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof StoaError, `a StoaError, not ${String(e)}`);
    const code: ErrorCode = e.code; // typed: a misspelt code does not compile
    assert.equal(code, expected, e.message);
    return e;
  }
  assert.fail(`expected ${expected}`);
}

/** Log in, a typed query, a message seen by a subscription, a typed FORBIDDEN. */
async function scenario(url: string, trusted: boolean): Promise<void> {
  const ada = await signUp(url, 'ada', trusted);
  const api = client(url, { token: ada.token, trusted });
  try {
    const { me } = await api.request(MeDocument);
    assert.equal(me.email, ada.email);
    const { createWorkspace } = await api.request(CreateWorkspaceDocument, { input: { name: `E2E ${run}` } });
    const workspaceId = createWorkspace.workspace.id;
    const { createChannel } = await api.request(CreateChannelDocument, { input: { workspaceId, name: 'general' } });
    const channelId = createChannel.channel.id;

    const events = api.subscribe(ChannelEventsDocument, { channelId, after: 0 }, { cursor: (d) => d.channelEvents.seq });
    const { message } = (await api.request(PostMessageDocument, { input: { channelId, body: 'hello, typed' } })).postMessage;
    const first = await events.next();
    assert.equal(first.done, false);
    assert.equal(first.value?.channelEvents.message?.body, 'hello, typed');
    assert.equal(events.variables.after, message.seq, 'the cursor advanced in the variables');
    events.unsubscribe();

    const bob = await signUp(url, 'bob', trusted);
    await api.request(AddMemberDocument, { input: { workspaceId, email: bob.email, role: 'MEMBER' } });
    const asBob = client(url, { token: bob.token, trusted });
    await expectCode(asBob.request(UpdateWorkspaceDocument, { input: { workspaceId, name: 'Mine now' } }), 'FORBIDDEN');
    await asBob.dispose();
  } finally {
    await api.dispose();
  }
}

test(`[${backend}] typed requests, a subscription and a typed FORBIDDEN, sending query text`, async () => {
  const s = await server();
  await scenario(s.url, false);
});

test(`[${backend}] the same with trusted documents only, against an enforce-mode server`, async () => {
  const s = await server({ STOA_TRUSTED_DOCUMENTS_MODE: 'enforce' });
  await scenario(s.url, true);
  // Text, and an id the server never listed, are refused with their codes.
  const textClient = client(s.url, { trusted: false });
  await expectCode(textClient.request(MeDocument), 'TRUSTED_DOCUMENTS_ONLY');
  const unknown = { ...MeDocument, __meta__: { hash: `sha256:${'0'.repeat(64)}` } } as typeof MeDocument;
  const err = await expectCode(client(s.url, { trusted: true }).request(unknown), 'PERSISTED_QUERY_NOT_FOUND');
  assert.equal(err.status, 404);

  // What a trusted document saves on the wire (printed as a figure, not asserted).
  const text = JSON.stringify({ query: (await import('graphql')).print(PostMessageDocument), variables: {} }).length;
  const hash = (PostMessageDocument as { __meta__?: { hash?: string } }).__meta__?.hash;
  const id = JSON.stringify({ documentId: hash, variables: {} }).length;
  console.log(`figure: PostMessage request body ${text} bytes as text, ${id} bytes as documentId`);
});

test(`[${backend}] a subscriber resumes across a restarted server and sees 1..200 once each, in order`, async () => {
  const s = await server();
  const ada = await signUp(s.url, 'ada', false);
  const api = client(s.url, { token: ada.token });
  const { createWorkspace } = await api.request(CreateWorkspaceDocument, { input: { name: `Resume ${run}` } });
  const { createChannel } = await api.request(CreateChannelDocument, {
    input: { workspaceId: createWorkspace.workspace.id, name: 'resume' },
  });
  const channelId = createChannel.channel.id;
  const events = api.subscribe(ChannelEventsDocument, { channelId, after: 0 }, { cursor: (d) => d.channelEvents.seq });
  const seen: string[] = [];
  let restartedAt = 0;
  let firstAfterRestart = 0;
  const reading = (async () => {
    for await (const event of events) {
      const body = event.channelEvents.message?.body;
      if (event.channelEvents.kind !== 'POSTED' || body === undefined) continue;
      if (restartedAt && !firstAfterRestart) firstAfterRestart = Date.now();
      seen.push(body);
      if (seen.length === 200) break;
    }
  })();

  let restart: Promise<void> | undefined;
  for (let i = 1; i <= 200; i++) {
    if (i === 70) {
      // Stop mid-stream (SIGTERM: the server drains, closing sockets with 1012) and start again on
      // the same port while the poster keeps going.
      restart = (async () => {
        await s.stop();
        await sleep(300);
        await s.boot();
        restartedAt = Date.now();
      })();
    }
    for (;;) {
      try {
        await api.request(PostMessageDocument, { input: { channelId, body: String(i) } });
        break;
      } catch (e) {
        assert.ok(e instanceof StoaError && ['UNAVAILABLE', 'INTERNAL'].includes(e.code), String(e));
        await sleep(50); // the server is down: the same message again (none was written)
      }
    }
  }
  await restart;
  const timeout = sleep(30_000).then(() => 'timeout');
  assert.notEqual(await Promise.race([reading.then(() => 'done'), timeout]), 'timeout', `saw ${seen.length}`);
  assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => String(i + 1)));
  if (firstAfterRestart) console.log(`figure: first event ${firstAfterRestart - restartedAt} ms after the restarted server listened`);
  await api.dispose();
});

test(`[${backend}] a socket refused for an expired token (4403) comes back with a fresh one`, async () => {
  const s = await server({ STOA_ACCESS_TOKEN_TTL_SECS: '2' });
  const ada = await signUp(s.url, 'ada', false);
  const anon = client(s.url);
  let current = { token: ada.token, refresh: ada.refresh, expires: Date.now() + 2000 };
  let refreshing: Promise<void> | undefined;
  // What an app does: hand out the token it holds, refreshed (once, however many ask) when it is
  // about to expire.
  const fresh = async (): Promise<string> => {
    if (Date.now() >= current.expires - 300) {
      refreshing ??= (async () => {
        const { refreshSession } = await anon.request(RefreshSessionDocument, { input: { refreshToken: current.refresh } });
        current = {
          token: refreshSession.accessToken,
          refresh: refreshSession.refreshToken,
          expires: Date.parse(refreshSession.accessTokenExpiresAt),
        };
      })().finally(() => (refreshing = undefined));
      await refreshing;
    }
    return current.token;
  };
  const poster = client(s.url, { token: fresh });
  const { createWorkspace } = await poster.request(CreateWorkspaceDocument, { input: { name: `Tokens ${run}` } });
  const { createChannel } = await poster.request(CreateChannelDocument, {
    input: { workspaceId: createWorkspace.workspace.id, name: 'tokens' },
  });
  const channelId = createChannel.channel.id;
  await sleep(2100);
  // The socket first presents the token it was given, which has expired by now: refused with 4403,
  // which graphql-ws retries, reading the token again.
  const stale = ada.token;
  const presented: string[] = [];
  const socketToken = async () => {
    const token = presented.length === 0 ? stale : await fresh();
    presented.push(token);
    return token;
  };
  const api = client(s.url, { token: socketToken });
  const events = api.subscribe(ChannelEventsDocument, { channelId, after: 0 }, { cursor: (d) => d.channelEvents.seq });
  for (const body of ['one', 'two', 'three']) {
    await poster.request(PostMessageDocument, { input: { channelId, body } });
    await sleep(1200); // the socket's fresh token expires mid-stream too: 4403 again, then a reconnect
  }
  const bodies: string[] = [];
  for await (const event of events) {
    bodies.push(event.channelEvents.message?.body ?? '');
    if (bodies.length === 3) break;
  }
  assert.deepEqual(bodies, ['one', 'two', 'three'], 'each message once, in order, across the reconnects');
  assert.equal(presented[0], stale, 'the socket first presented the expired token');
  assert.ok(new Set(presented).size >= 3, `the expired token, then fresh ones on each reconnect: ${presented.length} reads`);
  await Promise.all([api.dispose(), poster.dispose(), anon.dispose()]);
});

/** Reads a subscription into `seen` as events arrive; `waitFor` waits (up to `ms`) for a match. */
function collect<T>(events: Subscription<T>) {
  const seen: T[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const reading = (async () => {
    try {
      for await (const event of events) {
        seen.push(event);
        wake?.();
      }
    } catch (e) {
      failure = e;
      wake?.();
    }
  })();
  /** Whether `matches` accepted the events seen within `ms` (0: as they stand now). */
  async function waitFor(matches: (events: readonly T[]) => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (matches(seen)) return true;
      if (failure !== undefined) throw failure;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
  return { seen, waitFor, reading };
}

test(`[${backend}] a ticket's life: typed transitions, a stale version, typed refusals and its event stream`, async () => {
  // Enforce mode, with the manifest codegen wrote listed beside the embedded one: the ticket
  // documents run by their trusted ids even on a binary built before they were added.
  const manifest = join(root, 'src', 'gql', 'persisted-documents.json');
  const s = await server({ STOA_TRUSTED_DOCUMENTS_MODE: 'enforce', STOA_TRUSTED_DOCUMENTS: manifest });
  const alice = await signUp(s.url, 'alice', true);
  const bob = await signUp(s.url, 'bob', true);
  const asAlice = client(s.url, { token: alice.token, trusted: true });
  const asBob = client(s.url, { token: bob.token, trusted: true });
  let events: Subscription<TicketEventsSubscription> | undefined;
  try {
    const { createWorkspace } = await asAlice.request(CreateWorkspaceDocument, { input: { name: `Helpdesk ${run}` } });
    const workspaceId = createWorkspace.workspace.id;
    await asAlice.request(AddMemberDocument, { input: { workspaceId, email: bob.email, role: 'MEMBER' } });
    // Alice heads the department, which makes her one of its agents.
    const { createDepartment } = await asAlice.request(CreateDepartmentDocument, {
      input: { workspaceId, department: { name: 'Support', code: 'SUP', headUserId: alice.id, capacity: 10 } },
    });
    const departmentId = createDepartment.department.id;

    const { createTicket: opened } = await asBob.request(CreateTicketDocument, {
      workspaceId,
      departmentId,
      input: { title: 'The printer is on fire', priority: 'HIGH', labels: ['hardware'] },
    });
    assert.equal(opened.state, 'NEW', 'a free slot: NEW, not QUEUED');
    assert.equal(opened.version, 1);
    assert.equal(opened.number, 1);
    assert.equal(opened.requester?.id, bob.id);
    assert.equal(opened.assignee, null);
    const bobMay: TicketAction[] = opened.availableTransitions; // typed: a misspelt action does not compile
    assert.ok(bobMay.includes('CANCEL') && !bobMay.includes('START') && !bobMay.includes('ASSIGN'), bobMay.join());
    const ticketId = opened.id;
    assert.ok(opened.channelId, 'the ticket has its conversation');

    // Bob follows the ticket. No event replays, so the stream is proven live first: Bob posts in
    // the ticket's conversation until its MESSAGE_POSTED arrives (the ticket's version stays).
    events = asBob.subscribe(TicketEventsDocument, { ticketId });
    const stream = collect(events);
    const live = (seen: readonly TicketEventsSubscription[]) => seen.some((e) => e.ticketEvents.kind === 'MESSAGE_POSTED');
    const liveBy = Date.now() + 20_000;
    for (let probe = 1; !(await stream.waitFor(live, 0)); probe++) {
      assert.ok(Date.now() < liveBy, 'ticketEvents delivered no MESSAGE_POSTED within 20 s');
      await asBob.request(PostMessageDocument, { input: { channelId: opened.channelId, body: `probe ${probe}` } });
      await stream.waitFor(live, 1000);
    }

    // Bob is the requester: from NEW no START row exists at all (the source is checked before the
    // permission), so INVALID_STATE with its reason and what he may do instead …
    const invalid = await expectCode(
      asBob.request(TransitionTicketDocument, { input: { ticketId, version: 1, action: 'START' } }),
      'INVALID_STATE',
    );
    assert.equal(invalid.errors[0]?.extensions?.reason, 'INVALID_TRANSITION');
    assert.deepEqual(invalid.errors[0]?.extensions?.allowed, bobMay);
    // … while ASSIGN exists from NEW but is the staff's: FORBIDDEN.
    await expectCode(asBob.request(TransitionTicketDocument, { input: { ticketId, version: 1, action: 'ASSIGN' } }), 'FORBIDDEN');

    const { transitionTicket: assigned } = await asAlice.request(TransitionTicketDocument, {
      input: { ticketId, version: 1, action: 'ASSIGN' },
    });
    assert.equal(assigned.state, 'ASSIGNED');
    assert.equal(assigned.version, 2, 'the refused transitions wrote nothing');
    assert.equal(assigned.assignee?.id, alice.id, 'the caller by default');
    const aliceMay: TicketAction[] = assigned.availableTransitions;
    assert.ok(aliceMay.includes('START'), aliceMay.join());

    const { transitionTicket: started } = await asAlice.request(TransitionTicketDocument, {
      input: { ticketId, version: 2, action: 'START' },
    });
    assert.equal(started.state, 'IN_PROGRESS');
    assert.equal(started.version, 3);
    // The same START again with the version read before it: a stale version, nothing written.
    const stale = await expectCode(
      asAlice.request(TransitionTicketDocument, { input: { ticketId, version: 2, action: 'START' } }),
      'CONFLICT',
    );
    assert.equal(stale.errors[0]?.extensions?.currentVersion, 3);
    assert.equal(stale.errors[0]?.extensions?.currentState, 'IN_PROGRESS' satisfies TicketState, 'named as the enum names it');

    const { transitionTicket: resolved } = await asAlice.request(TransitionTicketDocument, {
      input: { ticketId, version: 3, action: 'RESOLVE' },
    });
    assert.equal(resolved.state, 'RESOLVED');
    assert.ok(resolved.resolvedAt);
    const { transitionTicket: closed } = await asBob.request(TransitionTicketDocument, {
      input: { ticketId, version: 4, action: 'CONFIRM' },
    });
    assert.equal(closed.state, 'CLOSED');
    assert.equal(closed.version, 5);
    assert.ok(closed.closedAt);

    // Bob saw each move once, in order, typed.
    const transitioned = () => stream.seen.filter((e) => e.ticketEvents.kind === 'TRANSITIONED').map((e) => e.ticketEvents);
    const allFour = await stream.waitFor(() => transitioned().length >= 4, 20_000);
    assert.ok(allFour, `4 TRANSITIONED events within 20 s, saw ${JSON.stringify(stream.seen.map((e) => e.ticketEvents.kind))}`);
    const moves = transitioned().map((e) => {
      const action: TicketAction | null = e.action;
      return `${e.from}-${action}->${e.to}@${e.version}`;
    });
    assert.deepEqual(moves, [
      'NEW-ASSIGN->ASSIGNED@2',
      'ASSIGNED-START->IN_PROGRESS@3',
      'IN_PROGRESS-RESOLVE->RESOLVED@4',
      'RESOLVED-CONFIRM->CLOSED@5',
    ]);
    assert.deepEqual(
      transitioned().map((e) => e.actor?.id),
      [alice.id, alice.id, alice.id, bob.id],
    );
    assert.ok(transitioned().every((e) => e.ticketId === ticketId));

    // The detail and the list, as the staff see them: history from the audit log, and a page of
    // 100 (the most a page holds) fits the server's complexity limit.
    const { ticket } = await asAlice.request(TicketDocument, { id: ticketId });
    const history = ticket.history.filter((h) => h.action === 'ticket.transitioned').map((h) => `${h.from}->${h.to}`);
    assert.deepEqual(history, ['new->assigned', 'assigned->in_progress', 'in_progress->resolved', 'resolved->closed']);
    const { tickets } = await asAlice.request(TicketsDocument, { workspaceId, first: 100 });
    assert.deepEqual(
      tickets.edges.map((e) => [e.node.number, e.node.state]),
      [[1, 'CLOSED']],
    );
    const { ticketCounts } = await asAlice.request(TicketCountsDocument, { workspaceId });
    assert.deepEqual(ticketCounts, [{ departmentId, state: 'CLOSED', count: 1 }]);
  } finally {
    events?.unsubscribe();
    await Promise.all([asAlice.dispose(), asBob.dispose()]);
  }
});

test(`[${backend}] an approval under an ALL policy: the assignee refused, one decider waits for the other`, async () => {
  // Enforce mode against the manifest codegen wrote, as in the ticket's life above.
  const manifest = join(root, 'src', 'gql', 'persisted-documents.json');
  const s = await server({ STOA_TRUSTED_DOCUMENTS_MODE: 'enforce', STOA_TRUSTED_DOCUMENTS: manifest });
  const alice = await signUp(s.url, 'alice', true);
  const bob = await signUp(s.url, 'bob', true);
  const carol = await signUp(s.url, 'carol', true);
  const dave = await signUp(s.url, 'dave', true);
  const asAlice = client(s.url, { token: alice.token, trusted: true });
  const asBob = client(s.url, { token: bob.token, trusted: true });
  const asCarol = client(s.url, { token: carol.token, trusted: true });
  const asDave = client(s.url, { token: dave.token, trusted: true });
  try {
    const { createWorkspace } = await asAlice.request(CreateWorkspaceDocument, { input: { name: `Approvals ${run}` } });
    const workspaceId = createWorkspace.workspace.id;
    // Alice heads the department (so she is one of its agents); Bob is made an agent of it.
    const { createDepartment } = await asAlice.request(CreateDepartmentDocument, {
      input: { workspaceId, department: { name: 'Procurement', code: 'PRC', headUserId: alice.id, capacity: 10 } },
    });
    const departmentId = createDepartment.department.id;
    await asAlice.request(AddMemberDocument, { input: { workspaceId, email: bob.email, role: 'AGENT' } });
    const { addDepartmentMember } = await asAlice.request(AddDepartmentMemberDocument, {
      input: { departmentId, userId: bob.id },
    });
    assert.deepEqual(addDepartmentMember, { departmentId, userId: bob.id });
    for (const who of [carol, dave]) {
      await asAlice.request(AddMemberDocument, { input: { workspaceId, email: who.email, role: 'MEMBER' } });
    }

    const { createApprovalPolicy: policy } = await asAlice.request(CreateApprovalPolicyDocument, {
      workspaceId,
      input: { name: 'Purchases', mode: 'ALL', deciderIds: [dave.id, alice.id] },
    });
    const mode: ApprovalMode = policy.mode; // typed: a misspelt mode does not compile
    assert.equal(mode, 'ALL');
    assert.deepEqual([...policy.deciderIds].sort(), [dave.id, alice.id].sort());

    const { createTicket: opened } = await asCarol.request(CreateTicketDocument, {
      workspaceId,
      departmentId,
      input: { title: 'A new laptop', priority: 'NORMAL' },
    });
    assert.equal(opened.state, 'NEW');
    assert.equal(opened.version, 1);
    const ticketId = opened.id;

    const { transitionTicket: assigned } = await asAlice.request(TransitionTicketDocument, {
      input: { ticketId, version: opened.version, action: 'ASSIGN', assigneeId: bob.id },
    });
    assert.equal(assigned.state, 'ASSIGNED');
    assert.equal(assigned.version, opened.version + 1);
    assert.equal(assigned.assignee?.id, bob.id);

    const { transitionTicket: started } = await asBob.request(TransitionTicketDocument, {
      input: { ticketId, version: assigned.version, action: 'START' },
    });
    assert.equal(started.state, 'IN_PROGRESS');
    assert.equal(started.version, assigned.version + 1);

    const { requestApproval: pending } = await asBob.request(RequestApprovalDocument, {
      ticketId,
      version: started.version,
      policyId: policy.id,
      reason: 'Over the spending limit',
    });
    assert.equal(pending.state, 'PENDING_APPROVAL' satisfies TicketState);
    assert.equal(pending.version, started.version + 1);

    // The assignee never decides their own ticket: a typed FORBIDDEN, nothing written.
    await expectCode(asBob.request(DecideApprovalDocument, { ticketId, version: pending.version, approve: true }), 'FORBIDDEN');

    // ALL: Dave's approval alone decides nothing …
    const { decideApproval: daveSaid } = await asDave.request(DecideApprovalDocument, {
      ticketId,
      version: pending.version,
      approve: true,
    });
    assert.equal(daveSaid.state, 'PENDING_APPROVAL', 'ALL waits for every decider');
    assert.equal(daveSaid.version, pending.version + 1, 'the refused decision wrote nothing; a decision is a write');
    // … Alice's, the last one, approves: the ticket goes back to work.
    const { decideApproval: aliceSaid } = await asAlice.request(DecideApprovalDocument, {
      ticketId,
      version: daveSaid.version,
      approve: true,
    });
    assert.equal(aliceSaid.state, 'IN_PROGRESS');
    assert.equal(aliceSaid.version, daveSaid.version + 1);
    assert.equal(aliceSaid.approvalRejected, false);

    const { ticket } = await asAlice.request(TicketApprovalsDocument, { id: ticketId });
    assert.equal(ticket.state, 'IN_PROGRESS');
    assert.equal(ticket.version, aliceSaid.version);
    assert.equal(ticket.approvals.length, 1, 'one round');
    const round = ticket.approvals[0];
    assert.ok(round);
    assert.equal(round.policyId, policy.id);
    assert.equal(round.mode, 'ALL');
    assert.equal(round.status, 'approved');
    assert.equal(round.requestedBy?.id, bob.id);
    assert.ok(round.decidedAt);
    assert.equal(round.decisions.length, 2);
    assert.deepEqual(
      round.decisions.map((d) => d.decider?.id).sort(),
      [dave.id, alice.id].sort(),
    );
    assert.ok(
      round.decisions.every((d) => d.approved === true && d.decidedAt),
      JSON.stringify(round.decisions),
    );
  } finally {
    await Promise.all([asAlice.dispose(), asBob.dispose(), asCarol.dispose(), asDave.dispose()]);
  }
});
