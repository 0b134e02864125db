// Real client libraries against a running Stoa: STOA_URL=http://host:port (set by .ci/run).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { ApolloClient, InMemoryCache, HttpLink, ApolloLink, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import subscriptionsTransportWs from 'subscriptions-transport-ws';

const { SubscriptionClient } = subscriptionsTransportWs;
const base = process.env.STOA_URL;
assert.ok(base, 'STOA_URL must point at a running Stoa');
const http = `${base}/graphql`;
const wsUrl = http.replace(/^http/, 'ws');

async function gqlFetch(query, variables, token) {
  const res = await fetch(http, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

async function signUp(name) {
  const email = `${name}.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`;
  const data = await gqlFetch(
    'mutation($i: RegisterInput!) { register(input: $i) { accessToken viewer { id } } }',
    { i: { email, password: `pw-${name}-123456`, displayName: name } },
  );
  return { token: data.register.accessToken, id: data.register.viewer.id, email };
}

const CHANNEL_EVENTS = 'subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq kind message { body author { displayName } } } }';
const POST = 'mutation($i: PostMessageInput!) { postMessage(input: $i) { message { seq } } }';
let alice, bob, channelId;

before(async () => {
  alice = await signUp('alice');
  bob = await signUp('bob');
  const ws = await gqlFetch('mutation { createWorkspace(input: { name: "E2E" }) { workspace { id } } }', {}, alice.token);
  const workspaceId = ws.createWorkspace.workspace.id;
  await gqlFetch('mutation($i: AddMemberInput!) { addMember(input: $i) { member { role } } }', { i: { workspaceId, email: bob.email } }, alice.token);
  const ch = await gqlFetch(
    'mutation($i: CreateChannelInput!) { createChannel(input: $i) { channel { id } } }',
    { i: { workspaceId, name: 'general', memberIds: [bob.id] } },
    alice.token,
  );
  channelId = ch.createChannel.channel.id;
});

const post = (body) => gqlFetch(POST, { i: { channelId, body } }, alice.token);
const lastSeq = async () => (await gqlFetch('query($id: ID!) { channel(id: $id) { lastSeq } }', { id: channelId }, bob.token)).channel.lastSeq;

function withTimeout(promise, ms, what) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);
}

test('graphql-ws client receives a posted message', async () => {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${bob.token}` } });
  const after = await lastSeq();
  const received = new Promise((resolve, reject) => {
    client.subscribe({ query: CHANNEL_EVENTS, variables: { id: channelId, after } }, { next: resolve, error: reject, complete: () => {} });
  });
  await post('hello from graphql-ws test');
  const result = await withTimeout(received, 5000, 'graphql-ws next');
  assert.equal(result.data.channelEvents.message.body, 'hello from graphql-ws test');
  assert.equal(result.data.channelEvents.kind, 'POSTED');
  await client.dispose();
});

test('graphql-ws client gets validation errors through its error callback', async () => {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket });
  const errors = await withTimeout(
    new Promise((resolve) => client.subscribe({ query: '{ nope }' }, { next: () => {}, error: resolve, complete: () => {} })),
    5000,
    'graphql-ws error',
  );
  assert.ok(Array.isArray(errors), 'errors arrive as a list');
  assert.equal(errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
  await client.dispose();
});

test('graphql-ws client with a refused token is closed with 4403', async () => {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: 'Bearer forged' } });
  const closed = await withTimeout(
    new Promise((resolve) => client.subscribe({ query: '{ __typename }' }, { next: () => {}, error: resolve, complete: () => {} })),
    5000,
    'close',
  );
  assert.equal(closed.code, 4403);
  await client.dispose();
});

test('Apollo Client runs queries over HTTP and subscriptions over graphql-ws', async () => {
  const wsLink = new GraphQLWsLink(createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${bob.token}` } }));
  const httpLink = new HttpLink({ uri: http, headers: { authorization: `Bearer ${bob.token}` } });
  const link = ApolloLink.split(({ query }) => {
    const def = getMainDefinition(query);
    return def.kind === 'OperationDefinition' && def.operation === 'subscription';
  }, wsLink, httpLink);
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const me = await client.query({ query: gql`{ me { id displayName } }` });
  assert.equal(me.data.me.id, bob.id);

  const after = await lastSeq();
  const received = new Promise((resolve, reject) => {
    const sub = client.subscribe({ query: gql(CHANNEL_EVENTS), variables: { id: channelId, after } }).subscribe({
      next: (r) => { sub.unsubscribe(); resolve(r); },
      error: reject,
    });
  });
  await post('hello from Apollo');
  const result = await withTimeout(received, 5000, 'Apollo subscription');
  assert.equal(result.data.channelEvents.message.body, 'hello from Apollo');
  await client.stop?.();
  wsLink.client.dispose();
});

test('the legacy subscriptions-transport-ws client streams over the graphql-ws subprotocol', async () => {
  const client = new SubscriptionClient(wsUrl, { reconnect: false, connectionParams: { authToken: bob.token } }, WebSocket);
  const after = await lastSeq();
  const received = new Promise((resolve, reject) => {
    const sub = client.request({ query: CHANNEL_EVENTS, variables: { id: channelId, after } }).subscribe({
      next: (r) => { sub.unsubscribe(); resolve(r); },
      error: reject,
    });
  });
  await post('hello from the legacy client');
  const result = await withTimeout(received, 5000, 'legacy data');
  assert.equal(result.data.channelEvents.message.body, 'hello from the legacy client');
  client.close();
});
