// A WebTorrent client (Node, WebRTC from @roamhq/wrtc) downloads a torrent with no web seed
// and no other source than the peers seedcast's WebSocket tracker hands it — the server's own
// WebRTC peer when nobody else seeds — then the bytes are compared with the source files.
//
//   node rtc_leech.mjs (--torrent X.torrent | --magnet URI) --data DIR [--tracker URL|auto]
//                      [--timeout S] [--out DIR] [--peer-prefix -SC]
//
// --torrent    a .torrent (e.g. seedcast's); its url-list is removed
// --magnet     a magnet URI: the metadata comes from a peer (ut_metadata)
// --data       where the source files are (DIR/<name> single-file, DIR/<name>/<path> multi)
// --tracker    the WebSocket tracker to announce to; `auto` (default) keeps the torrent's
//              (or magnet's) ws:// URLs
// --peer-prefix  the peer id prefix of the server's peer: bytes from wires whose peer id starts
//              with it are counted as "fromServer" (default -SC)
// --pause-after  bytes: once this many are downloaded, pause for --pause-ms (then resume), so
//              a test can do something mid-download (kill a worker); prints {"event":"paused"}
// --download-limit  bytes/s the client downloads at most (so a download lasts long enough)
// --linger     seconds to stay after the result line, seeding what it got (then exit)
// --notify-at  bytes: once this many are downloaded, print {"event":"at","downloaded":…}
//
// stdout: one JSON line {"ok":bool, …}; exit status 0 only when the download completed and
// every byte matches the source.
import { parseArgs, emit, log, sleep, waitFor } from './loopback.mjs'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import WebTorrent from 'webtorrent'
import parseTorrent from 'parse-torrent'

const args = parseArgs(process.argv.slice(2), {
  torrent: 'string', magnet: 'string', data: 'string', tracker: 'string', out: 'string', timeout: 'number',
  'peer-prefix': 'string', 'pause-after': 'number', 'pause-ms': 'number', 'download-limit': 'number', linger: 'number', 'notify-at': 'number'
}, { timeout: 60, tracker: 'auto', 'peer-prefix': '-SC', 'pause-ms': 0 })

const started = Date.now()

async function source () {
  if (args.torrent) {
    const parsed = await parseTorrent(fs.readFileSync(args.torrent))
    const ws = parsed.announce.filter(u => /^wss?:\/\//i.test(u))
    parsed.announce = args.tracker === 'auto' ? ws : [args.tracker]
    parsed.urlList = []
    return parsed
  }
  if (!args.magnet) throw new Error('give --torrent or --magnet')
  if (args.tracker === 'auto') return args.magnet
  const u = new URL(args.magnet)
  u.searchParams.delete('tr')
  u.searchParams.delete('ws')
  u.searchParams.append('tr', args.tracker)
  return u.toString()
}

function compare (torrent, srcDir, outDir) {
  const mismatches = []
  for (const f of torrent.files) {
    const want = fs.readFileSync(path.join(srcDir, f.path))
    let got
    try { got = fs.readFileSync(path.join(outDir, f.path)) } catch (e) { mismatches.push(`${f.path}: ${e.code}`); continue }
    if (!want.equals(got)) mismatches.push(`${f.path}: ${got.length} bytes differ from the ${want.length} source bytes`)
  }
  return mismatches
}

async function main () {
  const outDir = args.out || fs.mkdtempSync(path.join(os.tmpdir(), 'seedcast-rtc-leech-'))
  const client = new WebTorrent({
    dht: false, lsd: false, utPex: false, natUpnp: false, natPmp: false, utp: false, webSeeds: false,
    tracker: { rtcConfig: { iceServers: [] } },
    ...(args['download-limit'] ? { downloadLimit: args['download-limit'] } : {})
  })
  const bytes = {}
  const peers = []
  let fromServer = 0
  let paused = false
  let notified = false
  const torrent = client.add(await source(), { path: outDir })
  torrent.on('warning', err => log('warning:', err.message || err))
  torrent.on('wire', wire => {
    const id = Buffer.from(wire.peerId || '', 'hex').toString('latin1')
    const server = id.startsWith(args['peer-prefix'])
    peers.push({ type: wire.type, peerId: id, server })
    log(`wire ${wire.type} ${id}`)
    const peer = peers[peers.length - 1]
    peer.bytes = 0
    peer.atDownloaded = torrent.downloaded
    wire.on('download', n => {
      peer.bytes += n
      bytes[wire.type] = (bytes[wire.type] || 0) + n
      if (server) fromServer += n
      if (args['notify-at'] && !notified && torrent.downloaded >= args['notify-at']) {
        notified = true
        emit({ event: 'at', downloaded: torrent.downloaded })
      }
      if (args['pause-after'] && !paused && torrent.downloaded >= args['pause-after']) {
        paused = true
        log(`pausing at ${torrent.downloaded} bytes for ${args['pause-ms']} ms`)
        emit({ event: 'paused', downloaded: torrent.downloaded })
        torrent.pause()
        setTimeout(() => { log('resuming'); torrent.resume() }, args['pause-ms'])
      }
    })
  })
  const deadline = setTimeout(() => {
    emit({ ok: false, error: `timed out after ${args.timeout} s`, downloaded: torrent.downloaded, bytesByWireType: bytes, peers, fromServer })
    process.exit(1)
  }, args.timeout * 1000)
  await new Promise((resolve, reject) => {
    torrent.once('error', reject)
    client.once('error', reject)
    if (torrent.done) resolve(); else torrent.once('done', resolve)
  })
  clearTimeout(deadline)
  await waitFor(() => compare(torrent, args.data, outDir).length === 0, 5000, 'the files on disk').catch(() => {})
  const mismatches = compare(torrent, args.data, outDir)
  const ok = mismatches.length === 0
  emit({
    ok, infoHash: torrent.infoHash, length: torrent.length, files: torrent.files.length,
    bytesByWireType: bytes, fromServer, peers, mismatches, ms: Date.now() - started
  })
  if (args.linger) await sleep(args.linger * 1000)
  if (!args.out) fs.rmSync(outDir, { recursive: true, force: true })
  await new Promise(resolve => client.destroy(resolve))
  process.exit(ok ? 0 : 1)
}

main().catch(err => {
  emit({ ok: false, error: String(err?.stack || err) })
  process.exit(1)
})
