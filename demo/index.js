'use strict'
// Until the mysql2 plugin lands: sign a token as a local identity provider would and print its response.
const { SignJWT, generateKeyPair } = require('jose')
const { openidConnectAuthResponse, parseOpenidConnectAuthResponse, inspectIdToken } = require('../main.js')

async function main() {
  const { privateKey } = await generateKeyPair('RS256')
  const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('5m').sign(privateKey)
  const response = openidConnectAuthResponse(token)
  const { capability, token: sent } = parseOpenidConnectAuthResponse(response)
  console.log(`response: ${response.length} bytes, capability ${capability}, token ${sent.length} bytes for sub ${inspectIdToken(token).claims.sub}`)
}
main().catch((err) => {
  console.error(err.message)
  process.exit(1)
})
