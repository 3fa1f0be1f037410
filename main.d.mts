import * as api from './main.js'

export * from './main.js'
export default api
