// Checks the chaos.mjs invariant over /chaos/s/ (Depth infinity): no debris, every tagged file
// holds its tag; files without their tag (lost in a kill) are listed, not failed. Usage: node check.mjs PORT
import http from 'node:http';
const port = Number(process.argv[2]);
function req(method, path, headers = {}, body = '') {
  return new Promise((resolve) => { const r = http.request({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => { let b = ''; res.setEncoding('utf8'); res.on('data', (d) => (b += d)); res.on('end', () => resolve({ status: res.statusCode, body: b })); }); r.on('error', (e) => resolve({ status: 0, body: String(e) })); r.end(body); });
}
const pf = await req('PROPFIND', '/chaos/s/', { Depth: 'infinity' }, '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><q:tag xmlns:q="urn:qa"/><D:lockdiscovery/></D:prop></D:propfind>');
let bad = 0, files = 0;
for (const m of pf.body.matchAll(/<D:response>([\s\S]*?)<\/D:response>/g)) {
  const href = /<D:href>([^<]*)</.exec(m[1])[1];
  if (/\.davmeta|\.dav\/|staging|\.tmp|~/.test(href)) { console.log('DEBRIS', href); bad++; }
  if (/<D:collection\/>/.test(m[1])) continue;
  files++;
  const tag = /<q:tag[^>]*>([^<]*)</.exec(m[1])?.[1] ?? /<[a-z0-9]+:tag xmlns:[a-z0-9]+="urn:qa">([^<]*)</.exec(m[1])?.[1];
  const g = await req('GET', href);
  if (g.body === "" && tag === undefined) continue;
  if (tag === undefined) { console.log("LOST", href); continue; }
  if (g.body !== tag) { console.log('MISMATCH', href, 'content', JSON.stringify(g.body), 'tag', tag); bad++; }
}
console.log(`checked ${files} files, ${bad} bad, status ${pf.status}`);
process.exitCode = bad ? 1 : 0;
