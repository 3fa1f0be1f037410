#!/usr/bin/env node
'use strict'

// `mysql-openid-connect proxy [flags]`: see `mysql-openid-connect proxy --help`.
const { parseProxyArgs, USAGE } = require('../lib/proxy/cli.js')

async function main(argv) {
  if (argv[0] !== 'proxy') {
    process.stderr.write(`Usage: mysql-openid-connect proxy [options]\n\n${USAGE}`)
    return 2
  }
  const parsed = parseProxyArgs(argv.slice(1))
  if (parsed.help) {
    process.stdout.write(parsed.usage)
    return 0
  }
  // loaded only now: --help and flag errors need no native binary
  const { createProxy } = require('../lib/proxy/index.js')
  const proxy = await createProxy(parsed.options)
  const where = proxy.address.path ?? `${proxy.address.host}:${proxy.address.port}`
  process.stderr.write(`${new Date().toISOString()} mysql-openid-connect proxy listening on ${where}\n`)
  let stopping = false
  const stop = (signal) => {
    if (stopping) return
    stopping = true
    process.stderr.write(`${new Date().toISOString()} mysql-openid-connect proxy: ${signal}, draining ${proxy.connections} connection(s)\n`)
    proxy.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  return null
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code
  },
  (err) => {
    // options errors carry their code; nothing here holds a secret (secrets are never flag values)
    process.stderr.write(`mysql-openid-connect proxy: ${err.message}\n`)
    process.exitCode = 1
  },
)
