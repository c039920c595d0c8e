/**
 * Answers for requests Node's HTTP parser refuses before Koa sees them (the listener's
 * `clientError` event). Node's own answer is a bare 400 for everything; a method the parser
 * does not know (llhttp has a fixed list: FROBNICATE, VERSION-CONTROL, ORDERPATCH, ...) is not a
 * malformed request but an unsupported method: 405 for methods other WebDAV and HTTP
 * extensions define, 501 for the rest (RFC 9110 9.1, 15.6.2).
 */
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
 * `server.on('clientError', handleClientError)`: like Node's own handler, answers only when no
 * response on this connection has started (else the peer would read corrupt bytes), then closes.
 */
export function handleClientError(err: ParserError, socket: Duplex): void {
  const busy = (socket as { _httpMessage?: { _headerSent?: boolean } | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || busy?._headerSent) {
    socket.destroy();
    return;
  }
  const { status, headers, text } = clientErrorAnswer(err);
  const body = text + '\n';
  socket.end(
    [`HTTP/1.1 ${status}`, `Date: ${new Date().toUTCString()}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, ...headers, 'Connection: close', '', body].join('\r\n'),
    () => socket.destroy(),
  );
}
