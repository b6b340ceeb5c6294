// seedcast player: plays the first video of a torrent with WebTorrent while it downloads,
// from the swarm (WebSocket tracker, WebRTC peers) and from seedcast's web seed, and shows
// where the bytes come from. Served at /assets/watch.js; the page is /watch/{infoHash}.
//
// Query options: ?ice=<JSON RTCIceServer list | comma-separated stun:/turn: URLs>
// (default: no ICE servers, host candidates only); ?tracker=<ws(s):// URL> announces there
// instead of the torrent's WebSocket trackers; ?webseed=0 leaves the web seed out (the bytes
// then come over WebRTC only: from other viewers and from the server's own peer).
// Tests read window.seedcastStats = {peerBytes, serverPeerBytes, webseedBytes, numPeers,
// progress, ready, …}.

const VIDEO_EXT = /\.(mp4|m4v|webm|mkv|mov|ogv|ogg|mpe?g|ts|avi)$/i
const SW_URL = '/sw.min.js'
const SW_SCOPE = '/watch/' // the player pages; streamed files appear under /watch/webtorrent/
const SW_WAIT_MS = 8000

const $ = id => document.getElementById(id)
const root = $('player')
const video = $('video')
const params = new URLSearchParams(location.search)

// The server's own WebRTC peer (its seed, or a worker's) has a peer id that starts so.
const SERVER_PEER_PREFIX = '-SC'

const stats = window.seedcastStats = {
  peerBytes: 0, // piece bytes received from other viewers (WebRTC)
  serverPeerBytes: 0, // piece bytes received from the server's own WebRTC peer
  webseedBytes: 0, // piece bytes received from the server's web seed (HTTP)
  uploadBytes: 0, // bytes sent to peers
  numPeers: 0, // connected WebRTC peers (the web seed is not counted)
  progress: 0, // fraction of the played file downloaded and verified
  ready: false, // the video is attached to the torrent
  done: false,
  mode: null, // 'stream' (service worker), 'blob' (when downloaded) or 'server' (no P2P)
  file: null,
  infoHash: null,
  error: null
}

function placeholder (value) {
  return !value || /^\{\{.*\}\}$/.test(value) ? '' : value
}

// Filled in by seedcast; a page opened without substitution may pass ?torrent=URL instead.
const config = {
  infoHash: placeholder(root.dataset.infoHash).toLowerCase(),
  torrentUrl: placeholder(root.dataset.torrentUrl) || params.get('torrent') || '',
  token: placeholder(root.dataset.token) || params.get('token') || ''
}

function status (text, isError = false) {
  const el = $('status')
  el.textContent = text
  el.classList.toggle('error', isError)
}

function fail (err) {
  const msg = err?.message || String(err)
  stats.error = msg
  status(msg, true)
  console.error('[seedcast]', err)
}

function formatBytes (n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++ }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`
}

function iceServers () {
  const ice = params.get('ice')
  if (!ice) return []
  if (ice.trim().startsWith('[')) return JSON.parse(ice)
  return ice.split(',').map(s => s.trim()).filter(Boolean).map(urls => ({ urls }))
}

/** The WebSocket tracker: the torrent's ws:// or wss:// announce URLs, else this server's. */
function trackerUrls (announce) {
  const override = params.get('tracker')
  if (override) return [override]
  const ws = announce.filter(u => /^wss?:\/\//i.test(u))
  if (ws.length) return ws
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return [`${scheme}//${location.host}/announce${config.token ? '/' + encodeURIComponent(config.token) : ''}`]
}

/** A service worker that lets <video> stream the file while it downloads (WebTorrent's
 *  sw.min.js), or null where there is none: plain-http pages on other hosts than
 *  localhost have no service workers, and a hard reload leaves the page uncontrolled. */
async function registerStreamWorker () {
  if (!('serviceWorker' in navigator)) return null
  const reg = await navigator.serviceWorker.register(SW_URL, { scope: SW_SCOPE, updateViaCache: 'none' })
  const worker = reg && (reg.active || reg.waiting || reg.installing)
  if (!worker) return null
  const activated = new Promise(resolve => {
    if (worker.state === 'activated') return resolve(true)
    worker.addEventListener('statechange', () => worker.state === 'activated' && resolve(true))
  })
  const controlled = new Promise(resolve => {
    if (navigator.serviceWorker.controller) return resolve(true)
    navigator.serviceWorker.addEventListener('controllerchange', () => resolve(true), { once: true })
  })
  const timeout = new Promise(resolve => setTimeout(() => resolve(false), SW_WAIT_MS))
  const ok = await Promise.race([Promise.all([activated, controlled]).then(() => true), timeout])
  return ok ? reg : null
}

/** The worker asks every open window of this origin for a stream and takes the first
 *  answer; leave requests for other torrents to the tabs that play them. */
let ownInfoHash = config.infoHash
function answerOnlyOwnStreams () {
  navigator.serviceWorker?.addEventListener('message', event => {
    const url = event.data?.type === 'webtorrent' ? String(event.data.url || '') : ''
    if (url && ownInfoHash && !url.includes(`/webtorrent/${ownInfoHash}/`)) event.stopImmediatePropagation()
  })
}

function peerIdText (wire) {
  const hex = wire.peerId || ''
  let out = ''
  for (let i = 0; i + 1 < hex.length && out.length < 8; i += 2) out += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16))
  return out
}

function trackWire (wire) {
  const webSeed = wire.type === 'webSeed'
  // The peer id is known once the handshake is in; bytes come after it.
  wire.on('download', n => {
    if (webSeed) stats.webseedBytes += n
    else if (peerIdText(wire).startsWith(SERVER_PEER_PREFIX)) stats.serverPeerBytes += n
    else stats.peerBytes += n
  })
  if (!webSeed) wire.on('upload', n => { stats.uploadBytes += n })
}

function render (torrent, file) {
  $('progress').value = stats.progress
  $('progress-text').textContent = `${(stats.progress * 100).toFixed(1)}%`
  for (const [id, n] of [['peer-bytes', stats.peerBytes], ['server-peer-bytes', stats.serverPeerBytes],
    ['webseed-bytes', stats.webseedBytes], ['upload-bytes', stats.uploadBytes]]) {
    $(id).textContent = formatBytes(n)
    $(id).dataset.bytes = String(n)
  }
  $('num-peers').textContent = String(stats.numPeers)
  $('speed').textContent = `${formatBytes(torrent.downloadSpeed)}/s`
}

/** numPeers and progress are read live from the torrent. */
function liveStats (torrent, file) {
  const live = {
    numPeers: () => torrent.wires.filter(w => w.type !== 'webSeed').length,
    progress: () => (file ? file.progress : torrent.progress)
  }
  for (const [key, get] of Object.entries(live)) {
    Object.defineProperty(stats, key, { get, enumerable: true, configurable: true })
  }
}

async function play () {
  try {
    await video.play()
  } catch {
    video.muted = true // autoplay with sound needs a user gesture; start muted instead
    await video.play().catch(() => {})
  }
}

/** The JSON listing next to the .torrent: /torrent/[token/]ih.torrent → /file/[token/]ih?json=1 */
function listingUrl () {
  const u = new URL(config.torrentUrl, location.href)
  u.pathname = u.pathname.replace(/\/torrent\/(.+)\.torrent$/, '/file/$1')
  u.searchParams.set('json', '1')
  return u.href
}

/** Without a secure context (plain http on a host other than localhost) browsers have no
 *  crypto.subtle, which WebTorrent needs to hash: play the file from the server instead. */
async function playFromServer () {
  status('Playing from the server (peer-to-peer needs HTTPS).')
  const res = await fetch(listingUrl(), { cache: 'no-store' })
  if (!res.ok) throw new Error(`Could not load the file list (${res.status}).`)
  const file = (await res.json()).files.find(f => VIDEO_EXT.test(f.path))
  if (!file) throw new Error('This torrent has no video file.')
  Object.assign(stats, { mode: 'server', file: file.path })
  Object.defineProperty(stats, 'progress', {
    get: () => (video.duration > 0 && video.buffered.length ? video.buffered.end(video.buffered.length - 1) / video.duration : 0),
    enumerable: true
  })
  setInterval(() => {
    $('progress').value = stats.progress
    $('progress-text').textContent = `${(stats.progress * 100).toFixed(1)}%`
  }, 500)
  video.src = file.url
  stats.ready = true
  play()
}

async function main () {
  if (!config.torrentUrl) throw new Error('No torrent given.')
  if (!window.isSecureContext) return playFromServer()
  let WebTorrent
  try {
    WebTorrent = (await import('/assets/webtorrent.min.js')).default
  } catch (err) {
    throw new Error(`Could not load the player (/assets/webtorrent.min.js): ${err.message}`)
  }
  const note = WebTorrent.WEBRTC_SUPPORT ? '' : 'This browser has no WebRTC: playing from the server only.'

  const webSeeds = params.get('webseed') !== '0'
  const client = new WebTorrent({ webSeeds, tracker: { rtcConfig: { iceServers: iceServers() } } })
  client.on('error', fail)
  window.seedcastClient = client // for debugging from the console

  const [reg, torrentBytes] = await Promise.all([
    registerStreamWorker().catch(err => { console.warn('[seedcast] service worker:', err); return null }),
    fetch(config.torrentUrl, { cache: 'no-store' }).then(async res => {
      if (!res.ok) {
        const detail = await res.json().then(j => j?.error?.message).catch(() => '')
        throw new Error(`Could not load the torrent (${res.status}${detail ? ': ' + detail : ''}).`)
      }
      return new Uint8Array(await res.arrayBuffer())
    })
  ])
  if (reg) {
    answerOnlyOwnStreams() // before createServer, so that this listener runs first
    client.createServer({ controller: reg })
  }

  status('Connecting…')
  const torrent = client.add(torrentBytes, { deselect: true })
  torrent.on('wire', trackWire)
  torrent.on('error', fail)
  torrent.on('warning', err => console.warn('[seedcast]', err?.message || err))
  torrent.on('infoHash', () => {
    // parsed, not yet announced: browsers can only use WebSocket trackers
    ownInfoHash = torrent.infoHash
    torrent.announce = trackerUrls(torrent.announce)
  })

  await new Promise(resolve => (torrent.ready ? resolve() : torrent.once('ready', resolve)))
  stats.infoHash = torrent.infoHash
  if (config.infoHash && torrent.infoHash !== config.infoHash) {
    console.warn(`[seedcast] torrent info-hash ${torrent.infoHash} differs from the page's ${config.infoHash}`)
  }
  const file = torrent.files.find(f => VIDEO_EXT.test(f.name))
  liveStats(torrent, file)
  setInterval(() => render(torrent, file), 500)
  if (!file) throw new Error('This torrent has no video file.')
  stats.file = file.path
  file.select()

  if (reg) {
    stats.mode = 'stream'
    file.streamTo(video)
    stats.ready = true
    status(note)
    play()
  } else {
    stats.mode = 'blob'
    status('Downloading; playback starts when the file is complete.')
    const start = async () => {
      video.src = URL.createObjectURL(await file.blob())
      stats.ready = true
      status(note)
      play()
    }
    if (file.done) start(); else file.once('done', start)
  }
  const onDone = () => { stats.done = true; render(torrent, file) }
  if (file.done) onDone(); else file.once('done', onDone)

  video.addEventListener('error', () => {
    const e = video.error
    if (e) fail(new Error(`The video cannot be played (${e.message || 'media error ' + e.code}).`))
  })
}

main().catch(fail)
