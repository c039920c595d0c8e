/**
 * Answers for requests Node's HTTP parser refuses before Koa sees them (the listener's
 * `clientError` event). Node's own answer is a bare 400 for everything; a method the parser
 * does not know (llhttp has a fixed list: FROBNICATE, VERSION-CONTROL, ORDERPATCH, ...) is not a
 * malformed request but an unsupported method: 405 for methods other WebDAV and HTTP
 * extensions define, 501 for the rest (RFC 9110 9.1, 15.6.2).
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ALLOWED_METHODS } from '../methods/options.js';

/** Methods of other RFCs (DeltaV 3253, ordering 3648, ACL 3744, binding 5842, ...) we do not serve. */
const KNOWN_METHODS = new Set([
  'VERSION-CONTROL', 'REPORT', 'CHECKOUT', 'CHECKIN', 'UNCHECKOUT', 'MKWORKSPACE', 'UPDATE', 'LABEL', 'MERGE',
  'MKACTIVITY', 'BASELINE-CONTROL', 'MKREDIRECTREF', 'UPDATEREDIRECTREF', 'ORDERPATCH', 'ACL', 'SEARCH',
  'BIND', 'UNBIND', 'REBIND', 'MKCALENDAR', 'PATCH', 'POST', 'TRACE', 'CONNECT',
]);

const TOKEN = /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}) [^\s]+ HTTP\/1\.[01]\r?\n/;

interface ParserError extends Error {
  code?: string;
  rawPacket?: Buffer;
}

/** Status line, extra headers and text for a parser error. */
export function clientErrorAnswer(err: ParserError): { status: string; headers: string[]; text: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: '431 Request Header Fields Too Large', headers: [], text: 'Request header fields too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: '413 Content Too Large', headers: [], text: 'Chunk extensions too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: '408 Request Timeout', headers: [], text: 'Request timeout' };
    case 'HPE_INVALID_METHOD': {
      const method = TOKEN.exec(err.rawPacket?.subarray(0, 8192).toString('latin1') ?? '')?.[1];
      if (method && KNOWN_METHODS.has(method.toUpperCase())) {
        return { status: '405 Method Not Allowed', headers: [`Allow: ${ALLOWED_METHODS}`], text: `${method} is not supported here` };
      }
      if (method) return { status: '501 Not Implemented', headers: [], text: `${method} is not implemented` };
      break;
    }
  }
  return { status: '400 Bad Request', headers: [], text: 'Bad request' };
}

/**
 * `server.on('clientError', handleClientError)`: writes the answer and closes the connection.
 * A response still in flight on the connection (a pipelined request before the bad one)
 * finishes first, so the peer never reads interleaved bytes.
 */
export function handleClientError(err: ParserError, socket: Duplex): void {
  if (err.code === 'ECONNRESET') return void socket.destroy();
  const { status, headers, text } = clientErrorAnswer(err);
  const body = text + '\n';
  const answer = (): void => {
    // Already ending (Connection: close, or the peer half-closed): destroying it now could drop
    // the previous response's unflushed bytes.
    if (!socket.writable) return;
    socket.end(
      [`HTTP/1.1 ${status}`, `Date: ${new Date().toUTCString()}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, ...headers, 'Connection: close', '', body].join('\r\n'),
      () => socket.destroy(),
    );
  };
  const busy = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!busy || busy.writableFinished) return answer();
  if (!busy.req?.complete || err.code === 'HPE_CLOSED_CONNECTION') {
    // The broken bytes belong to the body of the request being answered (an aborted upload), or
    // follow a `Connection: close` request: as Node does, answer only if that response has not
    // started, and close.
    if (!busy.headersSent) return answer();
    return void socket.destroy();
  }
  busy.once('finish', answer);
  busy.once('close', () => {
    if (!busy.writableFinished) socket.destroy();
  });
}
