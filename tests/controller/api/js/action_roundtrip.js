// The openwhisk npm client against the controller: create an action, invoke it blocking with
// result, list and get its activation. Prints one JSON object with what it saw.
const openwhisk = require('openwhisk')

async function main () {
  const ow = openwhisk({ apihost: process.env.APIHOST, api_key: process.env.AUTH })
  const code = "def main(args):\n    print('from js')\n    return {'hello': args.get('name')}\n"
  const created = await ow.actions.create({
    name: 'js-hello', action: code, kind: 'python:3', params: { name: 'default' },
    annotations: { description: 'made by the js client' }
  })
  const updated = await ow.actions.update({ name: 'js-hello', limits: { memory: 128 } })
  const result = await ow.actions.invoke({
    name: 'js-hello', blocking: true, result: true, params: { name: 'js' }
  })
  const started = await ow.actions.invoke({ name: 'js-hello' })
  const listed = await ow.actions.list()
  let activations = []
  for (let i = 0; i < 600 && activations.length < 2; i++) {
    activations = await ow.activations.list({ name: 'js-hello' })
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const record = await ow.activations.get({ name: started.activationId })
  const logs = await ow.activations.logs({ name: started.activationId })
  const namespaces = await ow.namespaces.list()
  let missing = null
  try {
    await ow.actions.get({ name: 'not-there' })
  } catch (err) {
    missing = { statusCode: err.statusCode, message: err.message }
  }
  console.log(JSON.stringify({
    created, updated, result, started, listed, activations, record, logs, namespaces, missing
  }))
}

main().catch(err => { console.error(err); process.exit(1) })
