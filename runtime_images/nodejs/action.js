'use strict'
/**
 * The proxy's handle on the action process (runner.js): spawn, handshake, calls, kill.
 *
 * Why one long-lived child per /init: a warm /run is one IPC message each way, while the
 * proxy's event loop stays free to notice that the child exited or overran its deadline. The
 * child leads its own process group, so a kill takes everything it started with it.
 * Activations carry ids, so a container with concurrency > 1 may have several in flight
 * (they share the process environment, as upstream's do).
 */

const { fork } = require('child_process')
const path = require('path')
const { ActionExited, ActionStartError, DeadlineExceeded } = require('./errors')
const logs = require('./logs')

const RUNNER = path.join(__dirname, 'runner.js')
// How long an action may spend loading before /init gives up (the Python runtime's value).
const DEFAULT_START_TIMEOUT_MS = 300000
const MAX_TIMER_MS = 2147483647

function describeExit (code, signal) {
  if (signal) return ` (killed by ${signal})`
  if (code !== null && code !== undefined) return ` (exit status ${code})`
  return ''
}

class ActionProcess {
  /**
   * @param {string} dir the action folder (cwd of the child)
   * @param {string} main the entry point name
   * @param {'source'|'archive'} mode how runner.js loads the action
   * @param {object} env the complete environment of the child
   */
  constructor (dir, main, mode, env) {
    this.dir = dir
    this.main = main
    this.mode = mode
    this.env = env
    this.child = null
    this.exitInfo = null
    this.pending = new Map()
    this.nextId = 1
    this.exited = null
  }

  get alive () {
    return this.child !== null && this.exitInfo === null
  }

  get pid () {
    return this.child ? this.child.pid : undefined
  }

  /** Spawn runner.js and wait for its handshake; reject with ActionStartError otherwise. */
  start (timeoutMs = DEFAULT_START_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const child = fork(RUNNER, [this.dir, this.main, this.mode], {
        cwd: this.dir,
        env: this.env,
        execArgv: [],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        detached: true,
        serialization: 'advanced'
      })
      this.child = child
      let started = false
      const timer = setTimeout(() => {
        started = true
        this.kill()
        reject(new ActionStartError('Cannot start action: the action did not start in time.'))
      }, timeoutMs)
      this.exited = new Promise(resolveExit => {
        child.on('exit', (code, signal) => {
          this.exitInfo = describeExit(code, signal)
          clearTimeout(timer)
          if (!started) {
            started = true
            logs.stderr('Command exited abruptly during initialization.')
            reject(new ActionStartError('Cannot start action: command exited abruptly during ' +
              `initialization${this.exitInfo}. Check logs for details.`))
          }
          this.failAll(() => new ActionExited(`command exited${this.exitInfo}`))
          resolveExit()
        })
      })
      child.on('error', error => {
        if (!started) {
          started = true
          clearTimeout(timer)
          reject(new ActionStartError(`Cannot start action: ${error.message}`))
        }
      })
      child.on('message', message => {
        if (!started) {
          started = true
          clearTimeout(timer)
          if (message && message.ok) resolve()
          else reject(new ActionStartError(message && message.error))
          return
        }
        const call = this.pending.get(message.id)
        if (call) {
          this.pending.delete(message.id)
          clearTimeout(call.timer)
          call.resolve(message)
        }
      })
    })
  }

  /**
   * One activation: resolves with the runner's reply `{body}`, `{notJson}` or `{threw}`.
   * @param {number|null} deadline epoch milliseconds after which the action is killed
   */
  call (value, env, deadline) {
    if (!this.alive || !this.child.connected) {
      return Promise.reject(new ActionExited(`command exited${this.exitInfo || ''}`))
    }
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const call = { resolve, reject, timer: null }
      if (deadline !== null) {
        const wait = Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now()))
        call.timer = setTimeout(() => {
          this.pending.delete(id)
          reject(new DeadlineExceeded())
          this.kill()
        }, wait)
      }
      this.pending.set(id, call)
      this.child.send({ id, value, env }, error => {
        if (error && this.pending.delete(id)) {
          clearTimeout(call.timer)
          reject(new ActionExited(`command exited${this.exitInfo || ''}`))
        }
      })
    })
  }

  failAll (makeError) {
    for (const call of this.pending.values()) {
      clearTimeout(call.timer)
      call.reject(makeError())
    }
    this.pending.clear()
  }

  /** Kill the action and everything it started (its process group); resolves once it exited. */
  kill () {
    if (this.alive) {
      try {
        process.kill(-this.child.pid, 'SIGKILL')
      } catch (error) {
        try { this.child.kill('SIGKILL') } catch (e) { /* already gone */ }
      }
    }
    if (!this.exited) return Promise.resolve()
    return Promise.race([this.exited, new Promise(resolve => setTimeout(resolve, 5000).unref())])
  }
}

module.exports = { ActionProcess, DEFAULT_START_TIMEOUT_MS }
