// Composer's map over the `value` array: one branch per item, each running `sleepy`.
const composer = require('openwhisk-composer')

module.exports = composer.map('sleepy')
