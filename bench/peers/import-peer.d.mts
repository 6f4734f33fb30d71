/** See import-peer.mjs. */
export function importPeer(name: string): Promise<unknown>;
