/**
 * Reading a request body into memory, never more than `maxBytes` of it.
 *
 * A declared Content-Length over the limit is refused before a byte is read. A body that grows
 * past the limit as it streams (chunked encoding) stops being kept: the rest is read and dropped,
 * so the client gets to read the 413 instead of a reset connection, up to `maxDiscardBytes`,
 * after which the connection is cut.
 *
 * Left out: compressed bodies (Content-Encoding other than identity is refused with 415).
 */

import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.ts';

export interface ReadBodyOptions {
  maxBytes: number;
  /** Bytes read and dropped after the limit is crossed before the connection is cut. Default 4 × maxBytes. */
  maxDiscardBytes?: number;
}

export function readBody(request: IncomingMessage, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBytes } = options;
  const maxDiscardBytes = options.maxDiscardBytes ?? 4 * maxBytes;
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    request.resume();
    return Promise.reject(
      new ApiError(415, `Content-Encoding "${encoding}" is not supported: send the body uncompressed`, { code: 'unsupported_encoding' }),
    );
  }
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    request.resume();
    return Promise.reject(tooLarge(Number(declared), maxBytes));
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let overflowed = false;
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!overflowed && received > maxBytes) {
        overflowed = true;
        chunks.length = 0;
      }
      if (!overflowed) chunks.push(chunk);
      else if (received > maxBytes + maxDiscardBytes) request.destroy();
    });
    request.on('end', () => {
      if (overflowed) reject(tooLarge(received, maxBytes));
      else resolve(Buffer.concat(chunks, received));
    });
    request.on('error', (error) => reject(error));
    request.on('close', () => {
      if (overflowed) reject(tooLarge(received, maxBytes));
      else if (!request.complete) reject(new ApiError(400, 'the request body ended before it was complete', { code: 'incomplete_body' }));
    });
  });
}

function tooLarge(bytes: number, maxBytes: number): ApiError {
  return new ApiError(413, `the request body is ${bytes} bytes or more, more than the ${maxBytes} bytes allowed; split the input into several requests`, {
    code: 'request_too_large',
  });
}
