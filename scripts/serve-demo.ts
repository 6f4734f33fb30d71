/**
 * Serves the demo site (dist/demo, built first) on the loopback interface.
 *
 * Run:   npm run demo                       http://127.0.0.1:8080/
 *        npm run demo -- --port 9000
 *        npm run demo -- --no-build         serve what dist/demo already holds
 *
 * A static file server in a page of node:http: GET and HEAD only, files under the site folder
 * only, a Content-Type by extension, Content-Length, and `Cache-Control: no-cache` so an edited
 * demo is seen on reload. It listens on 127.0.0.1, never on other interfaces: localhost is also
 * a secure context, which the page's Cache Storage needs.
 *
 * `startDemoServer` is exported for the browser tests, which add in-memory files (`extraFiles`,
 * e.g. a synthetic checkpoint to download) and listen on a free port.
 *
 * Left out: Range requests, compression, directory listings, HTTPS.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAll, ROOT } from './bundle.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
};

export interface DemoServerOptions {
  /** Folder served at "/". Default dist/demo of the repository. */
  root?: string;
  host?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Files served from memory, by absolute URL path ("/fixtures/tiny.safetensors"). */
  extraFiles?: Record<string, Uint8Array | string>;
}

export interface DemoServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startDemoServer(options: DemoServerOptions = {}): Promise<DemoServer> {
  const root = resolve(options.root ?? join(ROOT, 'dist', 'demo'));
  const host = options.host ?? '127.0.0.1';
  const extraFiles = new Map(Object.entries(options.extraFiles ?? {}));

  const server = createServer((request, response) => {
    serve(request, response, root, extraFiles).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', `server error: ${(error as Error).message}\n`);
      else response.destroy();
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, host, () => done());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://${host}:${port}/`,
    server,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  root: string,
  extraFiles: Map<string, Uint8Array | string>,
): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
  } catch {
    send(response, 400, 'text/plain; charset=utf-8', 'bad request path\n');
    return;
  }
  const extra = extraFiles.get(pathname);
  if (extra !== undefined) {
    send(response, 200, contentType(pathname), extra, request.method === 'HEAD');
    return;
  }
  if (pathname.endsWith('/')) pathname += 'index.html';
  const path = normalize(join(root, pathname));
  if (path !== root && !path.startsWith(root + sep)) {
    send(response, 403, 'text/plain; charset=utf-8', 'outside the site\n');
    return;
  }
  const info = await stat(path).catch(() => null);
  if (info === null || !info.isFile()) {
    send(response, 404, 'text/plain; charset=utf-8', `not found: ${pathname}\n`);
    return;
  }
  send(response, 200, contentType(path), await readFile(path), request.method === 'HEAD');
}

function contentType(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function send(response: ServerResponse, status: number, type: string, body: Uint8Array | string, headOnly = false): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  response.writeHead(status, {
    'content-type': type,
    'content-length': String(bytes.length),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  response.end(headOnly ? undefined : bytes);
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

const USAGE = 'usage: npm run demo -- [--port N] [--no-build]';

async function main(args: string[]): Promise<void> {
  let port = 8080;
  let build = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--port') {
      port = Number(args[++i]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port needs a number from 0 to 65535\n${USAGE}`);
    } else if (arg === '--no-build') build = false;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      return;
    } else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  if (build) await buildAll();
  const { url } = await startDemoServer({ port });
  console.log(`minilm-ts demo: ${url}  (Ctrl+C to stop)`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`serve-demo: ${(error as Error).message}`);
    process.exitCode = 1;
  });
}
