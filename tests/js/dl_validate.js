#!/usr/bin/env node
// dl_validate.js: GS1 Digital Link URIs checked by an independent
// implementation of GS1's grammar (digital-link.js: the ABNF of the GS1
// Digital Link standard, and the key's check digit). URIs come as arguments
// or one per line on standard input; each is checked as it is written (the
// raw string against the grammar) and as digital-link.js reads it (its
// model, check digit included). Prints "invalid URI" for each one that
// fails and exits 1 if any did; 0 and "N valid" otherwise.
'use strict';
const { DigitalLink } = require('digital-link.js');
const { validateUrl } = require('digital-link.js/src/util');

function valid(uri) {
  try {
    return validateUrl(uri) && DigitalLink(uri).isValid();
  } catch (e) {
    return false;
  }
}

function check(uris) {
  let bad = 0;
  for (const u of uris) {
    if (!valid(u)) {
      console.log(`invalid ${u}`);
      bad++;
    }
  }
  if (bad) process.exit(1);
  console.log(`${uris.length} valid`);
}

if (process.argv.length > 2) {
  check(process.argv.slice(2));
} else {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => (text += d));
  process.stdin.on('end', () => check(text.split('\n').filter((l) => l.length > 0)));
}
