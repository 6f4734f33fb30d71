/**
 * Optional bearer-token authentication, as the OpenAI API does it:
 *
 *   Authorization: Bearer <api key>
 *
 * 401 answers carry OpenAI's type and codes (invalid_request_error; missing_api_key or invalid_api_key).
 * Off unless a key is configured (`--api-key` or MINILM_API_KEY). The comparison takes the same
 * time whatever the guess (SHA-256 digests of both compared with timingSafeEqual), so the key
 * cannot be found byte by byte from response times.
 *
 * Left out: several keys, scopes, and anything stateful (rate limits per key).
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.ts';

export type Authenticator = (request: IncomingMessage) => void;

/** Returns a check that throws ApiError 401 unless the request carries `apiKey`; no check without a key. */
export function bearerAuthenticator(apiKey: string | undefined): Authenticator {
  if (apiKey === undefined) return () => {};
  if (typeof apiKey !== 'string' || apiKey.length === 0) throw new TypeError('the API key must be a non-empty string');
  const expected = digest(apiKey);
  return (request) => {
    const header = request.headers.authorization;
    const challenge = { 'WWW-Authenticate': 'Bearer' };
    if (header === undefined) {
      throw new ApiError(401, 'no API key given: send the header "Authorization: Bearer <key>"', {
        code: 'missing_api_key',
        headers: challenge,
      });
    }
    const match = /^Bearer[ \t]+(.+)$/i.exec(header.trim());
    if (match === null || !timingSafeEqual(digest(match[1]!), expected)) {
      throw new ApiError(401, 'incorrect API key given', { code: 'invalid_api_key', headers: challenge });
    }
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
