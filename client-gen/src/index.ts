// The package's entry: the generated documents and types, the error codes, and the runtime.
export * from './gql/index.js';
export * from './gql/graphql.js';
export type { ErrorCode } from './error-codes.js';
export { createStoaClient, StoaError, type StoaClient, type StoaClientOptions, type Subscription } from './runtime/client.js';
