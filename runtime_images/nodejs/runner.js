'use strict'
/**
 * The action process: loads the action once, then answers one activation per IPC message.
 *
 * Run by the proxy as `node runner.js DIR MAIN MODE` (MODE `source` or `archive`) with the
 * action folder as cwd, the init `env` already in its environment, and an IPC channel.
 * Why a separate process: an action calling process.exit, crashing or hanging past its
 * deadline must never take the proxy down; the proxy kills this process group instead.
 *
 * How the entry point is found (upstream apache/openwhisk-runtime-nodejs, runner.js):
 * - source: the code is a CommonJS module (index.js in DIR) evaluated with `require`,
 *   `module`, `exports`; MAIN is the name of a top-level `function main`/`const main`, or
 *   else `module.exports[MAIN]` / `exports[MAIN]`;
 * - archive: with MAIN `fn` the folder is required (package.json `main`, else index.js) and
 *   its export `fn` used; with MAIN `file.fn` the module `file` is required instead.
 * `require` resolves Node built-ins, DIR's node_modules and NODE_PATH.
 *
 * Protocol: after loading it sends `{ok: true}` or `{ok: false, error}` (details on stderr)
 * and exits on failure; per activation it receives `{id, value, env}` and sends
 * `{id, body}` (the result as JSON text) or `{id, notJson: type}`. Everything the action
 * printed has reached the inherited stdout/stderr before the reply (see `flushed`), so the
 * proxy's sentinel lines always follow the action's output.
 */

const fs = require('fs')
const Module = require('module')
const path = require('path')
const vm = require('vm')

const ENTRY = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/

class StartError extends Error {}

function property (object, dotted) {
  return dotted.split('.').reduce((value, key) => (value == null ? undefined : value[key]), object)
}

function assertFunction (handler, main) {
  if (typeof handler !== 'function') {
    throw new StartError(`Action entrypoint '${main}' is not a function.`)
  }
  return handler
}

/** Evaluate source code as a CommonJS module and find `main` in it (upstream's rule). */
function loadSource (dir, main) {
  const filename = path.join(dir, 'index.js')
  const code = fs.readFileSync(filename, 'utf8')
  const mod = new Module(filename, null)
  mod.filename = filename
  mod.paths = Module._nodeModulePaths(dir)
  const localRequire = Module.createRequire(filename)
  const tail = `\n;return (function () { try { return ${main} } catch (e) {` +
    ' if (e instanceof ReferenceError) return undefined; throw e } })()\n'
  const fn = vm.compileFunction(code.replace(/^#!.*/, '') + tail,
    ['exports', 'require', 'module', '__filename', '__dirname'], { filename })
  const named = fn.call(mod.exports, mod.exports, localRequire, mod, filename, dir)
  mod.loaded = true
  if (typeof named === 'function') return named
  return assertFunction(property(mod.exports, main), main)
}

/** Require the archive's folder (or `file` of `file.fn`) and take its export. */
function loadArchive (dir, main) {
  const dot = main.indexOf('.')
  const file = dot < 0 ? undefined : main.slice(0, dot)
  const name = dot < 0 ? main : main.slice(dot + 1)
  if (file === undefined && !fs.existsSync(path.join(dir, 'package.json')) &&
      !fs.existsSync(path.join(dir, 'index.js'))) {
    throw new StartError('Zipped actions must contain either package.json or index.js at the root.')
  }
  const localRequire = Module.createRequire(path.join(dir, 'package.json'))
  const exported = localRequire(file === undefined ? dir : path.join(dir, file))
  return assertFunction(property(exported, name), main)
}

function load (dir, main, mode) {
  if (!ENTRY.test(main)) throw new StartError(`Action entrypoint '${main}' is not a valid name.`)
  return mode === 'archive' ? loadArchive(dir, main) : loadSource(dir, main)
}

/** The `{"error"}` value of a thrown or rejected value: an Error's message, else the value. */
function errorValue (error) {
  if (error instanceof Error) return error.message || error.name || 'Error'
  if (error === undefined || error === null) return {}
  try {
    JSON.stringify(error)
    return error
  } catch (e) {
    return String(error)
  }
}

class Session {
  constructor (handler) {
    this.handler = handler
    this.exported = new Set()
  }

  /** Export this activation's `__OW_*` variables; drop the previous one's leftovers. */
  exportEnv (env) {
    for (const key of this.exported) if (!(key in env)) delete process.env[key]
    for (const [key, value] of Object.entries(env)) process.env[key] = value
    this.exported = new Set(Object.keys(env))
  }

  async activate ({ id, value, env }) {
    this.exportEnv(env || {})
    let pending
    try {
      pending = this.handler(value)
    } catch (error) { // thrown before main returned: upstream's runner rejects, a 502
      console.error(error)
      return { id, threw: `An error has occurred: ${error}` }
    }
    let result
    try {
      result = await pending
    } catch (error) { // a rejected promise: upstream resolves it as {"error"}, a 200
      console.error(error)
      return { id, body: JSON.stringify({ error: errorValue(error) }) }
    }
    if (result === undefined) result = {} // upstream: a bare `return;` is an empty result
    if (typeof result !== 'object' || result === null) {
      const type = result === null ? 'null' : typeof result
      console.error(`Result must be of type object but has type "${type}":`, result)
      return { id, notJson: type }
    }
    let body
    try {
      body = JSON.stringify(result)
    } catch (error) {
      console.error(`The action's result is not JSON: ${error.message}`)
      return { id, notJson: 'object' }
    }
    if (typeof body !== 'string' || !/^[[{]/.test(body)) return { id, notJson: typeof body }
    return { id, body }
  }
}

/**
 * Resolves once everything written to stdout and stderr so far has reached the descriptors.
 * Why: on pipes Node's stdout is asynchronous once the pipe is full, so a reply sent at once
 * could let the proxy's sentinel overtake the action's output.
 */
function flushed () {
  const drained = stream => new Promise(resolve => {
    if (stream.writableLength === 0) resolve()
    else stream.write('', () => resolve())
  })
  return Promise.all([drained(process.stdout), drained(process.stderr)])
}

function main ([dir, entry, mode]) {
  process.chdir(dir)
  process.on('disconnect', () => process.exit(0)) // the proxy is gone: so are we
  let handler
  try {
    handler = load(dir, entry, mode)
  } catch (error) {
    if (!(error instanceof StartError)) console.error(error)
    else console.error(error.message)
    const reason = error instanceof StartError ? error.message : `${error.name}: ${error.message}`
    const failure = { ok: false, error: `Initialization has failed due to: ${reason}` }
    flushed().then(() => process.send(failure, () => process.exit(1)))
    return
  }
  const session = new Session(handler)
  process.on('message', message => {
    session.activate(message).then(reply => flushed().then(() => process.send(reply)))
  })
  flushed().then(() => process.send({ ok: true }))
}

main(process.argv.slice(2))
