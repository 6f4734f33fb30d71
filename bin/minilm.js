#!/usr/bin/env node
// The `minilm` command: runs the TypeScript sources (src/cli/main.ts) through tsx's loader.
// Plain JavaScript so that npm can link it as a bin; everything else lives in src/cli/.
let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch {
  process.stderr.write(
    'minilm: error: the minilm command runs its TypeScript sources through tsx, which is not installed.\n' +
      'Install it next to minilm-ts (npm install --save-dev tsx), or run: npx tsx node_modules/minilm-ts/src/cli/main.ts\n',
  );
  process.exit(1);
}
register();
const { runFromProcess } = await import('../src/cli/main.ts');
await runFromProcess();
