// Node's types come with the package (Buffer in index.d.ts, NodeJS in lib/): a project whose tsconfig
// names no "types" (TypeScript 6+ includes no @types by default) still type-checks with @types/node installed.
/// <reference types="node" />
export {
  openidConnectAuthResponse,
  clearPasswordAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
  AuthResponseOptions,
  ParsedAuthResponse,
  IdTokenInfo,
} from './index'
export * from './lib/auth-plugin'
export * from './lib/sources'
