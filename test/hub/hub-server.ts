/**
 * A local stand-in for the Hugging Face Hub, for the downloader tests: node:http on 127.0.0.1
 * (port 0) serving files in the Hub's URL layout, `/{ORG}/{NAME}/resolve/{revision}/{path}`,
 * with HTTP Range support and switchable misbehaviour (cut connections, a corrupted byte,
 * redirects, ignored ranges, stalls).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubServerOptions {
  /** `${modelId}/${revision}/${path}` → bytes. */
  files: Map<string, Uint8Array>;
  /** Commit sent as X-Repo-Commit. */
  commit?: string;
  /** Paths (the part after the revision) whose first full-body response is cut halfway. */
  cutOnce?: Set<string>;
  /** Paths served with one byte flipped. */
  corrupt?: Set<string>;
  /** Answer resolve URLs with a 302 to /cdn/… ('relative' or 'absolute' Location). */
  redirect?: 'relative' | 'absolute';
  /** Ignore Range headers (always 200 with the whole body). */
  ignoreRange?: boolean;
  /** Paths whose first response sends a few bytes, then nothing (the connection stays open). */
  stallOnce?: Set<string>;
}

export interface RequestRecord {
  url: string;
  range: string | undefined;
}

export interface HubServer {
  endpoint: string;
  requests: RequestRecord[];
  close(): Promise<void>;
}

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const requests: RequestRecord[] = [];
  const cut = new Set(options.cutOnce);
  const stall = new Set(options.stallOnce);
  const open = new Set<ServerResponse>();

  const serveBody = (req: IncomingMessage, res: ServerResponse, path: string, body: Uint8Array): void => {
    const data = options.corrupt?.has(path) ? flipped(body) : body;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (range !== null && !options.ignoreRange) {
      start = Number(range[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-length': data.length - start, 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` });
    } else {
      res.writeHead(200, { 'content-length': data.length });
    }
    const rest = data.subarray(start);
    if (stall.delete(path)) {
      res.write(rest.subarray(0, Math.min(10, rest.length)));
      open.add(res); // never ended: the client must give up
      return;
    }
    if (start === 0 && cut.delete(path)) {
      res.write(rest.subarray(0, Math.floor(rest.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(rest);
  };

  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cdn = /^\/cdn\/(.+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const key = cdn ? decodeURIComponent(cdn[1]!) : resolve ? `${resolve[1]}/${decodeURIComponent(resolve[2]!)}/${decodeURIComponent(resolve[3]!)}` : null;
    const body = key === null ? undefined : options.files.get(key);
    const path = key === null ? '' : key.split('/').slice(3).join('/');
    const headers: Record<string, string> = options.commit ? { 'x-repo-commit': options.commit } : {};
    if (body === undefined) {
      res.writeHead(404, headers).end('Entry not found');
      return;
    }
    if (resolve && options.redirect) {
      const location = `/cdn/${encodeURIComponent(key!)}`;
      res.writeHead(302, { ...headers, location: options.redirect === 'relative' ? location : `http://127.0.0.1:${port()}${location}` }).end();
      return;
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    serveBody(req, res, path, body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (): number => (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port()}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function flipped(body: Uint8Array): Uint8Array {
  const copy = body.slice();
  copy[Math.floor(copy.length / 2)]! ^= 0x01;
  return copy;
}
