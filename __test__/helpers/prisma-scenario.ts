// The Prisma queries prisma.spec.ts runs through each adapter (PrismaMysql2 and the reference,
// @prisma/adapter-mariadb) on the same database: every step's result, or its error, in plain JSON
// so the two runs can be compared with deepEqual. The generated client's types are not checked here
// (it is generated at test time), hence `any`.
/* eslint-disable @typescript-eslint/no-explicit-any */

/** BigInt, Decimal, Date and bytes as tagged strings; errors as what a user can branch on. */
export function plain(value: any): any {
  if (value === null || value === undefined) return value ?? null
  if (typeof value === 'bigint') return `${value}n`
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : `Date(${value.toISOString()})`
  if (value instanceof Uint8Array) return `bytes(${Buffer.from(value).toString('hex')})`
  if (typeof value === 'object' && /^Decimal/.test(value.constructor?.name ?? '')) return `Decimal(${value.toFixed()})`
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]))
  return value
}

export function errorOf(err: any) {
  const cause = err?.meta?.driverAdapterError?.cause
  return {
    error: err?.code ?? err?.name ?? String(err),
    kind: cause?.kind,
    constraint: cause?.constraint,
    target: err?.meta?.target,
  }
}

async function step(results: Record<string, any>, name: string, run: () => Promise<unknown>) {
  try {
    results[name] = plain(await run())
  } catch (err) {
    results[name] = errorOf(err)
  }
}

// extremes of every type, and values the reference adapter gets wrong (listed in the README)
export const SAMPLE_EXTREMES = {
  int: -2147483648,
  tiny: -128,
  small: 32767,
  medium: -8388608,
  unsigned: 4294967295,
  big: -9223372036854775808n,
  bigUnsigned: 18446744073709551615n,
  float: 1.5,
  double: 1.5e300,
  decimal: '12345678901234567890.0123456789',
  bool: true,
  bit1: true,
  bits: new Uint8Array([0xab, 0xcd]),
  varchar: 'héllo \u{1F600} wörld',
  char: 'abcd',
  text: 'text '.repeat(100),
  longText: 'x'.repeat(3000),
  bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
  varBinary: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
  json: { a: 1, b: [true, null, 'x'], c: { d: 1.5, big: 12345678901234567890 } },
  dateTime: new Date('2024-02-29T23:59:59.999Z'),
  // not TIMESTAMP's last second: the reference writes in the session's zone, which may be ahead of UTC
  timestamp: new Date('2037-12-31T23:59:59.123Z'),
  date: new Date('2024-12-31T00:00:00Z'),
  time: new Date('1970-01-01T23:59:59.5Z'),
  year: 2155,
  role: 'ADMIN',
}

export const SAMPLE_ORDINARY = {
  int: 42,
  tiny: 1,
  small: 2,
  medium: 3,
  unsigned: 7,
  big: 9007199254740993n,
  bigUnsigned: 9223372036854775808n,
  float: -0.25,
  double: 0.1,
  decimal: '-0.0000000001',
  bool: false,
  bit1: false,
  bits: new Uint8Array([0, 1]),
  varchar: '',
  char: 'a',
  text: 'short',
  longText: '',
  bytes: new Uint8Array([]),
  varBinary: new Uint8Array([1]),
  json: [1, 'two', { three: 3 }],
  dateTime: new Date('2000-01-01T00:00:00.000Z'),
  timestamp: new Date('2001-09-09T01:46:40.000Z'),
  date: new Date('2000-01-01T00:00:00Z'),
  time: new Date('1970-01-01T00:00:00Z'),
  year: 1901,
  role: 'MEMBER',
}

/** A year the reference adapter misreads (0001 → 2001): run separately, since the results differ. */
export const SAMPLE_ANCIENT = { int: 1, dateTime: new Date('0001-01-01T00:00:00.000Z'), date: new Date('0999-12-31T00:00:00Z') }

export async function scenario(prisma: any, { relationJoins }: { relationJoins: boolean }) {
  const results: Record<string, any> = {}
  const strategy = relationJoins ? { relationLoadStrategy: 'join' } : {}

  // CRUD and nested writes
  await step(results, 'create nested', () =>
    prisma.user.create({
      data: { email: 'ada@example.com', name: 'Ada', role: 'ADMIN', createdAt: new Date('2024-01-01T10:00:00.123Z'), profile: { create: { bio: 'first' } }, posts: { create: [{ title: 'one' }, { title: 'two', published: true }] } },
      include: { profile: true, posts: { orderBy: { id: 'asc' } } },
    }),
  )
  await step(results, 'createMany', () => prisma.user.createMany({ data: [1, 2, 3].map((n) => ({ email: `user${n}@example.com`, name: n === 2 ? null : `User ${n}`, createdAt: new Date(Date.UTC(2024, 0, n)) })) }))
  await step(results, 'createMany skipDuplicates', () => prisma.user.createMany({ data: [{ email: 'user1@example.com', createdAt: new Date(0) }, { email: 'user4@example.com', createdAt: new Date(0) }], skipDuplicates: true }))
  await step(results, 'findMany include', () => prisma.user.findMany({ ...strategy, orderBy: { id: 'asc' }, include: { profile: true, posts: { orderBy: { id: 'asc' } } } }))
  await step(results, 'findMany filter and page', () => prisma.user.findMany({ where: { OR: [{ name: null }, { email: { contains: 'user' } }] }, orderBy: { email: 'desc' }, skip: 1, take: 2, select: { id: true, email: true } }))
  await step(results, 'findUnique by id', () => prisma.user.findUnique({ where: { id: 1 }, ...strategy, include: { posts: { where: { published: true } } } }))
  await step(results, 'findUnique by composite key', () => prisma.post.findUnique({ where: { authorId_title: { authorId: 1, title: 'two' } }, ...strategy, include: { author: { select: { email: true } } } }))
  await step(results, 'nested update', () =>
    prisma.user.update({ where: { email: 'user1@example.com' }, data: { name: { set: 'Renamed' }, posts: { create: { title: 'from update' } }, profile: { create: { bio: null } } }, include: { posts: true, profile: true } }),
  )
  await step(results, 'upsert', () => prisma.user.upsert({ where: { email: 'new@example.com' }, update: { name: 'no' }, create: { email: 'new@example.com', createdAt: new Date(0) } }))
  await step(results, 'updateMany', () => prisma.post.updateMany({ where: { published: false }, data: { published: true } }))
  await step(results, 'count, aggregate, groupBy', async () => [
    await prisma.post.count({ where: { published: true } }),
    await prisma.user.aggregate({ _count: { _all: true }, _max: { createdAt: true }, _min: { id: true } }),
    await prisma.post.groupBy({ by: ['authorId'], _count: { _all: true }, orderBy: { authorId: 'asc' } }),
  ])
  await step(results, 'delete cascades', async () => [await prisma.user.delete({ where: { email: 'user1@example.com' } }), await prisma.profile.count(), await prisma.post.findMany({ where: { authorId: null }, orderBy: { id: 'asc' } })])

  // every type, both ways
  await step(results, 'create every type', () => prisma.sample.create({ data: SAMPLE_EXTREMES }))
  await step(results, 'create every type (2)', () => prisma.sample.create({ data: SAMPLE_ORDINARY }))
  await step(results, 'create nulls', () => prisma.sample.create({ data: { int: 0 } }))
  await step(results, 'findMany every type', () => prisma.sample.findMany({ orderBy: { id: 'asc' } }))
  await step(results, 'filters on every type', async () => [
    await prisma.sample.findMany({ where: { big: -9223372036854775808n }, select: { id: true } }),
    await prisma.sample.findMany({ where: { bigUnsigned: { gt: 9223372036854775807n } }, select: { id: true } }),
    await prisma.sample.findMany({ where: { decimal: { lt: '0' } }, select: { id: true } }),
    await prisma.sample.findMany({ where: { dateTime: { gte: new Date('2024-02-29T23:59:59.999Z') } }, select: { id: true } }),
    await prisma.sample.findMany({ where: { timestamp: new Date('2037-12-31T23:59:59.123Z') }, select: { id: true } }),
    await prisma.sample.findMany({ where: { date: new Date('2024-12-31T00:00:00Z') }, select: { id: true } }),
    await prisma.sample.findMany({ where: { bytes: new Uint8Array([0, 1, 2, 253, 254, 255]) }, select: { id: true } }),
    await prisma.sample.findMany({ where: { json: { equals: [1, 'two', { three: 3 }] } }, select: { id: true } }),
    await prisma.sample.findMany({ where: { role: 'ADMIN', bool: true, unsigned: 4294967295 }, select: { id: true } }),
  ])
  await step(results, 'update every type', () => prisma.sample.update({ where: { id: 3n }, data: { ...SAMPLE_ORDINARY, int: { increment: 5 }, big: { decrement: 1 } } }))

  // raw queries with every type
  await step(results, '$queryRaw every column', () => prisma.$queryRaw`SELECT * FROM Sample ORDER BY id`)
  await step(results, '$queryRaw arguments', () =>
    prisma.$queryRaw`SELECT ${1} AS i, ${2n ** 62n} AS b, ${'text'} AS s, ${1.5} AS f, ${true} AS t, ${new Date('2024-05-06T07:08:09.010Z')} AS d, ${Buffer.from('hi')} AS bin, CAST(${'3.14'} AS DECIMAL(5,2)) AS n, NULL AS z`,
  )
  await step(results, '$queryRaw expressions', () =>
    prisma.$queryRaw`SELECT COUNT(*) AS c, SUM(\`int\`) AS s, MAX(\`dateTime\`) AS m, CAST(1 AS UNSIGNED) AS u, JSON_OBJECT('a', 1) AS j, CURRENT_DATE() = CURRENT_DATE() AS e FROM Sample`,
  )
  await step(results, '$executeRaw', () => prisma.$executeRaw`UPDATE Sample SET \`text\` = ${'raw'} WHERE \`int\` <> ${0}`)
  await step(results, '$executeRawUnsafe insert', () => prisma.$executeRawUnsafe('INSERT INTO `User` (`email`, `createdAt`) VALUES (?, ?)', 'raw@example.com', new Date('2024-01-01T00:00:00Z')))

  // transactions
  await step(results, '$transaction batch', () => prisma.$transaction([prisma.user.create({ data: { email: 'batch@example.com', createdAt: new Date(0) } }), prisma.user.count()]))
  await step(results, '$transaction batch rolled back', async () => {
    const before = await prisma.user.count()
    const error = await prisma.$transaction([prisma.user.create({ data: { email: 'batch2@example.com', createdAt: new Date(0) } }), prisma.user.create({ data: { email: 'batch@example.com', createdAt: new Date(0) } })]).catch(errorOf)
    return { error, same: (await prisma.user.count()) === before }
  })
  await step(results, 'interactive transaction', () =>
    prisma.$transaction(async (tx: any) => {
      const user = await tx.user.create({ data: { email: 'itx@example.com', createdAt: new Date(0) } })
      await tx.post.create({ data: { title: 'itx', authorId: user.id } })
      return tx.user.findUnique({ where: { id: user.id }, include: { posts: true } })
    }),
  )
  await step(results, 'interactive transaction rolled back', async () => {
    const error = await prisma
      .$transaction(async (tx: any) => {
        await tx.user.create({ data: { email: 'gone@example.com', createdAt: new Date(0) } })
        throw new Error('abort')
      })
      .catch((err: Error) => err.message)
    return { error, user: await prisma.user.findUnique({ where: { email: 'gone@example.com' } }) }
  })
  await step(results, 'nested transactions', async () => {
    const outer = await prisma.$transaction(async (tx: any) => {
      await tx.user.create({ data: { email: 'outer@example.com', createdAt: new Date(0) } })
      const inner = await tx
        .$transaction(async (tx2: any) => {
          await tx2.user.create({ data: { email: 'inner@example.com', createdAt: new Date(0) } })
          throw new Error('inner abort')
        })
        .catch((err: Error) => err.message)
      await tx.$transaction(async (tx2: any) => tx2.user.create({ data: { email: 'inner2@example.com', createdAt: new Date(0) } }))
      return inner
    })
    const emails = await prisma.user.findMany({ where: { email: { in: ['outer@example.com', 'inner@example.com', 'inner2@example.com'] } }, select: { email: true }, orderBy: { email: 'asc' } })
    return { outer, emails }
  })
  for (const isolationLevel of ['ReadUncommitted', 'ReadCommitted', 'RepeatableRead', 'Serializable', 'Snapshot']) {
    await step(results, `isolation ${isolationLevel}`, () => prisma.$transaction((tx: any) => tx.user.count(), { isolationLevel }))
  }

  // errors
  await step(results, 'unique violation', () => prisma.user.create({ data: { email: 'ada@example.com', createdAt: new Date(0) } }))
  await step(results, 'composite unique violation', () => prisma.post.create({ data: { title: 'one', authorId: 1 } }))
  await step(results, 'foreign key violation', () => prisma.post.create({ data: { title: 'orphan', authorId: 999999 } }))
  await step(results, 'foreign key violation (raw)', () => prisma.$executeRaw`UPDATE Post SET authorId = ${999999} WHERE id = ${1}`)
  await step(results, 'not-null violation', () => prisma.$executeRaw`INSERT INTO \`User\` (email, createdAt) VALUES (NULL, NOW())`)
  await step(results, 'value out of range', () => prisma.sample.create({ data: { int: 0, tiny: 1000 } }))
  await step(results, 'value too long', () => prisma.sample.create({ data: { int: 0, char: 'too long' } }))
  await step(results, 'unknown table', () => prisma.$queryRawUnsafe('SELECT * FROM NoSuchTable'))
  return results
}
