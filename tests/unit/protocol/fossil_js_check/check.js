// Applies every delta of a fossil_vectors file with the centrifuge JS SDK's own decoder
// and checks the result byte for byte. Usage: node check.js <vectors.json>
//
// The SDK does not export applyDelta, so the check goes through the SDK's codecs, i.e.
// the exact code a browser runs on a delta publication:
// - Protobuf codec: the raw patch bytes, for every case.
// - JSON codec: the patch as a JSON string (TextEncoder re-encodes it), for JSON targets
//   whose patch is valid UTF-8; patches that are not (`delta_text_lossy`, what Gyre's
//   json_writer would send) must be rejected by the SDK.
'use strict';

const fs = require('fs');
const assert = require('assert');
const { Centrifuge } = require('centrifuge');
const { Centrifuge: CentrifugeProtobuf } = require('centrifuge/build/protobuf');

// (package.json is not in the package's exports map: read it from disk.)
const sdkVersion = JSON.parse(
  fs.readFileSync(require('path').join(__dirname, 'node_modules/centrifuge/package.json'), 'utf8')).version;
// Constructing a client does not connect; it only selects the codec.
const jsonCodec = new Centrifuge('ws://127.0.0.1:1/connection/websocket')._codec;
const protobufCodec = new CentrifugeProtobuf('ws://127.0.0.1:1/connection/websocket')._codec;
assert.strictEqual(jsonCodec.name(), 'json');
assert.strictEqual(protobufCodec.name(), 'protobuf');

const file = process.argv[2];
if (!file) {
  console.error('usage: node check.js <vectors.json>');
  process.exit(2);
}
const { cases } = JSON.parse(fs.readFileSync(file, 'utf8'));
const bytes = (b64) => new Uint8Array(Buffer.from(b64, 'base64'));
const sameBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

let failures = 0;
const counts = { protobuf: 0, json: 0, hazardRejected: 0 };
const fail = (c, what) => {
  failures++;
  console.error(`FAIL [${c.alignment}] ${c.name}: ${what}`);
};

for (const c of cases) {
  const source = bytes(c.source);
  const target = bytes(c.target);
  const delta = bytes(c.delta);

  try {
    const r = protobufCodec.applyDeltaIfNeeded({ delta: true, data: delta }, source);
    if (!sameBytes(r.newData, target)) fail(c, 'protobuf codec: output differs');
    else counts.protobuf++;
  } catch (e) {
    fail(c, `protobuf codec threw: ${e.message}`);
  }

  if (!c.json) continue;
  if (c.delta_text !== undefined) {
    try {
      const r = jsonCodec.applyDeltaIfNeeded({ delta: true, data: c.delta_text }, source);
      if (!sameBytes(r.newPrevValue, target)) fail(c, 'json codec: output differs');
      else if (!sameBytes(new TextEncoder().encode(c.delta_text), delta)) fail(c, 'patch text changed in transit');
      else {
        assert.deepStrictEqual(r.newData, JSON.parse(Buffer.from(target).toString('utf8')));
        counts.json++;
      }
    } catch (e) {
      fail(c, `json codec threw: ${e.message}`);
    }
  } else {
    let accepted = false;
    try {
      const r = jsonCodec.applyDeltaIfNeeded({ delta: true, data: c.delta_text_lossy }, source);
      accepted = sameBytes(r.newPrevValue, target);
    } catch (e) {
      // Expected: the altered patch fails the SDK's checks.
    }
    if (accepted) fail(c, 'a patch that is not valid UTF-8 survived JSON transport (unexpected)');
    else counts.hazardRejected++;
  }
}

console.log(`centrifuge ${sdkVersion}: ${cases.length} cases; protobuf codec ok ${counts.protobuf}, ` +
            `json codec ok ${counts.json}, non-UTF-8 JSON patches rejected by the SDK ${counts.hazardRejected}, ` +
            `failures ${failures}`);
process.exit(failures === 0 ? 0 : 1);
