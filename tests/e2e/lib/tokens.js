// JWT helpers over node:crypto: HS256 with a shared secret, RS256/ES256 with key pairs
// generated here (public keys exported as PEM for the server config), plus deliberately
// broken tokens (alg none, bad signature) for negative tests.
import crypto from 'node:crypto';
import { HMAC_SECRET } from './server.js';

export function b64url(input) {
  return Buffer.from(input).toString('base64url');
}

export function nowS() {
  return Math.floor(Date.now() / 1000);
}

function encodeParts(header, claims) {
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
}

// Signs `claims` (an object) with alg HS256/HS384/HS512, RS256, ES256. `key`: the HMAC secret
// (string) or a KeyObject / PEM private key.
export function sign(claims, { alg = 'HS256', key = HMAC_SECRET, header = {} } = {}) {
  const input = encodeParts({ typ: 'JWT', alg, ...header }, claims);
  let sig;
  if (alg.startsWith('HS')) {
    sig = crypto.createHmac(`sha${alg.slice(2)}`, key).update(input).digest();
  } else if (alg.startsWith('RS')) {
    sig = crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), key);
  } else if (alg.startsWith('ES')) {
    sig = crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  } else if (alg === 'none') {
    return `${input}.`;
  } else {
    throw new Error(`unsupported alg ${alg}`);
  }
  return `${input}.${b64url(sig)}`;
}

// Connection token for `user` valid `ttl` seconds (no exp when ttl is null) with extra claims.
export function connToken(user, { ttl = 3600, alg, key, ...extra } = {}) {
  const claims = { sub: user, ...extra };
  if (ttl !== null && claims.exp === undefined) claims.exp = nowS() + ttl;
  return sign(claims, { alg, key });
}

// Subscription token for (user, channel).
export function subToken(user, channel, { ttl = 3600, alg, key, ...extra } = {}) {
  const claims = { sub: user, channel, ...extra };
  if (ttl !== null && claims.exp === undefined) claims.exp = nowS() + ttl;
  return sign(claims, { alg, key });
}

// Key pairs: { privateKey: KeyObject, publicPem: string }.
export function rsaKeys() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
}

export function ecKeys(namedCurve = 'P-256') {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
}

// Flips one character of the signature part.
export function tamper(token) {
  const parts = token.split('.');
  const s = parts[2];
  const c = s[5] === 'A' ? 'B' : 'A';
  parts[2] = s.slice(0, 5) + c + s.slice(6);
  return parts.join('.');
}

// Decodes a token's payload (no verification).
export function payload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}
