import type { IsolationLevel, SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory, SqlQuery, SqlResultSet, Transaction } from '@prisma/driver-adapter-utils'
import type { PoolOptions } from 'mysql2'

/** Options of the adapter itself (mysql2's options go in the first argument). */
export interface PrismaMysql2Options {
  /** The schema (database) name Prisma qualifies tables with. Default: the pool's `database` (or the URL's path). */
  schema?: string
  /** Send queries in mysql2's text protocol (`query`) instead of prepared statements (`execute`). Default false. */
  useTextProtocol?: boolean
  /** For `connectToShadowDb()`: a database name on the same server and login, a connection URL, or mysql2 pool options merged over the main ones. */
  shadowDatabase?: string | PoolOptions
}

/**
 * Prisma 7's driver adapter on a mysql2 pool: `new PrismaClient({ adapter: new PrismaMysql2({ host, user,
 * ssl, authPlugins: authPlugins({ getToken }) }) })`. Takes mysql2 pool options, a connection URL, or pool
 * options with `uri`. Needs mysql2 3.24+ and @prisma/driver-adapter-utils 7 (ERR_OIDC_MISSING_DEPENDENCY otherwise).
 */
export declare class PrismaMysql2 implements SqlMigrationAwareDriverAdapterFactory {
  constructor(config: PoolOptions | string, options?: PrismaMysql2Options)
  readonly provider: 'mysql'
  readonly adapterName: 'mysql-openid-connect'
  connect(): Promise<SqlDriverAdapter>
  connectToShadowDb(): Promise<SqlDriverAdapter>
}

export type { IsolationLevel, SqlDriverAdapter, SqlQuery, SqlResultSet, Transaction }
