// The hand-written runtime of @stoa/client: typed requests over fetch and typed subscriptions over
// graphql-ws that survive a restarted replica and an expired token.
import { print, type DocumentNode, type GraphQLFormattedError, type OperationDefinitionNode } from 'graphql';
import { createClient, type Client, type SubscribePayload } from 'graphql-ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { ErrorCode } from '../error-codes.js';

/** An access token, or a function the runtime calls for one before every request and (re)connect. */
export type TokenSource = string | null | undefined | (() => string | null | undefined | Promise<string | null | undefined>);

export interface StoaClientOptions {
  /** The server's base URL (`https://stoa.example`) or its `/graphql` endpoint. */
  url: string;
  token?: TokenSource;
  /** Send only `documentId` (`sha256:<hex>`), never the text: for a server in `enforce` mode. */
  trusted?: boolean;
  /** A WebSocket class where there is no global one (Node 20: `import WebSocket from 'ws'`). */
  webSocketImpl?: unknown;
  fetch?: typeof fetch;
  /** The first reconnect wait, in milliseconds (then doubling, jittered, to `maxRetryDelayMs`). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/** A GraphQL error with its stable `extensions.code`, or a socket closed for good. */
export class StoaError extends Error {
  readonly code: ErrorCode;
  /** Seconds to wait before trying again (`RATE_LIMITED`, `UNAVAILABLE`). */
  readonly retryAfter?: number;
  /** The HTTP status, for a refused request. */
  readonly status?: number;
  /** The WebSocket close code, when the socket was closed for good. */
  readonly closeCode?: number;
  readonly errors: readonly GraphQLFormattedError[];

  constructor(
    code: ErrorCode,
    message: string,
    extra: { retryAfter?: number; status?: number; closeCode?: number; errors?: readonly GraphQLFormattedError[] } = {},
  ) {
    super(message);
    this.name = 'StoaError';
    this.code = code;
    if (extra.retryAfter !== undefined) this.retryAfter = extra.retryAfter;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.closeCode !== undefined) this.closeCode = extra.closeCode;
    this.errors = extra.errors ?? [];
  }

  /** The error of a response's first error; `INTERNAL` when it carries no code. */
  static fromErrors(errors: readonly GraphQLFormattedError[], status?: number, retryHeader?: string | null): StoaError {
    const first = errors[0];
    const code = typeof first?.extensions?.code === 'string' ? (first.extensions.code as ErrorCode) : 'INTERNAL';
    const retry = first?.extensions?.retryAfter ?? (retryHeader ? Number(retryHeader) : undefined);
    const extra: { retryAfter?: number; status?: number; errors: readonly GraphQLFormattedError[] } = { errors };
    if (typeof retry === 'number' && Number.isFinite(retry)) extra.retryAfter = retry;
    if (status !== undefined) extra.status = status;
    return new StoaError(code, first?.message ?? 'request failed', extra);
  }
}

/** Close codes that end a subscription for good, each with the code the caller sees. graphql-ws
 * itself gives up on 4400/4401/4409/4429/4500 and on 1002–1011; every other close is retried:
 * 1000/1001/1006 and the server's drain (1012), 1013/1014, and 4403 (a token that expired: the
 * next connect reads a fresh one). */
const FATAL_CLOSES: Record<number, ErrorCode> = {
  1011: 'INTERNAL',
  4400: 'BAD_REQUEST',
  4401: 'UNAUTHENTICATED',
  4409: 'BAD_REQUEST',
  4429: 'RATE_LIMITED',
  4500: 'INTERNAL',
};

export interface SubscribeOptions<TResult> {
  /** The position of an event (`data => data.channelEvents.seq`): after each event the runtime
   * sets `variables.after` to it, so the resubscribe graphql-ws sends on reconnect resumes there. */
  cursor?: (data: TResult) => number | string | null | undefined;
  /** The variable the cursor goes in; `after` by default. */
  cursorVariable?: string;
}

/** A running subscription: iterate it for events; `unsubscribe()` (or leaving the loop) ends it. */
export interface Subscription<TResult> extends AsyncIterableIterator<TResult> {
  unsubscribe(): void;
  /** The variables as they stand: the cursor advances in them. */
  readonly variables: Record<string, unknown>;
}

export interface StoaClient {
  request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...variables: TVariables extends Record<string, never> ? [TVariables?] : [TVariables]
  ): Promise<TResult>;
  subscribe<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    options?: SubscribeOptions<TResult>,
  ): Subscription<TResult>;
  /** Closes the socket; running subscriptions end. */
  dispose(): Promise<void>;
}

const documentId = (document: DocumentNode): string | undefined =>
  (document as { __meta__?: { hash?: string } }).__meta__?.hash;

const operationName = (document: DocumentNode): string | undefined =>
  document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')?.name?.value;

function body(document: DocumentNode, variables: unknown, trusted: boolean): SubscribePayload & { documentId?: string } {
  const common = { operationName: operationName(document) ?? null, variables: (variables ?? {}) as Record<string, unknown> };
  if (!trusted) return { query: print(document), ...common };
  const id = documentId(document);
  if (!id) throw new StoaError('BAD_REQUEST', 'this document has no trusted id: run codegen with persistedDocuments');
  // `query: ""`: graphql-ws requires the field; the server reads the text from its manifest.
  return { query: '', documentId: id, ...common };
}

async function readToken(source: TokenSource): Promise<string | undefined> {
  const token = typeof source === 'function' ? await source() : source;
  return token ?? undefined;
}

/** Creates a client. Nothing connects until the first request or subscription. */
export function createStoaClient(options: StoaClientOptions): StoaClient {
  const endpoint = options.url.replace(/\/+$/, '').replace(/(\/graphql)?$/, '/graphql');
  const wsUrl = endpoint.replace(/^http/, 'ws');
  const trusted = options.trusted ?? false;
  const doFetch = options.fetch ?? globalThis.fetch;
  const first = options.retryDelayMs ?? 200;
  const max = options.maxRetryDelayMs ?? 10_000;
  let socket: Client | undefined;

  const ws = (): Client =>
    (socket ??= createClient({
      url: wsUrl,
      ...(options.webSocketImpl ? { webSocketImpl: options.webSocketImpl } : {}),
      lazy: true,
      // Re-read on every connect: a socket closed with 4403 at token expiry comes back with a fresh one.
      connectionParams: async () => {
        const token = await readToken(options.token);
        return token ? { authorization: `Bearer ${token}` } : {};
      },
      retryAttempts: Infinity,
      // Full jitter from ~200 ms (graphql-ws's own first wait is 1.3–4 s).
      retryWait: (retries) => {
        const ceiling = Math.min(max, first * 2 ** retries);
        return new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
      },
      shouldRetry: (event) => !(isClose(event) && event.code in FATAL_CLOSES),
    }));

  async function request(document: DocumentNode, variables?: unknown): Promise<unknown> {
    const token = await readToken(options.token);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
    };
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await doFetch(endpoint, { method: 'POST', headers, body: JSON.stringify(body(document, variables, trusted)) });
    } catch (cause) {
      throw new StoaError('UNAVAILABLE', `cannot reach ${endpoint}: ${String(cause)}`);
    }
    let result: { data?: unknown; errors?: GraphQLFormattedError[] };
    try {
      result = (await response.json()) as typeof result;
    } catch {
      throw new StoaError(response.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST', `HTTP ${response.status}: not a GraphQL response`, {
        status: response.status,
      });
    }
    if (result.errors?.length) throw StoaError.fromErrors(result.errors, response.status, response.headers.get('retry-after'));
    if (result.data === undefined || result.data === null) {
      throw new StoaError('INTERNAL', `HTTP ${response.status}: no data`, { status: response.status });
    }
    return result.data;
  }

  function subscribe<TResult>(
    document: DocumentNode,
    variables: unknown,
    opts: SubscribeOptions<TResult> = {},
  ): Subscription<TResult> {
    const payload = body(document, { ...(variables as object) }, trusted);
    const vars = payload.variables as Record<string, unknown>;
    const queue: TResult[] = [];
    const waiting: Array<{ resolve: (r: IteratorResult<TResult>) => void; reject: (e: unknown) => void }> = [];
    let failure: unknown;
    let done = false;
    const settle = () => {
      while (waiting.length) {
        const w = waiting.shift()!;
        if (failure !== undefined) w.reject(failure);
        else w.resolve({ value: undefined, done: true });
      }
    };
    const unsubscribe = ws().subscribe<TResult>(payload, {
      next: (result) => {
        if (result.errors?.length) return; // an error frame ends the operation through `error`
        const data = result.data as TResult;
        const cursor = opts.cursor?.(data);
        // graphql-ws re-sends this same payload object when it resubscribes after a reconnect.
        if (cursor !== undefined && cursor !== null) vars[opts.cursorVariable ?? 'after'] = cursor;
        const w = waiting.shift();
        if (w) w.resolve({ value: data, done: false });
        else queue.push(data);
      },
      error: (err) => {
        done = true;
        failure = toError(err);
        settle();
      },
      complete: () => {
        done = true;
        settle();
      },
    });
    const iterator: Subscription<TResult> = {
      variables: vars,
      unsubscribe: () => {
        done = true;
        unsubscribe();
        settle();
      },
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
        if (failure !== undefined) return Promise.reject(failure);
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
      },
      return: () => {
        iterator.unsubscribe();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  return {
    request: request as StoaClient['request'],
    subscribe: subscribe as StoaClient['subscribe'],
    dispose: async () => {
      const closing = socket;
      socket = undefined;
      try {
        await closing?.dispose();
      } catch {
        // graphql-ws rejects dispose() when a reconnect in flight was given up (1000 "All
        // Subscriptions Gone"): nothing is open then, and disposing is done.
      }
    },
  };
}

function isClose(event: unknown): event is { code: number; reason: string } {
  return typeof event === 'object' && event !== null && 'code' in event && typeof (event as { code: unknown }).code === 'number';
}

function toError(err: unknown): StoaError {
  if (Array.isArray(err)) return StoaError.fromErrors(err as GraphQLFormattedError[]);
  if (isClose(err)) {
    const code = FATAL_CLOSES[err.code] ?? 'INTERNAL';
    return new StoaError(code, `socket closed ${err.code}${err.reason ? `: ${err.reason}` : ''}`, { closeCode: err.code });
  }
  if (err instanceof StoaError) return err;
  return new StoaError('UNAVAILABLE', err instanceof Error ? err.message : String(err));
}
