/**
 * Engine processes run plain JavaScript: each runner (TypeScript, in bench/engines/) is bundled
 * with esbuild into one ES module beside it before the rounds, and started with `node` alone.
 *
 * Why: a TypeScript loader in the measured process (tsx registers its hooks on a thread of their
 * own) adds tens of MB to every engine's RSS and time to its import, and would start again in
 * every worker thread minilm-ts spawns. Users run JavaScript: the peers are published as
 * JavaScript, and minilm-ts is measured as its compiled package (dist/, `npm run build`), which
 * the harness builds first and hands to the runner through MINILM_BENCH_ENTRY.
 *
 * The bundle sits in the runner's own folder (`bench/engines/.<name>.bundle.mjs`, git-ignored),
 * so that paths computed from `import.meta.url` (bench/lib/paths.ts) resolve as from the
 * sources. Packages (Node built-ins) stay external and load as usual; so does the peers'
 * importer (bench/peers/import-peer.mjs), which must stay in bench/peers to resolve the peers
 * from bench/peers/node_modules.
 */

import path from 'node:path';
import { build } from 'esbuild';

/** Bundles `runnerPath`; returns the path of the JavaScript module to run. */
export async function bundleRunner(runnerPath: string): Promise<string> {
  const outfile = path.join(path.dirname(runnerPath), `.${path.basename(runnerPath, '.ts')}.bundle.mjs`);
  await build({
    entryPoints: [runnerPath],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
    plugins: [
      {
        name: 'peer-importer-stays-in-place',
        setup(esbuild) {
          // Keep the import as written: "../peers/import-peer.mjs" from bench/engines/ at run time.
          esbuild.onResolve({ filter: /\/import-peer\.mjs$/ }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
  });
  return outfile;
}
