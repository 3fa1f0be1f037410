'use strict'

// The one reader of every options object the package takes: only the caller's own properties count
// (an inherited `allowInsecureTransport` or `maxResponseBytes` must not), an unknown key is refused
// (a typo such as `timeoutMS` must not silently keep the default), and each value is checked.
const { pluginError } = require('./errors.js')

// setTimeout fires at once for a delay past this, which would time every call out
const MAX_TIMEOUT_MS = 2 ** 31 - 1

function describe(rule) {
  switch (rule.type) {
    case 'number': {
      const kind = rule.integer ? 'an integer' : 'a number'
      return rule.max === undefined ? `${kind}, ${rule.min ?? 0} or more` : `${kind} from ${rule.min ?? 0} to ${rule.max}`
    }
    case 'boolean':
      return 'true or false'
    case 'string':
      return 'a non-empty string'
    case 'function':
      return 'a function'
    case 'object':
      return 'an object'
    default:
      return rule.oneOf ? rule.oneOf.map((value) => JSON.stringify(value)).join(' or ') : 'valid'
  }
}

/** The complaint about `value` under `rule`, or undefined when it passes. */
function complaint(rule, value) {
  if (rule.oneOf && !rule.oneOf.includes(value)) return `must be ${describe(rule)}`
  let fits
  switch (rule.type) {
    case 'number':
      fits =
        typeof value === 'number' &&
        !Number.isNaN(value) &&
        (!rule.integer || Number.isInteger(value)) &&
        value >= (rule.min ?? 0) &&
        value <= (rule.max ?? Infinity)
      break
    case 'boolean':
      fits = typeof value === 'boolean'
      break
    case 'string':
      fits = typeof value === 'string' && value !== ''
      break
    case 'function':
      fits = typeof value === 'function'
      break
    case 'object':
      fits = value !== null && typeof value === 'object' && !Array.isArray(value)
      break
    default:
      fits = true
  }
  if (!fits) return `must be ${describe(rule)}`
  return rule.check?.(value)
}

/**
 * Reads `options` against `schema` (`{ name: rule }`). A rule is `{ type }` with `type` one of
 * 'number' (`min`, default 0; `max`; `integer`), 'boolean', 'string' (non-empty), 'function',
 * 'object' (not null, not an array) or 'any'; optionally `oneOf: [values]`, `check(value)` returning
 * a complaint for anything else, `required: true` and `default`. Returns a null-prototype object holding the given
 * values (undefined counts as not given) and the defaults. Throws ERR_OIDC_INVALID_ARGUMENT naming
 * the key, prefixed with `what` (e.g. 'fromCommand: options' gives 'fromCommand: options.cwd ...').
 */
function readOptions(options, schema, what) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) throw invalidOption(`${what} must be an object`)
  const rules = ownRules(schema)
  const result = Object.create(null)
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(rules, key)) throw invalidOption(`${what}: unknown option ${JSON.stringify(key)}`)
    const value = options[key]
    if (value === undefined) continue
    const problem = complaint(rules[key], value)
    if (problem !== undefined) throw invalidOption(`${what}.${key} ${problem}`)
    result[key] = value
  }
  for (const [key, rule] of Object.entries(rules)) {
    if (result[key] !== undefined) continue
    if (rule.required) throw invalidOption(`${what}.${key} is required: ${describe(rule)}`)
    if (rule.default !== undefined) result[key] = rule.default
  }
  return result
}

/**
 * The schema's rules with their own fields only: a rule is an object literal, and a `default`,
 * `required`, `oneOf` or `max` it lacks would otherwise be read from a polluted Object.prototype.
 */
function ownRules(schema) {
  const rules = Object.create(null)
  for (const [key, rule] of Object.entries(schema)) rules[key] = Object.assign(Object.create(null), rule)
  return rules
}

function invalidOption(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', message)
}

module.exports = { readOptions, MAX_TIMEOUT_MS }
