#!/usr/bin/env node
// The `minilm` command. Plain JavaScript so that npm can link it as a bin; the CLI itself lives in
// src/cli/ (compiled to dist/cli/ in the published package).
//
// Which CLI it runs:
//   - installed from npm (no src/ in the package): the compiled dist/cli/main.js, plain Node;
//   - in a checkout of the repository (src/ beside bin/): the TypeScript sources through tsx (a dev
//     dependency), so that an edit shows at once and an old dist/ is never run by mistake. Without
//     tsx there, it falls back to dist/ when a build exists.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch {
    return undefined;
  }
}

let cli;
const register = existsSync(source) ? await tsxRegister() : undefined;
if (register !== undefined) {
  register();
  cli = await import(source.href);
} else if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  process.stderr.write(
    existsSync(source)
      ? 'minilm: error: no build in dist/ and tsx is not installed: run `npm install` (dev dependencies) or `npm run build`\n'
      : `minilm: error: the package is incomplete (${fileURLToPath(compiled)} is missing): reinstall minilm-ts\n`,
  );
  process.exit(1);
}
await cli.runFromProcess();
