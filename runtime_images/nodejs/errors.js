'use strict'
/**
 * Typed errors of the Node.js action proxy, each with the HTTP status it maps to.
 *
 * Why one tree, mirroring edgewhisk_runtime/exceptions.py: the invoker (and the container
 * pool) must see the same status and message from a Node.js action as from a Python one, and
 * `toResponse` is the only place that turns a failure into `{"error"}`.
 *
 * Hierarchy (status in brackets):
 *
 *   RuntimeFailure                     base class, never thrown itself
 *   ├── BadRequest           [400]     malformed JSON body, undecodable base64
 *   ├── MissingCode          [403]     "Missing main/no code to execute."
 *   ├── AlreadyInitialized   [403]     "Cannot initialize the action more than once."
 *   ├── InitFailure          [502]     the action cannot be started
 *   │   ├── UnsafeArchive    [502]     zip refused: absolute path, '..', escaping link, too big
 *   │   └── ActionStartError [502]     code fails to load, no entry point, child exited
 *   ├── NotInitialized       [500]     "no action defined yet" (/run before /init)
 *   ├── ShuttingDown         [503]     the proxy is stopping (the invoker reschedules)
 *   └── ActivationFailure              a /run that produced no usable result
 *       ├── ActionExited     [400]     "command exited" (the action process died)
 *       ├── DeadlineExceeded [504]     the proxy killed an action that overran its deadline
 *       ├── NotAJsonResult   [502]     "The action did not return a dictionary or array."
 *       └── ActionThrew      [502]     main threw before returning (upstream's service.js:
 *                                      "An error has occurred: <error>", a developer error)
 */

class RuntimeFailure extends Error {
  constructor (message) {
    super(message || new.target.defaultMessage)
    this.name = new.target.name
  }

  get status () { return this.constructor.status }
}
RuntimeFailure.status = 500
RuntimeFailure.defaultMessage = 'internal runtime error'

function define (name, parent, status, defaultMessage) {
  const cls = { [name]: class extends parent {} }[name]
  cls.status = status
  cls.defaultMessage = defaultMessage
  return cls
}

const BadRequest = define('BadRequest', RuntimeFailure, 400, 'Error unmarshaling request')
const MissingCode = define('MissingCode', RuntimeFailure, 403, 'Missing main/no code to execute.')
const AlreadyInitialized = define('AlreadyInitialized', RuntimeFailure, 403,
  'Cannot initialize the action more than once.')
const InitFailure = define('InitFailure', RuntimeFailure, 502,
  'Cannot start action. Check logs for details.')
const UnsafeArchive = define('UnsafeArchive', InitFailure, 502,
  'invalid action: unsafe zip archive')
const ActionStartError = define('ActionStartError', InitFailure, 502,
  'Cannot start action. Check logs for details.')
const NotInitialized = define('NotInitialized', RuntimeFailure, 500, 'no action defined yet')
const ShuttingDown = define('ShuttingDown', RuntimeFailure, 503, 'the runtime is shutting down')
const ActivationFailure = define('ActivationFailure', RuntimeFailure, 502, 'activation failed')
const ActionExited = define('ActionExited', ActivationFailure, 400, 'command exited')
const DeadlineExceeded = define('DeadlineExceeded', ActivationFailure, 504,
  'The action exceeded its deadline and was stopped.')
const NotAJsonResult = define('NotAJsonResult', ActivationFailure, 502,
  'The action did not return a dictionary or array.')
const ActionThrew = define('ActionThrew', ActivationFailure, 502, 'An error has occurred.')

/** [status, body] for any error: typed failures keep theirs, anything else is a 500. */
function toResponse (error) {
  if (error instanceof RuntimeFailure) return [error.status, { error: error.message }]
  return [500, { error: `internal runtime error: ${error && error.message ? error.message : error}` }]
}

module.exports = {
  RuntimeFailure,
  BadRequest,
  MissingCode,
  AlreadyInitialized,
  InitFailure,
  UnsafeArchive,
  ActionStartError,
  NotInitialized,
  ShuttingDown,
  ActivationFailure,
  ActionExited,
  DeadlineExceeded,
  NotAJsonResult,
  ActionThrew,
  toResponse
}
