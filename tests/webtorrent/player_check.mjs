// Headless Chromium opens the seedcast player (/watch/…) as two viewers and checks that the
// second one gets bytes from the first over WebRTC while its <video> plays.
//
//   node player_check.mjs --url http://127.0.0.1:PORT/watch/<infoHash> [options]
//
// Viewer 1 (own browser context = own service worker, cache and storage) opens --url and
// must stream: window.seedcastStats.ready, mode 'stream', video.currentTime advancing.
// Viewer 2 opens --url2 (default --url) in a second context once viewer 1's tracker
// announce with WebRTC offers has been answered (seen on its WebSocket), so that the two
// viewers' first offers do not cross. It must report peerBytes > 0 and its currentTime
// must advance by --min-advance seconds.
//
// --page2-webseed block   (default) viewer 2's requests to /file/ (the web seed) are aborted
//                         by request interception: everything it plays came from viewer 1
//                 delay:MS each /file/ request of viewer 2 is held MS ms, then sent
//                 allow    no interception (peer bytes are then likely but not certain)
// --single                 one viewer only; checks playback from the web seed alone
//                          (peerBytes may be 0; numPeers must be 0 with no other viewer)
// --server-peer            one viewer only, page opened with the web seed off (?webseed=0 in
//                          --url): it must play from the server's own WebRTC peer alone
//                          (serverPeerBytes > 0, webseedBytes and peerBytes 0)
// --timeout S (90)  --min-advance S (1.0)  --chromium PATH (/usr/bin/chromium)
// --expect-status N        only load --url and check that the page answers N (e.g. 401)
// --expect-mode M          'stream' (default: service worker + file.streamTo), 'blob' or
//                          'server' (no secure context: the <video> plays the server's URL)
// --block-service-workers  Playwright blocks service workers (the player must fall back to
//                          'blob': play once downloaded)
// --map-host NAME          resolve NAME to 127.0.0.1 in Chromium (an http://NAME:PORT page is
//                          not a secure context: no service worker, so the player falls back)
//
// stdout: one JSON line {"ok":bool, …}; exit status 0 only when every check passed.
// Chromium runs headless with a fresh temporary profile (Playwright creates and removes it).
import { parseArgs, emit, log, sleep } from './loopback.mjs'
import { chromium } from 'playwright-core'

const args = parseArgs(process.argv.slice(2), {
  url: 'string', url2: 'string', 'page2-webseed': 'string', single: 'bool', timeout: 'number',
  'min-advance': 'number', chromium: 'string', 'expect-status': 'number', headful: 'bool',
  'expect-mode': 'string', 'map-host': 'string', 'block-service-workers': 'bool', 'server-peer': 'bool'
}, { 'expect-mode': 'stream', 'page2-webseed': 'block', single: false, timeout: 90, 'min-advance': 1.0, chromium: '/usr/bin/chromium', headful: false })
if (!args.url) throw new Error('--url is required')

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows'
]

const started = Date.now()
const deadline = started + args.timeout * 1000
const remaining = () => Math.max(1, deadline - Date.now())
const result = { ok: false, url: args.url, viewers: {} }
let browser

function finish (ok, error) {
  result.ok = ok
  if (error) result.error = error
  result.elapsedMs = Date.now() - started
  emit(result)
  const close = browser ? browser.close().catch(() => {}) : Promise.resolve()
  Promise.race([close, sleep(5000)]).then(() => process.exit(ok ? 0 : 1))
}

const hardStop = setTimeout(() => finish(false, `deadline: ${args.timeout} s`), args.timeout * 1000 + 2000)
hardStop.unref?.()

const redact = s => s.replace(/eyJ[\w-]*\.[\w-]+\.[\w-]+/g, '<token>')

/** Stats, video state and a WebSocket log of one viewer. */
class Viewer {
  constructor (name, context, page) {
    this.name = name
    this.context = context
    this.page = page
    this.console = []
    this.ws = { opened: [], sent: 0, received: 0, failures: [], closed: [], offersSent: 0, offersAnswered: false }
    this.fileRequests = { seen: 0, blocked: 0, delayed: 0, statuses: {} }
    this.failedResponses = [] // other than the web seed's: "status path", tokens redacted
    this.mainStatus = null
    page.on('console', m => {
      if (['error', 'warning'].includes(m.type()) || m.text().includes('[seedcast]')) {
        this.console.push(`${m.type()}: ${m.text()}`.slice(0, 400))
      }
    })
    page.on('pageerror', e => this.console.push(`pageerror: ${e.message}`.slice(0, 400)))
    page.on('websocket', ws => {
      // never log tokens
      this.ws.opened.push(redact(ws.url()))
      let offersPending = false
      ws.on('framesent', f => {
        this.ws.sent++
        if (typeof f.payload === 'string' && f.payload.includes('"offers":[')) { this.ws.offersSent++; offersPending = true }
      })
      ws.on('framereceived', f => {
        this.ws.received++
        const text = typeof f.payload === 'string' ? f.payload : ''
        if (text.includes('failure reason')) this.ws.failures.push(text.slice(0, 300))
        if (offersPending && text.includes('"interval"')) this.ws.offersAnswered = true
      })
      ws.on('socketerror', e => this.ws.closed.push(`error: ${e}`))
      ws.on('close', () => this.ws.closed.push('closed'))
    })
    page.on('response', r => {
      const { pathname, search } = new URL(r.url())
      if (pathname.includes('/file/')) {
        const k = String(r.status())
        this.fileRequests.statuses[k] = (this.fileRequests.statuses[k] || 0) + 1
      } else if (r.status() >= 400 && this.failedResponses.length < 20) {
        this.failedResponses.push(`${r.status()} ${redact(pathname + search)}`)
      }
    })
  }

  async state () {
    return this.page.evaluate(() => {
      const v = document.querySelector('video')
      const s = window.seedcastStats || {}
      const text = id => document.getElementById(id)?.textContent ?? null
      const data = id => document.getElementById(id)?.dataset.bytes ?? null
      return {
        ...s,
        dom: {
          peerBytes: text('peer-bytes'), webseedBytes: text('webseed-bytes'), numPeers: text('num-peers'),
          peerBytesData: data('peer-bytes'), webseedBytesData: data('webseed-bytes'),
          serverPeerBytes: text('server-peer-bytes'), serverPeerBytesData: data('server-peer-bytes')
        },
        currentTime: v ? v.currentTime : null,
        paused: v ? v.paused : null,
        ended: v ? v.ended : null,
        readyState: v ? v.readyState : null,
        videoError: v?.error ? `${v.error.code} ${v.error.message}` : null,
        src: v ? v.currentSrc.replace(/^https?:\/\/[^/]+/, '') : null,
        status: text('status')
      }
    })
  }

  async report () {
    let st = null
    try { st = await this.state() } catch (e) { st = { evaluateError: String(e) } }
    result.viewers[this.name] = {
      state: st, ws: this.ws, fileRequests: this.fileRequests, failedResponses: this.failedResponses,
      console: this.console.slice(-15), mainStatus: this.mainStatus
    }
    return st
  }
}

async function openViewer (name, url, { webseed = 'allow' } = {}) {
  const context = await browser.newContext({
    serviceWorkers: args['block-service-workers'] ? 'block' : 'allow',
    viewport: { width: 960, height: 640 }
  })
  const page = await context.newPage()
  const viewer = new Viewer(name, context, page)
  viewers.push(viewer)
  if (webseed !== 'allow') {
    const delayMs = webseed.startsWith('delay:') ? Number(webseed.slice(6)) : 0
    if (webseed !== 'block' && !(delayMs >= 0)) throw new Error(`bad --page2-webseed ${webseed}`)
    await context.route(u => new URL(u).pathname.includes('/file/'), async route => {
      viewer.fileRequests.seen++
      if (webseed === 'block') {
        viewer.fileRequests.blocked++
        return route.abort('blockedbyclient')
      }
      viewer.fileRequests.delayed++
      await sleep(delayMs)
      return route.continue().catch(() => {})
    })
  }
  const resp = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: remaining() })
  viewer.mainStatus = resp ? resp.status() : null
  return viewer
}

/** Polls viewer.state() until pred(state) holds; throws with the last state otherwise. */
async function until (viewer, pred, what) {
  let last
  const scriptDeadline = Date.now() + 15000
  for (;;) {
    last = await viewer.state()
    if (last.ready === undefined && Date.now() > scriptDeadline) {
      throw new Error(`${viewer.name}: the player script did not run within 15 s (status "${last.status}", failed responses ${JSON.stringify(viewer.failedResponses)})`)
    }
    if (last.error) throw new Error(`${viewer.name}: page error "${last.error}" while waiting for ${what}`)
    if (last.videoError) throw new Error(`${viewer.name}: video error ${last.videoError} while waiting for ${what}`)
    if (pred(last)) return last
    if (Date.now() > deadline) throw new Error(`${viewer.name}: timeout waiting for ${what}; last state ${JSON.stringify(last)}`)
    await sleep(200)
  }
}

async function plays (viewer) {
  const first = await until(viewer, s => s.ready && s.currentTime > 0, 'playback to start')
  viewer.firstPlay = { progress: first.progress, currentTime: first.currentTime, atMs: Date.now() - started }
  await until(viewer, s => s.currentTime >= first.currentTime + args['min-advance'] && (!s.paused || s.ended),
    `currentTime to advance ${args['min-advance']} s past ${first.currentTime.toFixed(2)}`)
  return first
}

const viewers = []

async function main () {
  browser = await chromium.launch({
    executablePath: args.chromium,
    headless: !args.headful,
    args: args['map-host'] ? [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${args['map-host']} 127.0.0.1`] : CHROMIUM_ARGS,
    timeout: 30000
  })
  result.browser = browser.version()

  if (args['expect-status']) {
    const v = await openViewer('viewer1', args.url)
    if (v.mainStatus !== args['expect-status']) throw new Error(`page answered ${v.mainStatus}, expected ${args['expect-status']}`)
    return
  }

  const v1 = await openViewer('viewer1', args.url)
  if (v1.mainStatus !== 200) throw new Error(`viewer1: ${args.url} answered ${v1.mainStatus}`)
  await plays(v1)
  const s1 = await v1.state()
  if (s1.mode !== args['expect-mode']) throw new Error(`viewer1 plays in mode ${s1.mode}, expected ${args['expect-mode']} (stream: the service worker took control)`)
  if (args['server-peer']) {
    if (!(s1.serverPeerBytes > 0)) throw new Error('viewer1 played without bytes from the server\'s WebRTC peer')
    if (s1.webseedBytes !== 0) throw new Error(`viewer1 got ${s1.webseedBytes} bytes from the web seed, which the page turned off`)
    if (s1.peerBytes !== 0) throw new Error(`viewer1 got ${s1.peerBytes} bytes from other viewers; there are none`)
    await until(v1, s => Number(s.dom.serverPeerBytesData) > 0, '#server-peer-bytes to show the server bytes')
    return
  }
  if (args['expect-mode'] !== 'server' && !(s1.webseedBytes > 0)) throw new Error('viewer1 played without bytes from the web seed')
  if (args.single) {
    if (s1.numPeers !== 0) throw new Error(`viewer1 alone reports ${s1.numPeers} peers`)
    return
  }
  // viewer 2 must not announce before viewer 1's offers were dealt with (see top comment)
  while (!v1.ws.offersAnswered) {
    if (Date.now() > deadline - 5000) throw new Error('viewer1: no tracker reply to its announce with WebRTC offers')
    await sleep(100)
  }

  const v2 = await openViewer('viewer2', args.url2 || args.url, { webseed: args['page2-webseed'] })
  if (v2.mainStatus !== 200) throw new Error(`viewer2: page answered ${v2.mainStatus}`)
  await until(v2, s => s.peerBytes > 0, 'bytes from a peer (peerBytes > 0)')
  await plays(v2)
  const s2 = await v2.state()
  if (s2.mode !== args['expect-mode']) throw new Error(`viewer2 plays in mode ${s2.mode}, expected ${args['expect-mode']}`)
  if (!(s2.numPeers >= 1)) throw new Error(`viewer2 reports ${s2.numPeers} peers`)
  if (!(Number(s2.dom.peerBytesData) > 0)) {
    // the DOM is refreshed every 500 ms
    await until(v2, s => Number(s.dom.peerBytesData) > 0, '#peer-bytes to show the peer bytes')
  }
  if (args['page2-webseed'] === 'block' && s2.webseedBytes !== 0) throw new Error(`viewer2 got ${s2.webseedBytes} bytes from the blocked web seed`)
  const s1b = await v1.state()
  if (!(s1b.numPeers >= 1)) throw new Error(`viewer1 reports ${s1b.numPeers} peers while serving viewer2`)
  if (!(s1b.uploadBytes > 0)) throw new Error('viewer1 reports no uploaded bytes')
}

main().then(() => null, err => { log(err.stack || err); return String(err.message || err) }).then(async error => {
  for (const v of viewers) {
    await Promise.race([v.report(), sleep(3000)])
    if (v.firstPlay) result.viewers[v.name].firstPlay = v.firstPlay
  }
  finish(!error, error || undefined)
})
