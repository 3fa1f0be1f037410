'use strict'

// `mysql-openid-connect proxy` flags → createProxy options. Secrets (the local password, an OAuth
// client secret) come from an environment variable or a file, never from a flag value, which any
// user of the machine can read in the process list.

const fs = require('node:fs')
const { parseArgs } = require('node:util')
const { pluginError } = require('../errors.js')
const { fromCommand } = require('../sources/command.js')
const { fromGitHubActions } = require('../sources/github-actions.js')
const { fromGcpMetadata } = require('../sources/gcp-metadata.js')
const { fromOAuthClientCredentials } = require('../sources/oauth-client-credentials.js')

const FLAGS = {
  upstream: { type: 'string' },
  'upstream-socket': { type: 'string' },
  'ssl-ca': { type: 'string' },
  'ssl-servername': { type: 'string' },
  user: { type: 'string' },
  'token-file': { type: 'string' },
  command: { type: 'string' },
  'github-actions': { type: 'boolean' },
  'gcp-metadata': { type: 'boolean' },
  audience: { type: 'string' },
  'oauth-issuer': { type: 'string' },
  'oauth-client-id': { type: 'string' },
  'oauth-client-secret-env': { type: 'string' },
  'oauth-client-secret-file': { type: 'string' },
  'oauth-scope': { type: 'string' },
  'oauth-resource': { type: 'string' },
  'oauth-use': { type: 'string' },
  'refresh-before-expiry': { type: 'string' },
  'allow-unverified-server': { type: 'boolean' },
  'allow-insecure-transport': { type: 'boolean' },
  listen: { type: 'string' },
  socket: { type: 'string' },
  'allow-non-loopback': { type: 'boolean' },
  'local-password-env': { type: 'string' },
  'local-password-file': { type: 'string' },
  'local-tls-cert': { type: 'string' },
  'local-tls-key': { type: 'string' },
  'max-connections': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
}

const USAGE = `Usage: mysql-openid-connect proxy [options]

A local MySQL-protocol endpoint that logs in to the real server with an OpenID Connect token.

Upstream (one of):
  --upstream HOST:PORT         the server (TLS required unless --allow-insecure-transport)
  --upstream-socket PATH       the server's Unix socket
  --ssl-ca FILE                CA that signed the server's certificate
  --ssl-servername NAME        name the certificate must carry (default: the host)
  --user NAME                  upstream user (default: the user each local client logs in as)
Token (one of):
  --token-file FILE            read afresh at each login
  --command "PROG ARGS"        a program that prints the token (split on spaces, no shell)
  --github-actions [--audience AUD]
  --gcp-metadata --audience AUD
  --oauth-issuer URL --oauth-client-id ID (--oauth-client-secret-env VAR | --oauth-client-secret-file FILE)
      [--oauth-scope S] [--oauth-resource R] [--oauth-use access_token|id_token]
  --refresh-before-expiry SECONDS
  --allow-unverified-server    TLS without chain/host checks (the token may go to anyone on the path)
  --allow-insecure-transport   no TLS at all (only on a network you trust completely)
Listen (one of):
  --socket PATH                a Unix socket, created mode 0600
  --listen HOST:PORT           a loopback address (another only with --allow-non-loopback and a local password)
  --local-password-env VAR     local clients must log in with this password (from the environment)
  --local-password-file FILE   ... or from this file (one trailing newline dropped)
  --local-tls-cert FILE --local-tls-key FILE   offer TLS to local clients
Operations:
  --max-connections N          default 1000
  --drain-timeout SECONDS      on SIGTERM/SIGINT, wait this long for open connections (default 30)
  --log-format text|json       one line per connection on stderr (default text)
`

function usage(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', `${message}\n\n${USAGE}`)
}

function hostPort(value, flag) {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value)
  if (!match) throw usage(`--${flag} must be HOST:PORT (or [IPv6]:PORT), not ${JSON.stringify(value)}`)
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port: Number(match[3]) }
}

function number(value, flag) {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw usage(`--${flag} must be a number`)
  return n
}

function readFile(file, flag) {
  try {
    return fs.readFileSync(file)
  } catch (err) {
    throw usage(`--${flag}: cannot read ${JSON.stringify(file)} (${err.code || 'error'})`)
  }
}

/** A secret from an environment variable or a file: one trailing newline dropped, empty refused. */
function readSecret(values, env, name) {
  const fromEnv = values[`${name}-env`]
  const fromFile = values[`${name}-file`]
  if (fromEnv !== undefined && fromFile !== undefined) throw usage(`give --${name}-env or --${name}-file, not both`)
  let secret
  if (fromEnv !== undefined) {
    secret = env[fromEnv]
    if (secret === undefined || secret === '') throw usage(`--${name}-env: the environment variable ${fromEnv} is not set`)
  } else if (fromFile !== undefined) {
    secret = readFile(fromFile, `${name}-file`).toString('utf8').replace(/\r?\n$/, '')
    if (secret === '') throw usage(`--${name}-file: ${JSON.stringify(fromFile)} is empty`)
  }
  return secret
}

function tokenSource(values, env) {
  const chosen = ['token-file', 'command', 'github-actions', 'gcp-metadata', 'oauth-issuer'].filter((flag) => values[flag] !== undefined)
  if (chosen.length !== 1) {
    throw usage(chosen.length ? `give one token source, not --${chosen.join(' and --')}` : 'give a token source (--token-file, --command, ...)')
  }
  const audience = values.audience
  switch (chosen[0]) {
    case 'token-file':
      return { tokenFile: values['token-file'] }
    case 'command': {
      const [program, ...args] = values.command.trim().split(/\s+/)
      return { getToken: fromCommand(program, args) }
    }
    case 'github-actions':
      return { getToken: fromGitHubActions(audience === undefined ? {} : { audience }) }
    case 'gcp-metadata':
      return { getToken: fromGcpMetadata({ audience }) }
    default: {
      const clientSecret = readSecret(values, env, 'oauth-client-secret')
      return {
        getToken: fromOAuthClientCredentials({
          issuer: values['oauth-issuer'],
          clientId: values['oauth-client-id'],
          clientSecret,
          scope: values['oauth-scope'],
          resource: values['oauth-resource'],
          use: values['oauth-use'],
        }),
      }
    }
  }
}

/** `{ help: true }` or `{ options }` for createProxy; throws ERR_OIDC_INVALID_ARGUMENT with the usage. */
function parseProxyArgs(argv, env = process.env) {
  let values
  try {
    ;({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }))
  } catch (err) {
    throw usage(err.message)
  }
  if (values.help) return { help: true, usage: USAGE }
  if ((values.upstream === undefined) === (values['upstream-socket'] === undefined)) throw usage('give --upstream HOST:PORT or --upstream-socket PATH')
  if ((values.listen === undefined) === (values.socket === undefined)) throw usage('give --listen HOST:PORT or --socket PATH')
  const upstream = values.upstream !== undefined ? hostPort(values.upstream, 'upstream') : { socketPath: values['upstream-socket'] }
  let ssl
  if (values['ssl-ca'] !== undefined || values['ssl-servername'] !== undefined) {
    ssl = {}
    if (values['ssl-ca'] !== undefined) ssl.ca = readFile(values['ssl-ca'], 'ssl-ca')
    if (values['ssl-servername'] !== undefined) ssl.servername = values['ssl-servername']
  }
  let localTls
  if (values['local-tls-cert'] !== undefined || values['local-tls-key'] !== undefined) {
    if (values['local-tls-cert'] === undefined || values['local-tls-key'] === undefined) throw usage('give both --local-tls-cert and --local-tls-key')
    localTls = { cert: readFile(values['local-tls-cert'], 'local-tls-cert'), key: readFile(values['local-tls-key'], 'local-tls-key') }
  }
  const drain = number(values['drain-timeout'], 'drain-timeout')
  const options = {
    upstream,
    ssl,
    user: values.user,
    ...tokenSource(values, env),
    refreshBeforeExpirySeconds: number(values['refresh-before-expiry'], 'refresh-before-expiry'),
    allowUnverifiedServer: values['allow-unverified-server'],
    allowInsecureTransport: values['allow-insecure-transport'],
    listen: values.listen !== undefined ? hostPort(values.listen, 'listen') : { path: values.socket },
    allowNonLoopback: values['allow-non-loopback'],
    localPassword: readSecret(values, env, 'local-password'),
    localTls,
    maxConnections: number(values['max-connections'], 'max-connections'),
    drainTimeoutMs: drain === undefined ? undefined : Math.round(drain * 1000),
    logFormat: values['log-format'],
  }
  return { options }
}

module.exports = { parseProxyArgs, USAGE }
