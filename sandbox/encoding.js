// encoding.js: DOMException, TextEncoder, TextDecoder, atob and btoa as globals of every worker heap (natives in encoding_natives.cc).
// Evaluated once per heap by sandbox/host.cc after url.js, before crypto.js and runtime.js (both use DOMException).
// Trusts only the __host natives it captures here; tenant code in the same heap is hostile and never reaches them.
(function (global) {
  'use strict';

  var host = global.__host;
  if (host === null || typeof host !== 'object') throw new Error('encoding.js: __host is missing');
  var nativeEncode = host.textEncode;
  var nativeEncodeInto = host.textEncodeInto;
  var nativeDecode = host.textDecode;
  var nativeAtob = host.atob;
  var nativeBtoa = host.btoa;

  // Built-ins captured before tenant code can replace them.
  var defineProperty = Object.defineProperty;
  var createObject = Object.create;
  var getPrototypeOf = Object.getPrototypeOf;
  var setPrototypeOf = Object.setPrototypeOf;
  var objectKeys = Object.keys;
  var ErrorCtor = Error;
  var StringCtor = String;
  var Uint8 = Uint8Array;
  var hasSymbol = typeof Symbol === 'function';
  var toStringTagSymbol = hasSymbol && typeof Symbol.toStringTag === 'symbol' ? Symbol.toStringTag : null;

  // Internal slots under symbols: out of for-in, Object.keys and JSON. A
  // tenant can still find them and spoil its own objects; the natives
  // accept any value there without harm.
  function slot(name) {
    return hasSymbol ? Symbol('wfp.' + name) : '__wfp_' + name;
  }
  function defineHidden(obj, name, value) {
    defineProperty(obj, name, { value: value, writable: true, enumerable: false, configurable: true });
  }
  function defineMethods(proto, methods) {
    var names = objectKeys(methods);
    for (var i = 0; i < names.length; i++) defineHidden(proto, names[i], methods[names[i]]);
  }
  function defineGetters(proto, getters) {
    var names = objectKeys(getters);
    for (var i = 0; i < names.length; i++) {
      defineProperty(proto, names[i], { get: getters[names[i]], enumerable: true, configurable: true });
    }
  }
  function defineTag(proto, tag) {
    if (toStringTagSymbol !== null) {
      defineProperty(proto, toStringTagSymbol, { value: tag, writable: false, enumerable: false, configurable: true });
    }
  }  // crypto.js, evaluated next, defines its classes with these same helpers
  // (host is gone from reach once runtime.js has run).
  host.classHelpers = { slot: slot, defineHidden: defineHidden, defineMethods: defineMethods,
    defineGetters: defineGetters, defineTag: defineTag };

  function defineConstant(obj, name, value) {
    defineProperty(obj, name, { value: value, writable: false, enumerable: true, configurable: false });
  }
  function requireNew(self, ctor, name) {
    if (!(self instanceof ctor)) throw new TypeError("Failed to construct '" + name + "': Please use the 'new' operator");
  }
  function requireArgs(count, needed, where) {
    if (count < needed) {
      throw new TypeError(where + ': ' + needed + ' argument' + (needed > 1 ? 's' : '') + ' required, but only ' + count + ' present.');
    }
  }
  function isObjectLike(x) {
    return x !== null && (typeof x === 'object' || typeof x === 'function');
  }
  // A WebIDL dictionary argument: undefined or null for the defaults, else an object.
  function dictionary(x, where) {
    if (x === undefined || x === null) return null;
    if (!isObjectLike(x)) throw new TypeError(where + ': options must be an object');
    return x;
  }

  // ---------------------------------------------------------------------
  // DOMException (WebIDL). Each one is a real Error object with its
  // prototype swapped, so it has a stack trace, `instanceof Error` holds
  // and the host reports it like any other error.
  var K_NAME = slot('name');
  var K_MESSAGE = slot('message');
  var LEGACY = [
    ['IndexSizeError', 'INDEX_SIZE_ERR', 1],
    [null, 'DOMSTRING_SIZE_ERR', 2],
    ['HierarchyRequestError', 'HIERARCHY_REQUEST_ERR', 3],
    ['WrongDocumentError', 'WRONG_DOCUMENT_ERR', 4],
    ['InvalidCharacterError', 'INVALID_CHARACTER_ERR', 5],
    [null, 'NO_DATA_ALLOWED_ERR', 6],
    ['NoModificationAllowedError', 'NO_MODIFICATION_ALLOWED_ERR', 7],
    ['NotFoundError', 'NOT_FOUND_ERR', 8],
    ['NotSupportedError', 'NOT_SUPPORTED_ERR', 9],
    ['InUseAttributeError', 'INUSE_ATTRIBUTE_ERR', 10],
    ['InvalidStateError', 'INVALID_STATE_ERR', 11],
    ['SyntaxError', 'SYNTAX_ERR', 12],
    ['InvalidModificationError', 'INVALID_MODIFICATION_ERR', 13],
    ['NamespaceError', 'NAMESPACE_ERR', 14],
    ['InvalidAccessError', 'INVALID_ACCESS_ERR', 15],
    [null, 'VALIDATION_ERR', 16],
    ['TypeMismatchError', 'TYPE_MISMATCH_ERR', 17],
    ['SecurityError', 'SECURITY_ERR', 18],
    ['NetworkError', 'NETWORK_ERR', 19],
    ['AbortError', 'ABORT_ERR', 20],
    ['URLMismatchError', 'URL_MISMATCH_ERR', 21],
    ['QuotaExceededError', 'QUOTA_EXCEEDED_ERR', 22],
    ['TimeoutError', 'TIMEOUT_ERR', 23],
    ['InvalidNodeTypeError', 'INVALID_NODE_TYPE_ERR', 24],
    ['DataCloneError', 'DATA_CLONE_ERR', 25]
  ];
  var codeOfName = createObject(null);

  function DOMException(message, name) {
    requireNew(this, DOMException, 'DOMException');
    var e = new ErrorCtor();
    // getPrototypeOf(this): a subclass's prototype when constructed through one.
    setPrototypeOf(e, getPrototypeOf(this));
    defineHidden(e, K_MESSAGE, message === undefined ? '' : StringCtor(message));
    defineHidden(e, K_NAME, name === undefined ? 'Error' : StringCtor(name));
    return e;
  }
  var DOMExceptionPrototype = createObject(ErrorCtor.prototype);
  DOMException.prototype = DOMExceptionPrototype;
  defineHidden(DOMExceptionPrototype, 'constructor', DOMException);
  function branded(self) {
    if (!isObjectLike(self) || typeof self[K_NAME] !== 'string') throw new TypeError('Illegal invocation');
    return self;
  }
  defineGetters(DOMExceptionPrototype, {
    name: function () {
      return branded(this)[K_NAME];
    },
    message: function () {
      return branded(this)[K_MESSAGE];
    },
    code: function () {
      var code = codeOfName[branded(this)[K_NAME]];
      return code === undefined ? 0 : code;
    }
  });
  for (var li = 0; li < LEGACY.length; li++) {
    if (LEGACY[li][0] !== null) codeOfName[LEGACY[li][0]] = LEGACY[li][2];
    defineConstant(DOMException, LEGACY[li][1], LEGACY[li][2]);
    defineConstant(DOMExceptionPrototype, LEGACY[li][1], LEGACY[li][2]);
  }
  defineTag(DOMExceptionPrototype, 'DOMException');

  // ---------------------------------------------------------------------
  // TextEncoder: always UTF-8; lone surrogates become U+FFFD.
  function TextEncoder() {
    requireNew(this, TextEncoder, 'TextEncoder');
  }
  defineGetters(TextEncoder.prototype, {
    encoding: function () {
      return 'utf-8';
    }
  });
  defineMethods(TextEncoder.prototype, {
    encode: function encode(input) {
      return nativeEncode(input === undefined ? '' : StringCtor(input));
    },
    encodeInto: function encodeInto(source, destination) {
      requireArgs(arguments.length, 2, "Failed to execute 'encodeInto' on 'TextEncoder'");
      var text = StringCtor(source);
      if (!(destination instanceof Uint8)) {
        throw new TypeError("Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.");
      }
      return nativeEncodeInto(text, destination);
    }
  });
  defineTag(TextEncoder.prototype, 'TextEncoder');

  // ---------------------------------------------------------------------
  // TextDecoder: UTF-8 and UTF-16 (both byte orders), fatal or replacing,
  // with streaming. Labels as in the WHATWG Encoding standard.
  var ENCODING_NAMES = ['utf-8', 'utf-16le', 'utf-16be'];
  var ENCODING_OF_LABEL = createObject(null);
  (function () {
    var labels = [
      ['unicode-1-1-utf-8', 0], ['unicode11utf8', 0], ['unicode20utf8', 0], ['utf-8', 0], ['utf8', 0],
      ['x-unicode20utf8', 0],
      ['csunicode', 1], ['iso-10646-ucs-2', 1], ['ucs-2', 1], ['unicode', 1], ['unicodefeff', 1],
      ['utf-16', 1], ['utf-16le', 1],
      ['unicodefffe', 2], ['utf-16be', 2]
    ];
    for (var i = 0; i < labels.length; i++) ENCODING_OF_LABEL[labels[i][0]] = labels[i][1];
  }());
  var ASCII_WHITESPACE_EDGES = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g;
  var ASCII_UPPER = /[A-Z]+/g;
  function toLower(m) {
    return m.toLowerCase();
  }

  var K_STATE = slot('decoder');
  function TextDecoder(label, options) {
    requireNew(this, TextDecoder, 'TextDecoder');
    var text = label === undefined ? 'utf-8' : StringCtor(label);
    // Only ASCII case folds: a non-ASCII letter must not fold into a label.
    var key = text.replace(ASCII_WHITESPACE_EDGES, '').replace(ASCII_UPPER, toLower);
    var enc = ENCODING_OF_LABEL[key];
    if (enc === undefined) {
      throw new RangeError("Failed to construct 'TextDecoder': the encoding label provided ('" + text + "') is not supported.");
    }
    var opts = dictionary(options, "Failed to construct 'TextDecoder'");
    // The state the native reads and updates (see encoding_natives.cc).
    defineHidden(this, K_STATE, {
      enc: enc,
      fatal: opts !== null && !!opts.fatal,
      ignoreBOM: opts !== null && !!opts.ignoreBOM,
      bomSeen: false,
      pending: 0,
      streaming: false
    });
  }
  function decoderState(self) {
    var st = isObjectLike(self) ? self[K_STATE] : undefined;
    if (!isObjectLike(st)) throw new TypeError('Illegal invocation');
    return st;
  }
  defineGetters(TextDecoder.prototype, {
    encoding: function () {
      return ENCODING_NAMES[decoderState(this).enc] || 'utf-8';
    },
    fatal: function () {
      return !!decoderState(this).fatal;
    },
    ignoreBOM: function () {
      return !!decoderState(this).ignoreBOM;
    }
  });
  defineMethods(TextDecoder.prototype, {
    decode: function decode(input, options) {
      var st = decoderState(this);
      var opts = dictionary(options, "Failed to execute 'decode' on 'TextDecoder'");
      var stream = opts !== null && !!opts.stream;
      // A call after a non-streaming one starts afresh (WHATWG "do not flush").
      if (!st.streaming) {
        st.pending = 0;
        st.bomSeen = false;
      }
      st.streaming = stream;
      return nativeDecode(st, input, stream);
    }
  });
  defineTag(TextDecoder.prototype, 'TextDecoder');

  // ---------------------------------------------------------------------
  // atob / btoa (HTML), failures as DOMException InvalidCharacterError.
  function atob(data) {
    requireArgs(arguments.length, 1, "Failed to execute 'atob'");
    var out = nativeAtob(StringCtor(data));
    if (out === null) {
      throw new DOMException("Failed to execute 'atob': The string to be decoded is not correctly encoded.", 'InvalidCharacterError');
    }
    return out;
  }
  function btoa(data) {
    requireArgs(arguments.length, 1, "Failed to execute 'btoa'");
    var out = nativeBtoa(StringCtor(data));
    if (out === null) {
      throw new DOMException("Failed to execute 'btoa': The string to be encoded contains characters outside of the Latin1 range.", 'InvalidCharacterError');
    }
    return out;
  }

  // Replaces Duktape's own TextEncoder/TextDecoder, which take every label as UTF-8.
  defineHidden(global, 'DOMException', DOMException);
  defineHidden(global, 'TextEncoder', TextEncoder);
  defineHidden(global, 'TextDecoder', TextDecoder);
  defineHidden(global, 'atob', atob);
  defineHidden(global, 'btoa', btoa);
}(typeof globalThis === 'object' && globalThis !== null ? globalThis : this));
