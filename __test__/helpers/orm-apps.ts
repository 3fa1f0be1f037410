// What an application does with each ORM, in that ORM's own terms: authors and their books. The
// schema comes from the ORM (Knex's and Kysely's schema builders, Sequelize's sync, TypeORM's
// synchronize, Drizzle's migrator, MikroORM's schema generator); the rows from its insert, join,
// and transaction APIs. orm.spec.ts runs each through an OIDC login against MariaDB.
import { join } from 'node:path'

export interface Book {
  title: string
  author: string
}

export interface OrmApp {
  createSchema(): Promise<void>
  /** A new author and one book of theirs. */
  addAuthorWithBook(author: string, title: string, stock: number): Promise<void>
  /** The author's books, through a join of books and authors. */
  booksBy(author: string): Promise<Book[]>
  /** Sets a book's stock inside a transaction that commits. */
  setStock(title: string, stock: number): Promise<void>
  /** Sets a book's stock inside a transaction, then fails: the transaction rolls back; rejects with ROLLED_BACK. */
  setStockThenFail(title: string, stock: number): Promise<void>
}

export const ROLLED_BACK = 'the application changed its mind'
const fail = (): never => {
  throw new Error(ROLLED_BACK)
}
const DRIZZLE_MIGRATIONS = join(__dirname, '..', 'fixtures', 'drizzle-migrations')
// Loaded untyped, as in orm.spec.ts: drizzle-orm 0.45's .d.ts files fail tsc without skipLibCheck.
const DRIZZLE_CORE: string = 'drizzle-orm/mysql-core'
const DRIZZLE_MIGRATOR: string = 'drizzle-orm/mysql2/migrator'
const DRIZZLE: string = 'drizzle-orm'

export function knexApp(db: any): OrmApp {
  return {
    async createSchema() {
      await db.schema.createTable('authors', (table: any) => {
        table.increments('id')
        table.string('name', 40).notNullable().unique()
      })
      await db.schema.createTable('books', (table: any) => {
        table.increments('id')
        table.string('title', 80).notNullable().unique()
        table.integer('stock').notNullable()
        table.integer('author_id').unsigned().notNullable().references('id').inTable('authors')
      })
    },
    async addAuthorWithBook(author, title, stock) {
      const [authorId] = await db('authors').insert({ name: author })
      await db('books').insert({ title, stock, author_id: authorId })
    },
    async booksBy(author) {
      const rows = await db('books').join('authors', 'authors.id', 'books.author_id').where('authors.name', author).select('books.title', 'authors.name as author')
      return rows.map((row: any) => ({ ...row }))
    },
    setStock: (title, stock) => db.transaction((trx: any) => trx('books').where({ title }).update({ stock })),
    setStockThenFail: (title, stock) => db.transaction(async (trx: any) => (await trx('books').where({ title }).update({ stock }), fail())),
  }
}

/** Sequelize 6 and 7 share this API; `DataTypes` is the version's own. */
export function sequelizeApp(sequelize: any, DataTypes: any): OrmApp {
  const options = { timestamps: false, underscored: true }
  const Author = sequelize.define('Author', { name: { type: DataTypes.STRING(40), allowNull: false, unique: true } }, { ...options, tableName: 'authors' })
  const Book = sequelize.define(
    'Book',
    { title: { type: DataTypes.STRING(80), allowNull: false, unique: true }, stock: { type: DataTypes.INTEGER, allowNull: false } },
    { ...options, tableName: 'books' },
  )
  Book.belongsTo(Author, { as: 'author', foreignKey: { name: 'authorId', allowNull: false } })
  return {
    async createSchema() {
      await sequelize.sync()
    },
    async addAuthorWithBook(author, title, stock) {
      const created = await Author.create({ name: author })
      await Book.create({ title, stock, authorId: created.id })
    },
    async booksBy(author) {
      const books = await Book.findAll({ include: [{ association: 'author', where: { name: author } }] })
      return books.map((book: any) => ({ title: book.title, author: book.author.name }))
    },
    setStock: (title, stock) => sequelize.transaction((transaction: any) => Book.update({ stock }, { where: { title }, transaction })),
    setStockThenFail: (title, stock) => sequelize.transaction(async (transaction: any) => (await Book.update({ stock }, { where: { title }, transaction }), fail())),
  }
}

/** TypeORM's entities for `new DataSource({ entities })`. */
export function typeormEntities(EntitySchema: any) {
  const Author = new EntitySchema({
    name: 'Author',
    tableName: 'authors',
    columns: { id: { type: Number, primary: true, generated: true }, name: { type: String, length: 40, unique: true } },
  })
  const Book = new EntitySchema({
    name: 'Book',
    tableName: 'books',
    columns: { id: { type: Number, primary: true, generated: true }, title: { type: String, length: 80, unique: true }, stock: { type: Number } },
    relations: { author: { type: 'many-to-one', target: 'Author', joinColumn: { name: 'author_id' }, nullable: false } },
  })
  return [Author, Book]
}

export function typeormApp(dataSource: any): OrmApp {
  return {
    async createSchema() {
      await dataSource.synchronize()
    },
    async addAuthorWithBook(author, title, stock) {
      const saved = await dataSource.getRepository('Author').save({ name: author })
      await dataSource.getRepository('Book').save({ title, stock, author: saved })
    },
    async booksBy(author) {
      const books = await dataSource
        .getRepository('Book')
        .createQueryBuilder('book')
        .innerJoinAndSelect('book.author', 'author')
        .where('author.name = :author', { author })
        .getMany()
      return books.map((book: any) => ({ title: book.title, author: book.author.name }))
    },
    setStock: (title, stock) => dataSource.transaction((manager: any) => manager.update('Book', { title }, { stock })),
    setStockThenFail: (title, stock) => dataSource.transaction(async (manager: any) => (await manager.update('Book', { title }, { stock }), fail())),
  }
}

export async function drizzleApp(db: any): Promise<OrmApp> {
  const { mysqlTable, int, varchar } = await import(DRIZZLE_CORE)
  const { eq } = await import(DRIZZLE)
  const { migrate } = await import(DRIZZLE_MIGRATOR)
  // the tables as the migration in fixtures/drizzle-migrations creates them
  const authors = mysqlTable('authors', { id: int('id').primaryKey().autoincrement(), name: varchar('name', { length: 40 }).notNull().unique() })
  const books = mysqlTable('books', {
    id: int('id').primaryKey().autoincrement(),
    title: varchar('title', { length: 80 }).notNull().unique(),
    stock: int('stock').notNull(),
    authorId: int('author_id').notNull().references(() => authors.id),
  })
  return {
    async createSchema() {
      await migrate(db, { migrationsFolder: DRIZZLE_MIGRATIONS })
    },
    async addAuthorWithBook(author, title, stock) {
      const [{ insertId }] = await db.insert(authors).values({ name: author })
      await db.insert(books).values({ title, stock, authorId: insertId })
    },
    booksBy: (author) => db.select({ title: books.title, author: authors.name }).from(books).innerJoin(authors, eq(books.authorId, authors.id)).where(eq(authors.name, author)),
    setStock: (title, stock) => db.transaction((tx: any) => tx.update(books).set({ stock }).where(eq(books.title, title))),
    setStockThenFail: (title, stock) => db.transaction(async (tx: any) => (await tx.update(books).set({ stock }).where(eq(books.title, title)), fail())),
  }
}

export function kyselyApp(db: any): OrmApp {
  return {
    async createSchema() {
      await db.schema
        .createTable('authors')
        .addColumn('id', 'integer', (column: any) => column.primaryKey().autoIncrement())
        .addColumn('name', 'varchar(40)', (column: any) => column.notNull().unique())
        .execute()
      await db.schema
        .createTable('books')
        .addColumn('id', 'integer', (column: any) => column.primaryKey().autoIncrement())
        .addColumn('title', 'varchar(80)', (column: any) => column.notNull().unique())
        .addColumn('stock', 'integer', (column: any) => column.notNull())
        .addColumn('author_id', 'integer', (column: any) => column.notNull().references('authors.id'))
        .execute()
    },
    async addAuthorWithBook(author, title, stock) {
      const { insertId } = await db.insertInto('authors').values({ name: author }).executeTakeFirstOrThrow()
      await db.insertInto('books').values({ title, stock, author_id: Number(insertId) }).execute()
    },
    booksBy: (author) =>
      db.selectFrom('books').innerJoin('authors', 'authors.id', 'books.author_id').select(['books.title as title', 'authors.name as author']).where('authors.name', '=', author).execute(),
    setStock: (title, stock) => db.transaction().execute((trx: any) => trx.updateTable('books').set({ stock }).where('title', '=', title).execute()),
    setStockThenFail: (title, stock) =>
      db.transaction().execute(async (trx: any) => (await trx.updateTable('books').set({ stock }).where('title', '=', title).execute(), fail())),
  }
}

/** MikroORM's entities for `MikroORM.init({ entities })`. */
export function mikroOrmEntities(EntitySchema: any) {
  const Author = new EntitySchema({
    name: 'Author',
    tableName: 'authors',
    properties: { id: { type: 'number', primary: true, autoincrement: true }, name: { type: 'string', length: 40, unique: true } },
  })
  const Book = new EntitySchema({
    name: 'Book',
    tableName: 'books',
    properties: {
      id: { type: 'number', primary: true, autoincrement: true },
      title: { type: 'string', length: 80, unique: true },
      stock: { type: 'number' },
      author: { kind: 'm:1', entity: 'Author', fieldName: 'author_id' },
    },
  })
  return [Author, Book]
}

export function mikroOrmApp(orm: any): OrmApp {
  return {
    async createSchema() {
      await orm.schema.createSchema()
    },
    async addAuthorWithBook(author, title, stock) {
      const em = orm.em.fork()
      em.create('Book', { title, stock, author: em.create('Author', { name: author }) })
      await em.flush()
    },
    async booksBy(author) {
      const books = await orm.em.fork().find('Book', { author: { name: author } }, { populate: ['author'] })
      return books.map((book: any) => ({ title: book.title, author: book.author.name }))
    },
    setStock: (title, stock) => orm.em.fork().transactional(async (em: any) => ((await em.findOneOrFail('Book', { title })).stock = stock)),
    setStockThenFail: (title, stock) => orm.em.fork().transactional(async (em: any) => ((await em.findOneOrFail('Book', { title })).stock = stock, await em.flush(), fail())),
  }
}
