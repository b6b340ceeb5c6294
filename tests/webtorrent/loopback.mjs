// Shared helpers for the Node drivers: keep every listener on loopback, small CLI parser,
// bounded waits and one-line JSON results.
import fs from 'node:fs'
import net from 'node:net'

// WebTorrent's Node connection pool calls server.listen(port, cb) with no host, i.e. on
// every interface. The tests must stay on 127.0.0.1 / ::1, so a listen() without a host
// is bound to 127.0.0.1. Import this module before webtorrent.
const origListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || args[0] === undefined ||
      (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    const port = Number(args[0] ?? 0)
    const rest = args.slice(1)
    if (typeof rest[0] !== 'string') return origListen.call(this, port, '127.0.0.1', ...rest)
  }
  return origListen.apply(this, args)
}

/** Parses --key value / --flag arguments. `spec` maps names to 'string' | 'number' | 'bool'
 *  with defaults in `defaults`; unknown options throw. */
export function parseArgs (argv, spec, defaults = {}) {
  const out = { ...defaults }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`)
    let [key, val] = a.slice(2).split(/=(.*)/s, 2)
    const type = spec[key]
    if (!type) throw new Error(`unknown option --${key}`)
    if (type === 'bool') {
      out[key] = val === undefined ? true : !/^(0|false|no)$/i.test(val)
      continue
    }
    if (val === undefined) {
      if (i + 1 >= argv.length) throw new Error(`--${key} needs a value`)
      val = argv[++i]
    }
    if (type === 'number') {
      const n = Number(val)
      if (!Number.isFinite(n)) throw new Error(`--${key} wants a number, got ${val}`)
      out[key] = n
    } else if (type === 'list') {
      out[key] = [...(out[key] || []), val]
    } else {
      out[key] = val
    }
  }
  return out
}

export function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

export function log (...args) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${args.join(' ')}\n`)
}

export function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Resolves when pred() is truthy (polled every `every` ms); rejects with `what` after ms. */
export async function waitFor (pred, ms, what, every = 100) {
  const end = Date.now() + ms
  for (;;) {
    const v = await pred()
    if (v) return v
    if (Date.now() > end) throw new Error(`timeout (${ms} ms) waiting for ${what}`)
    await sleep(every)
  }
}

/** When stdin is a pipe, call fn once it closes: a parent that dies (or closes our stdin)
 *  takes this process along. With a terminal or /dev/null on stdin nothing is watched. */
export function onParentGone (fn) {
  let pipe = false
  try { pipe = fs.fstatSync(0).isFIFO() } catch {}
  if (!pipe) return
  process.stdin.on('end', fn)
  process.stdin.on('error', fn)
  process.stdin.resume()
}
