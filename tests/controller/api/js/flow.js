// A Composer composition of three python actions: inc, then dbl, then inc.
const composer = require('openwhisk-composer')

module.exports = composer.sequence('inc', 'dbl', 'inc')
