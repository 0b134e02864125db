// Monaco's workers, bundled beside main.js (build.mjs): set before GraphiQL loads Monaco, so no
// worker is fetched from anywhere but this server.
globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    const file = label === 'json' ? 'json.worker.js' : label === 'graphql' ? 'graphql.worker.js' : 'editor.worker.js';
    return new Worker(new URL(`./${file}`, import.meta.url), { type: 'module' });
  },
};
