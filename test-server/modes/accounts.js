'use strict'

// Account options shared by the modes: which identity provider an account names, and refusing an
// option the emulated server has no place for (a silent no-op would make a test prove nothing).

/** The provider `account.identityProvider` names (an issuer), or the only one configured. */
function boundProvider(providers, account, user, mode) {
  if (account.identityProvider !== undefined) {
    const provider = providers.find((p) => p.issuer === account.identityProvider)
    if (!provider) throw new TypeError(`${mode}: account ${user} names identityProvider ${account.identityProvider}, which is not configured`)
    return provider
  }
  if (providers.length === 1) return providers[0]
  throw new TypeError(`${mode}: account ${user} must name its identityProvider (an issuer of identityProviders)`)
}

function refuseOptions(account, user, mode, names, why) {
  for (const name of names) {
    if (account[name] !== undefined) throw new TypeError(`${mode}: account ${user} cannot take ${name}: ${why}`)
  }
}

/** Every provider's keys in one set, read now (StarRocks without a bound provider). */
async function allKeys(providers) {
  return (await Promise.all(providers.map((p) => p.loadKeys()))).flat()
}

module.exports = { boundProvider, refuseOptions, allKeys }
