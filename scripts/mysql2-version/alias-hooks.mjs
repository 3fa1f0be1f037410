// The ESM half of alias.cjs: an `import 'mysql2/...'` resolves as if made from inside $MYSQL2_UNDER_TEST.
import { pathToFileURL } from 'node:url'
import path from 'node:path'

let parentURL
export function initialize({ root }) {
  parentURL = pathToFileURL(path.join(root, 'package.json')).href
}

export function resolve(specifier, context, next) {
  if (specifier === 'mysql2' || specifier.startsWith('mysql2/')) return next(specifier, { ...context, parentURL })
  return next(specifier, context)
}
