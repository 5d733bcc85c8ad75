// crypto.js: the global `crypto` (getRandomValues, randomUUID, subtle: SHA digests and HMAC keys), Crypto, SubtleCrypto, CryptoKey.
// Evaluated once per heap by sandbox/host.cc after encoding.js (its DOMException and btoa) and before runtime.js (its Promise).
// Trusts only the __host natives captured here; tenant code is hostile: it must never reach them nor a key's bytes.
(function (global) {
  'use strict';

  var host = global.__host;
  if (host === null || typeof host !== 'object') throw new Error('crypto.js: __host is missing');
  var nativeRandomFill = host.cryptoRandomFill;
  var nativeRandomUUID = host.cryptoRandomUUID;
  var nativeDigest = host.cryptoDigest;
  var nativeHmac = host.cryptoHmac;
  var nativeEqual = host.cryptoEqual;
  var nativeBlockSize = host.cryptoBlockSize;
  var nativeCopy = host.cryptoCopy;
  var DOMExceptionCtor = global.DOMException;
  var atob = global.atob;
  var btoa = global.btoa;
  if (typeof DOMExceptionCtor !== 'function' || typeof btoa !== 'function') {
    throw new Error('crypto.js: encoding.js must be evaluated first');
  }

  // Built-ins captured before tenant code can replace them.
  var defineProperty = Object.defineProperty;
  var createObject = Object.create;
  var objectKeys = Object.keys;
  var freeze = Object.freeze;
  var isArray = Array.isArray;
  var objectToString = Object.prototype.toString;
  var FunctionPrototype = Function.prototype;
  var fnCall = FunctionPrototype.bind.call(FunctionPrototype.call, FunctionPrototype.call);
  var fromCharCode = String.fromCharCode;
  var StringCtor = String;
  var ArrayBufferCtor = ArrayBuffer;
  var Uint8 = Uint8Array;
  var isView = ArrayBuffer.isView;

  // The class-definition helpers encoding.js made (it runs first).
  var helpers = host.classHelpers;
  var slot = helpers.slot, defineHidden = helpers.defineHidden, defineMethods = helpers.defineMethods;
  var defineGetters = helpers.defineGetters, defineTag = helpers.defineTag;

  function isObjectLike(x) {
    return x !== null && (typeof x === 'object' || typeof x === 'function');
  }
  function requireArgs(count, needed, where) {
    if (count < needed) {
      throw new TypeError(where + ': ' + needed + ' argument' + (needed > 1 ? 's' : '') + ' required, but only ' + count + ' present.');
    }
  }
  function domError(name, message) {
    return new DOMExceptionCtor(message, name);
  }
  function illegalConstructor() {
    throw new TypeError('Illegal constructor');
  }
  // Algorithm names match ASCII case-insensitively (WebCrypto); only ASCII
  // folds, so no other letter can fold into a name.
  var ASCII_LOWER = /[a-z]+/g;
  function toUpper(m) {
    return m.toUpperCase();
  }
  function asciiUpper(s) {
    return s.replace(ASCII_LOWER, toUpper);
  }

  // ---------------------------------------------------------------------
  // crypto.getRandomValues, crypto.randomUUID
  var INTEGER_ARRAY_TAGS = createObject(null);
  (function () {
    var tags = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array'];
    for (var i = 0; i < tags.length; i++) INTEGER_ARRAY_TAGS['[object ' + tags[i] + ']'] = true;
  }());

  function getRandomValues(array) {
    var where = "Failed to execute 'getRandomValues' on 'Crypto'";
    requireArgs(arguments.length, 1, where);
    if (!isView(array)) throw new TypeError(where + ": parameter 1 is not of type 'ArrayBufferView'.");
    var tag = fnCall(objectToString, array);
    if (INTEGER_ARRAY_TAGS[tag] !== true) {
      throw domError('TypeMismatchError', where + ': The provided ArrayBufferView is of type ' + tag.slice(8, -1) + ', which is not an integer array type.');
    }
    if (array.byteLength > 65536) {
      throw domError('QuotaExceededError', where + ": The ArrayBufferView's byte length (" + array.byteLength +
        ') exceeds the number of bytes of entropy available via this API (65536).');
    }
    nativeRandomFill(array); // checks the size again: byteLength is only a getter
    return array;
  }

  function randomUUID() {
    return nativeRandomUUID();
  }

  // ---------------------------------------------------------------------
  // crypto.subtle: every method answers with a Promise, failures included
  // (each body is `try { return resolved(...) } catch (e) { return rejected(e) }`;
  // no closure per call). Promise is looked up when called: runtime.js
  // defines it after this file.
  function promiseCtor() {
    var P = global.Promise;
    if (typeof P !== 'function') throw new TypeError('crypto.subtle: Promise is not available');
    return P;
  }
  function resolved(value) {
    return promiseCtor().resolve(value);
  }
  function rejected(reason) {
    return promiseCtor().reject(reason);
  }

  function algorithmName(algorithm, where) {
    if (typeof algorithm === 'string') return algorithm;
    if (!isObjectLike(algorithm)) throw new TypeError(where + ': the algorithm must be a string or an object');
    var name = algorithm.name;
    if (name === undefined) throw new TypeError(where + ": the algorithm has no 'name'");
    return StringCtor(name);
  }
  function notSupported(where, name) {
    return domError('NotSupportedError', where + ": algorithm '" + name + "' is not supported");
  }

  var DIGEST_IDS = createObject(null);
  DIGEST_IDS['SHA-1'] = 1;
  DIGEST_IDS['SHA-256'] = 2;
  DIGEST_IDS['SHA-384'] = 3;
  DIGEST_IDS['SHA-512'] = 4;
  var DIGEST_NAMES = [null, 'SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
  var JWK_HMAC_ALGS = [null, 'HS1', 'HS256', 'HS384', 'HS512'];

  function digestId(algorithm, where) {
    var name = algorithmName(algorithm, where);
    var id = DIGEST_IDS[name]; // the usual spelling first: no case folding
    if (id === undefined) id = DIGEST_IDS[asciiUpper(name)];
    if (id === undefined) throw notSupported(where, name);
    return id;
  }

  function bufferSource(x, where, what) {
    if (x instanceof ArrayBufferCtor || isView(x)) return x;
    throw new TypeError(where + ': ' + what + ' must be an ArrayBuffer or an ArrayBufferView');
  }

  var WHERE_DIGEST = "Failed to execute 'digest' on 'SubtleCrypto'";
  function digest(algorithm, data) {
    try {
      requireArgs(arguments.length, 2, WHERE_DIGEST);
      var id = digestId(algorithm, WHERE_DIGEST);
      return resolved(nativeDigest(id, bufferSource(data, WHERE_DIGEST, 'data')));
    } catch (e) {
      return rejected(e);
    }
  }

  // --- CryptoKey ---------------------------------------------------------
  // A key's record (its bytes, hash, usages) is sealed in a box: a function
  // that, called, hands the record to `unsealed`, a variable of this closure
  // only. A tenant can call a box or forge one, but never read a record;
  // forging only makes the key unusable.
  var K_BOX = slot('key');
  var unsealed = null;
  function seal(record) {
    return function () {
      unsealed = record;
    };
  }
  function recordOf(key, where) {
    var box = isObjectLike(key) ? key[K_BOX] : undefined;
    unsealed = null;
    if (typeof box === 'function') box();
    var record = unsealed;
    unsealed = null;
    if (record === null) throw new TypeError(where + ": parameter is not of type 'CryptoKey'.");
    return record;
  }

  function CryptoKey() {
    illegalConstructor();
  }
  var CryptoKeyPrototype = CryptoKey.prototype;
  defineGetters(CryptoKeyPrototype, {
    type: function () {
      return recordOf(this, 'CryptoKey.type').type;
    },
    extractable: function () {
      return recordOf(this, 'CryptoKey.extractable').extractable;
    },
    algorithm: function () {
      return recordOf(this, 'CryptoKey.algorithm').algorithm;
    },
    usages: function () {
      return recordOf(this, 'CryptoKey.usages').usages;
    }
  });
  defineTag(CryptoKeyPrototype, 'CryptoKey');

  // The tenant sees `algorithm` and `usages` as plain objects it may even
  // change; operations read the record's own copies of what they need.
  function makeHmacKey(material, hashId, length, extractable, usages) {
    var record = {
      type: 'secret',
      material: material,
      hashId: hashId,
      length: length,
      extractable: extractable,
      canSign: usages.indexOf('sign') >= 0,
      canVerify: usages.indexOf('verify') >= 0,
      usageList: usages.slice(),
      algorithm: { name: 'HMAC', hash: { name: DIGEST_NAMES[hashId] }, length: length },
      usages: usages.slice()
    };
    var key = createObject(CryptoKeyPrototype);
    defineProperty(key, K_BOX, { value: seal(record), writable: false, enumerable: false, configurable: false });
    return freeze(key);
  }

  var KEY_USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];
  function keyUsages(list, allowed, where) {
    if (!isArray(list)) throw new TypeError(where + ': keyUsages must be an array');
    var out = [];
    for (var i = 0; i < list.length; i++) {
      var u = StringCtor(list[i]);
      if (KEY_USAGES.indexOf(u) < 0) throw new TypeError(where + ": '" + u + "' is not a valid key usage");
      if (allowed.indexOf(u) < 0) throw domError('SyntaxError', where + ": usage '" + u + "' is not valid for this key");
      if (out.indexOf(u) < 0) out.push(u);
    }
    return out;
  }

  function hmacHashId(algorithm, where) {
    if (!isObjectLike(algorithm)) throw new TypeError(where + ": HMAC needs an algorithm object with a 'hash'");
    var hash = algorithm.hash;
    if (hash === undefined) throw new TypeError(where + ": HMAC needs a 'hash'");
    return digestId(hash, where);
  }

  function unsignedLong(x) {
    var n = Number(x);
    if (n !== n || n === Infinity || n === -Infinity) return 0;
    n = n < 0 ? -Math.floor(-n) : Math.floor(n);
    return ((n % 4294967296) + 4294967296) % 4294967296;
  }

  function bytesToBinary(buffer) {
    var u = new Uint8(buffer);
    var s = '';
    for (var i = 0; i < u.length; i += 4096) s += fromCharCode.apply(null, u.subarray(i, i + 4096));
    return s;
  }
  function binaryToBuffer(s) {
    var u = new Uint8(s.length);
    for (var i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    return u.buffer;
  }
  function base64url(buffer) {
    return btoa(bytesToBinary(buffer)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  var BASE64URL = /^[A-Za-z0-9_-]*$/;
  function fromBase64url(s, where) {
    if (typeof s !== 'string' || !BASE64URL.test(s) || s.length % 4 === 1) {
      throw domError('DataError', where + ": the JWK member 'k' is not base64url");
    }
    return binaryToBuffer(atob(s.replace(/-/g, '+').replace(/_/g, '/')));
  }

  // JWK of an HMAC key (RFC 7517/7518, WebCrypto "import a key" for HMAC).
  function hmacFromJwk(jwk, hashId, extractable, usages, where) {
    if (!isObjectLike(jwk)) throw new TypeError(where + ': a JWK must be an object');
    if (jwk.kty !== 'oct') throw domError('DataError', where + ": the JWK 'kty' must be 'oct'");
    if (jwk.k === undefined) throw domError('DataError', where + ": the JWK has no 'k'");
    var material = fromBase64url(jwk.k, where);
    if (jwk.alg !== undefined && jwk.alg !== JWK_HMAC_ALGS[hashId]) {
      throw domError('DataError', where + ": the JWK 'alg' does not match the hash " + DIGEST_NAMES[hashId]);
    }
    if (usages.length > 0 && jwk.use !== undefined && jwk.use !== 'sig') {
      throw domError('DataError', where + ": the JWK 'use' must be 'sig'");
    }
    if (jwk.key_ops !== undefined) {
      if (!isArray(jwk.key_ops)) throw new TypeError(where + ": the JWK 'key_ops' must be an array");
      for (var i = 0; i < usages.length; i++) {
        if (jwk.key_ops.indexOf(usages[i]) < 0) throw domError('DataError', where + ": the JWK 'key_ops' does not allow '" + usages[i] + "'");
      }
    }
    if (jwk.ext === false && extractable) throw domError('DataError', where + ': the JWK is not extractable');
    return material;
  }

  function hmacLength(algorithm, bits, where) {
    if (algorithm.length === undefined) return bits;
    var length = unsignedLong(algorithm.length);
    if (length === 0 || length > bits || length <= bits - 8) {
      throw domError('DataError', where + ': the HMAC length ' + length + ' does not fit ' + bits + ' bits of key data');
    }
    return length;
  }

  var WHERE_IMPORT = "Failed to execute 'importKey' on 'SubtleCrypto'";
  function importKeyNow(format, keyData, algorithm, extractable, usageList) {
    var where = WHERE_IMPORT;
    var fmt = StringCtor(format);
    var name = algorithmName(algorithm, where);
    if (asciiUpper(name) !== 'HMAC') throw notSupported(where, name);
    var hashId = hmacHashId(algorithm, where);
    var usages = keyUsages(usageList, ['sign', 'verify'], where);
    var material;
    if (fmt === 'raw') {
      material = nativeCopy(bufferSource(keyData, where, 'keyData'));
    } else if (fmt === 'jwk') {
      material = hmacFromJwk(keyData, hashId, !!extractable, usages, where);
    } else if (fmt === 'pkcs8' || fmt === 'spki') {
      throw domError('NotSupportedError', where + ": format '" + fmt + "' is not supported for HMAC keys");
    } else {
      throw new TypeError(where + ": '" + fmt + "' is not a valid key format");
    }
    var bits = material.byteLength * 8;
    if (bits === 0) throw domError('DataError', where + ': HMAC key data must not be empty');
    var length = hmacLength(algorithm, bits, where);
    if (usages.length === 0) throw domError('SyntaxError', where + ': usages cannot be empty when creating a key.');
    return makeHmacKey(material, hashId, length, !!extractable, usages);
  }
  function importKey(format, keyData, algorithm, extractable, usageList) {
    try {
      requireArgs(arguments.length, 5, WHERE_IMPORT);
      return resolved(importKeyNow(format, keyData, algorithm, extractable, usageList));
    } catch (e) {
      return rejected(e);
    }
  }

  var WHERE_GENERATE = "Failed to execute 'generateKey' on 'SubtleCrypto'";
  function generateKeyNow(algorithm, extractable, usageList) {
    var where = WHERE_GENERATE;
    var name = algorithmName(algorithm, where);
    if (asciiUpper(name) !== 'HMAC') throw notSupported(where, name);
    var hashId = hmacHashId(algorithm, where);
    var usages = keyUsages(usageList, ['sign', 'verify'], where);
    var length = algorithm.length === undefined ? nativeBlockSize(hashId) * 8 : unsignedLong(algorithm.length);
    if (length === 0) throw domError('OperationError', where + ': HMAC key length must not be zero');
    if (usages.length === 0) throw domError('SyntaxError', where + ': usages cannot be empty when creating a key.');
    var bytes = new Uint8(Math.ceil(length / 8));
    for (var at = 0; at < bytes.length; at += 65536) nativeRandomFill(bytes.subarray(at, at + 65536));
    if (length % 8) bytes[bytes.length - 1] &= (0xFF << (8 - length % 8)) & 0xFF;
    return makeHmacKey(bytes.buffer, hashId, length, !!extractable, usages);
  }
  function generateKey(algorithm, extractable, usageList) {
    try {
      requireArgs(arguments.length, 3, WHERE_GENERATE);
      return resolved(generateKeyNow(algorithm, extractable, usageList));
    } catch (e) {
      return rejected(e);
    }
  }

  var WHERE_EXPORT = "Failed to execute 'exportKey' on 'SubtleCrypto'";
  function exportKeyNow(format, key) {
    var where = WHERE_EXPORT;
    var fmt = StringCtor(format);
    var record = recordOf(key, where);
    if (!record.extractable) throw domError('InvalidAccessError', where + ': key is not extractable');
    if (fmt === 'raw') return nativeCopy(record.material);
    if (fmt === 'jwk') {
      return {
        kty: 'oct',
        k: base64url(record.material),
        alg: JWK_HMAC_ALGS[record.hashId],
        key_ops: record.usageList.slice(),
        ext: true
      };
    }
    if (fmt === 'pkcs8' || fmt === 'spki') throw domError('NotSupportedError', where + ": format '" + fmt + "' is not supported for HMAC keys");
    throw new TypeError(where + ": '" + fmt + "' is not a valid key format");
  }
  function exportKey(format, key) {
    try {
      requireArgs(arguments.length, 2, WHERE_EXPORT);
      return resolved(exportKeyNow(format, key));
    } catch (e) {
      return rejected(e);
    }
  }

  // The record of `key` for an HMAC operation that needs `usage`.
  function hmacRecord(algorithm, key, usage, where) {
    var name = algorithm === 'HMAC' ? algorithm : algorithmName(algorithm, where);
    if (name !== 'HMAC' && asciiUpper(name) !== 'HMAC') throw notSupported(where, name);
    var record = recordOf(key, where);
    if (!(usage === 'sign' ? record.canSign : record.canVerify)) {
      throw domError('InvalidAccessError', where + ": the key does not allow '" + usage + "'");
    }
    return record;
  }

  var WHERE_SIGN = "Failed to execute 'sign' on 'SubtleCrypto'";
  function sign(algorithm, key, data) {
    try {
      requireArgs(arguments.length, 3, WHERE_SIGN);
      bufferSource(data, WHERE_SIGN, 'data');
      var record = hmacRecord(algorithm, key, 'sign', WHERE_SIGN);
      return resolved(nativeHmac(record.hashId, record.material, data));
    } catch (e) {
      return rejected(e);
    }
  }

  var WHERE_VERIFY = "Failed to execute 'verify' on 'SubtleCrypto'";
  function verify(algorithm, key, signature, data) {
    try {
      requireArgs(arguments.length, 4, WHERE_VERIFY);
      bufferSource(signature, WHERE_VERIFY, 'signature');
      bufferSource(data, WHERE_VERIFY, 'data');
      var record = hmacRecord(algorithm, key, 'verify', WHERE_VERIFY);
      // Constant time: the comparison does not stop at the first difference.
      return resolved(nativeEqual(nativeHmac(record.hashId, record.material, data), signature));
    } catch (e) {
      return rejected(e);
    }
  }

  // The operations wfp does not provide yet: a rejection naming the algorithm.
  function unsupported(method, algorithmIndex) {
    var where = "Failed to execute '" + method + "' on 'SubtleCrypto'";
    return function () {
      try {
        throw notSupported(where, algorithmName(arguments[algorithmIndex], where));
      } catch (e) {
        return rejected(e);
      }
    };
  }

  // Workers' own addition: compare two buffers in constant time.
  function timingSafeEqual(a, b) {
    var where = "Failed to execute 'timingSafeEqual' on 'SubtleCrypto'";
    requireArgs(arguments.length, 2, where);
    bufferSource(a, where, 'parameter 1');
    bufferSource(b, where, 'parameter 2');
    if (a.byteLength !== b.byteLength) throw new TypeError(where + ': Input buffers must have the same byte length.');
    return nativeEqual(a, b);
  }

  function SubtleCrypto() {
    illegalConstructor();
  }
  defineMethods(SubtleCrypto.prototype, {
    digest: digest,
    importKey: importKey,
    exportKey: exportKey,
    generateKey: generateKey,
    sign: sign,
    verify: verify,
    encrypt: unsupported('encrypt', 0),
    decrypt: unsupported('decrypt', 0),
    deriveBits: unsupported('deriveBits', 0),
    deriveKey: unsupported('deriveKey', 0),
    wrapKey: unsupported('wrapKey', 3),
    unwrapKey: unsupported('unwrapKey', 3),
    timingSafeEqual: timingSafeEqual
  });
  defineTag(SubtleCrypto.prototype, 'SubtleCrypto');

  function Crypto() {
    illegalConstructor();
  }
  var subtle = createObject(SubtleCrypto.prototype);
  defineGetters(Crypto.prototype, {
    subtle: function () {
      return subtle;
    }
  });
  defineMethods(Crypto.prototype, {
    getRandomValues: getRandomValues,
    randomUUID: randomUUID
  });
  defineTag(Crypto.prototype, 'Crypto');
  var crypto = createObject(Crypto.prototype);

  defineHidden(global, 'Crypto', Crypto);
  defineHidden(global, 'SubtleCrypto', SubtleCrypto);
  defineHidden(global, 'CryptoKey', CryptoKey);
  defineHidden(global, 'crypto', crypto);
}(typeof globalThis === 'object' && globalThis !== null ? globalThis : this));
