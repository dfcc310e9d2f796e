// The tus peer of `bench -- peers`: @tus/server with its FileStore (defaults otherwise) on
// 127.0.0.1, serving tus at /files.
//
// Usage: node tus-server.mjs DIRECTORY PORT      (or TUS_DIRECTORY / TUS_PORT in the environment)
// The packages come from ${BENCH_PEERS_DIR:-$HOME/.cache/kbx-bench-peers}, where
// scripts/install-bench-peers.sh puts them. Prints `ready http://127.0.0.1:PORT/files` once
// it listens.
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const directory = process.argv[2] ?? process.env.TUS_DIRECTORY;
const port = Number(process.argv[3] ?? process.env.TUS_PORT);
if (!directory || !Number.isInteger(port) || port <= 0) {
  console.error('usage: node tus-server.mjs DIRECTORY PORT');
  process.exit(2);
}
const peers = process.env.BENCH_PEERS_DIR ?? path.join(homedir(), '.cache', 'kbx-bench-peers');
// Resolved from the install folder, not from this file's (the checkout has no node_modules).
const resolve = createRequire(path.join(peers, 'package.json')).resolve;
const load = async (name) => import(pathToFileURL(resolve(name)).href);
let tus, files;
try {
  [tus, files] = await Promise.all([load('@tus/server'), load('@tus/file-store')]);
} catch (error) {
  console.error(`@tus/server is not installed in ${peers}: run scripts/install-bench-peers.sh`);
  console.error(String(error));
  process.exit(1);
}

const server = new tus.Server({
  path: '/files',
  datastore: new files.FileStore({ directory }),
});
const listener = server.listen(port, '127.0.0.1', () => {
  console.log(`ready http://127.0.0.1:${port}/files`);
});
listener.on('error', (error) => {
  console.error(String(error));
  process.exit(1);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => listener.close(() => process.exit(0)));
}
