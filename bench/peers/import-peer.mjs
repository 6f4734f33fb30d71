/**
 * Imports a peer engine from this folder's own node_modules.
 *
 * The peers (onnxruntime-node, onnxruntime-web, Transformers.js) are installed here, apart from
 * the root package, which has no runtime dependencies. A dynamic `import(name)` resolves bare
 * names from the importing file's folder, so it must be written in a file that lives here; it is
 * plain JavaScript so that the runners' bundles (lib/runner-bundle.ts) can leave it out and
 * import it from here at run time. Its type is in import-peer.d.mts. The name is a parameter on
 * purpose: the type checker then does not look for the peers' types, and the bench type-checks
 * on a machine where the peers are not installed. The harness describes the small part of each
 * peer's API it uses in `../lib/peer-types.ts`.
 */

export function importPeer(name) {
  return import(name);
}
