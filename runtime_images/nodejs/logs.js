'use strict'
/**
 * The proxy's two log streams, shared with the action process (inherited descriptors).
 *
 * Why raw synchronous writes to fds 1 and 2 (never process.stdout): the action writes to the
 * same descriptors from another process, so the proxy must never hold buffered bytes that
 * could land after (or before) the action's output. EAGAIN (a full non-blocking pipe) is
 * retried until the line is out.
 */

const fs = require('fs')

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX'

function writeAll (fd, text) {
  const data = Buffer.from(text, 'utf8')
  let offset = 0
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset)
    } catch (error) {
      if (error.code !== 'EAGAIN') return // the reader is gone: nothing left to tell
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
    }
  }
}

/** One line on the proxy's stderr (which is also the action's stderr). */
function stderr (message) {
  writeAll(2, message.replace(/\n+$/, '') + '\n')
}

/** End an activation's logs: the sentinel once on stdout, then once on stderr. */
function sentinels () {
  writeAll(1, SENTINEL + '\n')
  writeAll(2, SENTINEL + '\n')
}

module.exports = { SENTINEL, stderr, sentinels }
