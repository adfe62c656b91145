'use strict'
// What `deploy NAME flow.json` would PUT for the conductor action, printed instead of sent:
// the same steps as openwhisk-composer's bin/deploy.js (validate with composer.parse, name
// with fqn) and client.js (conductor.generate). Usage: node deploy_action.js NAME flow.json
const fs = require('fs')
const composer = require('openwhisk-composer')
const conductor = require('openwhisk-composer/conductor')
const fqn = require('openwhisk-composer/fqn')

const [name, file] = process.argv.slice(2)
const composition = JSON.parse(fs.readFileSync(file, 'utf8'))
composition.composition = composer.parse(composition.composition)
composition.annotations = []
composition.name = fqn(name)
const actions = (composition.actions || []).concat(conductor.generate(composition))
process.stdout.write(JSON.stringify(actions))
