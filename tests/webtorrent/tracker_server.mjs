// Baseline WebSocket tracker: bittorrent-tracker's own Server (the reference implementation
// of the protocol seedcast's tracker speaks), on 127.0.0.1 and a random port.
//   node tracker_server.mjs [--port 0] [--host 127.0.0.1] [--verbose]
// Prints {"event":"listening","port":N,"announce":"ws://127.0.0.1:N/announce"} and runs
// until SIGTERM/SIGINT or until stdin closes (so a parent that dies takes it along).
import { parseArgs, emit, log, onParentGone } from './loopback.mjs'
import { Server } from 'bittorrent-tracker'

const args = parseArgs(process.argv.slice(2),
  { port: 'number', host: 'string', verbose: 'bool' },
  { port: 0, host: '127.0.0.1', verbose: false })

const server = new Server({ udp: false, http: true, ws: true, stats: false, trustProxy: false })
server.on('error', err => { log('tracker error:', err.message); process.exit(1) })
server.on('warning', err => log('tracker warning:', err.message))
if (args.verbose) {
  for (const ev of ['start', 'complete', 'update', 'stop']) {
    server.on(ev, addr => log(`tracker ${ev}: ${addr}`))
  }
}

server.listen(args.port, args.host, () => {
  const port = server.http.address().port
  const host = args.host.includes(':') ? `[${args.host}]` : args.host
  emit({ event: 'listening', port, announce: `ws://${host}:${port}/announce` })
})

const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
onParentGone(stop)
