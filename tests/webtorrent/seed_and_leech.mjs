// One WebTorrent client seeds, another downloads through a WebSocket tracker, over WebRTC
// only (no web seed, no DHT, no LSD, no PEX, no TCP/uTP peers), then the bytes are compared.
//
//   node seed_and_leech.mjs --tracker ws://127.0.0.1:PORT/announce --file PATH [--private]
//   node seed_and_leech.mjs --torrent X.torrent --data DIR [--tracker URL|auto]
//
// --file       seed this file (a torrent is made with the tracker as its only announce URL)
// --torrent    seed this .torrent (e.g. seedcast's) from DIR (DIR/<name> single-file,
//              DIR/<name>/<path> multi-file); its url-list is removed on both sides
// --tracker    the WebSocket tracker URL both sides announce to, replacing the torrent's
//              announce list; `auto` (default with --torrent) keeps the torrent's ws:// URLs
// --leech-torrent  the leecher uses this .torrent instead (e.g. another user's copy, whose
//              announce URLs carry that user's token); its info-hash must be the same
// --leech-tracker  the leecher announces here instead of --tracker
// --out        download directory of the leecher (default: a fresh temp dir, removed after)
// --timeout    seconds for the whole run (default 60)
// --same-process  run both clients in this process (they then share one tracker WebSocket,
//              as two torrents of one browser tab do); default: the seeder is a child process
// --role seed  internal: run only the seeder and print {"event":"seeding",…}
//
// stdout: one JSON line {"ok":bool, …}; exit status 0 only when the download completed over
// WebRTC and every byte matches the source. Logs go to stderr (DEBUG=webtorrent* for more).
import { parseArgs, emit, log, sleep, waitFor, onParentGone } from './loopback.mjs'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import WebTorrent from 'webtorrent'
import parseTorrent from 'parse-torrent'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const args = parseArgs(process.argv.slice(2), {
  tracker: 'string', file: 'string', torrent: 'string', 'leech-torrent': 'string', 'leech-tracker': 'string', data: 'string', out: 'string',
  timeout: 'number', private: 'bool', 'same-process': 'bool', role: 'string', ice: 'string'
}, { timeout: 60, private: false, 'same-process': false, role: 'both' })

const started = Date.now()
const elapsed = () => Date.now() - started

// what each side saw, printed with a failure (the deadline message especially)
const diag = {}
function watchTorrent (role, torrent) {
  const d = diag[role] = { trackerReplies: 0, lastReply: null, peersFromTracker: 0, wires: 0, warnings: [] }
  torrent.on('warning', err => { if (d.warnings.length < 10) d.warnings.push(String(err?.message || err)) })
  torrent.on('wire', () => { d.wires++ })
  const attach = setInterval(() => {
    const tracker = torrent.discovery?.tracker
    if (!tracker) return
    clearInterval(attach)
    tracker.on('update', r => { d.trackerReplies++; d.lastReply = { complete: r.complete, incomplete: r.incomplete } })
    tracker.on('peer', () => { d.peersFromTracker++ })
  }, 20)
  attach.unref?.()
  Object.defineProperty(d, 'downloaded', { get: () => torrent.downloaded, enumerable: true })
}

function clientOpts () {
  let iceServers = []
  if (args.ice) iceServers = JSON.parse(args.ice)
  return {
    dht: false,
    lsd: false,
    utPex: false,
    natUpnp: false,
    natPmp: false,
    utp: false,
    webSeeds: false,
    tracker: { rtcConfig: { iceServers } }
  }
}

/** A parsed .torrent with the tracker(s) to use (`tracker`: a URL, or 'auto'/unset for the
 *  torrent's own ws:// URLs) and no url-list; the info (so the info-hash) is unchanged. */
async function loadTorrent (file, tracker) {
  const parsed = await parseTorrent(fs.readFileSync(file))
  const wsFromTorrent = parsed.announce.filter(u => /^wss?:\/\//i.test(u))
  const announce = (!tracker || tracker === 'auto') ? wsFromTorrent : [tracker]
  if (announce.length === 0) {
    throw new Error(`no WebSocket tracker: give --tracker (${file} announces ${JSON.stringify(parsed.announce)})`)
  }
  parsed.announce = announce
  parsed.urlList = []
  return parsed
}

function sourceFiles (torrent, dataDir) {
  // torrent.files[i].path starts with the torrent name (parse-torrent), for single-file too
  return torrent.files.map(f => ({ path: f.path, length: f.length, src: path.join(dataDir, f.path) }))
}

// ---------------------------------------------------------------------------------------
// seeder
// ---------------------------------------------------------------------------------------

async function startSeeder () {
  const client = new WebTorrent(clientOpts())
  client.on('error', err => { throw err })
  let torrent
  let dataDir
  if (args.torrent) {
    if (!args.data) throw new Error('--torrent needs --data DIR')
    const parsed = await loadTorrent(args.torrent, args.tracker)
    dataDir = args.data
    torrent = client.add(parsed, { path: dataDir })
  } else {
    if (!args.file) throw new Error('give --file PATH or --torrent X.torrent --data DIR')
    if (!args.tracker || args.tracker === 'auto') throw new Error('--file needs --tracker ws://…')
    dataDir = path.dirname(path.resolve(args.file))
    torrent = client.seed(path.resolve(args.file), {
      announce: [args.tracker], announceList: [[args.tracker]], private: args.private,
      urlList: [], createdBy: 'seedcast-tests'
    })
  }
  watchTorrent('seeder', torrent)
  torrent.on('warning', err => log('seeder warning:', err.message || err))
  torrent.on('error', err => log('seeder error:', err.message || err))
  await new Promise((resolve, reject) => {
    torrent.once('error', reject)
    const check = () => (torrent.done ? resolve() : torrent.once('done', resolve))
    if (torrent.ready) check(); else torrent.once('ready', check)
  })
  if (torrent.progress !== 1) throw new Error(`seeder has only ${torrent.progress} of the data in ${dataDir}`)
  await firstOffersAnswered(torrent, 5000)
  torrent.on('wire', wire => log(`seeder: wire ${wire.type} ${wire.remoteAddress || ''}`))
  return { client, torrent, dataDir }
}

/** Resolves once the seeder's first announce carrying WebRTC offers has been sent and the
 *  tracker has replied (or after `ms`). A leecher that announces while those offers are
 *  still unanswered gets them relayed while the seeder gets the leecher's: each side then
 *  answers the other, WebTorrent keeps a different one of the two duplicate connections on
 *  each side, and both die ("Ice connection failed", no retry before the next interval). */
async function firstOffersAnswered (torrent, ms) {
  const end = Date.now() + ms
  const trackers = await waitFor(() => torrent.discovery?.tracker?._trackers?.length && torrent.discovery.tracker._trackers,
    ms, 'the tracker client').catch(() => [])
  let sent = false
  const answered = new Promise(resolve => {
    torrent.discovery?.tracker?.on('update', () => { if (sent) resolve(true) })
  })
  for (const t of trackers) {
    const orig = t._send.bind(t)
    t._send = params => { if (params.offers) sent = true; return orig(params) }
  }
  const ok = await Promise.race([answered, sleep(Math.max(0, end - Date.now())).then(() => false)])
  if (!ok) log('seeder: no tracker reply to an announce with offers seen; starting the leecher anyway')
}

// ---------------------------------------------------------------------------------------
// leecher
// ---------------------------------------------------------------------------------------

async function leech (torrentFile, outDir, expectInfoHash) {
  let parsed
  if (args['leech-torrent'] || args['leech-tracker']) {
    parsed = args['leech-torrent']
      ? await loadTorrent(args['leech-torrent'], args['leech-tracker'] || args.tracker)
      : await parseTorrent(torrentFile)
    if (args['leech-tracker']) parsed.announce = [args['leech-tracker']]
  } else {
    parsed = await parseTorrent(torrentFile)
  }
  parsed.urlList = []
  if (parsed.infoHash !== expectInfoHash) throw new Error(`leecher's info-hash ${parsed.infoHash} != seeder's ${expectInfoHash}`)
  const client = new WebTorrent(clientOpts())
  const bytes = {}
  const wires = {}
  const torrent = client.add(parsed, { path: outDir })
  watchTorrent('leecher', torrent)
  torrent.on('warning', err => log('leecher warning:', err.message || err))
  torrent.on('wire', wire => {
    wires[wire.type] = (wires[wire.type] || 0) + 1
    log(`leecher: wire ${wire.type}`)
    wire.on('download', n => { bytes[wire.type] = (bytes[wire.type] || 0) + n })
  })
  await new Promise((resolve, reject) => {
    torrent.once('error', reject)
    client.once('error', reject)
    if (torrent.done) resolve(); else torrent.once('done', resolve)
  })
  return { client, torrent, bytes, wires }
}

function compare (torrent, srcDir, outDir) {
  const mismatches = []
  for (const f of sourceFiles(torrent, srcDir)) {
    const want = fs.readFileSync(f.src)
    const gotPath = path.join(outDir, f.path)
    let got
    try { got = fs.readFileSync(gotPath) } catch (e) { mismatches.push(`${f.path}: ${e.code}`); continue }
    if (!want.equals(got)) mismatches.push(`${f.path}: ${got.length} bytes differ from the ${want.length} source bytes`)
  }
  return mismatches
}

// ---------------------------------------------------------------------------------------

async function runSeedRole () {
  const { torrent } = await startSeeder()
  emit({
    event: 'seeding',
    infoHash: torrent.infoHash,
    length: torrent.length,
    announce: torrent.announce,
    torrentFile: Buffer.from(torrent.torrentFile).toString('base64')
  })
  onParentGone(() => process.exit(0))
  setTimeout(() => process.exit(0), args.timeout * 1000).unref?.()
  process.on('SIGTERM', () => process.exit(0))
}

function spawnSeeder () {
  const child = spawn(process.execPath, [path.join(HERE, 'seed_and_leech.mjs'), ...process.argv.slice(2), '--role', 'seed'],
    { stdio: ['pipe', 'pipe', 'inherit'] })
  process.on('exit', () => { try { child.kill('SIGTERM') } catch {} })
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout })
    rl.on('line', line => {
      let msg
      try { msg = JSON.parse(line) } catch { log('seeder:', line); return }
      if (msg.event === 'seeding') resolve({ child, info: msg })
    })
    child.on('exit', code => reject(new Error(`seeder exited (status ${code}) before seeding`)))
  })
}

async function main () {
  let seedInfo
  let dataDir
  if (args['same-process']) {
    const s = await startSeeder()
    seedInfo = { infoHash: s.torrent.infoHash, torrentFile: Buffer.from(s.torrent.torrentFile) }
    dataDir = s.dataDir
  } else {
    const { info } = await spawnSeeder()
    seedInfo = { infoHash: info.infoHash, torrentFile: Buffer.from(info.torrentFile, 'base64') }
    dataDir = args.torrent ? args.data : path.dirname(path.resolve(args.file))
  }
  log(`seeding ${seedInfo.infoHash} after ${elapsed()} ms; leeching`)

  const tmpOut = !args.out
  const outDir = args.out || fs.mkdtempSync(path.join(os.tmpdir(), 'seedcast-leech-'))
  try {
    const { torrent, bytes, wires } = await leech(seedInfo.torrentFile, outDir, seedInfo.infoHash)
    // 'done' fires once every piece is verified; the file store may still be flushing
    await waitFor(() => compare(torrent, dataDir, outDir).length === 0, 5000, 'the files on disk').catch(() => {})
    const mismatches = compare(torrent, dataDir, outDir)
    const nonRtc = Object.entries(bytes).filter(([t, n]) => t !== 'webrtc' && n > 0)
    const ok = mismatches.length === 0 && (bytes.webrtc || 0) >= torrent.length && nonRtc.length === 0
    emit({
      ok,
      infoHash: torrent.infoHash,
      length: torrent.length,
      files: torrent.files.length,
      bytesByWireType: bytes,
      wiresByType: wires,
      announce: torrent.announce,
      mismatches,
      diag,
      error: ok ? undefined : (mismatches.length ? 'bytes differ' : `not all bytes came over WebRTC: ${JSON.stringify(bytes)}`),
      elapsedMs: elapsed()
    })
    return ok ? 0 : 1
  } finally {
    if (tmpOut) fs.rmSync(outDir, { recursive: true, force: true })
  }
}

const deadline = setTimeout(() => {
  emit({ ok: false, error: `deadline: no complete WebRTC download within ${args.timeout} s`, diag, elapsedMs: elapsed() })
  process.exit(1)
}, args.timeout * 1000)

try {
  if (args.role === 'seed') {
    clearTimeout(deadline)
    await runSeedRole()
  } else {
    const code = await main()
    process.exit(code)
  }
} catch (err) {
  emit({ ok: false, error: String(err && (err.stack || err.message) || err), diag, elapsedMs: elapsed() })
  process.exit(1)
}
