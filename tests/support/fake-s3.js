// Fake S3 for the integration tests: @20minutes/s3rver, which verifies SigV4 signatures (header
// and pre-signed), unlike the unmaintained `s3rver` 3.x. Listens on 127.0.0.1 on a port the
// kernel picks (no clashes), creates the bucket, then writes the port to PORT_FILE.
//   node fake-s3.js DATA_DIR PORT_FILE BUCKET
// Credentials: the fake's built-in account, access key S3RVER / secret S3RVER.
// Address it path-style (127.0.0.1:<port>/<bucket>/<key>): for virtual-host requests the fake
// signs "/<bucket>/<key>" where AWS signs "/<key>", so it cannot verify those.
'use strict';
const fs = require('fs');
const path = require('path');
// AWS SigV4 encodes every query character outside A-Z a-z 0-9 - _ . ~ (RFC 3986), so ' ( ) * !
// too; s3rver canonicalises query values with encodeURIComponent, which leaves those five as
// they are, and would refuse a correctly signed link whose response-content-disposition holds
// RFC 6266's filename*=UTF-8''... Make the fake canonicalise like AWS.
const laxEncode = globalThis.encodeURIComponent;
globalThis.encodeURIComponent = (s) =>
  laxEncode(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const S3rver = require(path.join(__dirname, '..', 'node_modules', '@20minutes', 's3rver'));

const [dir, portFile, bucket] = process.argv.slice(2);
if (!dir || !portFile || !bucket) {
  console.error('usage: node fake-s3.js DATA_DIR PORT_FILE BUCKET');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  allowMismatchedSignatures: false,
  configureBuckets: [{ name: bucket }],
});
server.run((err, addr) => {
  if (err) {
    console.error('fake S3 failed to start:', err);
    process.exit(1);
  }
  fs.writeFileSync(portFile + '.tmp', String(addr.port));
  fs.renameSync(portFile + '.tmp', portFile);
  console.log(`fake S3 listening on 127.0.0.1:${addr.port}, bucket ${bucket}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
