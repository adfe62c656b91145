// The openwhisk npm client: a trigger, a rule to an action, fire it, see the action run.
const openwhisk = require('openwhisk')

async function main () {
  const ow = openwhisk({ apihost: process.env.APIHOST, api_key: process.env.AUTH })
  await ow.actions.create({
    name: 'js-target', kind: 'python:3', action: 'def main(args):\n    return args\n'
  })
  const trigger = await ow.triggers.create({ name: 'js-trigger', trigger: {
    parameters: [{ key: 'source', value: 'trigger' }] } })
  const rule = await ow.rules.create({ name: 'js-rule', action: 'js-target', trigger: 'js-trigger' })
  const fired = await ow.triggers.invoke({ name: 'js-trigger', params: { event: 'fired' } })
  let activations = []
  for (let i = 0; i < 600 && activations.length < 1; i++) {
    activations = await ow.activations.list({ name: 'js-target', docs: true })
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const disabled = await ow.rules.disable({ name: 'js-rule' })
  const afterDisable = await ow.triggers.get({ name: 'js-trigger' })
  const enabled = await ow.rules.enable({ name: 'js-rule' })
  const rules = await ow.rules.list()
  console.log(JSON.stringify({
    trigger, rule, fired, activations, disabled, afterDisable, enabled, rules
  }))
}

main().catch(err => { console.error(err); process.exit(1) })
