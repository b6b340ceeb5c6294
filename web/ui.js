// The super-peer dashboard (/ui): polls GET /stats with the access token the page was opened
// with, draws the workers, the channels and the upload rate over time, and calls
// POST /stop/{pid}, /restart/{pid}, /stop_all, /restart_all. No dependencies, no build step.
const token = document.querySelector('meta[name="access-token"]').content
const params = new URLSearchParams(location.search)
const interval = Math.max(250, Number(params.get('interval')) || 2000)
const HISTORY = 150 // samples kept for the chart
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2']

const history = [] // [{t, rates: {pid: KB/s}}]
const status = document.getElementById('status')
window.superpeer = { polls: 0, last: null, error: null }

async function call (method, path) {
  const headers = token ? { 'X-ACCESS-TOKEN': token } : {}
  const r = await fetch(path, { method, headers, cache: 'no-store' })
  const body = await r.json().catch(() => ({}))
  if (!r.ok) throw new Error(body?.error?.message || `${r.status} ${r.statusText}`)
  return body
}

function el (tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v
    else if (k.startsWith('data-')) e.setAttribute(k, v)
    else e[k] = v
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)))
  return e
}

const num = (v, d = 0) => Number(v).toLocaleString(undefined, { minimumFractionDigits: d, maximumFractionDigits: d })
function size (kb) {
  if (kb >= 1024 * 1024) return `${num(kb / 1024 / 1024, 2)} GB`
  if (kb >= 1024) return `${num(kb / 1024, 1)} MB`
  return `${num(kb)} KB`
}
const rate = kbs => kbs >= 1024 ? `${num(kbs / 1024, 2)} MB/s` : `${num(kbs, 1)} KB/s`
const td = (v, cls = '') => el('td', { class: cls }, v)

async function act (method, path, button) {
  if (button) button.disabled = true
  try {
    await call(method, path)
    await poll()
  } catch (e) {
    showError(e)
  } finally {
    if (button) button.disabled = false
  }
}

function drawWorkers (workers) {
  const body = document.querySelector('#workers tbody')
  body.replaceChildren(...workers.map(w => {
    const stop = el('button', { class: 'stop', 'data-pid': w.pid, textContent: 'Stop' })
    const restart = el('button', { class: 'restart', 'data-pid': w.pid, textContent: 'Restart' })
    stop.onclick = () => act('POST', `/stop/${w.pid}`, stop)
    restart.onclick = () => act('POST', `/restart/${w.pid}`, restart)
    stop.disabled = w.state === 'stopped'
    return el('tr', { 'data-pid': w.pid, 'data-state': w.state, 'data-restarts': w.restarts, 'data-started': w.started },
      td(w.pid), td(w.state, w.state), td(new Date(w.started * 1000).toLocaleString()), td(w.restarts, 'n'),
      td(num(w.cpu, 1), 'n'), td(size(w.rss), 'n'), td(w.channels.length, 'n'), td(w.peers, 'n'), td(w.peerPort || '—', 'n'),
      td(w.rtcPeers ?? 0, 'n'), td(w.rtcPort || '—', 'n'),
      td(size(w.uploaded), 'n'), td(size((w.rtcUploadedBytes ?? 0) / 1024), 'n'),
      td(w.uploadLimit ? `${rate(w.uploadRate)} of ${rate(w.uploadLimit)}` : rate(w.uploadRate), 'n'), el('td', {}, stop, restart))
  }))
}

function drawChannels (channels) {
  const body = document.querySelector('#channels tbody')
  body.replaceChildren(...channels.map(c => el('tr', { 'data-info-hash': c.infoHash, 'data-state': c.state },
    td(c.label || '—'), el('td', {}, el('code', {}, c.infoHash)), td(c.state, c.state), td(c.peers, 'n'),
    td(c.rtcPeers ?? 0, 'n'), td(size(c.uploaded), 'n'), td(size((c.rtcUploadedBytes ?? 0) / 1024), 'n'), td(rate(c.uploadRate), 'n'), td(`${num(c.progress * 100, 1)} %`, 'n'),
    td(c.priority, 'n'), td(c.keepAlive ? 'yes' : 'no'), td(c.workers.join(', ')))))
}

// One line per worker (and its pid's color), the rate axis scaled to the highest sample.
function drawChart () {
  const svg = document.getElementById('chart')
  const W = 600; const H = 160; const pad = 14
  const pids = [...new Set(history.flatMap(h => Object.keys(h.rates)))]
  const max = Math.max(1, ...history.flatMap(h => Object.values(h.rates)))
  const ns = 'http://www.w3.org/2000/svg'
  const nodes = []
  pids.forEach((pid, i) => {
    const pts = history.map((h, j) => {
      const x = history.length < 2 ? W : (j / (HISTORY - 1)) * W
      const y = H - pad - ((h.rates[pid] ?? 0) / max) * (H - 2 * pad)
      return `${x.toFixed(1)},${y.toFixed(1)}`
    })
    const line = document.createElementNS(ns, 'polyline')
    line.setAttribute('points', pts.join(' '))
    line.setAttribute('stroke', COLORS[i % COLORS.length])
    line.dataset.pid = pid
    nodes.push(line)
  })
  svg.replaceChildren(...nodes)
  document.getElementById('chart-caption').textContent =
    `top of the chart: ${rate(max)} · last ${history.length} samples, every ${interval / 1000} s`
  document.getElementById('legend').replaceChildren(...pids.map((pid, i) =>
    el('span', {}, el('span', { class: 'swatch', style: `background:${COLORS[i % COLORS.length]}` }), `worker ${pid}`)))
}

function showError (e) {
  window.superpeer.error = String(e.message || e)
  status.textContent = `error: ${window.superpeer.error}`
  status.className = 'error'
}

async function poll () {
  try {
    const s = await call('GET', '/stats')
    window.superpeer.last = s
    window.superpeer.polls++
    window.superpeer.error = null
    drawWorkers(s.workers)
    drawChannels(s.channels)
    history.push({ t: Date.now(), rates: Object.fromEntries(s.workers.map(w => [w.pid, w.uploadRate])) })
    if (history.length > HISTORY) history.shift()
    drawChart()
    const peers = s.workers.reduce((n, w) => n + w.peers, 0)
    status.textContent = `${s.workers.length} worker(s), ${s.channels.length} channel(s), ${peers} peer(s) · updated ${new Date().toLocaleTimeString()}`
    status.className = ''
  } catch (e) {
    showError(e)
  }
}

document.getElementById('stop-all').onclick = e => act('POST', '/stop_all', e.target)
document.getElementById('restart-all').onclick = e => act('POST', '/restart_all', e.target)
poll()
setInterval(poll, interval)
