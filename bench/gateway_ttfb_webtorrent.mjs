// Baseline for bench/gateway_ttfb.sh: WebTorrent (npm) in Node with its built-in HTTP server
// (client.createServer(), URLs /webtorrent/<infohash>/<path>), the streaming gateway the Node
// system seedcast reimplements uses. TCP peers only: no DHT, LSD, uTP, UPnP/NAT-PMP, web seeds
// or WebRTC; every listener on 127.0.0.1.
//
// Usage: node gateway_ttfb_webtorrent.mjs NPM_DIR PORT_FILE CACHE_DIR TOKEN SELECT
//   NPM_DIR: a folder with node_modules/webtorrent installed
//   PORT_FILE: the HTTP port is written there once listening
//   CACHE_DIR: where the torrents' data goes (fresh per run)
//   TOKEN: the X-Access-Token POST /api/torrents wants (like seedcast's admin API)
//   SELECT: "stream" adds torrents with {deselect: true}: only the pieces a request reads are
//           fetched (like seedcast's gateway); "all": WebTorrent's default, the whole torrent
//
// Two routes besides WebTorrent's own, so that the benchmark drives both gateways alike:
//   POST /api/torrents (body: a magnet URI, header X-Access-Token) -> 202 {"infoHash"}
//   GET  /api/status/<infohash>?first=A&last=B -> {"ready", "downloaded", "piecesHad", "numPieces",
//        "numPeers", "rangeHad"}: rangeHad = verified pieces among A..B
// WebTorrent's server answers 404 for a torrent whose metadata has not arrived yet (its file list
// is empty); a gateway built on it must hold such a request until the torrent is ready, and this
// wrapper does exactly that, then hands the request to WebTorrent's server unchanged.
import net from 'node:net'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [npmDir, portFile, cacheDir, token, select] = process.argv.slice(2)
if (!npmDir || !portFile || !cacheDir || !token || !['stream', 'all'].includes(select)) {
  console.error('usage: node gateway_ttfb_webtorrent.mjs NPM_DIR PORT_FILE CACHE_DIR TOKEN stream|all')
  process.exit(1)
}

// WebTorrent's peer listener calls listen(port) without a host (every interface): keep it on
// loopback.
const origListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') return origListen.call(this, args[0], '127.0.0.1', ...args.slice(1))
  return origListen.apply(this, args)
}

const { default: WebTorrent } = await import(pathToFileURL(join(npmDir, 'node_modules/webtorrent/index.js')).href)
const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false })
client.on('error', err => console.error('webtorrent error:', err.message))

const server = client.createServer()
const serve = server.wrapRequest.bind(server)
const json = (res, status, obj) => {
  const body = Buffer.from(JSON.stringify(obj))
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length })
  res.end(body)
}
const findTorrent = ih => client.torrents.find(t => t.infoHash === ih.toLowerCase())

// NodeServer.listen() binds the instance's wrapRequest as the 'request' handler.
server.wrapRequest = (req, res) => {
  const path = new URL(req.url, 'http://x').pathname
  if (req.method === 'POST' && path === '/api/torrents') {
    if (req.headers['x-access-token'] !== token) return json(res, 403, { error: 'bad token' })
    let body = ''
    req.setEncoding('utf8')
    req.on('data', d => { body += d })
    req.on('end', () => {
      let t
      try {
        t = client.add(body.trim(), { path: cacheDir, deselect: select === 'stream' })
      } catch (err) {
        return json(res, 400, { error: err.message })
      }
      // WebTorrent parses the magnet asynchronously: the info-hash is known at 'infoHash'
      t.once('error', err => { console.error('torrent error:', err.message); if (!res.headersSent) json(res, 400, { error: err.message }) })
      const answer = () => { console.error(`added ${t.infoHash}`); json(res, 202, { infoHash: t.infoHash }) }
      if (t.infoHash) answer(); else t.once('infoHash', answer)
    })
    return
  }
  const status = path.match(/^\/api\/status\/([0-9a-fA-F]{40})$/)
  if (req.method === 'GET' && status) {
    const t = findTorrent(status[1])
    if (!t) return json(res, 404, { error: 'unknown info-hash' })
    const q = new URL(req.url, 'http://x').searchParams
    const first = Number(q.get('first') ?? 0); const last = Number(q.get('last') ?? -1)
    let had = 0; let rangeHad = 0
    if (t.ready) {
      for (let i = 0; i < t.pieces.length; i++) {
        if (!t.bitfield.get(i)) continue
        had++
        if (i >= first && i <= last) rangeHad++
      }
    }
    return json(res, 200, { ready: t.ready, downloaded: t.downloaded, piecesHad: had, numPieces: t.pieces.length, numPeers: t.numPeers, rangeHad })
  }
  const file = path.match(/^\/webtorrent\/([0-9a-fA-F]{40})\//)
  const t = file && findTorrent(file[1])
  if (t && !t.ready) {
    t.once('ready', () => serve(req, res))
    return
  }
  serve(req, res)
}

server.listen(0, '127.0.0.1', () => {
  const port = server.address().port
  writeFileSync(portFile + '.tmp', String(port))
  renameSync(portFile + '.tmp', portFile) // readers never see a half-written file
  console.error(`webtorrent server on 127.0.0.1:${port}, peers on ${client.torrentPort}`)
})
const stop = () => process.exit(0)
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
