/* Phản hồi Widget: ALTCHA v1 proof-of-work solver. No dependencies; about 0.6 KB gzip.
 *
 * PhanHoiAltcha.solve(challenge) -> Promise<string>: finds n with
 *   hex(SHA-256(challenge.salt + n)) === challenge.challenge, 0 <= n <= challenge.maxNumber,
 * and resolves to the base64 JSON payload to send as the submission's "altcha" field.
 * PhanHoiAltcha.fetchAndSolve(url) fetches GET /api/v1/sites/{key}/altcha first.
 * Needs a secure context (https or localhost) for crypto.subtle.
 */
(function (w) {
  "use strict";
  if (w.PhanHoiAltcha) return;
  var enc = new TextEncoder();

  function hex(buf) {
    var bytes = new Uint8Array(buf), out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  async function solve(ch, signal) {
    var max = ch.maxNumber || ch.maxnumber || 1000000;
    for (var n = 0; n <= max; n++) {
      if (signal && signal.aborted) throw new Error("altcha: aborted");
      var h = hex(await w.crypto.subtle.digest("SHA-256", enc.encode(ch.salt + n)));
      if (h === ch.challenge) {
        return w.btoa(JSON.stringify({
          algorithm: ch.algorithm, challenge: ch.challenge, number: n,
          salt: ch.salt, signature: ch.signature
        }));
      }
    }
    throw new Error("altcha: no solution");
  }

  async function fetchAndSolve(url, signal) {
    var r = await fetch(url, {credentials: "omit", cache: "no-store", signal: signal});
    if (!r.ok) throw new Error("altcha: challenge " + r.status);
    return solve(await r.json(), signal);
  }

  w.PhanHoiAltcha = {solve: solve, fetchAndSolve: fetchAndSolve};
})(window);
