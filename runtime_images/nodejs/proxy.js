#!/usr/bin/env node
'use strict'
/**
 * edgewhisk's OpenWhisk action proxy for `nodejs:default` actions: POST /init and POST /run.
 *
 *   node proxy.js [--port PORT] [--host HOST] [--listen-fd FD] [--workdir DIR] [--lifeline-stdin]
 *                 [--max-zip-bytes N] [--max-zip-entries N]
 *
 * PORT defaults to $__OW_PORT, else 8080; HOST to 127.0.0.1 (a container passes 0.0.0.0).
 * The action is unpacked into DIR/action; DIR defaults to a fresh temporary folder, removed
 * at exit (a given DIR belongs to the caller, who removes it even after a SIGKILL).
 * Dependency-free (Node >= 18 built-ins only), so it runs where Node runs: the controller's
 * process backend, an edge device, or an image. stdout carries nothing but the action's
 * output and the sentinel lines (a startup line goes to stderr, on a terminal only).
 * SIGTERM/SIGINT kill the action and exit 0.
 *
 * The contract is service.js's; the action itself runs in runner.js, a child process.
 */

const http = require('http')
const { Service } = require('./service')
const zip = require('./zip')
const logs = require('./logs')

const MAX_BODY_BYTES = 256 * 1024 * 1024
// Longer than any client's keep-alive (aiohttp keeps idle connections 15 s), so a client
// never reuses a connection the proxy is closing at the same instant.
const KEEP_ALIVE_MS = 120 * 1000

function usage (message) {
  logs.stderr(`${message}\nusage: node proxy.js [--port PORT] [--host HOST] [--listen-fd FD] ` +
    '[--workdir DIR] ' +
    '[--max-zip-bytes N] [--max-zip-entries N]')
  process.exit(2)
}

function integer (text, name) {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0) usage(`${name} must be a non-negative integer`)
  return value
}

function parseArgs (argv) {
  const options = {
    host: '127.0.0.1',
    port: process.env.__OW_PORT ? integer(process.env.__OW_PORT, '__OW_PORT') : 8080,
    maxZipBytes: zip.DEFAULT_MAX_BYTES,
    maxZipEntries: zip.DEFAULT_MAX_ENTRIES
  }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--lifeline-stdin') {
      options.lifelineStdin = true
      continue
    }
    let [flag, value] = argv[i].split(/=(.*)/s)
    if (value === undefined) value = argv[++i]
    if (value === undefined) usage(`${flag} needs a value`)
    if (flag === '--port') options.port = integer(value, flag)
    else if (flag === '--host') options.host = value
    else if (flag === '--listen-fd') options.listenFd = integer(value, flag)
    else if (flag === '--workdir') options.workdir = value
    else if (flag === '--max-zip-bytes') options.maxZipBytes = integer(value, flag)
    else if (flag === '--max-zip-entries') options.maxZipEntries = integer(value, flag)
    else usage(`unknown argument ${flag}`)
  }
  return options
}

function readBody (req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', chunk => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }))
        req.destroy()
      } else {
        chunks.push(chunk)
      }
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function send (res, status, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text)
  })
  res.end(text)
}

function handler (service) {
  const routes = { '/init': body => service.init(body), '/run': body => service.run(body) }
  return async (req, res) => {
    const route = routes[req.url.split('?')[0]]
    if (!route) return send(res, 404, { error: 'not found' })
    if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' })
    let body
    try {
      body = await readBody(req)
    } catch (error) {
      return send(res, error.status || 400, { error: error.message })
    }
    let status, result
    try {
      [status, result] = await route(body)
    } catch (error) { // a bug of ours: answer it rather than let it take the proxy down
      logs.stderr(`edgewhisk node runtime: ${error && error.stack ? error.stack : error}`);
      [status, result] = [500, { error: `internal runtime error: ${error && error.message}` }]
    }
    send(res, status, result)
  }
}

function serve (options) {
  const service = new Service(options)
  const server = http.createServer(handler(service))
  server.requestTimeout = 0 // an activation may run for minutes
  server.headersTimeout = 60 * 1000
  server.keepAliveTimeout = KEEP_ALIVE_MS
  server.on('error', error => {
    logs.stderr(`edgewhisk node runtime: cannot listen on ${options.host}:${options.port}: ` +
      error.message)
    service.close().finally(() => process.exit(1))
  })
  // --listen-fd: serve a socket the owner bound and passed down (its port was never free for
  // another process to take between choosing it and listening on it).
  const where = options.listenFd === undefined
    ? [options.port, options.host]
    : [{ fd: options.listenFd }]
  server.listen(...where, () => {
    if (require('tty').isatty(2) && options.listenFd === undefined) {
      logs.stderr(`edgewhisk node runtime listening on http://${options.host}:${options.port}`)
    }
  })
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    server.close()
    server.closeAllConnections()
    service.close().finally(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  if (options.lifelineStdin) {
    // The owner (a process backend) holds stdin open; the kernel closes it however the owner
    // dies, so end of file means nobody will ever call us again.
    process.stdin.on('end', stop)
    process.stdin.on('error', stop)
    process.stdin.resume()
  }
  return server
}

if (require.main === module) serve(parseArgs(process.argv.slice(2)))

module.exports = { serve, parseArgs }
