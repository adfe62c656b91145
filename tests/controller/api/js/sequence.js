// The openwhisk npm client: two actions and a sequence of them (actions.create with
// `sequence`), invoked blocking; the sequence's record and a component's. One JSON line.
const openwhisk = require('openwhisk')

async function main () {
  const ow = openwhisk({ apihost: process.env.APIHOST, api_key: process.env.AUTH })
  await ow.actions.create({ name: 'js-upper', kind: 'python:3',
    action: "def main(args):\n    return {'text': args['text'].upper()}\n" })
  await ow.actions.create({ name: 'js-exclaim', kind: 'python:3',
    action: "def main(args):\n    return {'text': args['text'] + '!'}\n" })
  const created = await ow.actions.create({
    name: 'js-shout', sequence: ['/_/js-upper', '/_/js-exclaim']
  })
  const record = await ow.actions.invoke({ name: 'js-shout', blocking: true, params: { text: 'hi' } })
  const first = await ow.activations.get({ name: record.logs[0] })
  console.log(JSON.stringify({ created, record, first }))
}

main().catch(err => { console.error(err); process.exit(1) })
