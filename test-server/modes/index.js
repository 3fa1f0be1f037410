'use strict'

// The emulated servers, one module each: everything a mode refuses is in its file.
module.exports = {
  'mysql-enterprise': require('./mysql-enterprise'),
  percona: require('./percona'),
  starrocks: require('./starrocks'),
  tidb: require('./tidb'),
}
