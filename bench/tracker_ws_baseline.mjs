// Baseline for bench/tracker_ws.sh: bittorrent-tracker's Server (npm, WebTorrent's own
// tracker) with only the WebSocket tracker on (no HTTP tracker, no UDP, no stats page).
// Usage: node tracker_ws_baseline.mjs NPM_DIR PORT_FILE
//   NPM_DIR: a folder with node_modules/bittorrent-tracker installed
//   PORT_FILE: the bound port is written there once listening on 127.0.0.1
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [npmDir, portFile] = process.argv.slice(2)
if (!npmDir || !portFile) {
  console.error('usage: node tracker_ws_baseline.mjs NPM_DIR PORT_FILE')
  process.exit(1)
}
const { default: Server } = await import(pathToFileURL(join(npmDir, 'node_modules/bittorrent-tracker/server.js')).href)

const server = new Server({ http: false, udp: false, ws: true, stats: false, trustProxy: false })
let warnings = 0
server.on('error', err => { console.error('tracker error:', err.message) })
server.on('warning', err => { if (++warnings <= 5) console.error('tracker warning:', err.message) })
server.listen(0, '127.0.0.1', () => {
  const port = server.ws.address().port
  writeFileSync(portFile + '.tmp', String(port))
  renameSync(portFile + '.tmp', portFile) // readers never see a half-written file
  console.error(`bittorrent-tracker ws on 127.0.0.1:${port}`)
})
const stop = () => { console.error(`warnings: ${warnings}`); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
