#!/usr/bin/env node
// The `minilm` command: runs the TypeScript sources (src/cli/main.ts) through tsx's loader.
// Plain JavaScript so that npm can link it as a bin; everything else lives in src/cli/.
import { register } from 'tsx/esm/api';

register();
const { runFromProcess } = await import('../src/cli/main.ts');
await runFromProcess();
