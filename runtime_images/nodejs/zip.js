'use strict'
/**
 * Safe extraction of an action's zip archive, with nothing but Node's zlib.
 *
 * Why not `unzip` like upstream: upstream shells out to `unzip`, which the edge images may
 * lack and which applies its own rules; an action archive comes from whoever may create
 * actions, so every entry is checked here with the same rules as the Python runtime
 * (edgewhisk_runtime/archive.py), and any violation refuses the whole archive (UnsafeArchive,
 * a 502 at /init) and leaves nothing on disk:
 *
 * - no absolute names, no drive letters, no '..' components;
 * - at most `maxEntries` entries and `maxBytes` uncompressed bytes, checked from the central
 *   directory before anything is written and again per entry while inflating
 *   (zlib's maxOutputLength), so a lying header cannot get past it;
 * - stored (0) and deflated (8) entries only, no encryption; CRC-32 checked when zlib has it;
 * - symbolic links only when they stay inside the action folder (lexically, and resolved
 *   once every entry exists, so chains of links cannot escape either); no file is written
 *   through a link.
 *
 * Zip64 archives (more than 65,535 entries or 4 GiB offsets) are read as well.
 */

const fs = require('fs')
const path = require('path')
const zlib = require('zlib')
const { BadRequest, UnsafeArchive } = require('./errors')

const DEFAULT_MAX_BYTES = 512 * 1024 * 1024
const DEFAULT_MAX_ENTRIES = 65536
const EOCD = 0x06054b50
const EOCD64 = 0x06064b50
const EOCD64_LOCATOR = 0x07064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

function refuse (reason) {
  return new UnsafeArchive(`invalid action: unsafe zip archive: ${reason}`)
}

function isZip (data) {
  const magic = data.subarray(0, 4).toString('hex')
  return magic === '504b0304' || magic === '504b0506'
}

function isGzip (data) {
  return data.length > 2 && data[0] === 0x1f && data[1] === 0x8b
}

/** The archive's bytes from base64 text, refusing anything that is not base64. */
function decodeBase64 (text) {
  const compact = text.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new BadRequest('cannot decode the request: the code is not valid base64')
  }
  return Buffer.from(compact, 'base64')
}

function findEnd (data) {
  const stop = Math.max(0, data.length - 22 - 65535)
  for (let at = data.length - 22; at >= stop; at--) {
    if (data.readUInt32LE(at) === EOCD) return at
  }
  throw new UnsafeArchive('invalid action: not a valid zip archive (no end of central directory)')
}

function directoryBounds (data) {
  const end = findEnd(data)
  let count = data.readUInt16LE(end + 10)
  let offset = data.readUInt32LE(end + 16)
  if (count === 0xffff || offset === 0xffffffff) {
    const locator = end - 20
    if (locator < 0 || data.readUInt32LE(locator) !== EOCD64_LOCATOR) {
      throw new UnsafeArchive('invalid action: not a valid zip archive (bad zip64 locator)')
    }
    const end64 = Number(data.readBigUInt64LE(locator + 8))
    if (end64 + 56 > data.length || data.readUInt32LE(end64) !== EOCD64) {
      throw new UnsafeArchive('invalid action: not a valid zip archive (bad zip64 end record)')
    }
    count = Number(data.readBigUInt64LE(end64 + 32))
    offset = Number(data.readBigUInt64LE(end64 + 48))
  }
  return { count, offset }
}

/** Sizes and offset from the zip64 extra field, for the header fields saturated at 0xffffffff. */
function applyZip64 (entry, extra) {
  let at = 0
  while (at + 4 <= extra.length) {
    const id = extra.readUInt16LE(at)
    const size = extra.readUInt16LE(at + 2)
    if (id === 0x0001) {
      let field = at + 4
      for (const key of ['size', 'csize', 'offset']) {
        if (entry[key] === 0xffffffff && field + 8 <= at + 4 + size) {
          entry[key] = Number(extra.readBigUInt64LE(field))
          field += 8
        }
      }
    }
    at += 4 + size
  }
}

function readDirectory (data, maxEntries) {
  const { count, offset } = directoryBounds(data)
  if (count > maxEntries) {
    throw refuse(`${count} entries, more than the limit of ${maxEntries}`)
  }
  const entries = []
  let at = offset
  for (let i = 0; i < count; i++) {
    if (at + 46 > data.length || data.readUInt32LE(at) !== CENTRAL) {
      throw new UnsafeArchive('invalid action: not a valid zip archive (bad central directory)')
    }
    const nameLength = data.readUInt16LE(at + 28)
    const extraLength = data.readUInt16LE(at + 30)
    const commentLength = data.readUInt16LE(at + 32)
    const flags = data.readUInt16LE(at + 8)
    const rawName = data.subarray(at + 46, at + 46 + nameLength)
    const entry = {
      name: rawName.toString(flags & 0x800 ? 'utf8' : 'latin1'),
      madeBy: data.readUInt16LE(at + 4) >> 8,
      flags,
      method: data.readUInt16LE(at + 10),
      crc: data.readUInt32LE(at + 16),
      csize: data.readUInt32LE(at + 20),
      size: data.readUInt32LE(at + 24),
      mode: data.readUInt32LE(at + 38) >>> 16,
      offset: data.readUInt32LE(at + 42)
    }
    applyZip64(entry, data.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength))
    entries.push(entry)
    at += 46 + nameLength + extraLength + commentLength
  }
  return entries
}

/** The entry's relative path parts, or a refusal for absolute paths and '..' components. */
function safeParts (name) {
  const posix = name.replace(/\\/g, '/')
  if (posix.startsWith('/') || /^[A-Za-z]:/.test(posix)) throw refuse(`absolute path '${name}'`)
  const parts = posix.split('/').filter(p => p !== '' && p !== '.')
  if (parts.includes('..')) throw refuse(`'..' in path '${name}'`)
  if (posix.includes('\0')) throw refuse(`NUL in path '${name}'`)
  if (parts.length === 0) throw refuse(`empty path '${name}'`)
  return parts
}

const isSymlink = entry => entry.madeBy === 3 && (entry.mode & 0o170000) === 0o120000
const isDirectory = entry => entry.name.endsWith('/') || (entry.madeBy === 3 && (entry.mode & 0o170000) === 0o040000)
const inside = (root, target) => target === root || target.startsWith(root + path.sep)

/** The entry's uncompressed bytes, never more than it declares. */
function contents (data, entry) {
  if (entry.flags & 0x1) throw refuse(`'${entry.name}' is encrypted`)
  const at = entry.offset
  if (at + 30 > data.length || data.readUInt32LE(at) !== LOCAL) {
    throw new UnsafeArchive(`invalid action: cannot extract '${entry.name}': bad local header`)
  }
  const start = at + 30 + data.readUInt16LE(at + 26) + data.readUInt16LE(at + 28)
  const raw = data.subarray(start, start + entry.csize)
  if (raw.length !== entry.csize) {
    throw new UnsafeArchive(`invalid action: cannot extract '${entry.name}': truncated`)
  }
  let out
  if (entry.method === 0) {
    out = raw
  } else if (entry.method === 8) {
    try {
      out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) })
    } catch (error) {
      if (error instanceof RangeError || error.code === 'ERR_BUFFER_TOO_LARGE') {
        throw refuse(`'${entry.name}' expands past its declared size`)
      }
      throw new UnsafeArchive(`invalid action: cannot extract '${entry.name}': ${error.message}`)
    }
  } else {
    throw refuse(`'${entry.name}' uses compression method ${entry.method} (only stored and deflated)`)
  }
  if (out.length !== entry.size) throw refuse(`'${entry.name}' does not match its declared size`)
  if (typeof zlib.crc32 === 'function' && (zlib.crc32(out) >>> 0) !== entry.crc) {
    throw new UnsafeArchive(`invalid action: cannot extract '${entry.name}': CRC mismatch`)
  }
  return out
}

function writeFile (data, entry, root, target) {
  const parent = path.dirname(target)
  fs.mkdirSync(parent, { recursive: true })
  if (!inside(root, fs.realpathSync(parent)) || isLink(target)) {
    throw refuse(`'${entry.name}' is written through a link`)
  }
  fs.writeFileSync(target, contents(data, entry))
  const mode = entry.madeBy === 3 ? entry.mode & 0o777 : 0
  if (mode) fs.chmodSync(target, mode | 0o600)
}

function isLink (target) {
  try {
    return fs.lstatSync(target).isSymbolicLink()
  } catch (error) {
    return false
  }
}

function makeLink (data, entry, parts, root, target) {
  if (entry.size > 4096) throw refuse(`link '${entry.name}' has an oversized target`)
  const linkTo = contents(data, entry).toString('utf8')
  if (linkTo.startsWith('/') || linkTo.includes('\\') || linkTo.includes('\0')) {
    throw refuse(`link '${entry.name}' points to an absolute path`)
  }
  const lexical = path.posix.normalize(path.posix.join(...parts.slice(0, -1), linkTo))
  if (lexical === '..' || lexical.startsWith('../')) {
    throw refuse(`link '${entry.name}' leaves the action folder`)
  }
  const parent = path.dirname(target)
  fs.mkdirSync(parent, { recursive: true })
  if (!inside(root, fs.realpathSync(parent)) || fs.existsSync(target) || isLink(target)) {
    throw refuse(`link '${entry.name}' is created through a link or twice`)
  }
  fs.symlinkSync(linkTo, target)
}

function extractChecked (data, root, maxBytes, maxEntries) {
  const entries = readDirectory(data, maxEntries)
  const declared = entries.reduce((sum, entry) => sum + entry.size, 0)
  if (declared > maxBytes) {
    throw refuse(`expands to ${declared} bytes, more than the limit of ${maxBytes}`)
  }
  const named = entries.map(entry => [entry, safeParts(entry.name)])
  const links = []
  for (const [entry, parts] of named) {
    const target = path.join(root, ...parts)
    if (isSymlink(entry)) {
      links.push([entry, parts, target])
    } else if (isDirectory(entry)) {
      fs.mkdirSync(target, { recursive: true })
      if (!inside(root, fs.realpathSync(target))) throw refuse(`'${entry.name}' is a link`)
    } else {
      writeFile(data, entry, root, target)
    }
  }
  for (const [entry, parts, target] of links) makeLink(data, entry, parts, root, target)
  for (const [entry, , target] of links) {
    let resolved
    try {
      resolved = fs.realpathSync(target)
    } catch (error) {
      continue // dangling, but lexically inside: harmless
    }
    if (!inside(root, resolved)) throw refuse(`link '${entry.name}' leaves the action folder`)
  }
}

/** Extract zip `data` into `dest` (created, must not exist), or throw leaving nothing. */
function extract (data, dest, { maxBytes = DEFAULT_MAX_BYTES, maxEntries = DEFAULT_MAX_ENTRIES } = {}) {
  if (isGzip(data)) {
    throw new UnsafeArchive('invalid action: only zip archives are supported (got gzip/tar.gz)')
  }
  if (!isZip(data)) throw new UnsafeArchive('invalid action: not a valid zip archive')
  fs.mkdirSync(dest, { recursive: false })
  try {
    extractChecked(data, fs.realpathSync(dest), maxBytes, maxEntries)
  } catch (error) {
    fs.rmSync(dest, { recursive: true, force: true })
    if (error instanceof UnsafeArchive) throw error
    throw new UnsafeArchive(`invalid action: cannot extract the archive: ${error.message}`)
  }
}

module.exports = { extract, decodeBase64, isZip, DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES }
