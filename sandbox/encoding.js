// encoding.js: placeholder, evaluated before runtime.js (see sandbox/host.cc).
