// Stand-in for the parts of seedcast the player needs, to test web/ on its own:
//   GET /watch/{infoHash}        web/watch.html with the placeholders filled in
//   GET /assets/<file>           web/<file>; /assets/webtorrent.min.js from web/node_modules
//   GET /sw.min.js               WebTorrent's service worker
//   WebSocket /announce[/token]  bittorrent-tracker's WebSocket tracker
// The .torrent and the web seed stay on the real seedcast (--upstream), cross-origin.
//
//   node mock_seedcast.mjs --upstream http://127.0.0.1:SEEDCAST_PORT [--port 0] [--web-dir ../../web]
// Prints {"event":"listening","port":N,"base":"http://127.0.0.1:N"}.
import { parseArgs, emit, log, onParentGone } from './loopback.mjs'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Server } from 'bittorrent-tracker'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const args = parseArgs(process.argv.slice(2),
  { upstream: 'string', port: 'number', 'web-dir': 'string' },
  { port: 0, 'web-dir': path.join(HERE, '..', '..', 'web') })
if (!args.upstream) throw new Error('--upstream http://127.0.0.1:PORT (seedcast) is required')
const WEB = path.resolve(args['web-dir'])
const DIST = path.join(WEB, 'node_modules', 'webtorrent', 'dist')

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css', '.map': 'application/json' }
const escapeHtml = s => String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

function send (res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': '*' })
  res.end(body)
}

function serveFile (res, file) {
  fs.readFile(file, (err, data) => {
    if (err) return send(res, 404, 'text/plain', 'not found')
    send(res, 200, TYPES[path.extname(file)] || 'application/octet-stream', data)
  })
}

async function watchPage (res, token, infoHash) {
  const q = token ? `?token=${encodeURIComponent(token)}` : ''
  const meta = await fetch(`${args.upstream}/file/${infoHash}?json=1${token ? '&token=' + encodeURIComponent(token) : ''}`)
  if (!meta.ok) return send(res, meta.status, 'text/plain', `upstream listing: ${meta.status}`)
  const j = await meta.json()
  const torrentUrl = token ? `${args.upstream}/torrent/${token}/${infoHash}.torrent` : `${args.upstream}/torrent/${infoHash}.torrent${q}`
  const vars = { INFO_HASH: infoHash, NAME: j.name, TORRENT_URL: torrentUrl, TOKEN: token, TITLE: `${j.name} · seedcast` }
  const html = fs.readFileSync(path.join(WEB, 'watch.html'), 'utf8')
    .replace(/\{\{([A-Z_]+)\}\}/g, (m, k) => (k in vars ? escapeHtml(vars[k]) : m))
  send(res, 200, TYPES['.html'], html)
}

const tracker = new Server({ udp: false, http: false, ws: true, stats: false, trustProxy: false })
tracker.on('error', err => { log('tracker error:', err.message); process.exit(1) })
tracker.on('warning', err => log('tracker warning:', err.message))
function onRequest (req, res) {
  const url = new URL(req.url, 'http://x')
  const segs = url.pathname.split('/').filter(Boolean)
  log(req.method, url.pathname)
  if (segs[0] === 'watch') {
    const token = segs.length === 3 && JWT.test(segs[1]) ? segs[1] : (url.searchParams.get('token') || '')
    const ih = segs[segs.length - 1]
    if (!/^[0-9a-fA-F]{40}$/.test(ih)) return send(res, 400, 'text/plain', 'bad info-hash')
    return watchPage(res, token, ih.toLowerCase()).catch(err => send(res, 502, 'text/plain', String(err)))
  }
  if (url.pathname === '/sw.min.js') return serveFile(res, path.join(DIST, 'sw.min.js'))
  if (segs[0] === 'assets' && segs.length === 2 && !segs[1].startsWith('.')) {
    const name = decodeURIComponent(segs[1])
    if (name.includes('/') || name.includes('\\')) return send(res, 400, 'text/plain', 'bad path')
    if (name === 'webtorrent.min.js' || name === 'webtorrent.min.js.map') return serveFile(res, path.join(DIST, name))
    return serveFile(res, path.join(WEB, name))
  }
  send(res, 404, 'text/plain', 'not found')
}
tracker.listen(args.port, '127.0.0.1', () => {
  // bittorrent-tracker answers every plain HTTP request with 404 from a listener it adds on
  // the next tick; this server answers them instead
  tracker.http.removeAllListeners('request')
  tracker.http.on('request', onRequest)
  const port = tracker.http.address().port
  emit({ event: 'listening', port, base: `http://127.0.0.1:${port}` })
})
const stop = () => tracker.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
onParentGone(stop)
