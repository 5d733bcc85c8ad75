// The tiny test runner the Node harnesses share: register with test(),
// then run() prints failures and the closing "N passed, M failed" line
// tools/run-tests reads, and sets the exit code. Runs under Node only.
'use strict';

const tests = [];

function test(name, fn) {
  tests.push({ name, fn });
}

// Runs every test (or those whose name contains argv[2]) in order.
function run() {
  (async () => {
    let passed = 0;
    let failed = 0;
    const only = process.argv[2];
    for (const t of tests) {
      if (only && !t.name.includes(only)) continue;
      try {
        await t.fn();
        passed++;
      } catch (e) {
        failed++;
        console.log('FAIL ' + t.name + '\n    ' + String(e && e.stack ? e.stack : e).split('\n').slice(0, 6).join('\n    '));
      }
    }
    console.log(passed + ' passed, ' + failed + ' failed');
    process.exitCode = failed === 0 ? 0 : 1;
  })();
}

module.exports = { test, run };
