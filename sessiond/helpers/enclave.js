'use strict';
/*
 * enclave: hand a structured result from inside a sandbox to sessiond.
 *
 *     require('enclave').result({ok: 1});
 *
 * The result is compact JSON and a newline, written to the pipe sessiond
 * holds (the fd in ENCLAVE_RESULT_FD). It carries no credential and cannot
 * call back to the API; sessiond validates and size-caps what it reads.
 * The counterpart of enclave.py and enclave-result.
 */
const fs = require('fs');

let sent = false;

function resultFd() {
  const v = process.env.ENCLAVE_RESULT_FD;
  if (v === undefined || v === '') {
    throw new Error('no result channel (ENCLAVE_RESULT_FD is not set)');
  }
  if (!/^[0-9]+$/.test(v)) {
    throw new Error(`no result channel (ENCLAVE_RESULT_FD=${v} is not a number)`);
  }
  const fd = Number(v);
  try {
    fs.fstatSync(fd);
  } catch (e) {
    throw new Error(`no result channel (ENCLAVE_RESULT_FD=${v}: ${e.code || e.message})`);
  }
  return fd;
}

// NaN and the infinities are not JSON; JSON.stringify would quietly send
// null where enclave.py refuses. Refuse them here too.
function finiteOnly(key, value) {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`${value} is not a JSON number`);
  }
  return value;
}

function pause(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Send obj as the session's result; a second call throws. */
function result(obj) {
  if (sent) {
    throw new Error('enclave.result() may be called only once');
  }
  // Serialise first: a value JSON cannot carry leaves the one call unused.
  // JSON.stringify throws for BigInt and cycles itself; undefined, a
  // function or a symbol would silently give no JSON at all.
  let text;
  try {
    text = JSON.stringify(obj, finiteOnly);
  } catch (e) {
    throw new Error(`enclave.result(): not JSON-serialisable: ${e.message}`);
  }
  if (typeof text !== 'string') {
    throw new Error(`enclave.result(): not JSON-serialisable: ${typeof obj}`);
  }
  const fd = resultFd();
  const data = Buffer.from(text + '\n', 'utf8');
  sent = true;
  // Synchronously, all of it, before the process can exit: the pipe is the
  // only way out and a short write must not lose the tail.
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN') { // a non-blocking pipe that is full
        pause(5);
        continue;
      }
      throw new Error(`enclave.result(): cannot write to fd ${fd}: ${e.message}`);
    }
  }
}

module.exports = { result };
