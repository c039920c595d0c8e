// Mixed concurrent MOVE/COPY/DELETE/MKCOL/LOCK/PROPFIND load that keeps one invariant: every file
// carries a dead property {urn:qa}tag equal to its content. Usage: node chaos.mjs PORT SECONDS CLIENTS
// (scripts/qa/kill-chaos.sh kills the server under it and checks the invariant with check.mjs).
import http from 'node:http';
const port = Number(process.argv[2]); const seconds = Number(process.argv[3] || 10); const clients = Number(process.argv[4] || 12);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function req(method, path, headers = {}, body = '') {
  return new Promise((resolve) => {
    const r = http.request({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) }, agent }, (res) => {
      let b = ''; res.setEncoding('utf8'); res.on('data', (d) => (b += d)); res.on('end', () => resolve({ status: res.statusCode, body: b, headers: res.headers }));
    });
    r.on('error', (e) => resolve({ status: 0, body: String(e) }));
    r.end(body);
  });
}
const names = ['a', 'b', 'c', 'd1/a', 'd1/b', 'd2/a', 'd2/d3/a', 'd2/d3/b'];
const dirs = ['d1', 'd2', 'd2/d3', 'd4'];
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const stats = {};
let seq = 0;
const PP = (v) => `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><q:tag xmlns:q="urn:qa">${v}</q:tag></D:prop></D:set></D:propertyupdate>`;
async function op(id) {
  const k = Math.random();
  let r;
  if (k < 0.3) { // create privately then move into the shared area
    const v = `v${id}-${seq++}`; const priv = `/chaos/priv${id}`;
    const p = await req('PUT', priv, {}, v);
    if (p.status >= 500) stats['PUTpriv ' + p.status] = (stats['PUTpriv ' + p.status] || 0) + 1;
    const pp = await req('PROPPATCH', priv, { 'Content-Type': 'application/xml' }, PP(v));
    if (pp.status !== 207) stats['PPpriv ' + pp.status] = (stats['PPpriv ' + pp.status] || 0) + 1;
    r = await req('MOVE', priv, { Destination: `/chaos/s/${pick(names)}`, Overwrite: 'T' }); r.m = 'MOVEin';
  } else if (k < 0.45) { r = await req('MOVE', `/chaos/s/${pick([...names, ...dirs])}`, { Destination: `/chaos/s/${pick([...names, ...dirs])}`, Overwrite: pick(['T', 'F']) }); r.m = 'MOVE'; }
  else if (k < 0.6) { r = await req('COPY', `/chaos/s/${pick([...names, ...dirs])}`, { Destination: `/chaos/s/${pick([...names, ...dirs])}`, Overwrite: pick(['T', 'F']) }); r.m = 'COPY'; }
  else if (k < 0.7) { r = await req('DELETE', `/chaos/s/${pick([...names, ...dirs])}`); r.m = 'DELETE'; }
  else if (k < 0.8) { r = await req('MKCOL', `/chaos/s/${pick(dirs)}`); r.m = 'MKCOL'; }
  else if (k < 0.88) {
    const p = `/chaos/s/${pick([...names, ...dirs])}`;
    r = await req('LOCK', p, { Timeout: 'Second-5', Depth: pick(['0', 'infinity']) }, '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>'); r.m = 'LOCK';
    if (r.status === 200 || r.status === 201) { const t = r.headers['lock-token']; setTimeout(() => req('UNLOCK', p, { 'Lock-Token': t }), Math.random() * 300); }
  } else { r = await req('PROPFIND', '/chaos/s/', { Depth: pick(['1', 'infinity']) }); r.m = 'PROPFIND'; }
  const key = `${r.m} ${r.status}`; stats[key] = (stats[key] || 0) + 1;
  if (r.status >= 500 || r.status === 0) { stats['!' + key + ' ' + r.body.slice(0, 100)] = 1; }
}
await req('MKCOL', '/chaos/'); await req('MKCOL', '/chaos/s/'); for (const d of dirs) await req('MKCOL', `/chaos/s/${d}`);
const end = Date.now() + seconds * 1000;
await Promise.all(Array.from({ length: clients }, async (_, i) => { while (Date.now() < end) await op(i); }));
console.log(JSON.stringify(stats, null, 0));
process.exit(0);
