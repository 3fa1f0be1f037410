'use strict'

// Shared by the benchmark sections: number formatting, the machine's description, and the
// summary of every figure beside its target.

const fs = require('node:fs')
const os = require('node:os')

const figures = []

/** Records a figure; `met` is true, false, or null for a figure without a target. */
function record(section, name, value, target, met) {
  figures.push({ section, name, value, target: target ?? '', met })
}

const fmtRatio = (r) => `${r.toFixed(2)}×`
const fmtMs = (ms) => `${ms.toFixed(ms < 10 ? 2 : 0)} ms`
const fmtMB = (bytes) => `${bytes >= 0 ? '+' : ''}${(bytes / 1024 / 1024).toFixed(2)} MB`

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown'
  try {
    cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu
  } catch {}
  return `${os.availableParallelism()} cores (nproc), ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
}

/** A plain-text table: rows of cells, the first row being the header. */
function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)))
  return rows.map((row) => row.map((cell, i) => String(cell).padEnd(widths[i])).join('  ')).join('\n')
}

function printSummary() {
  const mark = (met) => (met === null ? '' : met ? 'met' : 'MISSED')
  console.log('\n== Summary ==')
  console.log(`machine: ${machine()}`)
  console.log(table([['section', 'figure', 'value', 'target', ''], ...figures.map((f) => [f.section, f.name, f.value, f.target, mark(f.met)])]))
}

module.exports = { record, fmtRatio, fmtMs, fmtMB, machine, table, printSummary, figures }
