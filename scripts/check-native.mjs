// npm 11 skips install scripts unless approved. Check that every native piece loads after a plain `npm ci`, or that
// its pure-JavaScript fallback is in place, and say which.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);

const uws = require('@trufflesuite/uws-js-unofficial');
if (typeof uws.App !== 'function') throw new Error('uWebSockets.js did not load');
const cbor = await import('cbor-x');
console.log(`native check: uWebSockets.js ${uws.App ? 'loaded' : 'missing'}; cbor-x native string decoding ${cbor.isNativeAccelerationEnabled ? 'on' : 'off (pure JS fallback)'}`);
