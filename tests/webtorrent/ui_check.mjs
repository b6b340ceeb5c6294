// Headless Chromium opens the super-peer dashboard (/ui?token=…) and drives it:
//   - --workers worker rows appear (running), with CPU and memory, and --channels channel rows
//     all "seeding"; the upload-rate chart has a line per worker;
//   - every /stats call the page makes carries X-ACCESS-TOKEN (the token of --url);
//   - a click on the first worker's Restart button: its restart count goes up by one, its start
//     time does not go back, and the channels are listed again, all "seeding". With one worker
//     (single-process mode) the pid stays; with several (worker processes) the restarted one
//     has a new pid and the others keep theirs.
//
//   node ui_check.mjs --url 'http://127.0.0.1:PORT/ui?token=T&interval=500' --channels 2
//   [--workers 1] [--timeout 60] [--chromium /usr/bin/chromium]
// stdout: one JSON line {"ok":bool, …}; exit status 0 only when every check passed.
import { parseArgs, emit, sleep } from './loopback.mjs'
import { chromium } from 'playwright-core'

const args = parseArgs(process.argv.slice(2), { url: 'string', channels: 'number', workers: 'number', timeout: 'number', chromium: 'string' },
  { channels: 1, workers: 1, timeout: 60, chromium: '/usr/bin/chromium' })
if (!args.url) throw new Error('--url is required')
const token = new URL(args.url).searchParams.get('token') || ''
const result = { ok: false, steps: [], apiCalls: { stats: 0, withToken: 0, restart: [] }, console: [] }
let browser

function finish (ok, error) {
  result.ok = ok
  if (error) result.error = String(error)
  emit(result)
  const close = browser ? browser.close().catch(() => {}) : Promise.resolve()
  Promise.race([close, sleep(5000)]).then(() => process.exit(ok ? 0 : 1))
}
setTimeout(() => finish(false, `deadline: ${args.timeout} s`), args.timeout * 1000).unref()

const table = page => page.evaluate(() => ({
  workers: [...document.querySelectorAll('#workers tbody tr')].map(r => ({
    pid: Number(r.dataset.pid),
    state: r.dataset.state,
    restarts: Number(r.dataset.restarts),
    started: Number(r.dataset.started),
    cells: [...r.cells].map(c => c.textContent)
  })),
  channels: [...document.querySelectorAll('#channels tbody tr')].map(r => ({ infoHash: r.dataset.infoHash, state: r.dataset.state })),
  chartLines: document.querySelectorAll('#chart polyline').length,
  status: document.getElementById('status').textContent
}))

async function until (page, pred, ms, what) {
  const end = Date.now() + ms
  let last
  for (;;) {
    last = await table(page)
    if (pred(last)) return last
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}; page: ${JSON.stringify(last)}`)
    await sleep(200)
  }
}

try {
  browser = await chromium.launch({ executablePath: args.chromium, args: ['--headless=new', '--no-sandbox'] })
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('console', m => { if (['error', 'warning'].includes(m.type())) result.console.push(m.text().slice(0, 300)) })
  page.on('pageerror', e => result.console.push(`pageerror: ${e.message}`.slice(0, 300)))
  page.on('request', r => {
    const path = new URL(r.url()).pathname
    const h = r.headers()['x-access-token']
    if (path === '/stats') {
      result.apiCalls.stats++
      if (h === token) result.apiCalls.withToken++
    } else if (path.startsWith('/restart')) {
      result.apiCalls.restart.push({ method: r.method(), path, token: h === token })
    }
  })
  const res = await page.goto(args.url, { waitUntil: 'load', timeout: 20000 })
  result.status = res.status()
  if (res.status() !== 200) throw new Error(`/ui answered ${res.status()}`)
  const ready = w => w.workers.length === args.workers && w.workers.every(x => x.state === 'running') &&
    w.channels.length === args.channels && w.channels.every(c => c.state === 'seeding') && w.chartLines >= args.workers
  const before = await until(page, ready, 30000, 'the workers and their channels seeding')
  result.before = before
  const w = before.workers[0]
  // CPU % and memory cells are filled in
  if (!/^\d/.test(w.cells[4]) || !/\d+(\.\d+)? (KB|MB|GB)$/.test(w.cells[5])) throw new Error(`CPU/memory cells: ${w.cells}`)
  result.steps.push('worker and channels shown')
  await page.click(`button.restart[data-pid="${w.pid}"]`)
  result.steps.push('restart clicked')
  const others = before.workers.slice(1).map(x => x.pid)
  const restarted = t => t.workers.find(x => x.restarts === w.restarts + 1 &&
    (args.workers === 1 ? x.pid === w.pid : !before.workers.some(b => b.pid === x.pid)))
  const after = await until(page, t => ready(t) && restarted(t) && others.every(p => t.workers.some(x => x.pid === p)),
    30000, 'the restart and the channels seeding again')
  result.after = after
  result.restarted = restarted(after)
  if (result.restarted.started < w.started) throw new Error('start time went back')
  if (result.apiCalls.restart.length !== 1 || !result.apiCalls.restart[0].token || result.apiCalls.restart[0].method !== 'POST') {
    throw new Error(`restart calls: ${JSON.stringify(result.apiCalls.restart)}`)
  }
  if (result.apiCalls.stats === 0 || result.apiCalls.withToken !== result.apiCalls.stats) {
    throw new Error(`/stats calls without the token: ${JSON.stringify(result.apiCalls)}`)
  }
  if (result.console.length) throw new Error(`console: ${result.console.join(' | ')}`)
  result.steps.push('restarted, channels seeding again')
  finish(true)
} catch (e) {
  finish(false, e.message || e)
}
