'use strict'
/**
 * The state of one action container and its two operations, /init and /run.
 *
 * What it honours is section 1 of docs/openwhisk-contract.md with the same statuses and messages
 * as the Python runtime (edgewhisk_runtime/server.py), adapted to JavaScript the way upstream
 * apache/openwhisk-runtime-nodejs does (service.js): the init `env` is exported before the
 * code is evaluated; every key of a /run body but `value` becomes `__OW_<KEY>`
 * for that activation; a promise is awaited; `undefined` is `{}`; a thrown error or rejected
 * promise answers 200 `{"error": message}` (the stack goes to stderr); anything but an object
 * or array is a 502. After every /run, and after a failed /init, the sentinel line is written
 * once on stdout and once on stderr, after the action's own output.
 *
 * Why a child process (action.js/runner.js) instead of upstream's in-process eval: an action
 * that exits, crashes or overruns its deadline (`deadline`, epoch ms) is killed without the
 * proxy going down; the proxy answers an error and the pool destroys the container.
 */

const fs = require('fs')
const os = require('os')
const path = require('path')
const { ActionProcess } = require('./action')
const errors = require('./errors')
const logs = require('./logs')
const zip = require('./zip')

// An invoker's deadline is at most a few minutes ahead. One more than an hour in the past did
// not come from a live invoker (upstream's conformance suite sends "123"): not enforced.
const STALE_DEADLINE_MS = 3600 * 1000

/** Upstream's rule for env values: strings as they are, null as empty, the rest as JSON. */
function envValue (value) {
  if (typeof value === 'string') return value
  if (value === null || value === undefined) return ''
  return JSON.stringify(value)
}

function parse (body) {
  let doc
  try {
    doc = body.length && body.toString('utf8').trim() ? JSON.parse(body.toString('utf8')) : {}
  } catch (error) {
    throw new errors.BadRequest(`Error unmarshaling request: ${error.message}`)
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new errors.BadRequest('Error unmarshaling request: the body is not a JSON object')
  }
  return doc
}

/** The deadline as epoch milliseconds, or null when absent, malformed or stale. */
function deadlineOf (raw) {
  const deadline = Number(raw)
  if (raw === undefined || raw === null || raw === '' || !Number.isFinite(deadline)) return null
  return deadline < Date.now() - STALE_DEADLINE_MS ? null : deadline
}

/**
 * Where `require` looks besides the action's own node_modules: NODE_PATH as given, else the
 * repository's `.services/node_modules` when it exists (where `make test` installs
 * `openwhisk` and `redis`, which Composer's conductor actions require).
 */
function defaultNodePath (env) {
  if (env.NODE_PATH) return env.NODE_PATH
  const services = path.resolve(__dirname, '..', '..', '.services', 'node_modules')
  return fs.existsSync(services) ? services : undefined
}

class Service {
  constructor ({ workdir, maxZipBytes, maxZipEntries } = {}) {
    this.ownWorkdir = !workdir
    this.workdir = workdir || fs.mkdtempSync(path.join(os.tmpdir(), 'edgewhisk-node-action-'))
    fs.mkdirSync(this.workdir, { recursive: true })
    this.maxZipBytes = maxZipBytes
    this.maxZipEntries = maxZipEntries
    this.action = null
    this.initializing = false
    this.closing = false
  }

  /** POST /init: [status, body]. */
  async init (body) {
    if (this.closing) return errors.toResponse(new errors.ShuttingDown())
    if (this.action !== null || this.initializing) {
      logs.stderr(errors.AlreadyInitialized.defaultMessage)
      return errors.toResponse(new errors.AlreadyInitialized())
    }
    this.initializing = true
    try {
      this.action = await this.start(parse(body))
      return [200, { ok: true }]
    } catch (error) {
      if (error instanceof errors.InitFailure) logs.sentinels()
      return errors.toResponse(error)
    } finally {
      this.initializing = false
    }
  }

  async start (doc) {
    const value = doc.value === undefined || doc.value === null ? {} : doc.value
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new errors.BadRequest("Error unmarshaling request: 'value' is not a JSON object")
    }
    if (!value.code || typeof value.code !== 'string') throw new errors.MissingCode()
    const main = value.main ? String(value.main) : 'main'
    const env = value.env === undefined || value.env === null ? {} : value.env
    if (typeof env !== 'object' || Array.isArray(env)) {
      throw new errors.BadRequest("Error unmarshaling request: 'env' is not a JSON object")
    }
    const dir = path.join(this.workdir, 'action')
    fs.rmSync(dir, { recursive: true, force: true })
    if (value.binary) {
      zip.extract(zip.decodeBase64(value.code), dir,
        { maxBytes: this.maxZipBytes, maxEntries: this.maxZipEntries })
    } else {
      fs.mkdirSync(dir, { recursive: true })
      fs.writeFileSync(path.join(dir, 'index.js'), value.code)
    }
    const childEnv = { ...process.env }
    for (const [key, val] of Object.entries(env)) childEnv[key] = envValue(val)
    const nodePath = defaultNodePath(childEnv)
    if (nodePath) childEnv.NODE_PATH = nodePath
    const action = new ActionProcess(dir, main, value.binary ? 'archive' : 'source', childEnv)
    try {
      await action.start()
    } catch (error) {
      await action.kill()
      fs.rmSync(dir, { recursive: true, force: true })
      throw error
    }
    return action
  }

  /** POST /run: [status, body as a value or as JSON text]. */
  async run (body) {
    try {
      if (this.closing) throw new errors.ShuttingDown()
      const doc = parse(body)
      if (this.action === null) throw new errors.NotInitialized()
      const env = {}
      for (const [key, val] of Object.entries(doc)) {
        if (key !== 'value') env[`__OW_${key.toUpperCase()}`] = envValue(val)
      }
      const value = doc.value === undefined || doc.value === null ? {} : doc.value
      const reply = await this.action.call(value, env, deadlineOf(doc.deadline))
      if (reply.threw !== undefined) throw new errors.ActionThrew(reply.threw)
      if (reply.notJson !== undefined) throw new errors.NotAJsonResult()
      return [200, reply.body]
    } catch (error) {
      if (error instanceof errors.DeadlineExceeded) {
        logs.stderr('The action exceeded its deadline and was stopped.')
      }
      return errors.toResponse(error)
    } finally {
      logs.sentinels()
    }
  }

  async close () {
    this.closing = true
    if (this.action !== null) await this.action.kill()
    if (this.ownWorkdir) fs.rmSync(this.workdir, { recursive: true, force: true })
  }
}

module.exports = { Service, envValue, deadlineOf }
